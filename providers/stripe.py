"""Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`, HMAC-SHA256 over `t.body`.

The key is the whole `whsec_…` string. Several `v1` entries may be present while Stripe rolls a
secret; any one matching any configured secret verifies. Event ID and type come from the body.
"""

from __future__ import annotations

from typing import Any, ClassVar

from providers._fields import body
from providers._hmac_scheme import HmacScheme, HmacSchemeProvider
from providers._signing import json_object
from providers.base import WebhookRequest
from providers.errors import Malformed

#: Stripe's SDK compares the hex exactly; so does hookgate.
SCHEME = HmacScheme(
    "stripe-signature", message="{timestamp}.{body}", pairs=",", tolerance=300, fold_case=False
)


class StripeProvider(HmacSchemeProvider):
    """Stripe webhooks (`Stripe-Signature`). Options: none beyond secrets and tolerance."""

    family: ClassVar[str] = "timestamped-hmac"
    scheme = SCHEME
    event_id = body("/id")
    id_required = True  # every Stripe event has one; its absence is not a Stripe event
    event_type = body("/type")
    # See `providers.facts`: the scheme declares the signature header; nothing else is sent.
    credential_headers = frozenset()
    content_type = "application/json; charset=utf-8"

    def document(self, request: WebhookRequest) -> Any:
        return json_object(request.body)  # an event is a JSON object; anything else: malformed

    def missing(self, what: str) -> Malformed:
        return Malformed(f"body has no {what.lower()!r} string")

    def occurred_at(self, document: Any) -> float | None:
        created = document.get("created") if isinstance(document, dict) else None
        return float(created) if isinstance(created, int) else None


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """The `Stripe-Signature` value Stripe would send for `body` (the inverse of verify)."""
    return SCHEME.sign(secret.encode(), body, timestamp)[SCHEME.header]
