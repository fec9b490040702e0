"""Raw-body HMAC senders confirmed against their own code or documents (issue 14, slice hmac2).

Each signs the raw body with the source's secret, its UTF-8 bytes as the key, in one header; no
timestamp is signed, so a replay is absorbed by the event ID (or the body hash). Where each
construction was confirmed is in providers/README.md's proof column.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from providers._fields import body, first, header, joined
from providers._hmac_scheme import HmacScheme, HmacSchemeProvider
from providers.base import VerifiedEvent, WebhookRequest


class _RawBody(HmacSchemeProvider):
    family: ClassVar[str] = "raw-body-hmac"


class DwollaProvider(_RawBody):
    """Dwolla (`X-Request-Signature-SHA-256`, hex, keyed with the webhook subscription's
    secret). ID: the event's `id`; type: its `topic` (`customer_transfer_completed`)."""

    scheme = HmacScheme("x-request-signature-sha-256")
    event_id = body("/id")
    event_type = body("/topic")


class PatreonProvider(_RawBody):
    """Patreon (`X-Patreon-Signature`, HMAC-**MD5** hex, keyed with the webhook's `secret`: the
    sender's choice, documented so). Type: `X-Patreon-Event` (`members:pledge:create`).

    The body is the member (or post) the event is about, not the event, and one change can
    send it under two triggers (`members:update` and `members:pledge:update`): the ID is a
    digest of the trigger and the body, as for Help Scout.
    """

    scheme = HmacScheme("x-patreon-signature", algorithm="md5")
    event_type = header("x-patreon-event")
    sample_type = "members:pledge:create"
    replays_per_type = True

    def event(self, request: WebhookRequest, document: Any) -> VerifiedEvent:
        event = super().event(request, document)
        return replace(event, id=event.replay_key) if event.replay_key else event


class StoryblokProvider(_RawBody):
    """Storyblok (`webhook-signature`, HMAC-SHA1 hex, keyed with the webhook secret). No event
    ID is sent: the body hash is used. Type: the body's `action` (`published`)."""

    scheme = HmacScheme("webhook-signature", algorithm="sha1")
    event_type = body("/action")


class VeriffProvider(_RawBody):
    """Veriff (`X-HMAC-SIGNATURE`, hex, keyed with the integration's shared secret key;
    `X-AUTH-CLIENT` is the public API key, not checked). No event ID: the body hash. Type: a
    decision's `verification.status` (`approved`), an event's `action` (`submitted`), else
    `webhook` (watchlist and registry webhooks)."""

    scheme = HmacScheme("x-hmac-signature")
    event_type = first(body("/verification/status"), body("/action"))
    default_type = "webhook"


class MollieProvider(_RawBody):
    """Mollie next-gen webhooks (`X-Mollie-Signature: sha256=<hex>`, keyed with the webhook's
    signing secret). ID: the event's `id` (`whe_…`); type: its `type` (`payment-link.paid`).
    Classic Mollie webhooks (a form with `id=tr_…`, unsigned) carry no signature: refused."""

    scheme = HmacScheme("x-mollie-signature", prefix="sha256=")
    event_id = body("/id")
    event_type = body("/type")


class HerokuProvider(_RawBody):
    """Heroku app webhooks (`Heroku-Webhook-Hmac-SHA256`, base64, keyed with the webhook's
    `secret`). ID: the event's `id` (each delivery attempt changes `webhook_metadata`, not
    it); type: `resource`.`action` (`release.create`). An `Authorization` value configured on
    the webhook travels as is: it is not checked (the signature is) and never forwarded."""

    scheme = HmacScheme("heroku-webhook-hmac-sha256", encoding="base64")
    event_id = body("/id")
    event_type = joined(".", body("/resource"), body("/action"))
    credential_headers = frozenset({"authorization"})
