"""Raw-body HMAC providers: one header carrying `prefix + hex|base64(HMAC(secret, body))`.

No timestamp is signed, so replays are absorbed by dedupe on the event ID. Header names, digests
and ID/type locations follow shared/research/signatures.md (§2 of each provider).
"""

from __future__ import annotations

import base64
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import orjson

from providers._fields import batch, body, const, first, header, joined
from providers._hmac_scheme import HmacScheme, HmacSchemeProvider
from providers._provider import GET_AND_POST
from providers._signing import as_bytes, matches_any
from providers.base import Handshake, SourceSpec, VerifiedEvent, WebhookRequest
from providers.errors import InvalidSignature, MissingSignature, StaleTimestamp

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


class MetaProvider(RawBodyProvider):
    """Meta (Facebook, Instagram, WhatsApp, Messenger): `X-Hub-Signature-256: sha256=<hex>`.

    The subscription handshake is a GET with `hub.mode=subscribe`, `hub.verify_token` (the
    source's `verify_token` option) and `hub.challenge`, which is echoed. No event ID is sent:
    the body hash is used.
    """

    methods = GET_AND_POST
    extra_keys = ("verify_token",)
    scheme = HmacScheme("x-hub-signature-256", prefix="sha256=")
    event_type = joined(".", body("/object"), body("/entry/0/changes/0/field"))

    def configure(self, spec: SourceSpec) -> None:
        super().configure(spec)
        token = spec.options.string("verify_token")
        self._verify_token = as_bytes(token) if token is not None else None

    def unsigned_handshake(self, request: WebhookRequest) -> Handshake | None:
        if request.method != "GET":
            return None
        challenge = request.query.get("hub.challenge")
        token = request.query.get("hub.verify_token")
        if request.query.get("hub.mode") != "subscribe" or not challenge or token is None:
            raise MissingSignature("hub.mode=subscribe, hub.verify_token, hub.challenge needed")
        if self._verify_token is None:
            raise InvalidSignature("set the source's verify_token option to subscribe")
        if not matches_any((self._verify_token,), (as_bytes(token),)):
            raise InvalidSignature("hub.verify_token does not match verify_token")
        return Handshake(challenge.encode(), content_type="text/plain")


class DropboxProvider(RawBodyProvider):
    """Dropbox (`X-Dropbox-Signature`, hex). GET `?challenge=` is echoed; notifications only say
    that something changed, so their ID is the body hash."""

    methods = GET_AND_POST
    scheme = HmacScheme("x-dropbox-signature")
    event_type = const("notification")

    def unsigned_handshake(self, request: WebhookRequest) -> Handshake | None:
        if request.method != "GET":
            return None
        challenge = request.query.get("challenge")
        if not challenge:
            raise MissingSignature("challenge parameter is missing")
        return Handshake(
            challenge.encode(),
            content_type="text/plain",
            headers=(("x-content-type-options", "nosniff"),),
        )


class LineProvider(RawBodyProvider):
    """LINE Messaging API (`X-Line-Signature`, base64), keyed with the channel secret.

    ID: `events[].webhookEventId` (a redelivery keeps it); type: `events[].type`. The console's
    "Verify" request is signed and carries an empty `events` list: it is answered 200, not
    published.
    """

    scheme = HmacScheme("x-line-signature", encoding="base64")
    event_id = batch("/events", "webhookEventId", kind="id")
    event_type = batch("/events", "type", kind="type")

    def signed_handshake(self, request: WebhookRequest, document: Any) -> Handshake | None:
        if isinstance(document, dict) and document.get("events") == []:
            return Handshake(b"", content_type="text/plain")
        return None


class HelpScoutProvider(RawBodyProvider):
    """Help Scout (`X-HelpScout-Signature`, HMAC-SHA1 base64). Type: `X-HelpScout-Event`.

    The body is the object the event is about (a conversation, a customer), so its `id` is not
    an event ID, and one change can send the same object under two events (`convo.assigned` and
    `convo.status`): the ID is a digest of the type and the body.
    """

    scheme = HmacScheme("x-helpscout-signature", algorithm="sha1", encoding="base64")
    event_type = header("x-helpscout-event")
    sample_type = "convo.created"
    replays_per_type = True

    def event(self, request: WebhookRequest, document: Any) -> VerifiedEvent:
        event = super().event(request, document)
        return replace(event, id=event.replay_key) if event.replay_key else event


@dataclass(frozen=True, slots=True)
class _ActivityKind:
    """An X delivery's type: its top-level `…_events` key, else `webhook`; only an object has
    one (anything else is `malformed`)."""

    needs_body = True

    def read(self, headers: Mapping[str, str], document: Any) -> str | None:
        if not isinstance(document, dict):
            return None
        return next((str(key) for key in document if str(key).endswith("_events")), "webhook")


#: What hookgate answers a CRC for. X's tokens are opaque base64-like text; the CRC answer is
#: the very HMAC that signs bodies, so a token must never be something a body could be: an
#: event is a JSON object, and none can be written in these characters.
_CRC_TOKEN = re.compile(r"[A-Za-z0-9+/=_-]{1,256}")


class TwitterProvider(RawBodyProvider):
    """X (Twitter) Account Activity and v2 webhooks: `x-twitter-webhooks-signature: sha256=`
    base64 HMAC-SHA256 of the body, keyed with the app's consumer secret.

    The challenge-response check (`GET ?crc_token=`) is answered with
    `{"response_token": "sha256=" + base64(HMAC(consumer secret, crc_token))}`, with the
    source's first secret. That is the body signature's construction, so only tokens of
    base64-like characters are answered: no JSON object can be signed through it, and a body
    that is not an object is `malformed`. The ID is the body hash; the type the top-level
    `…_events` key (`tweet_create_events`), else `webhook`.
    """

    methods = GET_AND_POST
    scheme = HmacScheme("x-twitter-webhooks-signature", encoding="base64", prefix="sha256=")
    event_type = _ActivityKind()

    def unsigned_handshake(self, request: WebhookRequest) -> Handshake | None:
        if request.method != "GET":
            return None
        token = request.query.get("crc_token")
        if not token:
            raise MissingSignature("crc_token parameter is missing")
        if not _CRC_TOKEN.fullmatch(token):
            raise InvalidSignature("crc_token is not a token X sends")
        digest = hmac.digest(self._keys[0], token.encode(), "sha256")
        answer = {"response_token": "sha256=" + base64.b64encode(digest).decode("ascii")}
        return Handshake(orjson.dumps(answer))


# --- signatures-2.md Group IV (raw-body HMAC, hex) ----------------------------------------------


class GoCardlessProvider(RawBodyProvider):
    """GoCardless (`Webhook-Signature`, hex). One delivery batches several events: the ID is
    the batch digest of `events[].id`, the type `resource_type`.`action` (`batch` if mixed)."""

    scheme = HmacScheme("webhook-signature")
    event_id = batch("/events", "id", kind="id")
    event_type = joined(
        ".",
        batch("/events", "resource_type", kind="type"),
        batch("/events", "action", kind="type"),
    )


class RazorpayProvider(RawBodyProvider):
    """Razorpay (`X-Razorpay-Signature`, hex). ID: `X-Razorpay-Event-Id`, else the body hash."""

    scheme = HmacScheme("x-razorpay-signature")
    event_id = header("x-razorpay-event-id")
    event_type = body("/event")


class OnfidoProvider(RawBodyProvider):
    """Onfido (`X-SHA2-Signature`, hex, keyed with the webhook token). The ID is the object's
    ID and the action: one check is `check.started`, then `check.completed`."""

    scheme = HmacScheme("x-sha2-signature")
    event_id = joined(":", body("/payload/object/id"), body("/payload/action"))
    event_type = body("/payload/action")


class ModernTreasuryProvider(RawBodyProvider):
    """Modern Treasury (`X-Signature`, hex). No event ID is documented in the body: the body
    hash is used (`data.id` repeats across an object's events)."""

    scheme = HmacScheme("x-signature")
    event_type = body("/event")


class EasyPostProvider(RawBodyProvider):
    """EasyPost (`X-Hmac-Signature: hmac-sha256-hex=`), keyed with the NFKD-normalised secret."""

    scheme = HmacScheme("x-hmac-signature", prefix="hmac-sha256-hex=", key_format="nfkd")
    event_id = body("/id")
    event_type = body("/description")


class AirtableProvider(RawBodyProvider):
    """Airtable (`X-Airtable-Content-MAC: hmac-sha256=`), keyed with the base64-decoded
    `macSecretBase64`. A notification only says that a webhook has payloads to list: its ID
    is the webhook ID and the notification's timestamp."""

    scheme = HmacScheme("x-airtable-content-mac", prefix="hmac-sha256=", key_format="base64")
    event_id = joined(":", body("/webhook/id"), body("/timestamp"))
    event_type = const("notification")


class PaystackProvider(RawBodyProvider):
    """Paystack (`x-paystack-signature`, HMAC-SHA512 hex, keyed with the secret API key). No
    event ID is sent and `data.id` repeats across one object's events: the body hash is used."""

    scheme = HmacScheme("x-paystack-signature", algorithm="sha512")
    event_type = body("/event")


class CheckoutProvider(RawBodyProvider):
    """Checkout.com workflows (`Cko-Signature`, hex, keyed with the workflow action's key). An
    `Authorization` header configured on the action is not checked (the signature is), and
    never forwarded."""

    scheme = HmacScheme("cko-signature")
    event_id = body("/id")
    event_type = body("/type")
    # A secret configured as the action's `Authorization` header travels as is.
    credential_headers = frozenset({"authorization"})


class WebexProvider(RawBodyProvider):
    """Webex (`X-Spark-Signature`, HMAC-SHA1 hex, keyed with the webhook's `secret`). The body's
    `id` is the webhook's, not the event's: the body hash is used."""

    scheme = HmacScheme("x-spark-signature", algorithm="sha1")
    event_type = joined(".", body("/resource"), body("/event"))


class ClickUpProvider(RawBodyProvider):
    """ClickUp (`X-Signature`, hex, keyed with `webhook.secret`). No event ID is documented for
    every event: the body hash is used."""

    scheme = HmacScheme("x-signature")
    event_type = body("/event")


class SquarespaceProvider(RawBodyProvider):
    """Squarespace (`Squarespace-Signature`, hex), keyed with the hex-decoded subscription
    secret. ID: the notification's `id`; type: its `topic`."""

    scheme = HmacScheme("squarespace-signature", key_format="hex")
    event_id = body("/id")
    event_type = body("/topic")
