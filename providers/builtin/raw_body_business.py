"""Raw-body HMAC providers from signatures-2.md (business SaaS and payments): Help Scout and
Group IV (hex digests). Each is data on the shared HMAC engine, as in `providers.builtin.raw_body`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from providers._fields import batch, body, const, header, joined
from providers._hmac_scheme import HmacScheme
from providers.base import VerifiedEvent, WebhookRequest
from providers.builtin.raw_body import RawBodyProvider


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
