"""Timestamped HMAC senders confirmed against their own documents (issue 14, slice hmac2)."""

from __future__ import annotations

from typing import ClassVar

from providers._fields import body, joined
from providers._hmac_scheme import HmacScheme, HmacSchemeProvider


class CloudflareStreamProvider(HmacSchemeProvider):
    """Cloudflare Stream video webhooks: `Webhook-Signature: time=<unix>,sig1=<hex>`, HMAC-SHA256
    over `{time}.{body}`, keyed with the webhook's `secret` as Stream returns it (its text, not
    hex-decoded). Cloudflare names no tolerance ("discard requests with timestamps that are too
    old for your application"): 300 s, both ways.

    A video sends one notification per processing outcome: the ID is its `uid` and
    `status.state`, the type `status.state` (`ready`, `error`). Stream Live notifications come
    through Cloudflare Notifications, another scheme, not this one.
    """

    family: ClassVar[str] = "timestamped-hmac"
    scheme = HmacScheme(
        "webhook-signature",
        message="{timestamp}.{body}",
        pairs=",",
        timestamp_key="time",
        signature_key="sig1",
        tolerance=300,
    )
    event_id = joined(":", body("/uid"), body("/status/state"))
    event_type = body("/status/state")
