"""Issue 14, slice hmac2: Dwolla, Patreon, Storyblok, Veriff, Mollie, Heroku and Cloudflare
Stream, each against what its sender's own code or documents say it sends.

Only Mollie ships a Python verifier (`mollie-api-py`), run both ways here; every other
construction is recomputed with the standard library exactly as the sender's own sample (a demo
app, an SDK in another language, a documented recipe) computes it.
"""

from __future__ import annotations

import base64
import hmac
import json

import pytest
from mollie.utils.webhooks import InvalidSignatureException, SignatureValidator

from providers import VerifiedEvent, load
from providers.errors import (
    InvalidSignature,
    Malformed,
    MissingSignature,
    StaleTimestamp,
)
from providers.testing import build_provider, make_request, sign_request
from tests.unit.providers._senders import SECRET
from tests.unit.providers._senders import body_hash as _hash
from tests.unit.providers._senders import verify as _verify

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


def test_mollie_sdk_validator_accepts_ours_and_its_signatures_verify_here() -> None:
    # mollie-api-py: SignatureValidator.validate_payload (raw body text, X-Mollie-Signature)
    # and SignatureValidator.create_signature, its signer; two secrets during a rotation.
    body = b'{"resource":"event","id":"whe_gQMMaGqAVA","type":"payment-link.paid"}'
    old, new = "old_signing_secret", "new_signing_secret"
    ours = sign_request("mollie", body, new)["x-mollie-signature"]

    assert SignatureValidator([old, new]).validate_payload(body.decode(), ours) is True
    with pytest.raises(InvalidSignatureException):
        SignatureValidator(old).validate_payload(body.decode(), ours)
    with pytest.raises(InvalidSignatureException):
        SignatureValidator(new).validate_payload(body.decode() + " ", ours)
    theirs = "sha256=" + SignatureValidator.create_signature(body.decode(), old)
    provider = build_provider(load("mollie"), [new, old])
    event = provider.verify(make_request(body, {"x-mollie-signature": theirs}))
    assert event == VerifiedEvent("whe_gQMMaGqAVA", "payment-link.paid")


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
