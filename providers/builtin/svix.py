"""Senders of the Standard Webhooks scheme under their own names (see `standard_webhooks`).

Svix, Clerk and Resend send `svix-*` headers; Replicate, OpenAI, Increase and Make send
`webhook-*`. All sign `{id}.{timestamp}.{body}` and are held to ±5 min; the key is a `whsec_`
secret's base64, except that OpenAI's verifier uses any other secret as is, and Increase's
every secret.
"""

from __future__ import annotations

import base64
from dataclasses import replace
from typing import Any, ClassVar

from providers._fields import body, header
from providers._signing import require_secrets
from providers._standard_scheme import DEFAULT_TOLERANCE, decode_secret
from providers.base import SourceSpec, VerifiedEvent, WebhookRequest
from providers.errors import Malformed, ProviderConfigError
from providers.signing import Signing
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


class _Utf8KeyProvider(StandardWebhooksProvider):
    """A sender whose own verifier keys the HMAC with a secret's UTF-8 bytes (OpenAI's: unless
    it starts with `whsec_`, then base64 as the scheme says). Symmetric `v1` only."""

    source_keys = ("secrets", "tolerance_seconds")
    #: A `whsec_` secret is base64 (OpenAI); else every secret is used as is (Increase).
    whsec_is_base64: ClassVar[bool] = True

    @classmethod
    def _key(cls, secret: str) -> bytes:
        if cls.whsec_is_base64 and secret.startswith("whsec_"):
            return decode_secret(secret)
        return secret.encode()

    def configure(self, spec: SourceSpec) -> None:
        require_secrets(spec.secrets, spec.name)
        spec.options.finish()
        try:
            self._keys = tuple(self._key(secret.reveal()) for secret in spec.secrets)
        except ValueError as err:  # names no part of the secret
            raise ProviderConfigError(f"sources.{spec.name}.secrets: {err}") from err
        self._public_keys = ()
        self._tolerance = (
            DEFAULT_TOLERANCE if spec.tolerance_seconds is None else spec.tolerance_seconds
        )
        self.signed_timestamp = bool(self._tolerance)

    @classmethod
    def sign(cls, signing: Signing) -> dict[str, str]:
        # The same key, spelled as the scheme's signer takes it.
        secret = "whsec_" + base64.b64encode(cls._key(signing.secret)).decode("ascii")
        return super().sign(replace(signing, secret=secret))


class OpenAIProvider(_Utf8KeyProvider):
    """OpenAI (`webhook-*` headers). Type: the body's `type` (`response.completed`)."""


class IncreaseProvider(_Utf8KeyProvider):
    """Increase. The key is the subscription's `shared_secret`, any string, as is (its SDK's
    client). Type: the body's `category` (`transaction.created`); its `type` is `event`."""

    whsec_is_base64 = False
    event_type = body("/category")
    type_key = "category"


class MakeProvider(StandardWebhooksProvider):
    """Make.com event subscriptions (`webhook-*` headers). Type: the `Webhook-Topic` header,
    which is not signed (the event carries a `replay_key`)."""

    event_type = header("webhook-topic")
    sample_type = "scenario.completed"

    def missing(self, what: str) -> Malformed:
        return Malformed("webhook-topic header is missing")

    @classmethod
    def sign(cls, signing: Signing) -> dict[str, str]:
        topic = signing.event_type or cls.sample_type
        return {**super().sign(signing), "webhook-topic": topic}
