"""providers.registry: built-ins load through the entry-point group, like any plugin."""

from __future__ import annotations

import pytest

from providers import Options, Provider, ProviderConfigError, ProviderNotFound, installed, load
from providers.generic_hmac import HmacProvider
from providers.github import GitHubProvider
from providers.standard_webhooks import StandardWebhooksProvider
from providers.stripe import StripeProvider
from providers.testing import build_provider

BUILT_INS = {
    "stripe": StripeProvider,
    "github": GitHubProvider,
    "standard-webhooks": StandardWebhooksProvider,
    "hmac": HmacProvider,
}


@pytest.mark.parametrize(("name", "cls"), sorted(BUILT_INS.items()))
def test_built_in_loads_through_the_entry_point_group(name: str, cls: type) -> None:
    assert load(name) is cls


def test_installed_lists_every_built_in_with_its_target_and_distribution() -> None:
    listed = {p.name: p for p in installed()}

    for name, cls in BUILT_INS.items():
        assert listed[name].target == f"{cls.__module__}:{cls.__name__}"
        assert listed[name].distribution == "hookgate"


# Every provider name DESIGN.md lists, plus the generic `hmac`.
DESIGN_NAMES = [
    "stripe",
    "github",
    "standard-webhooks",
    "svix",
    "clerk",
    "resend",
    "replicate",
    "slack",
    "shopify",
    "twilio",
    "discord",
    "sendgrid",
    "square",
    "paddle",
    "linear",
    "zoom",
    "intercom",
    "hubspot",
    "mailgun",
    "postmark",
    "gitlab",
    "bitbucket",
    "twitch",
    "meta",
    "zendesk",
    "typeform",
    "calendly",
    "lemonsqueezy",
    "mux",
    "vercel",
    "sentry",
    "coinbase",
    "plaid",
    "dropbox",
    "okta",
    "xero",
    "intuit",
    "segment",
    "jira",
    "notion",
    "hmac",
    "openai",
    "increase",
    "make",
    "workos",
    "elevenlabs",
    "sanity",
    "box",
    "ghost",
    "webflow",
    "revolut",
    "line",
    "helpscout",
    "telegram",
    "cloudinary",
    "twitter",
    "gocardless",
    "razorpay",
    "onfido",
    "moderntreasury",
    "easypost",
    "airtable",
    "paystack",
    "checkout",
    "webex",
    "clickup",
    "squarespace",
    "mandrill",
    "plivo",
    "vonage",
    "monday",
    "telnyx",
    "wise",
    "contentful",
    "adyen",
    "adyenplatform",
    "dwolla",
    "patreon",
    "storyblok",
    "veriff",
    "mollie",
    "heroku",
    "cloudflarestream",
    "sumsub",
    "websub",
    "netlify",
    "fusionauth",
    "messagebird",
    "braintree",
    "dropbox-sign",
    "travis",
    "microsoft-graph",
    "azure-eventgrid",
    "smartsheet",
    "trello",
    "front",
    "apple-appstore",
    "google-pubsub",
    "google-play",
    "coinify",
    "msteams",
    "recurly",
    "hygraph",
    "circleci",
    "pusher",
    "pagerduty",
    "woocommerce",
    "calcom",
    "cashfree",
    "alchemy",
    "tailscale",
    "aws-sns",
    "paypal",
]


def test_every_provider_named_in_the_design_is_a_hookgate_entry_point() -> None:
    listed = {p.name: p for p in installed()}

    missing = [name for name in DESIGN_NAMES if name not in listed]

    assert missing == []
    assert {listed[name].distribution for name in DESIGN_NAMES} == {"hookgate"}


def test_installed_is_sorted_by_name() -> None:
    names = [p.name for p in installed()]

    assert names == sorted(names)


@pytest.mark.parametrize("name", sorted(BUILT_INS))
def test_built_in_provider_follows_the_protocol(name: str) -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    options = {"signature_header": "x-sig"} if name == "hmac" else {}

    provider = build_provider(load(name), [secret], options=options)

    assert isinstance(provider, Provider)
    assert provider.methods == frozenset({"POST"})
    assert provider.family in {"timestamped-hmac", "raw-body-hmac", "standard-webhooks"}


def test_module_class_reference_loads_without_an_entry_point() -> None:
    assert load("providers.github:GitHubProvider") is GitHubProvider


def test_unknown_name_is_not_found_and_the_message_lists_what_is_installed() -> None:
    with pytest.raises(ProviderNotFound) as info:
        load("stirpe")

    message = str(info.value)
    assert "'stirpe'" in message
    listed = message.partition("(installed: ")[2].partition(")")[0].split(", ")
    assert listed == sorted(p.name for p in installed())
    assert {"github", "gitlab", "hmac", "hubspot"} <= set(listed)
    assert "package.module:Class" in message


@pytest.mark.parametrize(
    ("reference", "problem"),
    [
        ("no_such_module_xyz:Provider", "cannot import module 'no_such_module_xyz'"),
        ("providers.github:NoSuchClass", "has no provider class 'NoSuchClass'"),
        ("providers.github:SIGNATURE_HEADER", "has no provider class 'SIGNATURE_HEADER'"),
    ],
)
def test_bad_module_class_reference_is_not_found(reference: str, problem: str) -> None:
    with pytest.raises(ProviderNotFound, match=problem):
        load(reference)


def test_not_found_is_a_config_error() -> None:
    # The gateway refuses startup on ProviderConfigError; a missing provider must be one.
    assert issubclass(ProviderNotFound, ProviderConfigError)


def test_options_finish_refuses_an_unread_key_by_its_path() -> None:
    options = Options({"signature_header": "x", "prefx": "sha256="}, "sources.acme")
    assert options.string("signature_header") == "x"

    with pytest.raises(ProviderConfigError) as info:
        options.finish()

    assert str(info.value) == "sources.acme.prefx: unknown option for this provider"


def test_options_finish_accepts_when_every_key_was_read() -> None:
    options = Options({"signature_header": "x"}, "sources.acme")
    options.string("signature_header")

    options.finish()


@pytest.mark.parametrize("name", DESIGN_NAMES)
def test_declared_source_keys_match_whether_a_tolerance_is_accepted(name: str) -> None:
    from tests.unit.providers._catalogue import (
        PUBLIC_HALF,
        SNS_OPTIONS,
        TABLE,
        key_option,
        rsa_pkcs8,
    )

    cls = load(name)
    keys = cls.source_keys  # type: ignore[attr-defined]
    assert isinstance(keys, tuple)
    assert all(isinstance(key, str) for key in keys)
    options: dict[str, object] = {"signature_header": "x-sig"} if name == "hmac" else {}
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    if name == "gitlab":  # only its signing-token scheme is timestamped
        options = {"scheme": "signing-token"}
    elif name in TABLE:
        options = {**TABLE[name][3]}
        secret = TABLE[name][4]()
    elif name == "aws-sns":  # signs inside the body with an RSA key
        options, secret = dict(SNS_OPTIONS), rsa_pkcs8()
    secrets = [secret]
    if name in PUBLIC_HALF:
        options[key_option(name)] = PUBLIC_HALF[name](secret)
        secrets = []

    def build() -> object:
        return build_provider(cls, secrets, options=options, tolerance_seconds=60)

    if "tolerance_seconds" in keys:
        build()
    else:
        with pytest.raises(ProviderConfigError, match="tolerance_seconds"):
            build()
