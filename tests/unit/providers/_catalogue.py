"""The catalogue's test data: per provider, a body it accepts, the headers that sign, secrets.

Shared by the contract tests and the property tests.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import uuid
from typing import Any
from urllib.parse import quote_plus

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from providers import load, sign
from providers.builtin.aws_sns import DEFAULT_TOPIC, AwsSnsProvider
from providers.builtin.google_oidc import GoogleOidcProvider, key_id
from tests.unit.providers._test_certificates import PEM, make_chain, self_signed


def whsec() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


def hex_secret() -> str:
    return os.urandom(16).hex()


def b64_secret() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def nfkd_secret() -> str:
    # A compatibility ligature and a full-width digit: NFKD changes the key's bytes.
    return "\ufb01\uff11" + os.urandom(12).hex()


def ed25519_seed() -> str:
    return os.urandom(32).hex()


def p256_pkcs8() -> str:
    der = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return base64.b64encode(der).decode()


def json_body(value: object) -> bytes:
    return json.dumps(value).encode()


URL = {"public_url": "https://hooks.example.com/webhooks/x"}
SW = ("webhook-id", "webhook-timestamp", "webhook-signature")
SVIX = ("svix-id", "svix-timestamp", "svix-signature")

# name → (body, signature headers, has_timestamp, options, secret maker)
TABLE: dict[str, tuple[bytes, tuple[str, ...], bool, dict[str, Any], Any]] = {
    "svix": (json_body({"type": "user.created"}), SVIX, True, {}, whsec),
    "clerk": (json_body({"type": "user.created", "data": {}}), SVIX, True, {}, whsec),
    "resend": (json_body({"type": "email.sent"}), SVIX, True, {}, whsec),
    "replicate": (json_body({"id": "p1", "status": "succeeded"}), SW, True, {}, whsec),
    "slack": (
        json_body({"type": "event_callback", "event_id": "Ev1", "event": {"type": "message"}}),
        ("x-slack-signature", "x-slack-request-timestamp"),
        True,
        {},
        hex_secret,
    ),
    "zoom": (
        json_body({"event": "meeting.started", "event_ts": 1}),
        ("x-zm-signature", "x-zm-request-timestamp"),
        True,
        {},
        hex_secret,
    ),
    "paddle": (
        json_body({"event_id": "evt_1", "event_type": "transaction.paid"}),
        ("paddle-signature",),
        True,
        {},
        hex_secret,
    ),
    "mux": (
        json_body({"id": "1", "type": "video.asset.ready"}),
        ("mux-signature",),
        True,
        {},
        hex_secret,
    ),
    "calendly": (
        json_body({"event": "invitee.created"}),
        ("calendly-webhook-signature",),
        True,
        {},
        hex_secret,
    ),
    "twitch": (
        json_body({"subscription": {"type": "channel.follow"}, "event": {}}),
        (
            "twitch-eventsub-message-signature",
            "twitch-eventsub-message-timestamp",
            "twitch-eventsub-message-id",
        ),
        True,
        {},
        hex_secret,
    ),
    "zendesk": (
        json_body({"id": "1", "type": "zen:event-type:ticket.created"}),
        ("x-zendesk-webhook-signature", "x-zendesk-webhook-signature-timestamp"),
        True,
        {},
        hex_secret,
    ),
    "shopify": (json_body({"id": 1}), ("x-shopify-hmac-sha256",), False, {}, hex_secret),
    "bitbucket": (json_body({"push": {}}), ("x-hub-signature",), False, {}, hex_secret),
    "jira": (
        json_body({"webhookEvent": "jira:issue_created"}),
        ("x-hub-signature",),
        False,
        {},
        hex_secret,
    ),
    "intercom": (
        json_body({"id": "notif_1", "topic": "user.created"}),
        ("x-hub-signature",),
        False,
        {},
        hex_secret,
    ),
    "typeform": (
        json_body({"event_id": "e1", "event_type": "form_response"}),
        ("typeform-signature",),
        False,
        {},
        hex_secret,
    ),
    "lemonsqueezy": (json_body({"meta": {}}), ("x-signature",), False, {}, hex_secret),
    "coinbase": (
        json_body({"event": {"id": "e1", "type": "charge:confirmed"}}),
        ("x-cc-webhook-signature",),
        False,
        {},
        hex_secret,
    ),
    "sentry": (json_body({"action": "created"}), ("sentry-hook-signature",), False, {}, hex_secret),
    "vercel": (
        json_body({"id": "e1", "type": "deployment.created"}),
        ("x-vercel-signature",),
        False,
        {},
        hex_secret,
    ),
    "segment": (
        json_body({"messageId": "m1", "type": "track"}),
        ("x-signature",),
        False,
        {},
        hex_secret,
    ),
    "intuit": (
        json_body([{"id": "e1", "type": "qbo.customer.created.v1"}]),
        ("intuit-signature",),
        False,
        {},
        hex_secret,
    ),
    "notion": (
        json_body({"id": "e1", "type": "page.created"}),
        ("x-notion-signature",),
        False,
        {},
        hex_secret,
    ),
    "linear": (
        json_body({"type": "Issue", "action": "create"}),
        ("linear-signature",),
        False,
        {},
        hex_secret,
    ),
    "xero": (
        json_body(
            {"events": [{"resourceId": "r1", "eventCategory": "INVOICE", "eventType": "UPDATE"}]}
        ),
        ("x-xero-signature",),
        False,
        {},
        hex_secret,
    ),
    "meta": (
        json_body({"object": "page", "entry": [{"changes": [{"field": "feed"}]}]}),
        ("x-hub-signature-256",),
        False,
        {"verify_token": "meta-verify-token"},
        hex_secret,
    ),
    "dropbox": (
        json_body({"list_folder": {"accounts": ["a"]}}),
        ("x-dropbox-signature",),
        False,
        {},
        hex_secret,
    ),
    "square": (
        json_body({"event_id": "e1", "type": "payment.updated"}),
        ("x-square-hmacsha256-signature",),
        False,
        URL,
        hex_secret,
    ),
    "hubspot": (
        json_body([{"eventId": 1, "subscriptionType": "contact.creation"}]),
        ("x-hubspot-signature-v3", "x-hubspot-request-timestamp"),
        True,
        URL,
        hex_secret,
    ),
    "twilio": (
        b"MessageSid=SM1&MessageStatus=delivered",
        ("x-twilio-signature",),
        False,
        URL,
        hex_secret,
    ),
    "discord": (
        json_body({"id": "1", "type": 2}),
        ("x-signature-ed25519", "x-signature-timestamp"),
        True,
        {},
        ed25519_seed,
    ),
    "sendgrid": (
        json_body([{"sg_event_id": "a", "event": "delivered"}]) + b"\r\n",
        ("x-twilio-email-event-webhook-signature", "x-twilio-email-event-webhook-timestamp"),
        True,
        {},
        p256_pkcs8,
    ),
    "plaid": (
        json_body({"webhook_type": "ITEM", "webhook_code": "WEBHOOK_UPDATE_ACKNOWLEDGED"}),
        ("plaid-verification",),
        True,
        {},
        p256_pkcs8,
    ),
    "gitlab": (json_body({"object_kind": "push"}), ("x-gitlab-token",), False, {}, hex_secret),
    "okta": (
        json_body({"data": {"events": [{"uuid": "u1", "eventType": "user.session.start"}]}}),
        ("authorization",),
        False,
        {},
        hex_secret,
    ),
    "postmark": (
        json_body({"RecordType": "Delivery", "MessageID": "m1"}),
        ("authorization",),
        False,
        {},
        lambda: "hooks:" + hex_secret(),
    ),
    "openai": (json_body({"id": "evt_1", "type": "response.completed"}), SW, True, {}, whsec),
    "increase": (
        json_body({"id": "event_1", "category": "transaction.created", "type": "event"}),
        SW,
        True,
        {},
        hex_secret,  # Increase's SDK keys with the secret as is (see `builtin/svix.py`)
    ),
    "make": (json_body({"scenarioId": 1}), SW, True, {}, whsec),
    "workos": (
        json_body({"id": "event_01", "event": "user.created", "data": {}}),
        ("workos-signature",),
        True,
        {},
        hex_secret,
    ),
    "elevenlabs": (
        json_body({"type": "post_call_transcription", "data": {"conversation_id": "c1"}}),
        ("elevenlabs-signature",),
        True,
        {},
        hex_secret,
    ),
    "sanity": (
        json_body({"_id": "doc1", "title": "T"}),
        ("sanity-webhook-signature",),
        True,
        {},
        hex_secret,
    ),
    "box": (
        json_body({"type": "webhook_event", "trigger": "FILE.UPLOADED", "source": {"id": "1"}}),
        ("box-signature-primary", "box-delivery-timestamp"),
        True,
        {},
        hex_secret,
    ),
    "ghost": (
        json_body({"event": "post.published", "post": {"current": {"id": "p1"}}}),
        ("x-ghost-signature",),
        True,
        {},
        hex_secret,
    ),
    "webflow": (
        json_body({"triggerType": "form_submission", "payload": {"name": "Contact"}}),
        ("x-webflow-signature", "x-webflow-timestamp"),
        True,
        {},
        hex_secret,
    ),
    "revolut": (
        json_body({"event": "ORDER_COMPLETED", "order_id": "9fc01989-3f61-4484-a5d9-ffe768531be9"}),
        ("revolut-signature", "revolut-request-timestamp"),
        True,
        {},
        lambda: "wsk_" + hex_secret(),
    ),
    "line": (
        json_body({"destination": "U1", "events": [{"type": "follow", "webhookEventId": "01H"}]}),
        ("x-line-signature",),
        False,
        {},
        hex_secret,
    ),
    "helpscout": (
        json_body({"id": 1, "number": 349, "status": "active"}),
        ("x-helpscout-signature",),
        False,
        {},
        hex_secret,
    ),
    "telegram": (
        json_body({"update_id": 10000, "message": {"message_id": 1, "text": "hi"}}),
        ("x-telegram-bot-api-secret-token",),
        False,
        {},
        hex_secret,
    ),
    "cloudinary": (
        json_body({"notification_type": "upload", "public_id": "sample", "version": 1}),
        ("x-cld-signature", "x-cld-timestamp"),
        True,
        {},
        hex_secret,
    ),
    "twitter": (
        json_body({"for_user_id": "2244994945", "favorite_events": [{"id": "a7ba59eab0bfcba3"}]}),
        ("x-twitter-webhooks-signature",),
        False,
        {},
        hex_secret,
    ),
    "gocardless": (
        json_body(
            {
                "events": [
                    {"id": "EV1", "resource_type": "payments", "action": "confirmed"},
                    {"id": "EV2", "resource_type": "payments", "action": "paid_out"},
                ],
                "meta": {"webhook_id": "WB1"},
            }
        ),
        ("webhook-signature",),
        False,
        {},
        hex_secret,
    ),
    "razorpay": (
        json_body({"event": "payment.captured", "payload": {}}),
        ("x-razorpay-signature",),
        False,
        {},
        hex_secret,
    ),
    "onfido": (
        json_body(
            {
                "payload": {
                    "resource_type": "check",
                    "action": "check.completed",
                    "object": {"id": "c1"},
                }
            }
        ),
        ("x-sha2-signature",),
        False,
        {},
        hex_secret,
    ),
    "moderntreasury": (
        json_body({"event": "completed", "data": {"id": "po1", "object": "payment_order"}}),
        ("x-signature",),
        False,
        {},
        hex_secret,
    ),
    "easypost": (
        json_body({"id": "evt_1", "description": "tracker.updated", "object": "Event"}),
        ("x-hmac-signature",),
        False,
        {},
        nfkd_secret,
    ),
    "airtable": (
        json_body(
            {
                "base": {"id": "app1"},
                "webhook": {"id": "ach1"},
                "timestamp": "2026-12-02T21:00:00.000Z",
            }
        ),
        ("x-airtable-content-mac",),
        False,
        {},
        b64_secret,
    ),
    "paystack": (
        json_body({"event": "charge.success", "data": {"id": 302961, "reference": "r1"}}),
        ("x-paystack-signature",),
        False,
        {},
        lambda: "sk_test_" + hex_secret(),
    ),
    "checkout": (
        json_body({"id": "evt_1", "type": "payment_approved", "data": {"id": "pay_1"}}),
        ("cko-signature",),
        False,
        {},
        hex_secret,
    ),
    "webex": (
        json_body({"id": "wh1", "resource": "messages", "event": "created", "data": {"id": "m1"}}),
        ("x-spark-signature",),
        False,
        {},
        hex_secret,
    ),
    "clickup": (
        json_body({"webhook_id": "w1", "event": "taskCreated", "task_id": "c0j"}),
        ("x-signature",),
        False,
        {},
        hex_secret,
    ),
    "squarespace": (
        json_body({"id": "n1", "topic": "order.create", "data": {"orderId": "o1"}}),
        ("squarespace-signature",),
        False,
        {},
        lambda: os.urandom(32).hex(),
    ),
    "mandrill": (
        b"mandrill_events="
        + quote_plus(json.dumps([{"_id": "m1", "event": "send", "ts": 1}])).encode(),
        ("x-mandrill-signature",),
        False,
        URL,
        hex_secret,
    ),
    "plivo": (
        b"CallUUID=c1&Event=Hangup&CallStatus=completed",
        ("x-plivo-signature-v3", "x-plivo-signature-v3-nonce"),
        False,
        URL,
        hex_secret,
    ),
    "contentful": (
        json_body({"sys": {"id": "e1", "type": "Entry", "version": 3}, "fields": {}}),
        ("x-contentful-signature", "x-contentful-signed-headers", "x-contentful-timestamp"),
        True,
        URL,
        lambda: os.urandom(32).hex(),  # Contentful's secrets are 64 characters
    ),
    "adyenplatform": (
        json_body({"type": "merchant.created", "environment": "test", "data": {"id": "M1"}}),
        ("hmacsignature",),
        False,
        {},
        lambda: os.urandom(32).hex(),
    ),
    "coinify": (
        json_body({"id": "aeb7475b-39c4", "event": "payment-intent.completed", "context": {}}),
        ("x-coinify-webhook-signature",),
        False,
        {},
        hex_secret,
    ),
    "msteams": (
        json_body({"type": "message", "id": "1485983408511", "text": "<at>Hook</at> hi"}),
        ("authorization",),
        False,
        {},
        b64_secret,  # Teams' security token is base64 (of 32 bytes)
    ),
    "recurly": (
        json_body({"id": "rjxwmwedwqug", "object_type": "account", "event_type": "created"}),
        ("recurly-signature",),
        True,
        {},
        hex_secret,
    ),
    "hygraph": (
        json_body({"operation": "publish", "data": {"__typename": "Post", "id": "p1"}}),
        ("gcms-signature",),
        True,
        {},
        hex_secret,
    ),
    "circleci": (
        json_body({"id": "8bd71c28-4969", "type": "job-completed", "happened_at": "2021-09-01"}),
        ("circleci-signature",),
        False,
        {},
        hex_secret,
    ),
    "pusher": (
        json_body({"events": [{"name": "channel_vacated", "channel": "private-r"}]}),
        ("x-pusher-signature",),
        False,
        {},
        hex_secret,
    ),
    "pagerduty": (
        json_body({"event": {"id": "01BWDWL3NYY7", "event_type": "incident.triggered"}}),
        ("x-pagerduty-signature",),
        False,
        {},
        hex_secret,
    ),
    "woocommerce": (
        json_body({"id": 727, "status": "processing", "total": "29.35"}),
        ("x-wc-webhook-signature",),
        False,
        {},
        hex_secret,
    ),
    "calcom": (
        json_body({"triggerEvent": "BOOKING_CREATED", "createdAt": "2026-12-03T08:00:00.000Z"}),
        ("x-cal-signature-256",),
        False,
        {},
        hex_secret,
    ),
    "cashfree": (
        json_body({"data": {"order": {"order_id": "o1"}}, "type": "PAYMENT_SUCCESS_WEBHOOK"}),
        ("x-webhook-signature", "x-webhook-timestamp"),
        True,
        {},
        lambda: "cfsk_ma_test_" + hex_secret(),
    ),
    "alchemy": (
        json_body({"webhookId": "wh_1", "id": "whevt_1", "type": "ADDRESS_ACTIVITY", "event": {}}),
        ("x-alchemy-signature",),
        False,
        {},
        lambda: "whsec_" + hex_secret(),
    ),
    "tailscale": (
        json_body([{"timestamp": "2026-12-03T08:00:00Z", "version": 1, "type": "nodeCreated"}]),
        ("tailscale-webhook-signature",),
        True,
        {},
        lambda: "tskey-webhook-" + hex_secret(),
    ),
}

#: Timestamped providers whose default tolerance is over an hour: how far off a stale one is.
STALE_SKEW = {"cloudinary": 3 * 3600, "hygraph": 2 * 3600, "cashfree": 2 * 3600}


def ed25519_public(seed: str) -> str:
    key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed))
    return key.public_key().public_bytes_raw().hex()


def p256_public(private: str) -> ec.EllipticCurvePublicKey:
    key = serialization.load_der_private_key(base64.b64decode(private), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key.public_key()


def spki(private: str) -> str:
    der = p256_public(private).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def jwk(private: str) -> str:
    numbers = p256_public(private).public_numbers()

    def b64(n: int) -> str:
        return base64.urlsafe_b64encode(n.to_bytes(32, "big")).rstrip(b"=").decode()

    kid = private[-12:]
    return json.dumps(
        {"kty": "EC", "crv": "P-256", "x": b64(numbers.x), "y": b64(numbers.y), "kid": kid}
    )


#: Providers whose secret travels as a token in a header: the body is not covered.
STATIC_TOKENS = {"gitlab", "okta", "postmark", "telegram"}

#: Asymmetric providers: the source holds the public half of each signing key.
PUBLIC_HALF = {"discord": ed25519_public, "sendgrid": spki, "plaid": jwk}


# Issue 14: JWT with a shared secret (vonage, monday) and pinned public keys (telnyx, wise).
def rsa_pkcs8() -> str:
    der = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return base64.b64encode(der).decode()


def ed25519_public_b64(seed: str) -> str:
    key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed))
    return base64.b64encode(key.public_key().public_bytes_raw()).decode()


def rsa_spki(private: str) -> str:
    key = serialization.load_der_private_key(base64.b64decode(private), password=None)
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


TABLE |= {
    "vonage": (
        json_body({"message_uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab", "status": "delivered"}),
        ("authorization",),
        True,
        {},
        hex_secret,
    ),
    "monday": (
        json_body({"event": {"type": "create_pulse", "triggerUuid": "b5ed2e17c530f43668de"}}),
        ("authorization",),
        True,
        {},
        hex_secret,
    ),
    "telnyx": (
        json_body({"data": {"id": "0ccc7b54", "event_type": "message.finalized"}}),
        ("telnyx-signature-ed25519", "telnyx-timestamp"),
        True,
        {},
        ed25519_seed,
    ),
    "wise": (
        json_body({"event_type": "transfers#state-change", "data": {"current_state": "sent"}}),
        ("x-signature-sha256",),
        False,
        {},
        rsa_pkcs8,
    ),
}
#: monday.com's JWT authenticates the sender but covers no part of the body.
STATIC_TOKENS |= {"monday"}
PUBLIC_HALF |= {"telnyx": ed25519_public_b64, "wise": rsa_spki}


# Issue 14: JWS bound to the body (netlify; fusionauth with an HMAC key: its pinned-key path is
# proven in test_provider_jws_body.py).
TABLE |= {
    "netlify": (
        json_body({"id": "5ebc34bf4fea0b01f02efa3a", "site_id": "s1", "state": "ready"}),
        ("x-webhook-signature",),
        False,
        {},
        hex_secret,
    ),
    "fusionauth": (
        json_body(
            {
                "event": {
                    "id": "e2ad3f9c-9b5f-4f41-8f55-3e2f0a3b2c1d",
                    "type": "user.create",
                    "createInstant": 1733180000000,
                }
            }
        ),
        ("x-fusionauth-signature-jwt",),
        False,
        {},
        b64_secret,
    ),
    # MessageBird-Signature-JWT: the token covers the URL (public_url) and the body.
    "messagebird": (
        json_body(
            {
                "type": "message.created",
                "conversation": {"id": "c1"},
                "message": {"id": "m1", "status": "received"},
            }
        ),
        ("messagebird-signature-jwt",),
        True,
        URL,
        lambda: os.urandom(32).hex(),  # MessageBird's signing keys are 64 hex characters
    ),
}

#: Adyen signs inside the body (per notification item), so it is not in TABLE: an Adyen
#: standard notification before its item is signed (`providers.builtin.parsed_fields.sign_body`).
ADYEN_BODY = json_body(
    {
        "live": "false",
        "notificationItems": [
            {
                "NotificationRequestItem": {
                    "pspReference": "7914073381342284",
                    "merchantAccountCode": "TestMerchant",
                    "merchantReference": "order-1",
                    "amount": {"value": 1130, "currency": "EUR"},
                    "eventCode": "AUTHORISATION",
                    "success": "true",
                    "additionalData": {},
                }
            }
        ],
    }
)


# Issue 14, slice hmac2: raw-body and timestamped senders confirmed against their own code or
# documents, and the two whose request names the digest (Sumsub, WebSub).
WEBSUB_TOPIC = "https://www.youtube.com/xml/feeds/videos.xml?channel_id=UC0000000000000000000000"
WEBSUB_FEED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns:yt="http://www.youtube.com/xml/schemas/2015"'
    b' xmlns="http://www.w3.org/2005/Atom"><entry><id>yt:video:VIDEO_ID</id>'
    b"<yt:videoId>VIDEO_ID</yt:videoId><updated>2026-12-02T21:00:00+00:00</updated></entry></feed>"
)

TABLE |= {
    "dwolla": (
        json_body(
            {
                "id": "80d8ba5e-4a3b-4c0c-a3b4-0c2a1b2f5f3e",
                "resourceId": "cdb5f11f-62df-e611-80ee-0aa34a9b2388",
                "topic": "customer_transfer_completed",
                "timestamp": "2026-12-02T21:00:00.000Z",
            }
        ),
        ("x-request-signature-sha-256",),
        False,
        {},
        hex_secret,
    ),
    "patreon": (
        json_body({"data": {"id": "d485d5ac", "type": "member", "attributes": {}}}),
        ("x-patreon-signature",),
        False,
        {},
        hex_secret,
    ),
    "storyblok": (
        json_body({"text": "story published", "action": "published", "space_id": 1, "story_id": 2}),
        ("webhook-signature",),
        False,
        {},
        hex_secret,
    ),
    "veriff": (
        json_body({"status": "success", "verification": {"id": "s1", "status": "approved"}}),
        ("x-hmac-signature",),
        False,
        {},
        lambda: str(uuid.uuid4()),  # Veriff's shared secret keys are UUIDs
    ),
    "mollie": (
        json_body({"resource": "event", "id": "whe_gQMMaGqAVA", "type": "payment-link.paid"}),
        ("x-mollie-signature",),
        False,
        {},
        hex_secret,
    ),
    "heroku": (
        json_body(
            {
                "id": "7846bee9-b017-4492-9bed-34cd8327e71d",
                "action": "create",
                "resource": "release",
                "webhook_metadata": {"attempt": {"id": "8a44f820-2354-489d-9a11-a793cbf49979"}},
            }
        ),
        ("heroku-webhook-hmac-sha256",),
        False,
        {},
        hex_secret,
    ),
    "cloudflarestream": (
        json_body({"uid": "6b9e68b07dfee8cc2d116e4c51d6a957", "status": {"state": "ready"}}),
        ("webhook-signature",),
        True,
        {},
        hex_secret,  # Stream's secrets are 32 hex characters, used as text
    ),
    "sumsub": (
        json_body({"applicantId": "5cb56e8e0a975a35f333cb83", "type": "applicantReviewed"}),
        ("x-payload-digest",),  # x-payload-digest-alg absent: SHA-256, as Sumsub reads it
        False,
        {},
        hex_secret,
    ),
    "websub": (
        WEBSUB_FEED,
        ("x-hub-signature",),
        False,
        {"topics": [WEBSUB_TOPIC]},
        hex_secret,
    ),
}


# Issue 14: Braintree and Dropbox Sign sign inside the body; Travis CI signs a form field.
BRAINTREE_XML = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<notification>'
    b'<timestamp type="datetime">2026-12-03T07:00:00Z</timestamp>'
    b"<kind>subscription_went_past_due</kind>"
    b"<subject><subscription><id>sub_42</id><status>Past Due</status></subscription></subject>"
    b"</notification>\n"
)
TRAVIS_PAYLOAD = {
    "id": 1234567,
    "number": "42",
    "state": "passed",
    "status_message": "Passed",
    "type": "push",
    "branch": "main",
    "repository": {"id": 1, "name": "hookgate", "owner_name": "example"},
}
TABLE |= {
    "braintree": (
        BRAINTREE_XML,
        (),  # the signature is the form's bt_signature field
        False,
        {"public_key_id": "bt-public-key-1"},
        hex_secret,
    ),
    "dropbox-sign": (
        json_body(
            {
                "event": {"event_type": "signature_request_signed", "event_time": "1733200000"},
                "signature_request": {"signature_request_id": "fa5c8a0b0f492d768749333ad6fcc214"},
            }
        ),
        (),  # the signature is the callback's event.event_hash
        False,
        {},
        hex_secret,
    ),
    "travis": (
        b"payload=" + quote_plus(json.dumps(TRAVIS_PAYLOAD)).encode(),
        ("signature",),
        False,
        {},
        rsa_pkcs8,
    ),
}
#: Providers in TABLE whose signature travels inside the body: their TABLE body is the payload
#: (Braintree's notification XML, Dropbox Sign's callback JSON), and `signed` makes the body
#: sent through the provider's `signed_body`.
BODY_SIGNING = {"braintree", "dropbox-sign"}  # and apple-appstore, below
#: Dropbox Sign's event hash covers `event_time` + `event_type`, not the body.
STATIC_TOKENS |= {"dropbox-sign"}
PUBLIC_HALF |= {"travis": rsa_spki}


def signed(
    name: str,
    body: bytes,
    secret: str,
    *,
    timestamp: int | None = None,
    options: dict[str, Any] | None = None,
    event_id: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The body and headers a TABLE provider's sender sends for `body` (the payload, which a
    body-signing provider wraps), signed with `secret`: `providers.signing.sign`."""

    request = sign(
        load(name),
        body,
        secret,
        event_id=event_id,
        timestamp=timestamp,
        options=options if options is not None else TABLE[name][3],
        sign_body=name in BODY_SIGNING,
    )
    return request.body, request.headers


# Issue 14, handshakes: Azure Event Grid (a secret header here; `secret_parameter` puts it in
# the URL's query instead), Smartsheet, Trello, Front. Microsoft Graph carries its secret inside
# the body (`clientState`), so it is not in TABLE: `GRAPH_BODY` before `graph.sign_body`.
TABLE |= {
    "azure-eventgrid": (
        json_body(
            [
                {
                    "id": "831e1650-001e-001b-66ab-eeb76e069631",
                    "eventType": "Microsoft.Storage.BlobCreated",
                    "subject": "/blobServices/default/containers/c/blobs/b.txt",
                    "eventTime": "2026-12-02T21:00:00.000Z",
                    "data": {"api": "PutBlockList"},
                    "dataVersion": "",
                    "metadataVersion": "1",
                    "topic": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/x",
                }
            ]
        ),
        ("x-eventgrid-secret",),
        False,
        {"secret_header": "x-eventgrid-secret"},
        hex_secret,
    ),
    "smartsheet": (
        json_body(
            {
                "nonce": "4b2ed20d-6f00-4b0e-b6a6-2a7c1d7e2f45",
                "timestamp": "2026-12-02T21:00:00.000+00:00",
                "webhookId": 4503604829677444,
                "scope": "sheet",
                "scopeObjectId": 5070877087475588,
                "events": [{"objectType": "row", "eventType": "created", "id": 1}],
            }
        ),
        ("smartsheet-hmac-sha256",),
        False,
        {},
        hex_secret,
    ),
    "trello": (
        json_body({"action": {"id": "5f2b1c", "type": "updateCard"}, "model": {"id": "b1"}}),
        ("x-trello-webhook",),
        False,
        URL,
        hex_secret,
    ),
    "front": (
        json_body(
            {
                "type": "inbound_received",
                "authorization": {"id": "cmp_123"},
                "payload": {"id": "evt_55c8c149", "type": "inbound"},
            }
        ),
        ("x-front-signature", "x-front-request-timestamp"),
        True,
        {},
        hex_secret,
    ),
}
STATIC_TOKENS |= {"azure-eventgrid", "microsoft-graph"}

#: A Graph notification collection before its `clientState`s are set (`graph.sign_body`).
GRAPH_BODY = json_body(
    {
        "value": [
            {
                "id": "lsgTZMr9KwAAA",
                "subscriptionId": "8d2f3c55-2f7a-4c88-b0d5-8c6b1e3a9f10",
                "subscriptionExpirationDateTime": "2026-12-03T21:00:00.000Z",
                "changeType": "created",
                "resource": "Users/622eaaff/Messages/AAMkADU3",
                "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95",
            }
        ]
    }
)


# Issue 14: JWT/JWS against the provider's keys. The signing secret is what the sender holds;
# the source pins the public side under the option KEY_OPTION names (else `public_key`).
def apple_chain() -> str:
    """A PEM bundle: an EC key and a 3-certificate chain shaped as Apple's (marker OIDs)."""
    return make_chain()


def apple_root(bundle: str) -> str:
    """The root certificate (PEM) of an `apple_chain` bundle: the source's `root_certificates`."""
    return x509.load_pem_x509_certificates(bundle.encode())[-1].public_bytes(PEM).decode()


def google_certificates(private: str) -> str:
    """Google's certificate document (kid → PEM) for a base64 PKCS#8 RSA key."""
    key = serialization.load_der_private_key(base64.b64decode(private), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return json.dumps({key_id(key.public_key()): self_signed(key).public_bytes(PEM).decode()})


def play_push(notification: dict[str, Any], message_id: str = "136969346945") -> bytes:
    return GoogleOidcProvider.push_body(json_body(notification), message_id=message_id)


GOOGLE = {
    "audience": "https://hooks.example.com/webhooks/google",
    "service_account": "pusher@project.iam.gserviceaccount.com",
}
PLAY_NOTIFICATION = {
    "version": "1.0",
    "packageName": "com.example.hookgate",
    "eventTimeMillis": "1764745200000",
    "subscriptionNotification": {
        "version": "1.0",
        "notificationType": 4,
        "purchaseToken": "PURCHASE_TOKEN",
        "subscriptionId": "monthly001",
    },
}
APPLE_NOTIFICATION = {
    "notificationType": "DID_RENEW",
    "subtype": "BILLING_RECOVERY",
    "notificationUUID": "002e14d5-51f5-4503-b5a8-c3a1af68eb20",
    "data": {"bundleId": "com.example.hookgate", "environment": "Sandbox", "appAppleId": 1234},
    "version": "2.0",
}
TABLE |= {
    "apple-appstore": (
        json_body(APPLE_NOTIFICATION),
        (),
        False,
        {"bundle_id": "com.example.hookgate", "environment": "Sandbox"},
        apple_chain,
    ),
    "google-pubsub": (
        GoogleOidcProvider.push_body(b'{"name": "object.txt"}', message_id="9876543210"),
        ("authorization",),
        True,
        GOOGLE,
        rsa_pkcs8,
    ),
    "google-play": (
        play_push(PLAY_NOTIFICATION),
        ("authorization",),
        True,
        {**GOOGLE, "package_name": "com.example.hookgate"},
        rsa_pkcs8,
    ),
}
#: The OIDC token authenticates Google as the sender; it covers no part of the body.
STATIC_TOKENS |= {"google-pubsub", "google-play"}
PUBLIC_HALF |= {
    "apple-appstore": apple_root,
    "google-pubsub": google_certificates,
    "google-play": google_certificates,
}
#: The option a PUBLIC_HALF entry goes in, when it is not `public_key`.
KEY_OPTION = {
    "apple-appstore": "root_certificates",
    "google-pubsub": "certificates",
    "google-play": "certificates",
}
#: A token lives an hour: a stale one is two hours off.
STALE_SKEW |= {"google-pubsub": 7200, "google-play": 7200}
#: Providers whose signer writes the body (`signed_body`): the TABLE body is what it wraps.
BODY_SIGNING |= {"apple-appstore"}  # its signer writes the body: a JWS of the payload


def key_option(name: str) -> str:
    """The option `name`'s PUBLIC_HALF entry goes in (`KEY_OPTION`, else `public_key`)."""
    return KEY_OPTION.get(name, "public_key")


# Issue 14, certificate-url (aws-sns, paypal): the sender's RSA key signs; the source pins a
# certificate for it in `certificates` (so nothing is fetched), issued to the sender's name.
def certificate_for(
    private: str,
    name: str,
    *,
    valid_from: float | None = None,
    valid_until: float | None = None,
    issuer: tuple[str, str] | None = None,
) -> str:
    """A PEM certificate for the RSA key `private` (base64 PKCS#8), issued to DNS `name`, valid
    from a day ago for 30 days unless told (Unix times); self-signed, or by `issuer` (its private
    key and its name)."""
    key = serialization.load_der_private_key(base64.b64decode(private), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    signer, issuer_name = key, name
    if issuer is not None:
        signer = serialization.load_der_private_key(base64.b64decode(issuer[0]), password=None)
        assert isinstance(signer, rsa.RSAPrivateKey)
        issuer_name = issuer[1]
    now = datetime.datetime.now(datetime.UTC)
    start = now - datetime.timedelta(days=1)
    end = now + datetime.timedelta(days=30)
    if valid_from is not None:
        start = datetime.datetime.fromtimestamp(valid_from, datetime.UTC)
    if valid_until is not None:
        end = datetime.datetime.fromtimestamp(valid_until, datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(signer, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def sns_certificate(private: str) -> str:
    return certificate_for(private, "sns.amazonaws.com")


def paypal_certificate(private: str) -> str:
    return certificate_for(private, "messageverificationcerts.paypal.com")


KEY_OPTION |= {"aws-sns": "certificates", "paypal": "certificates"}


PAYPAL_HEADERS = (
    "paypal-transmission-id",
    "paypal-transmission-time",
    "paypal-transmission-sig",
    "paypal-cert-url",
    "paypal-auth-algo",
)
TABLE |= {
    "paypal": (
        json_body(
            {
                "id": "WH-2WR32451HC0233532-67976317FL4543714",
                "event_type": "PAYMENT.CAPTURE.COMPLETED",
                "resource_type": "capture",
                "resource": {"id": "42311647XV020574X", "status": "COMPLETED"},
            }
        ),
        PAYPAL_HEADERS,
        True,
        {"webhook_id": "1JE4291016473214C"},
        rsa_pkcs8,
    ),
}
PUBLIC_HALF |= {"paypal": paypal_certificate, "aws-sns": sns_certificate}

#: AWS SNS signs inside the body (like Mailgun), so it is not in TABLE: the Message it carries.
SNS_MESSAGE = json_body({"order": "o-1", "status": "paid"})
SNS_TOPIC = "arn:aws:sns:us-east-2:123456789012:orders"
#: The topics an SNS source takes (required): the signer's default and SNS_TOPIC.
SNS_OPTIONS: dict[str, Any] = {"topic_arns": [DEFAULT_TOPIC, SNS_TOPIC]}
#: SNS holds its Timestamp to an hour: stale checks go further.
STALE_SKEW |= {"aws-sns": 2 * 3600}


def sns_sign_body(
    message: bytes, private: str, timestamp: int, event_id: str | None = None
) -> bytes:
    """The SNS envelope that carries `message`, signed with `private` at `timestamp`."""
    return sign(AwsSnsProvider, message, private, timestamp=timestamp, event_id=event_id).body
