"""providers.signing: the optional `sign` capability that `hookgate send` and plugins use."""

from __future__ import annotations

import time

import pytest

from providers import (
    CannotSign,
    SourceSpec,
    VerifiedEvent,
    WebhookRequest,
    can_sign,
    installed,
    load,
    sign,
)
from providers.builtin.mailgun import MailgunProvider
from providers.stripe import StripeProvider
from providers.testing import build_provider, make_request

BODY = b'{"id": "evt_1", "type": "invoice.paid", "created": 1700000000}'


class _VerifyOnly:
    family = "custom"
    methods = frozenset({"POST"})

    def __init__(self, spec: SourceSpec) -> None:
        spec.options.finish()

    def verify(self, request: WebhookRequest) -> VerifiedEvent:
        return VerifiedEvent("id", "type")


@pytest.mark.parametrize("name", [provider.name for provider in installed()])
def test_every_built_in_provider_can_sign(name: str) -> None:
    assert can_sign(load(name))


def test_a_built_provider_signs_what_it_verifies() -> None:
    provider = build_provider(StripeProvider, ["whsec_signing"])
    now = int(time.time())

    signed = sign(provider, BODY, "whsec_signing", timestamp=now)

    assert signed.body == BODY
    event = provider.verify(make_request(signed.body, signed.headers, received_at=now))
    assert event == VerifiedEvent("evt_1", "invoice.paid", 1_700_000_000.0)


def test_a_body_signing_scheme_returns_the_signed_body() -> None:
    provider = build_provider(MailgunProvider, ["mailgun-key"])
    payload = b'{"event-data": {"id": "mg-1", "event": "delivered"}}'

    signed = sign(provider, payload, "mailgun-key")

    assert signed.body != payload
    event = provider.verify(make_request(signed.body, signed.headers))
    assert isinstance(event, VerifiedEvent)
    assert (event.id, event.type) == ("mg-1", "delivered")
    assert sign(provider, payload, "mailgun-key", sign_body=False).body == payload


def test_a_body_signing_scheme_refuses_a_payload_it_cannot_sign() -> None:
    with pytest.raises(CannotSign, match="must be JSON"):
        sign(MailgunProvider, b"not json", "mailgun-key")


def test_a_provider_without_a_signer_cannot_sign() -> None:
    provider = build_provider(_VerifyOnly, ["s3cret-value"])

    assert not can_sign(provider)
    with pytest.raises(CannotSign, match="declares no signer") as info:
        sign(provider, BODY, "s3cret-value")
    assert "s3cret-value" not in str(info.value)


def test_a_secret_the_signer_cannot_use_is_refused_without_showing_it() -> None:
    with pytest.raises(CannotSign, match="not a base64 signing secret") as info:
        sign(load("standard-webhooks"), BODY, "whsec_sup3r*secret")

    assert "sup3r" not in str(info.value)


def test_options_the_signer_needs_are_named() -> None:
    with pytest.raises(CannotSign, match="signature_header"):
        sign(load("hmac"), BODY, "k", options={})
