"""providers.standard_webhooks: the published vector, the reference library both ways, Svix."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from standardwebhooks.webhooks import Webhook

from providers import (
    InvalidSignature,
    Malformed,
    MissingSignature,
    ProviderConfigError,
    StaleTimestamp,
    VerifiedEvent,
)
from providers.standard_webhooks import StandardWebhooksProvider, sign
from providers.testing import ProviderContract, build_provider, make_request

# standard-webhooks libraries/python/tests/test_webhooks.py::test_sign_function, also in
# svix-webhooks python/tests/test_webhooks.py (signatures.md §3.3 item 1).
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
PAYLOAD = b'{"test": 2432232314}'
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
NEGATIVE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="
DECOY = "Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="

BODY = b'{"type":"invoice.paid","timestamp":"2022-11-03T20:26:10.344522Z","data":{"id":1}}'


def _provider(*secrets: str, tolerance: float | None = None) -> StandardWebhooksProvider:
    provider = build_provider(
        StandardWebhooksProvider, secrets or (SECRET,), tolerance_seconds=tolerance, source="sw"
    )
    assert isinstance(provider, StandardWebhooksProvider)
    return provider


def _headers(signature: str, msg_id: str = MSG_ID, timestamp: int = TIMESTAMP) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


def _verify_at(
    provider: StandardWebhooksProvider, body: bytes, headers: dict[str, str], now: float
) -> VerifiedEvent:
    return provider.verify(make_request(body, headers, received_at=now))


# --- the published vector ----------------------------------------------------------------------


def test_vector_signs_to_the_published_value() -> None:
    assert sign(PAYLOAD, SECRET, MSG_ID, TIMESTAMP) == SIGNATURE


def test_vector_signature_is_accepted_before_the_body_is_refused_for_lacking_a_type() -> None:
    # The vector's payload has no "type": Malformed (not InvalidSignature) proves it verified.
    with pytest.raises(Malformed, match="type"):
        _verify_at(_provider(), PAYLOAD, _headers(SIGNATURE), TIMESTAMP)


def test_vector_negative_signature_is_invalid() -> None:
    with pytest.raises(InvalidSignature):
        _verify_at(_provider(), PAYLOAD, _headers(NEGATIVE), TIMESTAMP)


def test_vector_multi_signature_header_passes_on_its_one_valid_v1() -> None:
    header = " ".join([f"v1,{DECOY}", f"v2,{DECOY}", SIGNATURE, f"v1,{DECOY}"])

    with pytest.raises(Malformed):  # the signature passed; the type check came next
        _verify_at(_provider(), PAYLOAD, _headers(header), TIMESTAMP)


def test_signature_of_another_version_only_is_invalid() -> None:
    with pytest.raises(InvalidSignature, match="no v1 or v1a"):
        _verify_at(_provider(), PAYLOAD, _headers(SIGNATURE.replace("v1,", "v2,")), TIMESTAMP)


def test_v1a_signature_without_a_configured_public_key_is_invalid() -> None:
    with pytest.raises(InvalidSignature, match="no signature matches"):
        _verify_at(_provider(), PAYLOAD, _headers(SIGNATURE.replace("v1,", "v1a,")), TIMESTAMP)


# --- v1a: Ed25519 ------------------------------------------------------------------------------


def _built(provider: object) -> StandardWebhooksProvider:
    assert isinstance(provider, StandardWebhooksProvider)
    return provider


def _ed25519_pair() -> tuple[str, str]:
    key = Ed25519PrivateKey.generate()
    seed = key.private_bytes_raw()
    public = key.public_key().public_bytes_raw()
    return "whsk_" + base64.b64encode(seed + public).decode(), "whpk_" + base64.b64encode(
        public
    ).decode()


def test_v1a_signature_verifies_with_the_public_key_and_no_secret() -> None:
    private, public = _ed25519_pair()
    # Signed independently of hookgate: Ed25519 over `{id}.{timestamp}.{body}`, as the spec says.
    raw = Ed25519PrivateKey.from_private_bytes(base64.b64decode(private[5:])[:32])
    signature = (
        "v1a," + base64.b64encode(raw.sign(f"{MSG_ID}.{TIMESTAMP}.".encode() + BODY)).decode()
    )
    provider = _built(build_provider(StandardWebhooksProvider, [], options={"public_key": public}))

    event = _verify_at(provider, BODY, _headers(signature), TIMESTAMP)

    assert event.id == MSG_ID
    assert sign(BODY, private, MSG_ID, TIMESTAMP) == signature  # Ed25519 is deterministic
    with pytest.raises(InvalidSignature):
        _verify_at(provider, BODY + b" ", _headers(signature), TIMESTAMP)


def test_v1a_with_another_key_and_v1_with_a_secret_in_one_header_verifies() -> None:
    private, _ = _ed25519_pair()
    _, public = _ed25519_pair()
    header = f"{sign(BODY, private, MSG_ID, TIMESTAMP)} {sign(BODY, SECRET, MSG_ID, TIMESTAMP)}"
    provider = _built(
        build_provider(StandardWebhooksProvider, [SECRET], options={"public_key": public})
    )

    assert _verify_at(provider, BODY, _headers(header), TIMESTAMP).id == MSG_ID


def test_public_key_that_is_not_ed25519_is_a_config_error_naming_the_key() -> None:
    with pytest.raises(ProviderConfigError, match=r"sources\.test\.public_key"):
        build_provider(StandardWebhooksProvider, [], options={"public_key": "whpk_AAAA"})


def test_vector_secret_without_the_whsec_prefix_is_the_same_key() -> None:
    bare = SECRET.removeprefix("whsec_")

    assert sign(PAYLOAD, bare, MSG_ID, TIMESTAMP) == SIGNATURE


# --- against the reference library -------------------------------------------------------------


def test_reference_library_signature_is_accepted() -> None:
    now = int(time.time())
    signature = Webhook(SECRET).sign("msg_1", datetime.fromtimestamp(now, tz=UTC), BODY.decode())

    event = _verify_at(_provider(), BODY, _headers(signature, "msg_1", now), now)

    assert event == VerifiedEvent(id="msg_1", type="invoice.paid", occurred_at=1667507170.344522)


def test_our_signature_is_accepted_by_the_reference_library() -> None:
    now = int(time.time())
    headers = _headers(sign(BODY, SECRET, "msg_2", now), "msg_2", now)

    assert Webhook(SECRET).verify(BODY, headers) == {
        "type": "invoice.paid",
        "timestamp": "2022-11-03T20:26:10.344522Z",
        "data": {"id": 1},
    }


# --- Svix headers ------------------------------------------------------------------------------


def _svix(headers: dict[str, str]) -> dict[str, str]:
    return {name.replace("webhook-", "svix-"): value for name, value in headers.items()}


def test_svix_headers_verify() -> None:
    headers = _svix(_headers(sign(BODY, SECRET, "msg_svix", TIMESTAMP), "msg_svix"))

    assert _verify_at(_provider(), BODY, headers, TIMESTAMP).id == "msg_svix"


def test_svix_set_wins_when_both_sets_are_present() -> None:
    good = _svix(_headers(sign(BODY, SECRET, "msg_svix", TIMESTAMP), "msg_svix"))
    headers = {**_headers(NEGATIVE, "msg_unbranded"), **good}

    assert _verify_at(_provider(), BODY, headers, TIMESTAMP).id == "msg_svix"


def test_svix_signature_without_svix_id_is_missing() -> None:
    headers = _svix(_headers(sign(BODY, SECRET, MSG_ID, TIMESTAMP)))
    del headers["svix-id"]

    with pytest.raises(MissingSignature, match="svix-id"):
        _verify_at(_provider(), BODY, headers, TIMESTAMP)


# --- timestamp and body ------------------------------------------------------------------------


@pytest.mark.parametrize("direction", [-1, 1], ids=["past", "future"])
def test_timestamp_beyond_the_default_tolerance_either_way_is_stale(direction: int) -> None:
    headers = _headers(sign(BODY, SECRET, MSG_ID, TIMESTAMP))

    assert _verify_at(_provider(), BODY, headers, TIMESTAMP + 300 * direction).id == MSG_ID
    with pytest.raises(StaleTimestamp):
        _verify_at(_provider(), BODY, headers, TIMESTAMP + 301 * direction)


def test_configured_tolerance_replaces_the_default() -> None:
    headers = _headers(sign(BODY, SECRET, MSG_ID, TIMESTAMP))

    with pytest.raises(StaleTimestamp):
        _verify_at(_provider(tolerance=10), BODY, headers, TIMESTAMP + 11)
    assert _verify_at(_provider(tolerance=0), BODY, headers, TIMESTAMP + 86_400).id == MSG_ID


def test_non_integer_timestamp_is_invalid() -> None:
    headers = {**_headers(SIGNATURE), "webhook-timestamp": "1614265330.5"}

    with pytest.raises(InvalidSignature, match="timestamp"):
        _verify_at(_provider(), PAYLOAD, headers, TIMESTAMP)


@pytest.mark.parametrize(
    "body",
    [
        b'{"type":"a.b","timestamp":"not a time"}',
        b'{"type":"a.b","timestamp":"2022-11-03T20:26:10"}',
        b'{"type":"a.b","timestamp":1667507170}',
        b'{"type":"a.b"}',
    ],
    ids=["unparseable", "no-offset", "number", "absent"],
)
def test_occurred_at_is_left_out_unless_the_body_timestamp_is_rfc3339(body: bytes) -> None:
    headers = _headers(sign(body, SECRET, MSG_ID, TIMESTAMP))

    assert _verify_at(_provider(), body, headers, TIMESTAMP) == VerifiedEvent(MSG_ID, "a.b", None)


@pytest.mark.parametrize("body", [b"not json", b'["type"]', b'{"type":""}', b'{"data":{}}'])
def test_verified_body_without_a_type_is_malformed(body: bytes) -> None:
    headers = _headers(sign(body, SECRET, MSG_ID, TIMESTAMP))

    with pytest.raises(Malformed):
        _verify_at(_provider(), body, headers, TIMESTAMP)


# --- configuration -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("whsec_not*base64!", "not a base64 signing secret"),
        ("whsec_abcde", "not a base64 signing secret"),  # 5 characters cannot be base64
        ("whsec_", "empty"),
    ],
)
def test_unusable_secret_is_refused_by_index_without_echoing_it(bad: str, reason: str) -> None:
    with pytest.raises(ProviderConfigError) as info:
        build_provider(StandardWebhooksProvider, [SECRET, bad], source="sw")

    path, _, problem = str(info.value).partition(": ")
    assert path == "sources.sw.secrets[1]"
    assert reason in problem
    assert "abcde" not in problem
    assert "base64!" not in problem


def test_unpadded_secret_is_accepted() -> None:
    padded = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"[:-2] + "=="  # 22 chars + padding
    unpadded = padded.rstrip("=")

    assert sign(BODY, unpadded, MSG_ID, TIMESTAMP) == sign(BODY, padded, MSG_ID, TIMESTAMP)
    assert build_provider(StandardWebhooksProvider, [unpadded])


class TestStandardWebhooksContract(ProviderContract):
    provider = StandardWebhooksProvider
    provider_name = "standard-webhooks"
    secrets = (SECRET, "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldY")
    body = BODY
    has_timestamp = True
    signature_headers = ("webhook-id", "webhook-timestamp", "webhook-signature")
