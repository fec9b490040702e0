"""Issue 14, slice hmac2: Sumsub and WebSub, whose request names the digest.

Sumsub's list is its own receiver's (SUMSUB/agent-skills `webhook-verify.js`); WebSub runs
flask-websub's hub signer and subscriber check, and the W3C spec's verification of intent.
"""

from __future__ import annotations

import hmac
from typing import Any

import pytest
from flask import Flask
from flask_websub.subscriber.blueprint import body_is_valid
from flask_websub.utils import calculate_hmac

from providers import Handshake, VerifiedEvent, load
from providers.errors import (
    InvalidSignature,
    MissingSignature,
    ProviderConfigError,
)
from providers.testing import build_provider, make_request, sign_request
from tests.unit.providers._catalogue import WEBSUB_FEED, WEBSUB_TOPIC
from tests.unit.providers._senders import SECRET
from tests.unit.providers._senders import body_hash as _hash
from tests.unit.providers._senders import verify as _verify

# --- Sumsub: the digest its X-Payload-Digest-Alg names, from its own list only ---------------

SUMSUB_BODY = b'{"applicantId": "5cb56e8e0a975a35f333cb83", "type": "applicantReviewed"}'


@pytest.mark.parametrize(
    ("name", "digest"),
    [("HMAC_SHA1_HEX", "sha1"), ("HMAC_SHA256_HEX", "sha256"), ("HMAC_SHA512_HEX", "sha512")],
)
def test_sumsub_verifies_each_digest_its_webhooks_can_be_set_to(name: str, digest: str) -> None:
    # Sumsub's own receiver (SUMSUB/agent-skills webhook-verify.js): createHmac(alg, secret)
    # over the raw body, hex, alg from x-payload-digest-alg.
    signature = hmac.new(SECRET.encode(), SUMSUB_BODY, digest).hexdigest()

    event = _verify(
        "sumsub", SUMSUB_BODY, {"x-payload-digest": signature, "x-payload-digest-alg": name}
    )

    assert event == VerifiedEvent(_hash(SUMSUB_BODY), "applicantReviewed")


def test_sumsub_without_an_algorithm_header_reads_sha256_as_sumsubs_own_example() -> None:
    signature = hmac.new(SECRET.encode(), SUMSUB_BODY, "sha256").hexdigest()
    sha1 = hmac.new(SECRET.encode(), SUMSUB_BODY, "sha1").hexdigest()

    assert isinstance(
        _verify("sumsub", SUMSUB_BODY, {"x-payload-digest": signature}), VerifiedEvent
    )
    with pytest.raises(InvalidSignature):
        _verify("sumsub", SUMSUB_BODY, {"x-payload-digest": sha1})


@pytest.mark.parametrize(
    ("name", "digest"),
    [("HMAC_MD5_HEX", "md5"), ("HMAC_SHA384_HEX", "sha384"), ("hmac_sha256_hex", "sha256")],
)
def test_sumsub_refuses_a_digest_name_sumsub_never_sends(name: str, digest: str) -> None:
    signature = hmac.new(SECRET.encode(), SUMSUB_BODY, digest).hexdigest()

    with pytest.raises(InvalidSignature, match="names no digest"):
        _verify(
            "sumsub", SUMSUB_BODY, {"x-payload-digest": signature, "x-payload-digest-alg": name}
        )


def test_sumsub_signer_names_its_digest() -> None:
    headers = sign_request("sumsub", SUMSUB_BODY, SECRET)

    assert headers["x-payload-digest-alg"] == "HMAC_SHA256_HEX"
    assert (
        headers["x-payload-digest"] == hmac.new(SECRET.encode(), SUMSUB_BODY, "sha256").hexdigest()
    )


# --- WebSub: flask-websub's hub signs, its subscriber checks ---------------------------------


@pytest.mark.parametrize("method", ["sha1", "sha256", "sha384", "sha512"])
def test_websub_accepts_what_flask_websubs_hub_signs(method: str) -> None:
    # flask_websub.hub.tasks: X-Hub-Signature = algo + '=' + calculate_hmac(algo, secret, body)
    headers = {"x-hub-signature": method + "=" + calculate_hmac(method, SECRET, WEBSUB_FEED)}

    assert _verify("websub", WEBSUB_FEED, headers) == VerifiedEvent(_hash(WEBSUB_FEED), "feed")


def test_flask_websubs_subscriber_accepts_what_we_sign_and_refuses_it_tampered() -> None:
    signed = sign_request("websub", WEBSUB_FEED, SECRET, options={"topics": [WEBSUB_TOPIC]})
    app = Flask(__name__)
    subscription = {"secret": SECRET}

    with app.test_request_context(
        "/", method="POST", headers={"X-Hub-Signature": signed["x-hub-signature"]}
    ):
        assert body_is_valid(subscription, WEBSUB_FEED) is True
        assert body_is_valid(subscription, WEBSUB_FEED + b" ") is False
    assert signed["x-hub-signature"].startswith("sha1=")  # what Google's hub (YouTube) sends


@pytest.mark.parametrize(
    ("method", "digest"), [("md5", "md5"), ("sha224", "sha224"), ("SHA1", "sha1")]
)
def test_websub_refuses_a_method_the_spec_does_not_register(method: str, digest: str) -> None:
    signature = hmac.new(SECRET.encode(), WEBSUB_FEED, digest).hexdigest()

    with pytest.raises(InvalidSignature, match="names no WebSub signature method"):
        _verify("websub", WEBSUB_FEED, {"x-hub-signature": f"{method}={signature}"})
    with pytest.raises(InvalidSignature):
        _verify("websub", WEBSUB_FEED, {"x-hub-signature": "sha1"})


def _challenge(query: dict[str, str], **options: Any) -> Any:
    options = {"topics": [WEBSUB_TOPIC], **options}
    provider = build_provider(load("websub"), [SECRET], options=options)
    return provider.verify(make_request(b"", {}, method="GET", query=query))


def test_websub_verification_of_intent_echoes_the_challenge_as_plain_text_nosniff() -> None:
    for mode in ("subscribe", "unsubscribe"):
        answer = _challenge(
            {
                "hub.mode": mode,
                "hub.topic": WEBSUB_TOPIC,
                "hub.challenge": "d1f9b2c4-77",
                "hub.lease_seconds": "432000",
            }
        )
        assert answer == Handshake(
            b"d1f9b2c4-77",
            content_type="text/plain",
            headers=(("x-content-type-options", "nosniff"),),
        )


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ({"hub.mode": "subscribe", "hub.challenge": "c"}, MissingSignature),
        (
            {"hub.mode": "publish", "hub.topic": WEBSUB_TOPIC, "hub.challenge": "c"},
            MissingSignature,
        ),
        ({"hub.mode": "subscribe", "hub.topic": WEBSUB_TOPIC}, MissingSignature),
        (
            {
                "hub.mode": "subscribe",
                "hub.topic": "https://evil.example/feed",
                "hub.challenge": "c",
            },
            InvalidSignature,
        ),
        (
            {
                "hub.mode": "subscribe",
                "hub.topic": WEBSUB_TOPIC,
                "hub.challenge": "<script>x</script>",
            },
            InvalidSignature,
        ),
        (
            {"hub.mode": "subscribe", "hub.topic": WEBSUB_TOPIC, "hub.challenge": "a" * 257},
            InvalidSignature,
        ),
        (
            {"hub.mode": "subscribe", "hub.topic": WEBSUB_TOPIC, "hub.challenge": "a b"},
            InvalidSignature,
        ),
    ],
)
def test_websub_answers_no_challenge_for_another_topic_or_an_unbounded_token(
    query: dict[str, str], error: type[Exception]
) -> None:
    with pytest.raises(error):
        _challenge(query)


def test_websub_verify_token_when_the_source_sets_one() -> None:
    query = {"hub.mode": "subscribe", "hub.topic": WEBSUB_TOPIC, "hub.challenge": "42"}

    assert isinstance(
        _challenge({**query, "hub.verify_token": "vt-1"}, verify_token="vt-1"), Handshake
    )
    for token in ({}, {"hub.verify_token": "vt-2"}):
        with pytest.raises(InvalidSignature):
            _challenge({**query, **token}, verify_token="vt-1")


def test_websub_denied_notice_for_a_listed_topic_is_answered_empty() -> None:
    answer = _challenge({"hub.mode": "denied", "hub.topic": WEBSUB_TOPIC, "hub.reason": "no"})

    assert answer == Handshake(
        b"", content_type="text/plain", headers=(("x-content-type-options", "nosniff"),)
    )


# --- configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "options", "secrets", "key"),
    [
        ("websub", {}, [SECRET], "sources.test.topics"),
        ("websub", {"topics": [WEBSUB_TOPIC]}, ["s" * 200], "sources.test.secrets[0]"),
        (
            "websub",
            {"topics": [WEBSUB_TOPIC], "verify_token": " "},
            [SECRET],
            "sources.test.verify_token",
        ),
        ("sumsub", {"algorithm": "HMAC_SHA1_HEX"}, [SECRET], "sources.test.algorithm"),
        ("sumsub", {}, [], "sources.test.secrets"),
    ],
)
def test_config_errors_name_the_key(
    name: str, options: dict[str, Any], secrets: list[str], key: str
) -> None:
    with pytest.raises(ProviderConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
        build_provider(load(name), secrets, options=options)


@pytest.mark.parametrize("name", ["sumsub", "websub", "dwolla", "patreon", "heroku"])
def test_untimed_schemes_refuse_a_tolerance(name: str) -> None:
    options = {"topics": [WEBSUB_TOPIC]} if name == "websub" else {}

    with pytest.raises(ProviderConfigError, match="tolerance_seconds"):
        build_provider(load(name), [SECRET], options=options, tolerance_seconds=60)
