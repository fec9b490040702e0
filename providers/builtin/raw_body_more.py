"""More raw-body HMAC providers, in a module of their own (issue 14's slices).

Coinify signs the body with the shared secret, lower-case hex. Microsoft Teams' outgoing
webhooks sign it with the security token Teams shows once, base64-decoded into the key, and
send the base64 digest in `Authorization: HMAC <digest>`. CircleCI lists versioned signatures
(`v1=<hex>,v2=…`; only `v1` exists), as PagerDuty's v3 webhooks do (a `v1=` per secret while
one rotates). Pusher Channels signs the body with the app secret and puts its own millisecond
time, `time_ms`, in the body. WooCommerce signs the body, base64, and names the topic in an
unsigned header. Cal.com and Alchemy Notify sign the body, hex.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

from providers._fields import batch, body, header
from providers._hmac_scheme import HmacScheme, HmacSchemeProvider
from providers._signing import require_header, signature_items
from providers.base import Handshake, VerifiedEvent, WebhookRequest
from providers.errors import InvalidSignature, StaleTimestamp


class CoinifyProvider(HmacSchemeProvider):
    """Coinify (`X-Coinify-Webhook-Signature`, lower-case hex HMAC-SHA256 of the body, keyed
    with the shared secret set on the dashboard). ID: the body's `id` (a retry keeps it). Type:
    the body's `event` (`payment-intent.completed`)."""

    family: ClassVar[str] = "raw-body-hmac"
    scheme = HmacScheme("x-coinify-webhook-signature")
    event_id = body("/id")
    event_type = body("/event")


class MicrosoftTeamsProvider(HmacSchemeProvider):
    """Microsoft Teams outgoing webhooks (`Authorization: HMAC <base64>`), HMAC-SHA256 of the
    body keyed with the **base64-decoded** security token (put the token in `secrets` as Teams
    shows it). `Authorization` carries a signature here, not a credential; the gateway never
    forwards it anyway. ID and type: the activity's `id` and `type` (`message`).

    Teams waits 5 s for a reply and shows it in the channel as the webhook's answer; the
    gateway answers its usual JSON, which is not a message activity.
    """

    family: ClassVar[str] = "raw-body-hmac"
    scheme = HmacScheme("authorization", encoding="base64", prefix="HMAC ", key_format="base64")
    event_id = body("/id")
    event_type = body("/type")


class _VersionedScheme(HmacScheme):
    """An `HmacScheme` whose header lists `<version>=<signature>` items, comma-separated; only
    the `signature_key` version counts (an older one must not be a way in: no downgrade)."""

    def received(self, headers: Mapping[str, str]) -> tuple[str, list[bytes]]:
        value = require_header(headers, self.header)
        candidates = []
        for item in signature_items(value, ",", self.header):
            version, _, text = item.strip().partition("=")
            if version == self.signature_key and text:
                candidates.append(self._normalise(text))
        if not candidates:
            raise InvalidSignature(f"{self.header} has no {self.signature_key}= signature")
        return "", candidates

    def sign(
        self,
        key: bytes,
        body: bytes,
        timestamp: int,
        *,
        method: str = "POST",
        url: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        signed = super().sign(key, body, timestamp, method=method, url=url, headers=headers)
        return {self.header: f"{self.signature_key}={signed[self.header]}"}


class CircleCIProvider(HmacSchemeProvider):
    """CircleCI outbound webhooks (`circleci-signature: v1=<hex>[,v2=…]`, HMAC-SHA256 of the
    body keyed with the webhook's secret token; only `v1` is read, as CircleCI says). ID: the
    body's `id` (CircleCI's dedupe key); type: its `type` (`workflow-completed`)."""

    family: ClassVar[str] = "raw-body-hmac"
    scheme = _VersionedScheme("circleci-signature")
    event_id = body("/id")
    event_type = body("/type")


class PagerDutyProvider(HmacSchemeProvider):
    """PagerDuty v3 webhooks (`X-PagerDuty-Signature: v1=<hex>[,v1=<hex>]`, one per signing
    secret while the subscription's secret rotates; HMAC-SHA256 of the body). ID and type: the
    body's `event.id` and `event.event_type` (`incident.triggered`, `pagey.ping`)."""

    family: ClassVar[str] = "raw-body-hmac"
    scheme = _VersionedScheme("x-pagerduty-signature")
    event_id = body("/event/id")
    event_type = body("/event/event_type")


class PusherProvider(HmacSchemeProvider):
    """Pusher Channels webhooks (`X-Pusher-Signature`, hex HMAC-SHA256 of the body keyed with
    the app secret; `X-Pusher-Key` names the app and is not checked). The body's `time_ms`
    (signed) must be within 5 min either way, as Pusher's SDK (`validate_webhook`) requires.
    No event ID: the body hash. Type: the events' `name` (`channel_occupied`; `batch` if mixed).
    """

    family: ClassVar[str] = "raw-body-hmac"
    scheme = HmacScheme("x-pusher-signature")
    event_type = batch("/events", "name", kind="type")
    tolerance_ms: ClassVar[int] = 300_000

    def event(self, request: WebhookRequest, document: Any) -> VerifiedEvent:
        stamp = document.get("time_ms") if isinstance(document, dict) else None
        if not isinstance(stamp, int) or isinstance(stamp, bool):
            return super().event(request, document)  # Pusher always sends it
        if abs(request.received_at * 1000 - stamp) > self.tolerance_ms:
            raise StaleTimestamp("time_ms is outside 5 minutes")
        return super().event(request, document)


#: The ping WooCommerce posts, unsigned, when a webhook is saved; it must answer 200.
_WOOCOMMERCE_PING = re.compile(rb"webhook_id=[0-9]{1,20}")


class WooCommerceProvider(HmacSchemeProvider):
    """WooCommerce (`X-WC-Webhook-Signature`, base64 HMAC-SHA256 of the body, keyed with the
    webhook's secret). Type: `X-WC-Webhook-Topic` (`order.created`; unsigned). The body is the
    resource (an order), and one change sends it under two topics (`order.created` and
    `order.updated`), and `X-WC-Webhook-Delivery-ID` is a hash of the webhook ID and the second
    (two events in one second share it): the ID is a digest of the topic and the body.

    The ping sent when the webhook is saved (`webhook_id=<n>`, unsigned, no signature header)
    is answered 200, empty, and never published: WooCommerce refuses to activate the webhook
    without that 200.
    """

    family: ClassVar[str] = "raw-body-hmac"
    scheme = HmacScheme("x-wc-webhook-signature", encoding="base64")
    event_type = header("x-wc-webhook-topic")
    sample_type = "order.created"
    replays_per_type = True

    def unsigned_handshake(self, request: WebhookRequest) -> Handshake | None:
        if self.scheme.header in request.headers:
            return None
        if _WOOCOMMERCE_PING.fullmatch(request.body) is None:
            return None
        return Handshake(b"", content_type="text/plain")

    def event(self, request: WebhookRequest, document: Any) -> VerifiedEvent:
        event = super().event(request, document)
        return replace(event, id=event.replay_key) if event.replay_key else event


class CalComProvider(HmacSchemeProvider):
    """Cal.com (`X-Cal-Signature-256`, hex HMAC-SHA256 of the body keyed with the webhook's
    secret; without a secret Cal.com sends `no-secret-provided`, which verifies nothing). No
    event ID: the body hash (its `createdAt` differs per event). Type: the body's
    `triggerEvent` (`BOOKING_CREATED`); a custom payload template may leave it out: `webhook`.
    """

    family: ClassVar[str] = "raw-body-hmac"
    scheme = HmacScheme("x-cal-signature-256")
    event_type = body("/triggerEvent")
    default_type = "webhook"


class AlchemyProvider(HmacSchemeProvider):
    """Alchemy Notify (`X-Alchemy-Signature`, hex HMAC-SHA256 of the body keyed with the
    webhook's signing key). ID: the body's `id` (`whevt_…`); type: its `type`
    (`ADDRESS_ACTIVITY`, `MINED_TRANSACTION`, `GRAPHQL`)."""

    family: ClassVar[str] = "raw-body-hmac"
    scheme = HmacScheme("x-alchemy-signature")
    event_id = body("/id")
    event_type = body("/type")
