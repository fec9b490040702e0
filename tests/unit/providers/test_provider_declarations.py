"""Every built-in declares its credential, signature and unsigned headers and its clock, truly.

The gateway trusts these declarations (issue 9, items 2 and 4): it never forwards credential
headers, drops signature headers on request, de-duplicates on `replay_key` where an ID or type
header is unsigned, and warns about sources without a signed timestamp. So each declaration is
checked against what the provider and its signer actually do, not against a second list.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from providers import (
    InvalidSignature,
    MissingSignature,
    Provider,
    ProviderFacts,
    StaleTimestamp,
    VerificationError,
    VerifiedEvent,
    describe,
    installed,
    load,
)
from providers.builtin.graph import sign_body as graph_sign_body
from providers.builtin.mailgun import sign_body
from providers.builtin.parsed_fields import sign_body as adyen_sign_body
from providers.testing import build_provider, make_request, sign_request
from tests.unit.providers._catalogue import (
    ADYEN_BODY,
    BODY_SIGNING,
    GRAPH_BODY,
    PUBLIC_HALF,
    SNS_MESSAGE,
    SNS_OPTIONS,
    STALE_SKEW,
    TABLE,
    hex_secret,
    key_option,
    rsa_pkcs8,
    signed,
    sns_sign_body,
    whsec,
)

BUILT_IN = sorted(p.name for p in installed() if p.target.startswith("providers."))
HMAC_OPTIONS = {
    "signature_header": "x-acme-signature",
    "event_id_header": "x-acme-id",
    "event_type_header": "x-acme-event",
}
#: Shared-secret schemes whose secret has a required shape, for the canary test.
SHAPED = {"stripe": "whsec_", "standard-webhooks": "whsec_", "postmark": "user:"}
#: Schemes whose secret is hex (the key is its decoded bytes): the canary is hex too.
HEX_SECRETS = {"squarespace", "adyen", "adyenplatform"}
ATTRIBUTES = (
    "credential_headers",
    "signature_headers",
    "signed_headers",
    "unsigned_headers",
    "signed_timestamp",
)


@dataclass
class Case:
    """One provider built for a source, and how to sign a body for it."""

    name: str
    provider: Provider
    secret: str
    options: Mapping[str, Any]
    body: bytes

    def sign(
        self,
        body: bytes | None = None,
        *,
        event_id: str | None = None,
        timestamp: int | None = None,
    ) -> tuple[dict[str, str], bytes]:
        body = self.body if body is None else body
        now = int(time.time()) if timestamp is None else timestamp
        if self.name == "mailgun":
            body = sign_body(json.loads(body), self.secret, now)
        if self.name == "adyen":
            body = adyen_sign_body(json.loads(body), self.secret)
        if self.name in BODY_SIGNING:
            options = dict(self.options)
            body, _ = signed(self.name, body, self.secret, timestamp=now, options=options)
        if self.name == "microsoft-graph":
            body = graph_sign_body(body, self.secret)
        if self.name == "aws-sns":
            body = sns_sign_body(body, self.secret, now, event_id)
        headers = sign_request(
            self.name, body, self.secret, event_id=event_id, timestamp=now, options=self.options
        )
        return headers, body

    def verify(self, headers: Mapping[str, str], body: bytes) -> VerifiedEvent | VerificationError:
        try:
            outcome = self.provider.verify(make_request(body, headers))
        except VerificationError as err:
            return err
        assert isinstance(outcome, VerifiedEvent), f"{self.name}: {outcome!r}"
        return outcome


def _case(name: str, secret: str | None = None, **extra: Any) -> Case:
    if name in TABLE:
        body, _, _, options, make = TABLE[name]
        secret = secret or make()
        options = {**options, **extra}
        if name in PUBLIC_HALF:
            options[key_option(name)] = PUBLIC_HALF[name](secret)  # Plaid's signer reads its kid
            provider = build_provider(load(name), [], options=options)
        else:
            provider = build_provider(load(name), [secret], options=options)
        return Case(name, provider, secret, options, body)
    bodies = {
        "stripe": b'{"id": "evt_1", "type": "invoice.paid", "created": 1}',
        "github": b'{"action": "opened", "number": 1}',
        "standard-webhooks": b'{"type": "invoice.paid"}',
        "hmac": b'{"anything": 1}',
        "mailgun": b'{"id": "ev1", "event": "delivered"}',
        "adyen": ADYEN_BODY,
        "microsoft-graph": GRAPH_BODY,
        "aws-sns": SNS_MESSAGE,
    }
    options = {**(HMAC_OPTIONS if name == "hmac" else {}), **extra}
    if secret is None:
        secret = whsec() if name in {"stripe", "standard-webhooks"} else "s3cret-" + name
        if name in HEX_SECRETS:
            secret = hex_secret()
        if name == "aws-sns":
            secret = rsa_pkcs8()
    if name == "aws-sns":  # a certificate pinned for the signing key; no shared secret
        options = {**options, **SNS_OPTIONS, key_option(name): PUBLIC_HALF[name](secret)}
        return Case(
            name, build_provider(load(name), [], options=options), secret, options, bodies[name]
        )
    provider = build_provider(load(name), [secret], options=options)
    return Case(name, provider, secret, options, bodies[name])


def test_the_catalogue_is_complete() -> None:
    with (Path(__file__).parents[3] / "pyproject.toml").open("rb") as file:
        declared = tomllib.load(file)["project"]["entry-points"]["hookgate.providers"]
    assert sorted(declared) == BUILT_IN  # the install is pyproject.toml's, not a stale one
    named = {"stripe", "github", "standard-webhooks", "hmac", "mailgun", "adyen"}
    named |= {"microsoft-graph", "aws-sns"}
    assert set(BUILT_IN) == {*TABLE, *named}


@pytest.mark.parametrize("name", BUILT_IN)
def test_every_built_in_declares_each_fact_with_the_right_type(name: str) -> None:
    factory = load(name)
    for attribute in ATTRIBUTES:
        assert hasattr(factory, attribute), f"{name} declares no {attribute}"
    for facts in (describe(factory), describe(_case(name).provider)):
        sets = (
            facts.credential_headers,
            facts.signature_headers,
            facts.signed_headers,
            facts.unsigned_headers,
        )
        for names in sets:
            assert all(n == n.lower() and n.strip() == n and n for n in names)
        assert not facts.unsigned_headers & (
            facts.signature_headers | facts.signed_headers | facts.credential_headers
        )
        assert not facts.credential_headers & facts.signature_headers


@pytest.mark.parametrize("name", ["stripe", "github", "standard-webhooks", "hmac"])
def test_hand_written_providers_declare_every_fact_themselves(name: str) -> None:
    factory = load(name)
    assert isinstance(factory, type)
    for attribute in ATTRIBUTES:
        assert attribute in vars(factory), f"{name} inherits or omits {attribute}"


@pytest.mark.parametrize("name", [n for n in BUILT_IN if n not in PUBLIC_HALF])
def test_a_header_carrying_the_secret_is_a_credential_header(name: str) -> None:
    canary = SHAPED.get(name, "") + "CanarySecret0123456789abcdef"
    if name in SHAPED and SHAPED[name] == "whsec_":
        canary = whsec()
    if name in HEX_SECRETS:
        canary = canary.encode().hex()
    case = _case(name, secret=canary)
    headers, _ = case.sign()
    wrapped = {canary, base64.b64encode(canary.encode()).decode()}

    carrying = {h for h, v in headers.items() if any(form in v for form in wrapped)}

    assert carrying <= describe(case.provider).credential_headers
    if name in {"gitlab", "okta", "postmark"}:
        assert carrying, f"{name}'s signer sends no token: the test proves nothing"


@pytest.mark.parametrize("name", BUILT_IN)
def test_the_signer_round_trips_and_each_header_is_declared_for_what_it_does(name: str) -> None:
    case = _case(name)
    headers, body = case.sign()
    baseline = case.verify(headers, body)
    assert isinstance(baseline, VerifiedEvent), f"{name}'s signer does not verify: {baseline!r}"
    facts = describe(case.provider)
    covered = facts.signature_headers | facts.signed_headers | facts.credential_headers

    for header in headers:
        without = case.verify({k: v for k, v in headers.items() if k != header}, body)
        if isinstance(without, MissingSignature):
            assert header in covered, f"{name}: {header} is required but declared nowhere"
        mutated = case.verify({**headers, header: "mutated-0b7c"}, body)
        if header in covered:
            assert isinstance(mutated, VerificationError), f"{name}: {header} signs nothing"
            continue
        if isinstance(mutated, VerifiedEvent) and _key(mutated) != _key(baseline):
            assert header in facts.unsigned_headers, f"{name}: {header} unsigned, undeclared"
    for header in facts.signature_headers & set(headers):
        without = case.verify({k: v for k, v in headers.items() if k != header}, body)
        assert isinstance(without, MissingSignature | InvalidSignature)


@pytest.mark.parametrize("name", BUILT_IN)
def test_an_id_or_type_from_an_unsigned_header_comes_with_a_replay_key(name: str) -> None:
    case = _case(name)
    headers, body = case.sign()
    baseline = case.verify(headers, body)
    assert isinstance(baseline, VerifiedEvent)
    facts = describe(case.provider)

    if name == "mailgun":  # signs a token, not the event: the token's digest
        token = json.loads(body)["signature"]["token"]
        assert baseline.replay_key == hashlib.sha256(token.encode()).hexdigest()
        return
    if name == "dropbox-sign":  # signs event_time + event_type, not the body naming the
        # event: the body's digest (a digest of the signed pair would fold distinct events of
        # one second and type into one)
        assert baseline.replay_key == hashlib.sha256(body).hexdigest()
        return
    if name == "paypal":  # binds its body only by a CRC-32: one event per transmission
        sent = "|".join(headers[h] for h in ("paypal-transmission-id", "paypal-transmission-time"))
        transmission = f"paypal-transmission|{sent}|{headers['paypal-transmission-sig']}"
        assert baseline.replay_key == hashlib.sha256(transmission.encode()).hexdigest()
        return
    if not facts.unsigned_headers:
        assert baseline.replay_key is None, f"{name} signs its ID and type: no replay key"
        return
    per_type = getattr(case.provider, "replays_per_type", False)
    assert baseline.replay_key == _replay_key(body, baseline.type if per_type else None)
    for header in facts.unsigned_headers:
        # A declared unsigned header really is unsigned: changing it keeps the signature valid,
        # and whatever ID results, the replay key is the same (per type where the provider
        # sends one body under several types: Shopify).
        forged = case.verify({**headers, header: f"forged-{header}"}, body)
        assert isinstance(forged, VerifiedEvent), f"{name}: {header} is signed: {forged!r}"
        assert forged.replay_key == _replay_key(body, forged.type if per_type else None)


def _replay_key(body: bytes, event_type: str | None) -> str:
    digest = hashlib.sha256(body).hexdigest()
    if event_type is None:
        return digest
    return hashlib.sha256(f"{event_type}\n{digest}".encode()).hexdigest()


def test_shopify_keys_replays_per_topic_a_new_orders_create_and_update_share_a_body() -> None:
    case = _case("shopify")
    headers, body = case.sign()
    created = case.verify({**headers, "x-shopify-topic": "orders/create"}, body)
    updated = case.verify(
        {**headers, "x-shopify-topic": "orders/updated", "x-shopify-event-id": "2"}, body
    )
    resent = case.verify(
        {**headers, "x-shopify-topic": "orders/create", "x-shopify-event-id": "3"}, body
    )
    assert isinstance(created, VerifiedEvent)
    assert isinstance(updated, VerifiedEvent)
    assert isinstance(resent, VerifiedEvent)
    assert created.replay_key != updated.replay_key  # both delivered
    assert resent.replay_key == created.replay_key  # a re-send under a new ID is a duplicate


@pytest.mark.parametrize("name", BUILT_IN)
def test_a_body_signed_again_under_a_new_id_has_the_same_replay_key_or_a_signed_id(
    name: str,
) -> None:
    case = _case(name)
    when = int(time.time())
    first_headers, body = case.sign(event_id="id-first", timestamp=when)
    second_headers, _ = case.sign(event_id="id-second", timestamp=when)
    first = case.verify(first_headers, body)
    second = case.verify(second_headers, body)
    assert isinstance(first, VerifiedEvent)
    assert isinstance(second, VerifiedEvent)
    if first.id == second.id:
        return  # the ID is not in a header the signer sets
    if describe(case.provider).unsigned_headers:
        assert first.replay_key is not None
        assert first.replay_key == second.replay_key
        return
    # No unsigned header, yet two IDs: the ID header is signed, so it cannot be swapped.
    swapped = {**first_headers}
    for header, value in second_headers.items():
        if value == "id-second":
            swapped[header] = value
    assert isinstance(case.verify(swapped, body), InvalidSignature)


@pytest.mark.parametrize("name", BUILT_IN)
def test_signed_timestamp_is_declared_exactly_when_an_old_signature_is_refused(name: str) -> None:
    case = _case(name)
    headers, body = case.sign(timestamp=int(time.time()) - STALE_SKEW.get(name, 3600))

    outcome = case.verify(headers, body)

    if describe(case.provider).signed_timestamp:
        assert isinstance(outcome, StaleTimestamp), f"{name}: {outcome!r}"
    else:
        assert isinstance(outcome, VerifiedEvent), f"{name}: {outcome!r}"
    assert describe(case.provider).signed_timestamp == describe(load(name)).signed_timestamp


@pytest.mark.parametrize("name", [n for n in BUILT_IN if describe(load(n)).signed_timestamp])
def test_tolerance_zero_means_no_signed_timestamp_for_that_source(name: str) -> None:
    case = _case(name)
    secrets: list[str] = [] if name in PUBLIC_HALF else [case.secret]
    lax = build_provider(load(name), secrets, options=case.options, tolerance_seconds=0)

    assert describe(lax).signed_timestamp is False


def test_gitlab_facts_follow_its_scheme() -> None:
    token = describe(build_provider(load("gitlab"), ["t0ken"]))
    signing = describe(
        build_provider(load("gitlab"), [whsec()], options={"scheme": "signing-token"})
    )

    assert "x-gitlab-token" in token.credential_headers
    assert not token.signed_timestamp
    assert {"idempotency-key", "x-gitlab-event-uuid"} <= token.unsigned_headers
    assert signing.signed_timestamp
    assert signing.unsigned_headers == {"x-gitlab-event"}
    assert "webhook-id" in signing.signed_headers


def test_hmac_facts_follow_its_options() -> None:
    plain = build_provider(load("hmac"), ["s"], options={"signature_header": "X-Sig"})
    body = b"{}"
    headers = sign_request("hmac", body, "s", options={"signature_header": "X-Sig"})

    assert describe(plain).signature_headers == {"x-sig"}
    assert describe(plain).unsigned_headers == frozenset()
    event = plain.verify(make_request(body, headers))
    assert isinstance(event, VerifiedEvent)
    assert event.replay_key is None
    keyed = describe(build_provider(load("hmac"), ["s"], options=HMAC_OPTIONS))
    assert keyed.unsigned_headers == {"x-acme-id", "x-acme-event"}


def test_mailgun_signature_block_resent_with_forged_event_data_has_the_same_replay_key() -> None:
    key = "mailgun-signing-key"
    provider = build_provider(load("mailgun"), [key])
    now = int(time.time())
    genuine = sign_body({"id": "ev-1", "event": "delivered"}, key, now)
    block = json.loads(genuine)["signature"]
    forged = json.dumps({"signature": block, "event-data": {"id": "ev-2", "event": "failed"}})

    first = provider.verify(make_request(genuine, {}))
    second = provider.verify(make_request(forged.encode(), {}))

    assert isinstance(first, VerifiedEvent)
    assert isinstance(second, VerifiedEvent)
    assert (first.id, second.id) == ("ev-1", "ev-2")  # the event data is not signed...
    assert first.replay_key == second.replay_key is not None  # ...the token is


def test_describe_gives_defaults_for_a_plugin_that_declares_nothing() -> None:
    class Bare:
        family = "x"
        methods = frozenset({"POST"})

    assert describe(Bare) == ProviderFacts()
    assert describe(type("One", (), {"signature_headers": "X-Sig"})).signature_headers == {"x-sig"}


def _key(event: VerifiedEvent) -> tuple[str, str]:
    return (event.id, event.type)


def test_okta_secret_in_a_custom_header_is_checked_and_declared_a_credential() -> None:
    options = {"auth_header": "X-Okta-Secret"}
    provider = build_provider(load("okta"), ["okta-s3cret"], options=options)
    body = TABLE["okta"][0]
    headers = sign_request("okta", body, "okta-s3cret", options=options)

    assert headers["x-okta-secret"] == "okta-s3cret"
    assert "authorization" not in headers
    assert isinstance(provider.verify(make_request(body, headers)), VerifiedEvent)
    assert describe(provider).credential_headers == {"x-okta-secret"}
    moved = {"authorization": "okta-s3cret", "content-type": "application/json"}
    with pytest.raises(MissingSignature):
        provider.verify(make_request(body, moved))
