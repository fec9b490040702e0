"""Senders of the Standard Webhooks scheme under their own names (see `standard_webhooks`).

Svix, Clerk and Resend send `svix-*` headers; Replicate sends `webhook-*`. All sign
`{id}.{timestamp}.{body}` with a `whsec_` key and are held to ±5 min.
"""

from __future__ import annotations

from typing import Any

from providers._signing import required_str
from providers.standard_webhooks import StandardWebhooksProvider


class SvixProvider(StandardWebhooksProvider):
    """Svix-powered webhooks (`svix-id`, `svix-timestamp`, `svix-signature`)."""


class ClerkProvider(StandardWebhooksProvider):
    """Clerk (delivered by Svix). Type: the body's `type` (`user.created`)."""


class ResendProvider(StandardWebhooksProvider):
    """Resend (delivered by Svix). Type: the body's `type` (`email.delivered`)."""


class ReplicateProvider(StandardWebhooksProvider):
    """Replicate. The body is the prediction: the type is `prediction.<status>`."""

    def event_type(self, event: dict[str, Any]) -> str:
        return "prediction." + required_str(event, "status")
