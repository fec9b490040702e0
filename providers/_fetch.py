"""One blocking GET of a key or certificate: no redirects, a size cap, a total deadline.

Run in a worker thread by `providers.keyfetch.KeyFetcher`, never on the event loop. The URL has
already passed the provider's allow-list. TLS is verified against the system trust store;
proxies come from the environment (`https_proxy`), as for any HTTP client on the host.
"""

from __future__ import annotations

import http.client
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Protocol

_CHUNK = 16384


class FetchFailed(Exception):
    """The fetch did not produce a body. `refused`: the server answered, but not with a key
    (a 3xx, 4xx, a body over the cap): the URL serves no key, and retrying will not help.
    Otherwise (timeout, connection error, 5xx) the failure may pass."""

    def __init__(self, reason: str, *, refused: bool) -> None:
        super().__init__(reason)
        self.refused = refused


@dataclass(frozen=True, slots=True)
class Fetched:
    body: bytes
    #: The response's `Cache-Control` header ("" when absent).
    cache_control: str = ""


class Transport(Protocol):
    """Fetch `url` within `timeout` seconds (all of it), at most `max_bytes`; raise
    `FetchFailed`. Blocking: called in a worker thread."""

    def __call__(self, url: str, timeout: float, max_bytes: int) -> Fetched: ...


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # urllib then raises the 3xx as an HTTPError: refused


_OPENER = urllib.request.build_opener(
    _NoRedirects(), urllib.request.HTTPSHandler(context=ssl.create_default_context())
)


def urllib_transport(url: str, timeout: float, max_bytes: int) -> Fetched:
    """The production transport: `urllib` with redirects refused."""
    deadline = time.monotonic() + timeout
    # The URL passed the provider's allow-list (https, fixed hosts) before it got here.
    request = urllib.request.Request(url, headers={"accept": "*/*", "user-agent": "hookgate"})  # noqa: S310
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            if response.status != 200:
                raise FetchFailed(f"answered HTTP {response.status}", refused=True)
            length = response.headers.get("content-length")
            if length is not None and (not length.isdigit() or int(length) > max_bytes):
                raise FetchFailed("the response is larger than the cap", refused=True)
            body = _read_capped(response, max_bytes, deadline)
            return Fetched(body, response.headers.get("cache-control", ""))
    except urllib.error.HTTPError as err:
        raise FetchFailed(f"answered HTTP {err.code}", refused=err.code < 500) from None
    except (OSError, http.client.HTTPException, ValueError) as err:
        # URLError, timeouts, TLS and connection errors, a malformed response.
        raise FetchFailed(f"fetch failed: {type(err).__name__}", refused=False) from None


def _read_capped(response: http.client.HTTPResponse, max_bytes: int, deadline: float) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise FetchFailed("the response did not arrive in time", refused=False)
        chunk = response.read1(_CHUNK)
        if not chunk:
            return b"".join(parts)
        size += len(chunk)
        if size > max_bytes:
            raise FetchFailed("the response is larger than the cap", refused=True)
        parts.append(chunk)
