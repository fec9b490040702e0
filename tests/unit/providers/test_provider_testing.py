"""providers.testing: the signers invert the providers, and the contract catches broken ones."""

from __future__ import annotations

import dataclasses
import re
import time
import uuid

import pytest
import stripe

from providers import InvalidSignature, SourceSpec, VerifiedEvent, WebhookRequest, load
from providers.github import GitHubProvider
from providers.stripe import StripeProvider
from providers.testing import ProviderContract, build_provider, make_request, sign_request

STANDARD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = b'{"id":"evt_1","type":"invoice.paid","data":{"id":"obj_1"},"action":"opened"}'
HMAC_OPTIONS = {
    "signature_header": "X-Sig",
    "algorithm": "sha1",
    "encoding": "base64",
    "prefix": "sha1=",
    "event_id_header": "X-Id",
    "event_type_header": "X-Type",
}
CASES = {
    "stripe": ("whsec_test", {}),
    "github": ("gh-secret", {}),
    "standard-webhooks": (STANDARD_SECRET, {}),
    "hmac": ("hmac-secret", HMAC_OPTIONS),
}


# --- sign_request ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_signed_request_verifies_with_the_provider_of_that_name(name: str) -> None:
    secret, options = CASES[name]
    headers = sign_request(
        name, BODY, secret, event_id="evt_9", timestamp=1_700_000_000, options=options
    )
    provider = build_provider(load(name), [secret], options=options)

    event = provider.verify(make_request(BODY, headers, received_at=1_700_000_000))

    assert isinstance(event, VerifiedEvent)
    assert all(header == header.lower() for header in headers)


@pytest.mark.parametrize("name", sorted(CASES))
def test_signed_request_fails_with_another_secret(name: str) -> None:
    secret, options = CASES[name]
    other = "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldY" if name == "standard-webhooks" else "nope"
    headers = sign_request(name, BODY, other, timestamp=1_700_000_000, options=options)
    provider = build_provider(load(name), [secret], options=options)

    with pytest.raises(InvalidSignature):
        provider.verify(make_request(BODY, headers, received_at=1_700_000_000))


def test_stripe_signature_equals_the_sdk_signer() -> None:
    headers = sign_request("stripe", BODY, "whsec_test", timestamp=1614265330)

    assert headers["stripe-signature"] == stripe.WebhookSignature.generate_signature_header(
        BODY.decode(), "whsec_test", timestamp=1614265330
    )


def test_github_defaults_to_a_ping_with_a_fresh_delivery_id() -> None:
    first = sign_request("github", BODY, "s")
    second = sign_request("github", BODY, "s")

    assert first["x-github-event"] == "ping"
    assert first["content-type"] == "application/json"
    assert uuid.UUID(first["x-github-delivery"]) != uuid.UUID(second["x-github-delivery"])


def test_github_sends_the_given_event_id_and_type() -> None:
    headers = sign_request("github", BODY, "s", event_id="d-1", event_type="pull_request")

    event = build_provider(GitHubProvider, ["s"]).verify(make_request(BODY, headers))

    assert (event.id, event.type) == ("d-1", "pull_request.opened")


def test_standard_webhooks_signs_now_by_default() -> None:
    before = int(time.time())
    headers = sign_request("standard-webhooks", BODY, STANDARD_SECRET)

    assert before <= int(headers["webhook-timestamp"]) <= int(time.time())
    assert re.fullmatch(r"msg_[0-9a-f]{32}", headers["webhook-id"])


def test_hmac_sends_configured_id_and_type_headers() -> None:
    headers = sign_request(
        "hmac", BODY, "k", event_id="e-1", event_type="t.x", options=HMAC_OPTIONS
    )

    assert set(headers) == {"x-sig", "x-id", "x-type"}
    assert headers["x-sig"].startswith("sha1=")
    assert (headers["x-id"], headers["x-type"]) == ("e-1", "t.x")


def test_unknown_provider_is_a_value_error_listing_the_signers() -> None:
    with pytest.raises(ValueError, match=r"no signer for provider 'stirpe'.*installed: "):
        sign_request("stirpe", BODY, "s")


def test_hmac_options_without_a_signature_header_are_a_value_error() -> None:
    with pytest.raises(ValueError, match="signature_header: required"):
        sign_request("hmac", BODY, "s", options={"algorithm": "sha1"})


def test_unusable_standard_webhooks_secret_is_a_value_error_that_hides_it() -> None:
    with pytest.raises(ValueError, match="not a base64 signing secret") as info:
        sign_request("standard-webhooks", BODY, "whsec_sup3r*secret")

    assert "sup3r" not in str(info.value)


# --- the contract catches broken providers -----------------------------------------------------


class _GitHubDescription(ProviderContract):
    provider = GitHubProvider
    provider_name = "github"
    secrets = ("one", "two")
    body = BODY
    has_timestamp = False
    signature_headers = ("x-hub-signature-256",)


class AcceptsAnything:
    family = "raw-body-hmac"
    methods = frozenset({"POST"})

    def __init__(self, spec: SourceSpec) -> None:
        spec.options.finish()

    def verify(self, request: WebhookRequest) -> VerifiedEvent:
        return VerifiedEvent(id="x", type="y")


class CrashesOnGarbage(GitHubProvider):
    def verify(self, request: WebhookRequest) -> VerifiedEvent:
        request.headers.get("x-github-event", "").encode("ascii")  # a plugin bug on non-ASCII
        return super().verify(request)


class NeverFinishes(GitHubProvider):
    def __init__(self, spec: SourceSpec) -> None:
        super().__init__(dataclasses.replace(spec, options=type(spec.options)({}, "x")))


def _stripe_without_tolerance(spec: SourceSpec) -> StripeProvider:
    # A plain function as the factory: the contract must not bind it as a method.
    return StripeProvider(dataclasses.replace(spec, tolerance_seconds=0))


class _StripeDescription(ProviderContract):
    provider = StripeProvider
    provider_name = "stripe"
    secrets = ("whsec_a", "whsec_b")
    body = BODY
    signature_headers = ("stripe-signature",)


def _broken(base: type[ProviderContract], **attributes: object) -> type[ProviderContract]:
    return type("Broken", (base,), attributes)


BROKEN = {
    "accepts-tampered-body": (
        _broken(_GitHubDescription, provider=AcceptsAnything),
        "test_tampered_body_is_refused",
        "expected InvalidSignature",
    ),
    "accepts-wrong-secret": (
        _broken(_GitHubDescription, provider=AcceptsAnything),
        "test_wrong_secret_is_refused",
        "expected InvalidSignature",
    ),
    "crashes-on-garbage": (
        _broken(_GitHubDescription, provider=CrashesOnGarbage),
        "test_garbage_header_values_are_refused",
        "verify raised UnicodeEncodeError",
    ),
    "ignores-unknown-options": (
        _broken(_GitHubDescription, provider=NeverFinishes),
        "test_unknown_option_is_refused_by_name",
        "call options.finish",
    ),
    "ignores-old-timestamps": (
        _broken(_StripeDescription, provider=_stripe_without_tolerance),
        "test_hour_old_signature_is_stale_if_timestamped",
        "-3600 s gave",
    ),
    "undeclared-timestamp": (
        _broken(_StripeDescription, has_timestamp=False),
        "test_hour_early_signature_is_stale_if_timestamped",
        "+3600 s gave",
    ),
    "metadata-declared-as-signature": (
        _broken(_GitHubDescription, signature_headers=("x-github-event",)),
        "test_each_signature_header_is_required",
        "without x-github-event",
    ),
    "header-never-sent": (
        _broken(_GitHubDescription, signature_headers=("x-signature",)),
        "test_contract_is_described",
        "sign() never sends",
    ),
    "one-secret": (
        _broken(_GitHubDescription, secrets=("one",)),
        "test_valid_signature_verifies",
        "at least two secrets",
    ),
    "no-signer": (
        _broken(_GitHubDescription, provider_name=None),
        "test_valid_signature_verifies",
        "must set provider_name or implement sign",
    ),
}


@pytest.mark.parametrize(("contract", "rule", "complaint"), BROKEN.values(), ids=BROKEN.keys())
def test_contract_fails_a_broken_provider_or_description(
    contract: type[ProviderContract], rule: str, complaint: str
) -> None:
    with pytest.raises((AssertionError, NotImplementedError), match=re.escape(complaint)):
        getattr(contract(), rule)()


@pytest.mark.parametrize(
    "rule", [name for name in dir(ProviderContract) if name.startswith("test_")]
)
def test_every_contract_rule_passes_for_a_correct_provider(rule: str) -> None:
    getattr(_GitHubDescription(), rule)()
