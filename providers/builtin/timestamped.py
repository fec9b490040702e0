"""Timestamped HMAC providers: the signed message folds in a timestamp the gateway checks.

Stripe (its own module) is the model; Slack and Zoom sign `v0:{ts}:{body}`, Mux and Calendly
use Stripe's `t=,v1=` header, Paddle `ts=;h1=` with a colon, Twitch concatenates the message ID,
Zendesk an RFC 3339 time. Tolerances are the providers' documented ones (± either way).
signatures-2.md's Group III senders are in `providers.builtin.timestamped_apps`.
"""

from __future__ import annotations

import hmac
from typing import Any, ClassVar

import orjson

from providers._fields import body, first, header, joined
from providers._hmac_scheme import HmacScheme, HmacSchemeProvider
from providers.base import Handshake, SourceSpec, WebhookRequest
from providers.errors import InvalidSignature


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
