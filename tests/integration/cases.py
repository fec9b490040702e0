"""One signed-request recipe per provider, signing with the provider's own code where it exists.

Stripe: the `stripe` SDK's signer. Standard Webhooks: the `standardwebhooks` package. GitHub
ships no Python signer: its requests are signed here with the standard library, independently
of hookgate's code, and its published vectors are tested separately.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import stripe
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

    @property
    def source(self) -> str:
        return self.provider.replace("-", "")

    def source_table(self) -> dict[str, object]:
        return {"provider": self.provider, "secrets": list(self.secrets)}


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


def _github_body(_: str) -> bytes:
    return b'{"action":"opened","number":7,"pull_request":{"title":"Fix \\u001B colours"}}'


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
}
