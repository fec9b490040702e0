"""Timestamped HMAC providers from signatures-2.md Group III: WorkOS and Sanity sign millisecond
timestamps, ElevenLabs `v0=`, Sanity's digest is unpadded base64url, Box signs a JSON-escaped
body under two keys, Ghost and Webflow their own headers, Revolut a list of signatures. The
scheme is the one in `providers.builtin.timestamped`; tolerances are the providers' documented
ones (± either way).
"""

from __future__ import annotations

import base64
import hmac
import re
from collections.abc import Mapping

from providers._fields import body, header, joined
from providers._hmac_scheme import HmacScheme
from providers._provider import Signing
from providers._signing import (
    as_bytes,
    check_tolerance,
    matches_any,
    require_header,
    signature_items,
)
from providers.base import WebhookRequest
from providers.builtin.timestamped import TimestampedProvider
from providers.errors import InvalidSignature, MissingSignature


class WorkOSProvider(TimestampedProvider):
    """WorkOS (`WorkOS-Signature: t=<ms>, v1=<hex>` over `{t}.{body}`; 180 s, its SDK's)."""

    scheme = HmacScheme(
        "workos-signature",
        message="{timestamp}.{body}",
        pairs=",",
        timestamp_format="unix_ms",
        tolerance=180,
    )
    event_id = body("/id")
    event_type = body("/event")

    @classmethod
    def sign(cls, signing: Signing) -> dict[str, str]:
        # WorkOS separates the items with ", ", and its SDK splits on exactly that.
        headers = super().sign(signing)
        headers["workos-signature"] = headers["workos-signature"].replace(",", ", ")
        return headers


class ElevenLabsProvider(TimestampedProvider):
    """ElevenLabs (`ElevenLabs-Signature: t=<s>,v0=<hex>` over `{t}.{body}`). Its SDK refuses
    only timestamps older than 30 min; here 30 min apply either way. No event ID: body hash."""

    scheme = HmacScheme(
        "elevenlabs-signature",
        message="{timestamp}.{body}",
        pairs=",",
        signature_key="v0",
        tolerance=1800,
    )
    event_type = body("/type")


class _Base64UrlScheme(HmacScheme):
    """An `HmacScheme` whose digest is unpadded base64url (Sanity's)."""

    def digest(self, key: bytes, signed: bytes) -> str:
        raw = hmac.digest(key, signed, self.algorithm)
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class SanityProvider(TimestampedProvider):
    """Sanity GROQ webhooks (`sanity-webhook-signature: t=<ms>,v1=<base64url>` over
    `{t}.{body}`). Sanity's toolkit checks no age: 5 min here (`tolerance_seconds = 0` turns it
    off). ID and type come from unsigned headers: transaction + document ID, the operation."""

    scheme = _Base64UrlScheme(
        "sanity-webhook-signature",
        message="{timestamp}.{body}",
        encoding="base64",
        pairs=",",
        timestamp_format="unix_ms",
        tolerance=300,
    )
    event_id = joined(":", header("sanity-transaction-id"), header("sanity-document-id"))
    event_type = header("sanity-operation")
    default_type = "webhook"
    sample_type = "create"


_BOX_ESCAPED = re.compile(r"[^\x20-\x7e]")
_BOX_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _box_escape(match: re.Match[str]) -> str:
    char = match.group(0)
    if char in _BOX_SHORT:
        return _BOX_SHORT[char]
    units = char.encode("utf-16-be")  # a surrogate pair beyond the BMP
    return "".join(f"\\u{units[i]:02x}{units[i + 1]:02x}" for i in range(0, len(units), 2))


def _box_escaped(body: bytes) -> bytes | None:
    """The body as Box's SDK also tries it: backslashes doubled (except before `/`), control
    and non-ASCII characters as `\\u` escapes (`\\n`, `\\r`, `\\t` short). `None` when
    that changes nothing or the body is not UTF-8."""
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return None
    escaped = _BOX_ESCAPED.sub(_box_escape, re.sub(r"\\(?!/)", r"\\\\", text))
    return None if escaped == text else escaped.encode()


class BoxProvider(TimestampedProvider):
    """Box (`box-signature-primary` / `-secondary`: base64 HMAC over body + the RFC 3339
    `box-delivery-timestamp`; 600 s, its SDK's). Any configured secret may match either header
    (Box's primary and secondary keys during a rotation); like Box's SDK, a body with non-ASCII
    text is also tried with it escaped."""

    scheme = HmacScheme(
        "box-signature-primary",
        message="{body}{timestamp}",
        encoding="base64",
        timestamp_header="box-delivery-timestamp",
        timestamp_format="rfc3339",
        tolerance=600,
    )
    signature_headers = frozenset({"box-signature-secondary"})
    event_id = header("box-delivery-id")
    event_type = body("/trigger")

    def authenticate(self, request: WebhookRequest) -> None:
        headers = request.headers
        timestamp = require_header(headers, "box-delivery-timestamp")
        seconds = self.scheme.seconds(timestamp)
        names = ("box-signature-primary", "box-signature-secondary")
        candidates = [as_bytes(headers[name]) for name in names if headers.get(name)]
        if not candidates:
            raise MissingSignature("box-signature-primary header is missing")
        if not self._matches(request.body, timestamp, candidates):
            escaped = _box_escaped(request.body)  # only tried when the body as sent fails
            if escaped is None or not self._matches(escaped, timestamp, candidates):
                raise InvalidSignature("no Box signature matches a configured key")
        check_tolerance(seconds, request.received_at, self._tolerance or 0.0)

    def _matches(self, signed: bytes, timestamp: str, candidates: list[bytes]) -> bool:
        message = signed + timestamp.encode()
        expected = (as_bytes(self.scheme.digest(key, message)) for key in self._keys)
        return matches_any(expected, candidates)

    @classmethod
    def sign(cls, signing: Signing) -> dict[str, str]:
        headers = super().sign(signing)
        return {**headers, "box-signature-version": "1", "box-signature-algorithm": "HmacSHA256"}


class GhostProvider(TimestampedProvider):
    """Ghost (`X-Ghost-Signature: sha256=<hex>, t=<ms>` over the body then `t`, nothing between).
    Ghost states no tolerance; its retries resend the first signature within seconds: 5 min
    here. No event ID: body hash. Type: the body's `event` (`post.published`)."""

    scheme = HmacScheme(
        "x-ghost-signature",
        message="{body}{timestamp}",
        pairs=",",
        signature_key="sha256",
        timestamp_format="unix_ms",
        tolerance=300,
    )
    event_type = body("/event")

    @classmethod
    def sign(cls, signing: Signing) -> dict[str, str]:
        # Ghost writes the signature first: `sha256=<hex>, t=<ms>`.
        headers = super().sign(signing)
        stamp, _, signature = headers["x-ghost-signature"].partition(",")
        headers["x-ghost-signature"] = f"{signature}, {stamp}"
        return headers


class WebflowProvider(TimestampedProvider):
    """Webflow (`x-webflow-signature` hex over `{x-webflow-timestamp}:{body}`, ms; 5 min, as
    Webflow says). The key is the OAuth app's client secret (or the webhook's own secret).
    No event ID: body hash. Type: the body's `triggerType`."""

    scheme = HmacScheme(
        "x-webflow-signature",
        message="{timestamp}:{body}",
        timestamp_header="x-webflow-timestamp",
        timestamp_format="unix_ms",
        tolerance=300,
    )
    event_type = body("/triggerType")


class _SignatureListScheme(HmacScheme):
    """An `HmacScheme` whose header lists `<prefix><signature>` items, comma-separated (one per
    secret the sender holds while it rotates), the timestamp being in its own header."""

    def received(self, headers: Mapping[str, str]) -> tuple[str, list[bytes]]:
        value = require_header(headers, self.header)
        timestamp = require_header(headers, self.timestamp_header or "")
        candidates = [
            as_bytes(item.strip()[len(self.prefix) :].lower())
            for item in signature_items(value, ",", self.header)
            if item.strip().startswith(self.prefix)
        ]
        if not candidates:
            raise InvalidSignature(f"{self.header} has no {self.prefix!r} signature")
        return timestamp, candidates


class RevolutProvider(TimestampedProvider):
    """Revolut (`Revolut-Signature: v1=<hex>[,v1=<hex>]` over `v1.{ts}.{body}`, the ms
    `Revolut-Request-Timestamp`; 5 min, as Revolut says). No event ID: body hash. Type: the
    body's `event` (`ORDER_COMPLETED`, `TransactionStateChanged`)."""

    scheme = _SignatureListScheme(
        "revolut-signature",
        message="v1.{timestamp}.{body}",
        prefix="v1=",
        timestamp_header="revolut-request-timestamp",
        timestamp_format="unix_ms",
        tolerance=300,
    )
    event_type = body("/event")
