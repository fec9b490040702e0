"""providers.stripe against the `stripe` SDK's own signer and verifier, plus the contract."""

from __future__ import annotations

import time

import pytest
import stripe

from providers import InvalidSignature, StaleTimestamp, VerifiedEvent
from providers.stripe import StripeProvider, sign
from providers.testing import ProviderContract, build_provider, make_request

SECRET = "whsec_test_secret"
BODY = (
    b'{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","object":"event",'
    b'"type":"invoice.paid","created":1686089970}'
)


def _provider(*secrets: str) -> StripeProvider:
    provider = build_provider(StripeProvider, secrets or (SECRET,), source="stripe")
    assert isinstance(provider, StripeProvider)
    return provider


def test_sdk_signature_header_is_accepted() -> None:
    now = int(time.time())
    header = stripe.WebhookSignature.generate_signature_header(BODY.decode(), SECRET, timestamp=now)

    event = _provider().verify(make_request(BODY, {"Stripe-Signature": header}, received_at=now))

    assert event == VerifiedEvent(
        id="evt_1NG8Du2eZvKYlo2CUI79vXWy", type="invoice.paid", occurred_at=1686089970.0
    )


def test_sdk_signature_with_another_secret_is_invalid() -> None:
    now = int(time.time())
    header = stripe.WebhookSignature.generate_signature_header(
        BODY.decode(), "whsec_other", timestamp=now
    )

    with pytest.raises(InvalidSignature):
        _provider().verify(make_request(BODY, {"stripe-signature": header}, received_at=now))


def test_sdk_signature_older_than_the_tolerance_is_stale() -> None:
    now = int(time.time())
    header = stripe.WebhookSignature.generate_signature_header(
        BODY.decode(), SECRET, timestamp=now - 301
    )

    with pytest.raises(StaleTimestamp):
        _provider().verify(make_request(BODY, {"stripe-signature": header}, received_at=now))


def test_our_signature_passes_the_sdk_verifier() -> None:
    header = sign(BODY, SECRET, int(time.time()))

    assert stripe.WebhookSignature.verify_header(BODY, header, SECRET, tolerance=300)


def test_our_signature_with_a_changed_body_fails_the_sdk_verifier() -> None:
    header = sign(BODY, SECRET, int(time.time()))

    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(BODY + b" ", header, SECRET, tolerance=300)


def test_our_signature_matches_the_sdk_signer_exactly() -> None:
    expected = stripe.WebhookSignature.generate_signature_header(
        BODY.decode(), SECRET, timestamp=1614265330
    )

    assert sign(BODY, SECRET, 1614265330) == expected


class TestStripeContract(ProviderContract):
    provider = StripeProvider
    provider_name = "stripe"
    secrets = (SECRET, "whsec_rotated_secret")
    body = BODY
    has_timestamp = True
    signature_headers = ("stripe-signature",)
