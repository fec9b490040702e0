"""Acme webhooks: `Acme-Signature: t=<unix>,v1=<hex>` over `{t}.{body}`, and a ping handshake.

Acme (a made-up provider) signs like Stripe, sends the event type in `Acme-Event`, keeps the
event ID in the body's `id`, and checks a new endpoint with `{"type": "ping"}`, which must be
answered `{"pong": true}` and not published.
"""

from __future__ import annotations

from typing import Any

from providers import Handshake, WebhookRequest
from providers.families import HmacScheme, HmacSchemeProvider, body, header


class AcmeProvider(HmacSchemeProvider):
    """Acme webhooks. Options: `secrets`, `tolerance_seconds` (default 300)."""

    family = "timestamped-hmac"
    scheme = HmacScheme("acme-signature", message="{timestamp}.{body}", pairs=",", tolerance=300)
    event_id = body("/id")
    event_type = header("acme-event")
    sample_type = "order.paid"  # what the signer sends in Acme-Event when told nothing
    reads_body = True  # the ping is recognised by its body

    def signed_handshake(self, request: WebhookRequest, document: Any) -> Handshake | None:
        if isinstance(document, dict) and document.get("type") == "ping":
            return Handshake(b'{"pong": true}')
        return None
