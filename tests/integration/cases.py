"""One signed-request recipe per provider, signing with the provider's own code where it exists.

Stripe: the `stripe` SDK's signer. Standard Webhooks: the `standardwebhooks` package. Svix,
Paddle, HubSpot: their official SDKs' signers. GitHub ships no Python signer: its
requests are signed here with the standard library, independently of hookgate's code, and its
published vectors are tested separately. EasyPost's SDK verifies but does not sign: its
requests are signed here by its documented construction (an NFKD-normalised secret), with
secrets whose normalised bytes differ from their text. (Every other catalogue provider, Slack
and Twilio among them, whose form bodies need no JSON, goes through the real app in
test_catalogue.py.)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode

import stripe
import svix.webhooks
from hubspot.utils.signature import Signature as HubSpotSignature
from paddle_billing.Notifications import PaddleSignature
from standardwebhooks.webhooks import Webhook


@dataclass(frozen=True)
class Case:
    provider: str
    secrets: tuple[str, str]
    #: (event_id, event_type) -> body
    body: Callable[[str], bytes]
    #: (body, secret, event_id, timestamp) -> headers
    sign: Callable[[bytes, str, str, int], dict[str, str]]
    event_type: str
    signature_header: str
    has_timestamp: bool
    options: dict[str, object] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return self.provider.replace("-", "")

    def source_table(self) -> dict[str, object]:
        return {"provider": self.provider, "secrets": list(self.secrets), **self.options}


def _stripe_body(event_id: str) -> bytes:
    # Deliberately not how json.dumps would write it: raw bytes must survive untouched.
    return (
        b'{\n  "id": "' + event_id.encode() + b'",\n  "object": "event",'
        b' "type": "invoice.paid", "created": 1700000000,\n'
        b'  "data": {"object": {"amount_paid": 4200, "note": "caf\xc3\xa9 \\u2603"}}\n}'
    )


def _stripe_sign(body: bytes, secret: str, _: str, timestamp: int) -> dict[str, str]:
    try:
        header = stripe.WebhookSignature.generate_signature_header(
            body.decode(), secret, timestamp=timestamp
        )
    except UnicodeDecodeError:  # the SDK signs text; sign raw bytes the same way by hand
        signed = f"{timestamp}.".encode() + body
        digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        header = f"t={timestamp},v1={digest}"
    return {"stripe-signature": header, "content-type": "application/json; charset=utf-8"}


def _github_body(event_id: str) -> bytes:
    # Each delivery's body differs (a new head commit), as two real events' bodies do: the
    # gateway de-duplicates GitHub's unsigned delivery IDs by body digest too.
    sha = hashlib.sha1(event_id.encode()).hexdigest()
    return (
        b'{"action":"opened","number":7,"pull_request":{"title":"Fix \\u001B colours",'
        b'"head":{"sha":"' + sha.encode() + b'"}}}'
    )


def _github_sign(body: bytes, secret: str, event_id: str, _: int) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "x-hub-signature-256": f"sha256={digest}",
        "x-github-event": "pull_request",
        "x-github-delivery": event_id,
        "content-type": "application/json",
        "user-agent": "GitHub-Hookshot/test",
    }


def _standard_body(event_id: str) -> bytes:
    payload = {
        "type": "user.created",
        "timestamp": "2026-01-02T03:04:05Z",
        "data": {"id": event_id},
    }
    return json.dumps(payload, indent=1).encode()


def _standard_sign(body: bytes, secret: str, event_id: str, timestamp: int) -> dict[str, str]:
    try:
        signature = Webhook(secret).sign(
            event_id, datetime.fromtimestamp(timestamp, UTC), body.decode()
        )
    except UnicodeDecodeError:  # the SDK signs text; sign raw bytes the same way by hand
        key = base64.b64decode(secret.removeprefix("whsec_"))
        signed = f"{event_id}.{timestamp}.".encode() + body
        signature = "v1," + base64.b64encode(hmac.digest(key, signed, "sha256")).decode()
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


def _svix_body(event_id: str) -> bytes:
    return json.dumps({"type": "user.created", "data": {"id": event_id}}).encode()


def _svix_sign(body: bytes, secret: str, event_id: str, timestamp: int) -> dict[str, str]:
    moment = datetime.fromtimestamp(timestamp, UTC)
    try:
        signature = svix.webhooks.Webhook(secret).sign(event_id, moment, body.decode())
    except UnicodeDecodeError:  # the SDK signs text; sign raw bytes the same way by hand
        key = base64.b64decode(secret.removeprefix("whsec_"))
        signed = f"{event_id}.{timestamp}.".encode() + body
        signature = "v1," + base64.b64encode(hmac.digest(key, signed, "sha256")).decode()
    return {
        "svix-id": event_id,
        "svix-timestamp": str(timestamp),
        "svix-signature": signature,
        "content-type": "application/json",
    }


def _paddle_body(event_id: str) -> bytes:
    return json.dumps(
        {"event_id": event_id, "event_type": "transaction.completed", "data": {"id": "txn_1"}}
    ).encode()


def _paddle_sign(body: bytes, secret: str, _: str, timestamp: int) -> dict[str, str]:
    digest = PaddleSignature.calculate_hmac(secret, f"{timestamp}:".encode() + body).hexdigest()
    return {"paddle-signature": f"ts={timestamp};h1={digest}", "content-type": "application/json"}


HUBSPOT_URL = "https://hooks.example.com/webhooks/hubspot"


def _hubspot_body(event_id: str) -> bytes:
    return json.dumps([{"eventId": event_id, "subscriptionType": "contact.creation"}]).encode()


def _hubspot_sign(body: bytes, secret: str, _: str, timestamp: int) -> dict[str, str]:
    millis = str(timestamp * 1000)
    try:
        signature = HubSpotSignature.get_signature(
            secret, body.decode(), "v3", http_uri=HUBSPOT_URL, timestamp=millis
        )
    except UnicodeDecodeError:  # the SDK signs text; sign raw bytes the same way by hand
        signed = b"POST" + HUBSPOT_URL.encode() + body + millis.encode()
        signature = base64.b64encode(hmac.digest(secret.encode(), signed, "sha256")).decode()
    return {
        "x-hubspot-signature-v3": signature,
        "x-hubspot-request-timestamp": millis,
        "content-type": "application/json",
    }


def _easypost_body(event_id: str) -> bytes:
    return json.dumps(
        {"id": event_id, "object": "Event", "description": "tracker.updated", "result": {}}
    ).encode()


def _easypost_sign(body: bytes, secret: str, _: str, __: int) -> dict[str, str]:
    # EasyPost's SDK verifies but does not sign: its documented construction, by hand.
    key = unicodedata.normalize("NFKD", secret).encode()
    digest = hmac.new(key, body, hashlib.sha256).hexdigest()
    return {"x-hmac-signature": f"hmac-sha256-hex={digest}", "content-type": "application/json"}


MANDRILL_URL = "https://hooks.example.com/webhooks/mandrill?tenant=7"


def _mandrill_body(event_id: str) -> bytes:
    events = [{"_id": event_id, "event": "hard_bounce", "msg": {"subject": "caf\u00e9 \u2603"}}]
    return urlencode({"mandrill_events": json.dumps(events, ensure_ascii=False)}).encode()


def _mandrill_sign(body: bytes, secret: str, _: str, __: int) -> dict[str, str]:
    # No SDK signs or verifies: Mandrill's documented construction, by hand (the URL as
    # configured, then each field's name and value, sorted by name).
    fields = sorted(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    signed = (MANDRILL_URL + "".join(name + value for name, value in fields)).encode()
    digest = hmac.digest(secret.encode(), signed, "sha1")
    return {
        "x-mandrill-signature": base64.b64encode(digest).decode(),
        "content-type": "application/x-www-form-urlencoded",
    }


def _whsec() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


CASES = {
    "stripe": Case(
        provider="stripe",
        secrets=("whsec_" + os.urandom(16).hex(), "whsec_" + os.urandom(16).hex()),
        body=_stripe_body,
        sign=_stripe_sign,
        event_type="invoice.paid",
        signature_header="stripe-signature",
        has_timestamp=True,
    ),
    "github": Case(
        provider="github",
        secrets=(os.urandom(12).hex(), os.urandom(12).hex()),
        body=_github_body,
        sign=_github_sign,
        event_type="pull_request.opened",
        signature_header="x-hub-signature-256",
        has_timestamp=False,
    ),
    "standard-webhooks": Case(
        provider="standard-webhooks",
        secrets=(_whsec(), _whsec()),
        body=_standard_body,
        sign=_standard_sign,
        event_type="user.created",
        signature_header="webhook-signature",
        has_timestamp=True,
    ),
    "svix": Case(
        provider="svix",
        secrets=(_whsec(), _whsec()),
        body=_svix_body,
        sign=_svix_sign,
        event_type="user.created",
        signature_header="svix-signature",
        has_timestamp=True,
    ),
    "paddle": Case(
        provider="paddle",
        secrets=("pdl_ntfset_" + os.urandom(12).hex(), "pdl_ntfset_" + os.urandom(12).hex()),
        body=_paddle_body,
        sign=_paddle_sign,
        event_type="transaction.completed",
        signature_header="paddle-signature",
        has_timestamp=True,
    ),
    "hubspot": Case(
        provider="hubspot",
        secrets=(os.urandom(16).hex(), os.urandom(16).hex()),
        body=_hubspot_body,
        sign=_hubspot_sign,
        event_type="contact.creation",
        signature_header="x-hubspot-signature-v3",
        has_timestamp=True,
        options={"public_url": HUBSPOT_URL},
    ),
    "easypost": Case(
        provider="easypost",
        # Secrets whose NFKD form differs from their text: the key is the normalised bytes.
        secrets=("s\u00e9cret-" + os.urandom(8).hex(), "\ufb01-" + os.urandom(8).hex()),
        body=_easypost_body,
        sign=_easypost_sign,
        event_type="tracker.updated",
        signature_header="x-hmac-signature",
        has_timestamp=False,
    ),
    "mandrill": Case(
        provider="mandrill",
        secrets=(os.urandom(16).hex(), os.urandom(16).hex()),
        body=_mandrill_body,
        sign=_mandrill_sign,
        event_type="hard_bounce",
        signature_header="x-mandrill-signature",
        has_timestamp=False,
        options={"public_url": MANDRILL_URL},
    ),
}
