"""Timestamped HMAC providers: the signed message folds in a timestamp the gateway checks.

Stripe (its own module) is the model; Slack and Zoom sign `v0:{ts}:{body}`, Mux and Calendly
use Stripe's `t=,v1=` header, Paddle `ts=;h1=` with a colon, Twitch concatenates the message ID,
Zendesk an RFC 3339 time; WorkOS and Sanity sign millisecond timestamps, ElevenLabs `v0=`
(Sanity's digest is unpadded base64url). Tolerances are the providers' documented ones (± either
way).
"""

from __future__ import annotations

import base64
import hmac
import re
from collections.abc import Mapping
from typing import Any, ClassVar

import orjson

from providers._fields import body, first, header, joined
from providers._hmac_scheme import HmacScheme, HmacSchemeProvider
from providers._provider import Signing
from providers._signing import (
    as_bytes,
    check_tolerance,
    matches_any,
    require_header,
    signature_items,
)
from providers.base import Handshake, SourceSpec, WebhookRequest
from providers.errors import InvalidSignature, MissingSignature


class TimestampedProvider(HmacSchemeProvider):
    family: ClassVar[str] = "timestamped-hmac"


def _v0(signature_header: str, timestamp_header: str) -> HmacScheme:
    """Slack's `v0=` scheme (Zoom's too): `v0:{ts}:{body}`, hex, 5 minutes either way."""
    return HmacScheme(
        signature_header,
        message="v0:{timestamp}:{body}",
        prefix="v0=",
        timestamp_header=timestamp_header,
        tolerance=300,
    )


class SlackProvider(TimestampedProvider):
    """Slack (`X-Slack-Signature: v0=`, `X-Slack-Request-Timestamp`; 5 min).

    `url_verification` is answered with its challenge. Events API bodies give `event_id`;
    slash commands and interactivity (form bodies) fall back to the body hash.
    """

    scheme = _v0("x-slack-signature", "x-slack-request-timestamp")
    event_id = body("/event_id")
    event_type = joined(".", body("/type"), body("/event/type"))
    default_type = "interaction"

    def signed_handshake(self, request: WebhookRequest, document: Any) -> Handshake | None:
        if isinstance(document, dict) and document.get("type") == "url_verification":
            challenge = document.get("challenge")
            if isinstance(challenge, str):
                return Handshake(orjson.dumps({"challenge": challenge}))
        return None


class ZoomProvider(TimestampedProvider):
    """Zoom (`x-zm-signature: v0=`, `x-zm-request-timestamp`; Slack's construction; 5 min).

    `endpoint.url_validation` is answered with `plainToken` and its HMAC under the first
    secret. Zoom documents no event ID: the body hash is used.
    """

    scheme = _v0("x-zm-signature", "x-zm-request-timestamp")
    event_type = body("/event")
    # Zoom's legacy verification token travels as is in `authorization`.
    credential_headers = frozenset({"authorization"})

    def configure(self, spec: SourceSpec) -> None:
        super().configure(spec)
        self._token_key = self._keys[0]

    def signed_handshake(self, request: WebhookRequest, document: Any) -> Handshake | None:
        if not isinstance(document, dict) or document.get("event") != "endpoint.url_validation":
            return None
        payload = document.get("payload")
        plain = payload.get("plainToken") if isinstance(payload, dict) else None
        if not isinstance(plain, str) or not plain:
            return None
        encrypted = hmac.digest(self._token_key, plain.encode(), "sha256").hex()
        return Handshake(orjson.dumps({"plainToken": plain, "encryptedToken": encrypted}))


class PaddleProvider(TimestampedProvider):
    """Paddle Billing (`Paddle-Signature: ts=;h1=`, `{ts}:{body}`). Paddle's default: 5 s."""

    scheme = HmacScheme(
        "paddle-signature",
        message="{timestamp}:{body}",
        pairs=";",
        timestamp_key="ts",
        signature_key="h1",
        tolerance=5,
    )
    event_id = body("/event_id")
    event_type = body("/event_type")


class MuxProvider(TimestampedProvider):
    """Mux (`Mux-Signature: t=,v1=`, Stripe's construction; 5 min)."""

    scheme = HmacScheme("mux-signature", message="{timestamp}.{body}", pairs=",", tolerance=300)
    event_id = body("/id")
    event_type = body("/type")


class CalendlyProvider(TimestampedProvider):
    """Calendly (`Calendly-Webhook-Signature: t=,v1=`; 3 min). No event ID: the body hash."""

    scheme = HmacScheme(
        "calendly-webhook-signature", message="{timestamp}.{body}", pairs=",", tolerance=180
    )
    event_type = body("/event")


class TwitchProvider(TimestampedProvider):
    """Twitch EventSub (`sha256=` over message ID + RFC 3339 timestamp + body; 10 min).

    `webhook_callback_verification` is answered with the challenge as plain text. The type is
    the message type refined by the subscription type (`notification.channel.follow`).
    """

    scheme = HmacScheme(
        "twitch-eventsub-message-signature",
        message="{header:twitch-eventsub-message-id}{timestamp}{body}",
        prefix="sha256=",
        timestamp_header="twitch-eventsub-message-timestamp",
        timestamp_format="rfc3339",
        tolerance=600,
    )
    event_id = header("twitch-eventsub-message-id")
    event_type = joined(
        ".", header("twitch-eventsub-message-type"), header("twitch-eventsub-subscription-type")
    )
    sample_type = "notification"
    reads_body = True  # the verification challenge is in the body

    def signed_handshake(self, request: WebhookRequest, document: Any) -> Handshake | None:
        kind = request.headers.get("twitch-eventsub-message-type")
        if kind != "webhook_callback_verification" or not isinstance(document, dict):
            return None
        challenge = document.get("challenge")
        if not isinstance(challenge, str):
            return None
        return Handshake(challenge.encode(), content_type="text/plain")


class ZendeskProvider(TimestampedProvider):
    """Zendesk (`X-Zendesk-Webhook-Signature`, base64 over timestamp + body).

    Zendesk's pages disagree on the order (Support docs: timestamp + body; the Event Connectors
    vector reproduces only as body + timestamp), so both orders are accepted. Zendesk states no
    tolerance: the timestamp is signed, so it is held to 5 minutes either way like the others
    (`tolerance_seconds = 0` turns the check off, should retries keep their first timestamp).
    """

    scheme = HmacScheme(
        "x-zendesk-webhook-signature",
        message="{timestamp}{body}",
        encoding="base64",
        timestamp_header="x-zendesk-webhook-signature-timestamp",
        timestamp_format="rfc3339",
        tolerance=300,
    )
    _reversed = HmacScheme(
        "x-zendesk-webhook-signature",
        message="{body}{timestamp}",
        encoding="base64",
        timestamp_header="x-zendesk-webhook-signature-timestamp",
        timestamp_format="rfc3339",
        tolerance=300,
    )
    event_id = first(body("/id"), header("x-zendesk-webhook-invocation-id"))
    event_type = body("/type")
    default_type = "webhook"

    def authenticate(self, request: WebhookRequest) -> None:
        try:
            super().authenticate(request)
        except InvalidSignature:
            self._reversed.check(request, self._keys, self._tolerance or 0.0, request.url)


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
