"""Canonical-request HMAC: the method, the path, a self-described list of headers and the body.

Contentful signs `METHOD \\n path \\n k:v;k:v \\n body`, where the headers are those its
`x-contentful-signed-headers` names (always itself and `x-contentful-timestamp`), names
lower-cased, values trimmed, sorted by name, and the path is the webhook URL's path and query
encoded as `@contentful/node-apps-toolkit` encodes it. Behind a proxy the gateway cannot know
that path, so the source's `public_url` (the URL configured at Contentful) is required.
"""

from __future__ import annotations

import hmac
from typing import ClassVar
from urllib.parse import quote, urlsplit

from providers._fields import header
from providers._hmac_scheme import public_url, signed_url
from providers._provider import ProviderBase, Signing
from providers._signing import (
    as_bytes,
    check_tolerance,
    matches_any,
    require_header,
    require_secrets,
    signature_items,
)
from providers.base import SourceSpec, WebhookRequest
from providers.errors import InvalidSignature

_SIGNATURE = "x-contentful-signature"
_SIGNED_HEADERS = "x-contentful-signed-headers"
_TIMESTAMP = "x-contentful-timestamp"
_TOPIC = "x-contentful-topic"
#: Characters JavaScript's `encodeURIComponent` (Node's `querystring.escape`) and `encodeURI`
#: leave as they are, beside letters, digits and `_.-~` (which `quote` always keeps).
_COMPONENT_SAFE = "!*'()"
_URI_SAFE = _COMPONENT_SAFE + ";,/?:@&=+$#"


def _milliseconds(text: str) -> int:
    """`x-contentful-timestamp`: Unix time in milliseconds, or `invalid_signature`."""
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 15:
        raise InvalidSignature(f"{_TIMESTAMP} is not an integer")
    return int(text)


def canonical_path(url: str) -> str:
    """The path Contentful signs for `url`: its path, and its query escaped as a component."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{quote(parts.query, safe=_COMPONENT_SAFE)}"
    return quote(path, safe=_URI_SAFE)


def canonical_request(method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
    """The signed bytes: `headers` are the signed ones, already lower-cased and trimmed."""
    lines = ";".join(f"{name}:{headers[name]}" for name in sorted(headers))
    return "\n".join((method, path, lines, "")).encode() + body


class ContentfulProvider(ProviderBase):
    """Contentful webhooks (`x-contentful-signature`: hex HMAC-SHA256 of the canonical request,
    keyed with the webhook's 64-character signing secret; `x-contentful-timestamp` in ms).

    Tolerance: 30 s, as the toolkit's `verifyRequest`. Contentful sends no event ID: the body
    hash is used. Type: `X-Contentful-Topic` (`ContentManagement.Entry.publish`), which
    Contentful may leave out of the signed headers.
    """

    family: ClassVar[str] = "canonical-request-hmac"
    source_keys = ("secrets", "public_url", "tolerance_seconds")
    signature_headers = frozenset({_SIGNATURE, _SIGNED_HEADERS, _TIMESTAMP})
    event_type = header(_TOPIC)
    sample_type = "ContentManagement.Entry.publish"
    content_type = "application/vnd.contentful.management.v1+json"
    signed_timestamp = True
    default_tolerance: ClassVar[float] = 30

    def configure(self, spec: SourceSpec) -> None:
        require_secrets(spec.secrets, spec.name)
        self._keys = tuple(secret.reveal().encode() for secret in spec.secrets)
        self._public_url = public_url(spec)
        tolerance = spec.tolerance_seconds
        self._tolerance = self.default_tolerance if tolerance is None else tolerance
        self.signed_timestamp = bool(self._tolerance)

    def authenticate(self, request: WebhookRequest) -> None:
        signature = require_header(request.headers, _SIGNATURE).strip()
        listed = require_header(request.headers, _SIGNED_HEADERS)
        millis = _milliseconds(require_header(request.headers, _TIMESTAMP))
        if len(signature) != 64:
            raise InvalidSignature(f"{_SIGNATURE} is not a hex HMAC-SHA256 digest")
        # As the toolkit: each listed header that is present, by its normalised name; the
        # signed-headers list and the timestamp always, in their normalised form.
        signed: dict[str, str] = {}
        for name in signature_items(listed, ",", _SIGNED_HEADERS):
            key = name.strip().lower()
            value = request.headers.get(key)
            if value is not None:
                signed[key] = value.strip()
        if not {_TIMESTAMP, _SIGNED_HEADERS} <= signed.keys():  # Contentful always lists both
            raise InvalidSignature(f"{_SIGNED_HEADERS} does not list the timestamp and itself")
        signed[_TIMESTAMP] = str(millis)
        signed[_SIGNED_HEADERS] = ",".join(sorted(signed.keys() | {_SIGNED_HEADERS}))
        path = canonical_path(signed_url(self._public_url, request))
        message = canonical_request(request.method.upper(), path, signed, request.body)
        expected = (as_bytes(hmac.digest(key, message, "sha256").hex()) for key in self._keys)
        if not matches_any(expected, (as_bytes(signature.lower()),)):
            raise InvalidSignature(f"{_SIGNATURE} matches no configured secret")
        check_tolerance(millis / 1000, request.received_at, self._tolerance)

    @classmethod
    def sign(cls, signing: Signing) -> dict[str, str]:
        """The signed-headers list and the timestamp are signed; the topic travels beside them
        unsigned (a verifier cannot count on Contentful listing it)."""
        url = signing.options.get("public_url")
        if not isinstance(url, str):
            raise ValueError("contentful signs the URL's path: pass the public_url option")
        signed = {_TIMESTAMP: str(signing.timestamp * 1000)}
        signed[_SIGNED_HEADERS] = ",".join(sorted(signed.keys() | {_SIGNED_HEADERS}))
        message = canonical_request("POST", canonical_path(url), signed, signing.body)
        digest = hmac.digest(signing.secret.encode(), message, "sha256").hex()
        return {
            _SIGNATURE: digest,
            **signed,
            **cls.metadata_headers(signing),
            "content-type": cls.content_type,
        }
