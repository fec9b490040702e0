"""Braintree against its own SDK (`braintree` on PyPI), both ways, and its XML read safely.

The SDK's `webhook_testing.sample_notification` signs as Braintree does: hookgate accepts it.
Its `webhook_notification.parse` accepts what hookgate signs, and its `verify(challenge)` gives
hookgate's answer to the Control Panel's `bt_challenge`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import warnings
from urllib.parse import parse_qsl, urlencode

import pytest

with warnings.catch_warnings():
    # braintree 4.48 warns about its own deprecated enum while it is imported.
    warnings.simplefilter("ignore", DeprecationWarning)
    import braintree

from providers import Handshake, InvalidSignature, Malformed, MissingSignature, VerifiedEvent, load
from providers.builtin.braintree import sign_form
from providers.signing import sign
from providers.testing import build_provider, make_request

PUBLIC, PRIVATE = "bt-public-1", "bt-private-1-0123456789abcdef"
Kind = braintree.WebhookNotification.Kind


def _gateway(public: str = PUBLIC, private: str = PRIVATE) -> braintree.BraintreeGateway:
    config = braintree.Configuration(
        braintree.Environment.Sandbox,
        merchant_id="merchant",
        public_key=public,
        private_key=private,
    )
    return braintree.BraintreeGateway(config)


def _provider(secrets: list[str] | None = None, public: object = PUBLIC) -> object:
    options = {"public_key_id": public}
    return build_provider(load("braintree"), secrets or [PRIVATE], options=options)


def _form(signature: str, payload: str | bytes) -> bytes:
    text = payload.decode() if isinstance(payload, bytes) else payload
    return urlencode({"bt_signature": signature, "bt_payload": text}).encode()


def _verify(body: bytes, provider: object | None = None) -> object:
    verifier = provider or _provider()
    return verifier.verify(make_request(body, {}))  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("kind", "subject_id"),
    [
        (Kind.SubscriptionWentPastDue, "sub_42"),
        (Kind.DisputeOpened, "dp_7"),
        (Kind.TransactionDisbursed, "tx_9"),
        (Kind.Disbursement, "ds_1"),
    ],
)
def test_sdk_sample_notifications_verify_here(kind: str, subject_id: str) -> None:
    sample = _gateway().webhook_testing.sample_notification(kind, subject_id)

    event = _verify(_form(sample["bt_signature"], sample["bt_payload"]))

    assert isinstance(event, VerifiedEvent)
    assert event.type == kind
    parsed = _gateway().webhook_notification.parse(sample["bt_signature"], sample["bt_payload"])
    timestamp = parsed.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert event.id == f"{kind}:{timestamp}:{subject_id}"
    assert event.occurred_at == parsed.timestamp.timestamp() or event.occurred_at is not None


def test_sdk_check_notification_is_answered_and_never_an_event() -> None:
    sample = _gateway().webhook_testing.sample_notification(Kind.Check, "")

    answer = _verify(_form(sample["bt_signature"], sample["bt_payload"]))

    assert answer == Handshake(b"", content_type="text/plain")


def test_sdk_parses_what_hookgate_signs() -> None:
    xml = (
        b'<notification><timestamp type="datetime">2026-12-03T07:00:00Z</timestamp>'
        b"<kind>dispute_won</kind><subject><dispute><id>dp_1</id></dispute></subject>"
        b"</notification>"
    )
    request = sign(load("braintree"), xml, PRIVATE, options={"public_key_id": [PUBLIC, "x"]})
    form = dict(parse_qsl(request.body.decode()))

    notification = _gateway().webhook_notification.parse(form["bt_signature"], form["bt_payload"])

    assert (notification.kind, notification.dispute.id) == ("dispute_won", "dp_1")
    assert request.headers == {"content-type": "application/x-www-form-urlencoded"}
    with pytest.raises(braintree.exceptions.InvalidSignatureError):
        _gateway(private="another").webhook_notification.parse(
            form["bt_signature"], form["bt_payload"]
        )


def test_challenge_answer_equals_the_sdk_verify() -> None:
    challenge = "20f9f8ed05f77439fe955c977e4c8a53"

    answer = _provider().verify(  # type: ignore[attr-defined]
        make_request(b"", {}, method="GET", query={"bt_challenge": challenge})
    )

    expected = _gateway().webhook_notification.verify(challenge)
    assert answer == Handshake(expected.encode(), content_type="text/plain")


@pytest.mark.parametrize("query", [{}, {"bt_challenge": ""}, {"challenge": "abc"}])
def test_a_get_without_a_challenge_is_missing_its_signature(query: dict[str, str]) -> None:
    with pytest.raises(MissingSignature):
        _provider().verify(make_request(b"", {}, method="GET", query=query))  # type: ignore[attr-defined]


@pytest.mark.parametrize("challenge", ["ABCDEF0123456789ABCD", "0123456789abcdef012", "g" * 20])
def test_a_challenge_braintree_never_sends_is_refused(challenge: str) -> None:
    query = {"bt_challenge": challenge}
    with pytest.raises(InvalidSignature):
        _provider().verify(make_request(b"", {}, method="GET", query=query))  # type: ignore[attr-defined]


def test_a_challenge_answer_replayed_as_a_payload_is_never_an_event() -> None:
    # The answer is HMAC(key, challenge) and a challenge is base64 text: it verifies as a
    # bt_payload, but 20-32 characters decode to no notification.
    challenge = "0123456789abcdef0123456789abcdef"
    answer = _provider().verify(  # type: ignore[attr-defined]
        make_request(b"", {}, method="GET", query={"bt_challenge": challenge})
    )
    assert isinstance(answer, Handshake)

    with pytest.raises(Malformed):
        _verify(_form(answer.body.decode(), challenge))


def test_a_payload_without_its_trailing_newline_verifies_as_with_the_sdk() -> None:
    sample = _gateway().webhook_testing.sample_notification(Kind.SubscriptionCanceled, "s1")
    stripped = sample["bt_payload"].rstrip(b"\n")
    _gateway().webhook_notification.parse(sample["bt_signature"], stripped)

    assert isinstance(_verify(_form(sample["bt_signature"], stripped)), VerifiedEvent)


def test_the_pair_for_a_configured_public_key_is_checked_among_others() -> None:
    sample = _gateway().webhook_testing.sample_notification(Kind.SubscriptionExpired, "s2")
    other = _gateway("bt-public-old", "old-private").webhook_testing.sample_notification(
        Kind.SubscriptionExpired, "s2"
    )
    both = f"{other['bt_signature']}&{sample['bt_signature']}"

    assert isinstance(_verify(_form(both, sample["bt_payload"])), VerifiedEvent)
    rotated = _provider(["old-private", PRIVATE], public=["bt-public-old", PUBLIC])
    assert isinstance(_verify(_form(both, sample["bt_payload"]), rotated), VerifiedEvent)
    with pytest.raises(InvalidSignature, match="public_key_id"):
        _verify(_form(other["bt_signature"], sample["bt_payload"]))
    with pytest.raises(InvalidSignature, match="private key"):
        _verify(_form(sample["bt_signature"], sample["bt_payload"]), _provider(["wrong"]))


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"bt_payload=PG5vdGlmaWNhdGlvbj4%3D",
        b"bt_signature=bt-public-1%7Cabc",
        b"<notification/>",
    ],
)
def test_a_form_without_both_fields_is_missing_its_signature(body: bytes) -> None:
    with pytest.raises(MissingSignature):
        _verify(body)


def test_a_payload_with_characters_braintree_never_sends_is_refused_before_any_hmac() -> None:
    with pytest.raises(InvalidSignature, match="base64"):
        _verify(_form(f"{PUBLIC}|00", "PG5v dGlm\r\n"))


@pytest.mark.parametrize(
    "xml",
    [
        # An entity bomb and an external entity: the DTD is refused before any expansion.
        b'<?xml version="1.0"?><!DOCTYPE n [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b"<notification><kind>&b;</kind></notification>",
        b'<!DOCTYPE n [<!ENTITY x SYSTEM "file:///etc/passwd">]><notification><kind>&x;</kind>'
        b"</notification>",
        b'<!DOCTYPE notification SYSTEM "http://example.com/n.dtd"><notification/>',
        b"<notification>" + b"<a>" * 40 + b"</a>" * 40 + b"<kind>k</kind></notification>",
        b"<transaction><kind>k</kind></transaction>",
        b"<notification><timestamp>2026-01-01T00:00:00Z</timestamp></notification>",
        b"<notification><kind>" + b"k" * 200 + b"</kind></notification>",
        b"<notification><kind>k</kind>",
        b"\xff\xfe not xml",
    ],
)
def test_signed_payloads_that_are_no_braintree_notification_are_malformed(xml: bytes) -> None:
    with pytest.raises(Malformed):
        _verify(sign_form(xml, PUBLIC, PRIVATE))


def test_a_notification_without_a_subject_id_is_keyed_on_its_digest() -> None:
    xml = b"<notification><timestamp>2026-01-01T00:00:00Z</timestamp><kind>k</kind></notification>"
    event = _verify(sign_form(xml, PUBLIC, PRIVATE))

    assert isinstance(event, VerifiedEvent)
    assert event.id == f"k:2026-01-01T00:00:00Z:{hashlib.sha256(xml).hexdigest()}"


def test_the_signed_bytes_are_the_payload_as_posted_keyed_with_the_private_keys_sha1() -> None:
    # Braintree's construction, written out with the standard library.
    payload = base64.encodebytes(b"<notification><kind>k</kind></notification>")
    key = hashlib.sha1(PRIVATE.encode()).digest()
    signature = f"{PUBLIC}|{hmac.new(key, payload, 'sha1').hexdigest()}"

    event = _verify(_form(signature, payload))

    assert isinstance(event, VerifiedEvent)
    assert event.type == "k"
    assert sign_form(base64.decodebytes(payload), PUBLIC, PRIVATE) == _form(signature, payload)


def test_config_needs_the_public_key_id_and_refuses_a_tolerance() -> None:
    from providers import ProviderConfigError

    with pytest.raises(ProviderConfigError, match="public_key_id"):
        build_provider(load("braintree"), [PRIVATE])
    with pytest.raises(ProviderConfigError, match="tolerance_seconds"):
        build_provider(
            load("braintree"), [PRIVATE], options={"public_key_id": PUBLIC}, tolerance_seconds=60
        )
