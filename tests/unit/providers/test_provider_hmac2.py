"""Issue 14, slice hmac2: Dwolla, Patreon, Storyblok, Veriff, Mollie, Heroku, Cloudflare Stream,
Sumsub and WebSub, each against what its sender's own code or documents say it sends.

None of these senders ships a Python verifier; each construction is recomputed here with the
standard library exactly as the sender's own sample (a demo app, an SDK in another language, a
documented recipe) computes it, and WebSub runs flask-websub's hub signer and subscriber check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
from flask import Flask
from flask_websub.subscriber.blueprint import body_is_valid
from flask_websub.utils import calculate_hmac

from providers import Handshake, VerifiedEvent, load
from providers.errors import (
    InvalidSignature,
    Malformed,
    MissingSignature,
    ProviderConfigError,
    StaleTimestamp,
)
from providers.testing import build_provider, make_request, sign_request
from tests.unit.providers._catalogue import WEBSUB_FEED, WEBSUB_TOPIC

SECRET = "hmac2-secret-0123456789"


def _hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _verify(name: str, body: bytes, headers: dict[str, str], **kwargs: Any) -> Any:
    options = kwargs.pop("options", {"topics": [WEBSUB_TOPIC]} if name == "websub" else None)
    provider = build_provider(load(name), [kwargs.pop("secret", SECRET)], options=options)
    return provider.verify(make_request(body, headers, **kwargs))


# --- each construction as the sender's own sample computes it --------------------------------

#: Dwolla's documented event (developers.dwolla.com, "Validating webhooks").
DWOLLA_EVENT = (
    b'{"id":"cac95329-9fa5-42f1-a4fc-c08af7b868fb","resourceId":"cdb5f11f-62df-e611-80ee-'
    b'0aa34a9b2388","topic":"customer_transfer_created","timestamp":"2017-01-20T22:45:12.790Z"}'
)


def test_dwolla_documented_recipe_verifies_and_gives_the_event_id_and_topic() -> None:
    # Dwolla's recipe: OpenSSL::HMAC.hexdigest(SHA256, webhook secret, payload body).
    signature = hmac.new(SECRET.encode(), DWOLLA_EVENT, "sha256").hexdigest()

    event = _verify("dwolla", DWOLLA_EVENT, {"x-request-signature-sha-256": signature})

    assert event == VerifiedEvent(
        "cac95329-9fa5-42f1-a4fc-c08af7b868fb", "customer_transfer_created"
    )
    assert sign_request("dwolla", DWOLLA_EVENT, SECRET)["x-request-signature-sha-256"] == signature


def test_patreon_is_the_hex_hmac_md5_its_documents_name_and_the_id_digests_the_trigger() -> None:
    body = b'{"data": {"id": "d485d5ac-6c82-42c6-9c08-c50cf01b73d7", "type": "member"}}'
    # Patreon: "the HEX digest of the message body HMAC signed (with MD5) using your webhook's
    # secret"; the trigger comes in X-Patreon-Event.
    signature = hmac.new(SECRET.encode(), body, "md5").hexdigest()
    headers = {"x-patreon-signature": signature, "x-patreon-event": "members:update"}

    first = _verify("patreon", body, headers)
    second = _verify("patreon", body, {**headers, "x-patreon-event": "members:pledge:update"})

    assert isinstance(first, VerifiedEvent)
    assert isinstance(second, VerifiedEvent)
    assert (first.type, second.type) == ("members:update", "members:pledge:update")
    assert first.id == first.replay_key == _hash(f"members:update\n{_hash(body)}".encode())
    assert first.id != second.id  # one member, two triggers: two events
    with pytest.raises(Malformed):
        _verify("patreon", body, {"x-patreon-signature": signature})
    sha256 = hmac.new(SECRET.encode(), body, "sha256").hexdigest()
    with pytest.raises(InvalidSignature):
        _verify("patreon", body, {**headers, "x-patreon-signature": sha256})


def test_storyblok_tutorial_recipe_is_hex_hmac_sha1_of_the_raw_body() -> None:
    # Storyblok's tutorial: createHmac('sha1', webhookSecret).update(payload).digest('hex'),
    # with the webhook secret `hello` it configures.
    body = (
        b'{"text":"The user x published the Story XYZ","action":"published",'
        b'"space_id":7,"story_id":9}'
    )
    signature = hmac.new(b"hello", body, "sha1").hexdigest()

    event = _verify("storyblok", body, {"webhook-signature": signature}, secret="hello")

    assert event == VerifiedEvent(_hash(body), "published")


@pytest.mark.parametrize(
    ("body", "event_type"),
    [
        (b'{"status": "success", "verification": {"id": "s1", "status": "approved"}}', "approved"),
        (b'{"id": "s1", "attemptId": "a1", "code": 7002, "action": "submitted"}', "submitted"),
        (b'{"checkType": "updated_result", "sessionId": "s1"}', "webhook"),
    ],
)
def test_veriff_demo_signature_verifies_for_each_webhook_kind(body: bytes, event_type: str) -> None:
    # Veriff's integration demo: createHmac("sha256", API secret) over the body, hex; its
    # listener lower-cases the header before comparing, so upper-case hex verifies too.
    secret = "abcdef12-abcd-abcd-abcd-abcdef012345"
    signature = hmac.new(secret.encode(), body, "sha256").hexdigest()

    for sent in (signature, signature.upper()):
        event = _verify("veriff", body, {"x-hmac-signature": sent}, secret=secret)
        assert event == VerifiedEvent(_hash(body), event_type)


def test_mollie_sdk_test_suite_construction_with_its_prefix() -> None:
    # mollie-api-php's SignatureValidator: hash_hmac('sha256', payload, secret), `sha256=`
    # prefixed in X-Mollie-Signature; its test suite's payload and secret.
    payload = b'{"id":"tr_12345","event_type":"payment-link.paid"}'
    signature = hmac.new(b"test_webhook_secret", payload, "sha256").hexdigest()
    event_body = b'{"resource": "event", "id": "whe_gQMMaGqAVA", "type": "payment-link.paid"}'
    event_signature = hmac.new(b"test_webhook_secret", event_body, "sha256").hexdigest()

    with pytest.raises(Malformed):  # verified, but not a next-gen event: no `type`
        _verify(
            "mollie",
            payload,
            {"x-mollie-signature": "sha256=" + signature},
            secret="test_webhook_secret",
        )
    event = _verify(
        "mollie",
        event_body,
        {"x-mollie-signature": "sha256=" + event_signature},
        secret="test_webhook_secret",
    )
    assert event == VerifiedEvent("whe_gQMMaGqAVA", "payment-link.paid")
    signed = sign_request("mollie", event_body, "test_webhook_secret")
    assert signed["x-mollie-signature"] == "sha256=" + event_signature


def test_mollie_classic_unsigned_form_webhook_is_refused() -> None:
    with pytest.raises(MissingSignature):
        _verify(
            "mollie", b"id=tr_d0b0E3EA3v", {"content-type": "application/x-www-form-urlencoded"}
        )


def test_heroku_demo_app_signature_verifies_and_the_event_id_survives_a_new_attempt() -> None:
    # heroku/webhooks-demo: Base64.encode64(OpenSSL::HMAC.digest(SHA256, secret, raw_post)).strip
    def attempt(attempt_id: str) -> bytes:
        return json.dumps(
            {
                "id": "7846bee9-b017-4492-9bed-34cd8327e71d",
                "action": "create",
                "resource": "addon-attachment",
                "webhook_metadata": {"attempt": {"id": attempt_id}},
            }
        ).encode()

    events = []
    for body in (attempt("8a44f820"), attempt("9b55a931")):
        signature = base64.b64encode(hmac.digest(SECRET.encode(), body, "sha256")).decode()
        headers = {"heroku-webhook-hmac-sha256": signature, "authorization": "Bearer t"}
        events.append(_verify("heroku", body, headers))

    assert (
        events[0]
        == events[1]
        == VerifiedEvent("7846bee9-b017-4492-9bed-34cd8327e71d", "addon-attachment.create")
    )
    assert load("heroku").credential_headers == frozenset({"authorization"})


#: Cloudflare's documented webhook secret, header time and a notification body.
STREAM_SECRET = "85011ed3a913c6ad5f9cf6c5573cc0a7"
STREAM_TIME = 1230811200
STREAM_BODY = (
    b'{"uid":"dd5d531a12de0c724bd1275a3b2bc9c6","readyToStream":true,"status":{"state":"ready"},'
    b'"meta":{},"created":"2019-01-01T01:00:00.474936Z","modified":"2019-01-01T01:02:21.076571Z"}'
)


def test_cloudflare_stream_documented_steps_verify_within_the_tolerance_only() -> None:
    # Cloudflare: split on `,` then `=`; source string `time` + `.` + body; HMAC-SHA256 hex.
    source = str(STREAM_TIME).encode() + b"." + STREAM_BODY
    sig1 = hmac.new(STREAM_SECRET.encode(), source, "sha256").hexdigest()
    headers = {"webhook-signature": f"time={STREAM_TIME},sig1={sig1}"}

    event = _verify(
        "cloudflarestream", STREAM_BODY, headers, secret=STREAM_SECRET, received_at=STREAM_TIME + 5
    )

    assert event == VerifiedEvent("dd5d531a12de0c724bd1275a3b2bc9c6:ready", "ready")
    signed = sign_request("cloudflarestream", STREAM_BODY, STREAM_SECRET, timestamp=STREAM_TIME)
    assert signed["webhook-signature"] == headers["webhook-signature"]
    with pytest.raises(StaleTimestamp):
        _verify(
            "cloudflarestream",
            STREAM_BODY,
            headers,
            secret=STREAM_SECRET,
            received_at=STREAM_TIME + 301,
        )


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
