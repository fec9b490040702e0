"""Certificate and key URL allow-lists: which URLs `providers.keyfetch` may fetch."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from providers.errors import InvalidSignature

_MAX_URL = 2048


class UrlPolicy(Protocol):
    """Says which URLs may be fetched: returns the URL to fetch, or raises `InvalidSignature`."""

    def check(self, url: str) -> str: ...


@dataclass(frozen=True, slots=True)
class UrlRule:
    """A strict allow-list: `https://HOST/PATH` with HOST matching `host` and PATH matching
    `path` (both whole-string matches); no userinfo, no port, no IP literal, no percent sign or
    trailing dot in the host, no fragment, and no query unless `query` is set (then the
    provider checks it). Only printable ASCII, at most 2048 characters."""

    host: re.Pattern[str]
    path: re.Pattern[str]
    query: bool = False

    def check(self, url: str) -> str:
        if not isinstance(url, str) or not _printable(url) or len(url) > _MAX_URL:
            raise InvalidSignature("the key URL is not a plain https URL")
        if not url.startswith("https://") or "\\" in url or "#" in url:
            raise InvalidSignature("the key URL is not a plain https URL")
        if "?" in url and not self.query:
            raise InvalidSignature("the key URL has a query string")
        try:
            parts = urlsplit(url)
        except ValueError:
            raise InvalidSignature("the key URL cannot be parsed") from None
        host = parts.netloc
        if any(c in host for c in "@:%[]") or host.endswith(".") or _is_ip(host):
            raise InvalidSignature("the key URL's host is not allowed for this provider")
        if not self.host.fullmatch(host):
            raise InvalidSignature("the key URL's host is not allowed for this provider")
        if not self.path.fullmatch(parts.path):
            raise InvalidSignature("the key URL's path is not allowed for this provider")
        return url


def _printable(text: str) -> bool:
    return text.isascii() and all(" " < c < "\x7f" for c in text)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
