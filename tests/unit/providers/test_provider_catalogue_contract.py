"""Every catalogue provider passes `ProviderContract`, signed with `providers.testing`'s signers.

One subclass per provider (and per GitLab scheme); the table below is all that differs.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from typing import Any, ClassVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from providers import load
from providers.builtin.mailgun import sign_body
from providers.testing import ProviderContract


def _whsec() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


def _hex() -> str:
    return os.urandom(16).hex()


def _ed25519_seed() -> str:
    return os.urandom(32).hex()


def _p256_pkcs8() -> str:
    der = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return base64.b64encode(der).decode()


def _json(value: object) -> bytes:
    return json.dumps(value).encode()


URL = {"public_url": "https://hooks.example.com/webhooks/x"}
SW = ("webhook-id", "webhook-timestamp", "webhook-signature")
SVIX = ("svix-id", "svix-timestamp", "svix-signature")

# name → (body, signature headers, has_timestamp, options, secret maker)
TABLE: dict[str, tuple[bytes, tuple[str, ...], bool, dict[str, Any], Any]] = {
    "svix": (_json({"type": "user.created"}), SVIX, True, {}, _whsec),
    "clerk": (_json({"type": "user.created", "data": {}}), SVIX, True, {}, _whsec),
    "resend": (_json({"type": "email.sent"}), SVIX, True, {}, _whsec),
    "replicate": (_json({"id": "p1", "status": "succeeded"}), SW, True, {}, _whsec),
    "slack": (
        _json({"type": "event_callback", "event_id": "Ev1", "event": {"type": "message"}}),
        ("x-slack-signature", "x-slack-request-timestamp"),
        True,
        {},
        _hex,
    ),
    "zoom": (
        _json({"event": "meeting.started", "event_ts": 1}),
        ("x-zm-signature", "x-zm-request-timestamp"),
        True,
        {},
        _hex,
    ),
    "paddle": (
        _json({"event_id": "evt_1", "event_type": "transaction.paid"}),
        ("paddle-signature",),
        True,
        {},
        _hex,
    ),
    "mux": (_json({"id": "1", "type": "video.asset.ready"}), ("mux-signature",), True, {}, _hex),
    "calendly": (
        _json({"event": "invitee.created"}),
        ("calendly-webhook-signature",),
        True,
        {},
        _hex,
    ),
    "twitch": (
        _json({"subscription": {"type": "channel.follow"}, "event": {}}),
        (
            "twitch-eventsub-message-signature",
            "twitch-eventsub-message-timestamp",
            "twitch-eventsub-message-id",
        ),
        True,
        {},
        _hex,
    ),
    "zendesk": (
        _json({"id": "1", "type": "zen:event-type:ticket.created"}),
        ("x-zendesk-webhook-signature", "x-zendesk-webhook-signature-timestamp"),
        False,
        {},
        _hex,
    ),
    "shopify": (_json({"id": 1}), ("x-shopify-hmac-sha256",), False, {}, _hex),
    "bitbucket": (_json({"push": {}}), ("x-hub-signature",), False, {}, _hex),
    "jira": (_json({"webhookEvent": "jira:issue_created"}), ("x-hub-signature",), False, {}, _hex),
    "intercom": (
        _json({"id": "notif_1", "topic": "user.created"}),
        ("x-hub-signature",),
        False,
        {},
        _hex,
    ),
    "typeform": (
        _json({"event_id": "e1", "event_type": "form_response"}),
        ("typeform-signature",),
        False,
        {},
        _hex,
    ),
    "lemonsqueezy": (_json({"meta": {}}), ("x-signature",), False, {}, _hex),
    "coinbase": (
        _json({"event": {"id": "e1", "type": "charge:confirmed"}}),
        ("x-cc-webhook-signature",),
        False,
        {},
        _hex,
    ),
    "sentry": (_json({"action": "created"}), ("sentry-hook-signature",), False, {}, _hex),
    "vercel": (
        _json({"id": "e1", "type": "deployment.created"}),
        ("x-vercel-signature",),
        False,
        {},
        _hex,
    ),
    "segment": (_json({"messageId": "m1", "type": "track"}), ("x-signature",), False, {}, _hex),
    "intuit": (
        _json([{"id": "e1", "type": "qbo.customer.created.v1"}]),
        ("intuit-signature",),
        False,
        {},
        _hex,
    ),
    "notion": (
        _json({"id": "e1", "type": "page.created"}),
        ("x-notion-signature",),
        False,
        {},
        _hex,
    ),
    "linear": (
        _json({"type": "Issue", "action": "create"}),
        ("linear-signature",),
        False,
        {},
        _hex,
    ),
    "xero": (
        _json(
            {"events": [{"resourceId": "r1", "eventCategory": "INVOICE", "eventType": "UPDATE"}]}
        ),
        ("x-xero-signature",),
        False,
        {},
        _hex,
    ),
    "meta": (
        _json({"object": "page", "entry": [{"changes": [{"field": "feed"}]}]}),
        ("x-hub-signature-256",),
        False,
        {"verify_token": "meta-verify-token"},
        _hex,
    ),
    "dropbox": (
        _json({"list_folder": {"accounts": ["a"]}}),
        ("x-dropbox-signature",),
        False,
        {},
        _hex,
    ),
    "square": (
        _json({"event_id": "e1", "type": "payment.updated"}),
        ("x-square-hmacsha256-signature",),
        False,
        URL,
        _hex,
    ),
    "hubspot": (
        _json([{"eventId": 1, "subscriptionType": "contact.creation"}]),
        ("x-hubspot-signature-v3", "x-hubspot-request-timestamp"),
        True,
        URL,
        _hex,
    ),
    "twilio": (
        b"MessageSid=SM1&MessageStatus=delivered",
        ("x-twilio-signature",),
        False,
        URL,
        _hex,
    ),
    "discord": (
        _json({"id": "1", "type": 2}),
        ("x-signature-ed25519", "x-signature-timestamp"),
        False,
        {},
        _ed25519_seed,
    ),
    "sendgrid": (
        _json([{"sg_event_id": "a", "event": "delivered"}]) + b"\r\n",
        ("x-twilio-email-event-webhook-signature", "x-twilio-email-event-webhook-timestamp"),
        False,
        {},
        _p256_pkcs8,
    ),
    "plaid": (
        _json({"webhook_type": "ITEM", "webhook_code": "WEBHOOK_UPDATE_ACKNOWLEDGED"}),
        ("plaid-verification",),
        True,
        {},
        _p256_pkcs8,
    ),
    "gitlab": (_json({"object_kind": "push"}), ("x-gitlab-token",), False, {}, _hex),
    "okta": (
        _json({"data": {"events": [{"uuid": "u1", "eventType": "user.session.start"}]}}),
        ("authorization",),
        False,
        {},
        _hex,
    ),
    "postmark": (
        _json({"RecordType": "Delivery", "MessageID": "m1"}),
        ("authorization",),
        False,
        {},
        lambda: "hooks:" + _hex(),
    ),
}


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
STATIC_TOKENS = {"gitlab", "okta", "postmark"}

#: Asymmetric providers: the source holds the public half of each signing key.
PUBLIC_HALF = {"discord": ed25519_public, "sendgrid": spki, "plaid": jwk}


class CatalogueContract(ProviderContract):
    def source(self, secrets: tuple[str, ...]) -> tuple[tuple[str, ...], Mapping[str, object]]:
        public = PUBLIC_HALF.get(self.provider_name or "")
        if public is None:
            return secrets, self.options
        return (), {**self.options, "public_key": [public(secret) for secret in secrets]}


def _contract(name: str) -> type[CatalogueContract]:
    body, headers, timed, options, secret = TABLE[name]
    attributes: dict[str, Any] = {
        "provider": load(name),
        "provider_name": name,
        "options": options,
        "secrets": (secret(), secret()),
        "body": body,
        "has_timestamp": timed,
        "signature_headers": headers,
        "body_signed": name not in STATIC_TOKENS,
    }
    return type(f"Test{name.title()}Contract", (CatalogueContract,), attributes)


for _name in TABLE:
    globals()[f"Test{_name.title()}Contract"] = _contract(_name)


class TestGitLabSigningTokenContract(CatalogueContract):
    provider = load("gitlab")
    provider_name = "gitlab"
    options: ClassVar[Mapping[str, object]] = {"scheme": "signing-token"}
    secrets = (_whsec(), _whsec())
    body = _json({"object_kind": "merge_request", "object_attributes": {"action": "open"}})
    has_timestamp = True
    signature_headers = SW


class TestMailgunContract(CatalogueContract):
    provider = load("mailgun")
    provider_name = "mailgun"
    secrets = (_hex(), _hex())
    body = _json({"id": "ev1", "event": "delivered"})  # the event-data; the signature is added
    has_timestamp = True

    def signed_body(self, body: bytes, secret: str, timestamp: int) -> bytes:
        return sign_body(json.loads(body), secret, timestamp)
