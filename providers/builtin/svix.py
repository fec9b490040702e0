"""Senders of the Standard Webhooks scheme under their own names (see `standard_webhooks`).

Svix, Clerk and Resend send `svix-*` headers; Replicate sends `webhook-*`. All sign
`{id}.{timestamp}.{body}` with a `whsec_` key and are held to ±5 min.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from providers._fields import body
from providers.base import VerifiedEvent, WebhookRequest
from providers.standard_webhooks import StandardWebhooksProvider


class SvixProvider(StandardWebhooksProvider):
    """Svix-powered webhooks (`svix-id`, `svix-timestamp`, `svix-signature`)."""

    header_prefix = "svix-"


class ClerkProvider(StandardWebhooksProvider):
    """Clerk (delivered by Svix). Type: the body's `type` (`user.created`)."""

    header_prefix = "svix-"


class ResendProvider(StandardWebhooksProvider):
    """Resend (delivered by Svix). Type: the body's `type` (`email.delivered`)."""

    header_prefix = "svix-"


class ReplicateProvider(StandardWebhooksProvider):
    """Replicate. The body is the prediction: the type is `prediction.<status>`."""

    event_type = body("/status")
    type_key = "status"

    def event(self, request: WebhookRequest, document: Any) -> VerifiedEvent:
        verified = super().event(request, document)
        return replace(verified, type="prediction." + verified.type)
