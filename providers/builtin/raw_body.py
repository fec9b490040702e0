"""Raw-body HMAC providers: one header carrying `prefix + hex|base64(HMAC(secret, body))`.

No timestamp is signed, so replays are absorbed by dedupe on the event ID. Header names, digests
and ID/type locations follow shared/research/signatures.md (§2 of each provider).
"""

from __future__ import annotations

from typing import Any, ClassVar

from providers._fields import batch, body, first, header, joined
from providers._hmac_scheme import HmacScheme, HmacSchemeProvider
from providers.base import Handshake, VerifiedEvent, WebhookRequest
from providers.errors import StaleTimestamp

_HEX_SHA256 = HmacScheme("x-hub-signature", prefix="sha256=")


class RawBodyProvider(HmacSchemeProvider):
    family: ClassVar[str] = "raw-body-hmac"


class ShopifyProvider(RawBodyProvider):
    """Shopify (`X-Shopify-Hmac-Sha256`, base64). ID: `X-Shopify-Event-Id`, else the webhook ID."""

    scheme = HmacScheme("x-shopify-hmac-sha256", encoding="base64")
    event_id = first(header("x-shopify-event-id"), header("x-shopify-webhook-id"))
    event_type = header("x-shopify-topic")
    sample_type = "orders/create"
    # A new order's orders/create and orders/updated can carry the very same body.
    replays_per_type = True


class BitbucketProvider(RawBodyProvider):
    """Bitbucket Cloud: SHA-256 under the `X-Hub-Signature` name. ID: `X-Request-UUID`."""

    scheme = _HEX_SHA256
    event_id = header("x-request-uuid")
    event_type = header("x-event-key")
    sample_type = "repo:push"


class JiraProvider(RawBodyProvider):
    """Jira Cloud admin webhooks (WebSub `X-Hub-Signature: sha256=`)."""

    scheme = _HEX_SHA256
    event_id = header("x-atlassian-webhook-identifier")
    event_type = body("/webhookEvent")


class IntercomProvider(RawBodyProvider):
    """Intercom (`X-Hub-Signature: sha1=<hex>`, keyed with the app's client secret)."""

    scheme = HmacScheme("x-hub-signature", algorithm="sha1", prefix="sha1=")
    event_id = body("/id")
    event_type = body("/topic")


class TypeformProvider(RawBodyProvider):
    """Typeform (`Typeform-Signature: sha256=<base64>`)."""

    scheme = HmacScheme("typeform-signature", encoding="base64", prefix="sha256=")
    event_id = body("/event_id")
    event_type = body("/event_type")


class LemonSqueezyProvider(RawBodyProvider):
    """Lemon Squeezy (`X-Signature`, hex). No event ID is documented: the body hash is used."""

    scheme = HmacScheme("x-signature")
    event_type = first(header("x-event-name"), body("/meta/event_name"))
    sample_type = "order_created"


class CoinbaseProvider(RawBodyProvider):
    """Coinbase Commerce (`X-CC-Webhook-Signature`, hex). ID: `event.id`."""

    scheme = HmacScheme("x-cc-webhook-signature")
    event_id = body("/event/id")
    event_type = body("/event/type")


class SentryProvider(RawBodyProvider):
    """Sentry integration platform (`Sentry-Hook-Signature`, hex over the raw body)."""

    scheme = HmacScheme("sentry-hook-signature")
    event_id = header("request-id")
    event_type = joined(".", header("sentry-hook-resource"), body("/action"))
    sample_type = "issue"


class VercelProvider(RawBodyProvider):
    """Vercel (`x-vercel-signature`, HMAC-SHA1 hex)."""

    scheme = HmacScheme("x-vercel-signature", algorithm="sha1")
    event_id = body("/id")
    event_type = body("/type")


class SegmentProvider(RawBodyProvider):
    """Segment Webhooks (Actions) (`X-Signature`, HMAC-SHA1 hex). ID: `messageId`."""

    scheme = HmacScheme("x-signature", algorithm="sha1")
    event_id = body("/messageId")
    event_type = body("/type")


class IntuitProvider(RawBodyProvider):
    """Intuit QuickBooks (`intuit-signature`, base64). CloudEvents arrays or the legacy shape."""

    scheme = HmacScheme("intuit-signature", encoding="base64")
    event_id = batch("", "id", kind="id")
    event_type = batch("", "type", kind="type")
    default_type = "data_change"


class NotionProvider(RawBodyProvider):
    """Notion (`X-Notion-Signature: sha256=`), keyed with the subscription's verification token."""

    scheme = HmacScheme("x-notion-signature", prefix="sha256=")
    event_id = body("/id")
    event_type = body("/type")


class LinearProvider(RawBodyProvider):
    """Linear (`Linear-Signature`, hex). The body's `webhookTimestamp` (ms) must be within 60 s."""

    scheme = HmacScheme("linear-signature")
    event_id = header("linear-delivery")
    event_type = joined(".", body("/type"), body("/action"))
    tolerance_ms: ClassVar[int] = 60_000

    def event(self, request: WebhookRequest, document: Any) -> VerifiedEvent:
        stamp = document.get("webhookTimestamp") if isinstance(document, dict) else None
        if not isinstance(stamp, int) or isinstance(stamp, bool):
            return super().event(request, document)
        if abs(request.received_at * 1000 - stamp) > self.tolerance_ms:
            raise StaleTimestamp("webhookTimestamp is outside 60 seconds")
        return super().event(request, document)


class XeroProvider(RawBodyProvider):
    """Xero (`x-xero-signature`, base64). An empty `events` list is the Intent to Receive."""

    scheme = HmacScheme("x-xero-signature", encoding="base64")
    event_id = batch("/events", "resourceId", kind="id")
    event_type = joined(".", body("/events/0/eventCategory"), body("/events/0/eventType"))

    def signed_handshake(self, request: WebhookRequest, document: Any) -> Handshake | None:
        if isinstance(document, dict) and document.get("events") == []:
            return Handshake(b"", content_type="text/plain")
        return None
