"""Published test vectors (shared/research/signatures.md §3.3), each against its provider.

Where a vector's body is not an event (`hello-world`, `payload`), the signature must pass and
the body then be refused as `malformed`: that still proves the signature check, because a wrong
signature would be `invalid_signature` (each such test also checks the negative).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from providers import InvalidSignature, Malformed, StaleTimestamp, VerifiedEvent, load
from providers.testing import build_provider, make_request, sign_request

#: Published vector bodies too large to inline, byte for byte as their sources publish them.
VECTORS = Path(__file__).parent / "vectors"


def _verify(
    name: str,
    body: bytes,
    headers: dict[str, str],
    secrets: list[str],
    at: float,
    *,
    options: dict[str, Any] | None = None,
    url: str = "https://gateway.internal/webhooks/x",
) -> Any:
    provider = build_provider(load(name), secrets, options=options)
    return provider.verify(make_request(body, headers, received_at=at, url=url))


# --- Standard Webhooks / Svix (the same vector in both official repositories) ---------------------

SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_BODY = b'{"test": 2432232314}'
SW_GOOD = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
SW_BAD = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="


@pytest.mark.parametrize(
    ("name", "prefix"),
    [
        ("svix", "svix-"),
        ("clerk", "svix-"),
        ("resend", "svix-"),
        ("replicate", "webhook-"),
        ("openai", "webhook-"),
        ("make", "webhook-"),
    ],
)
def test_standard_webhooks_vector(name: str, prefix: str) -> None:
    def headers(signature: str) -> dict[str, str]:
        return {
            f"{prefix}id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
            f"{prefix}timestamp": "1614265330",
            f"{prefix}signature": signature,
        }

    # The vector's body has no type (nor status): verified, then malformed.
    with pytest.raises(Malformed):
        _verify(name, SW_BODY, headers(SW_GOOD), [SW_SECRET], 1614265330)
    with pytest.raises(InvalidSignature):
        _verify(name, SW_BODY, headers(SW_BAD), [SW_SECRET], 1614265330)


# --- Slack ----------------------------------------------------------------------------------------

SLACK_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmi"
    b"bIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)


def test_slack_vector() -> None:
    headers = {
        "x-slack-signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
        "x-slack-request-timestamp": "1531420618",
    }
    secret = "8f742231b10e8888abcd99yyyzzz85a5"

    event = _verify("slack", SLACK_BODY, headers, [secret], 1531420618)

    assert event == VerifiedEvent(hashlib.sha256(SLACK_BODY).hexdigest(), "interaction")
    with pytest.raises(InvalidSignature):
        _verify("slack", SLACK_BODY + b"x", headers, [secret], 1531420618)


# --- Twilio ---------------------------------------------------------------------------------------

TWILIO_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}
TWILIO_FORM = urlencode(TWILIO_PARAMS).encode()


@pytest.mark.parametrize(
    ("public_url", "signature"),
    [
        ("https://mycompany.com/myapp.php?foo=1&bar=2", "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        ("https://mycompany.com:443/myapp.php?foo=1&bar=2", "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        ("https://mycompany.com/myapp.php?foo=1&bar=2", "kvajT1Ptam85bY51eRf/AJRuM3w="),
        ("http://mycompany.com/myapp.php?foo=1&bar=2", "0ZXoZLH/DfblKGATFgpif+LLRf4="),
        ("http://mycompany.com:1234/myapp.php?foo=1&bar=2", "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="),
    ],
)
def test_twilio_vectors_with_and_without_default_ports(public_url: str, signature: str) -> None:
    headers = {"x-twilio-signature": signature}

    event = _verify(
        "twilio", TWILIO_FORM, headers, ["12345"], 0, options={"public_url": public_url}
    )

    assert event.type == "webhook"
    with pytest.raises(InvalidSignature):
        _verify("twilio", TWILIO_FORM, headers, ["54321"], 0, options={"public_url": public_url})


def test_twilio_vector_with_repeated_parameters() -> None:
    body = b"Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234"
    headers = {"x-twilio-signature": "IK+Dwps556ElfBT0I3Rgjkr1wJU="}
    options = {"public_url": "https://mycompany.com/myapp.php?foo=1&bar=2"}

    assert isinstance(
        _verify("twilio", body, headers, ["12345"], 0, options=options), VerifiedEvent
    )


def test_twilio_vector_for_a_json_body() -> None:
    body = b'{"property": "value", "boolean": true}'
    body_hash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
    assert hashlib.sha256(body).hexdigest() == body_hash
    url = f"http://127.0.0.1:8000/webhooks/x?foo=1&bar=2&bodySHA256={body_hash}"
    headers = {"x-twilio-signature": "a9nBmqA0ju/hNViExpshrM61xv4="}
    options = {"public_url": "https://mycompany.com/myapp.php"}

    event = _verify("twilio", body, headers, ["12345"], 0, options=options, url=url)

    assert event.id == body_hash


# --- Square ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "url", "body", "signature"),
    [
        (
            "Ibxx_5AKakO-3qeNVR61Dw",
            "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9",
            b'{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification","event_id":"ac3ac95b-'
            b'f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z","data":{"type'
            b'":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}',
            "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4=",
        ),
        (
            "signature-key",
            "https://webhook.site/webhooks",
            b'{"data":{"type":"webhooks","id":">id<"}}',
            "Cxt7+aTi4rKgcA0bC4g9EHdVtLSDWdqccmL5MvihU4U=",
        ),
    ],
)
def test_square_vectors(key: str, url: str, body: bytes, signature: str) -> None:
    headers = {"x-square-hmacsha256-signature": signature}
    options = {"public_url": url}

    try:
        outcome: Any = _verify("square", body, headers, [key], 0, options=options)
    except Malformed as err:  # the second vector's body is no event: signature passed
        outcome = err
    assert isinstance(outcome, VerifiedEvent | Malformed)
    with pytest.raises(InvalidSignature):
        _verify("square", body, headers, [key], 0, options={"public_url": url + "/"})


def test_square_test_notification_vector_gives_its_event_id_and_type() -> None:
    body = (
        b'{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification","event_id":"ac3ac95b-'
        b'f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z","data":{"type'
        b'":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}'
    )
    headers = {"x-square-hmacsha256-signature": "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4="}
    options = {"public_url": "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9"}

    event = _verify("square", body, headers, ["Ibxx_5AKakO-3qeNVR61Dw"], 0, options=options)

    assert event == VerifiedEvent(
        "ac3ac95b-f97d-458c-a6e6-18981597e05f", "webhooks.test_notification"
    )


# --- Paddle ---------------------------------------------------------------------------------------


def test_paddle_vector_with_a_dummy_signature_and_rotated_secrets() -> None:
    secret = "pdl_ntf_01hbpjmytsa32fhr36nqgc3kgb_WvRO0eL4Bj9rgYYIBZY6wZhG4EHy9jzh"
    header = (
        "ts=1696195954;h1=dummy;h1=d96299976a6eb066f484d7fde011ac56fc32b38fc9940bc419d6e537fdc6ef02"
    )
    others = ["pdl_ntf_other_1", "pdl_ntf_other_2"]

    with pytest.raises(Malformed):  # `hello-world` is no event: the signature passed
        _verify(
            "paddle", b"hello-world", {"paddle-signature": header}, [*others, secret], 1696195954
        )
    with pytest.raises(InvalidSignature):
        _verify("paddle", b"hello-world", {"paddle-signature": header}, others, 1696195954)


# --- SendGrid -------------------------------------------------------------------------------------

SENDGRID_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNN"
    "RaINXvVpiglSI8eNEc6wEA3F+g=="
)
SENDGRID_OTHER_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8REntlo7aNDth"
    "vj+y7GjUuFDb/R1NGe1OPzpA=="
)


def test_sendgrid_vector() -> None:
    event = {
        "email": "hello@world.com",
        "event": "dropped",
        "reason": "Bounced Address",
        "sg_event_id": "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA",
        "sg_message_id": (
            "LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0"
        ),
        "smtp-id": "<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>",
        "timestamp": 1600112492,
    }
    body = (json.dumps([event], sort_keys=True, separators=(",", ":")) + "\r\n").encode()
    headers = {
        "x-twilio-email-event-webhook-signature": (
            "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM="
        ),
        "x-twilio-email-event-webhook-timestamp": "1600112502",
    }

    verified = _verify(
        "sendgrid", body, headers, [], 1600112502, options={"public_key": SENDGRID_KEY}
    )

    assert verified == VerifiedEvent(event["sg_event_id"], "dropped")  # type: ignore[arg-type]
    with pytest.raises(InvalidSignature):
        _verify(
            "sendgrid", body, headers, [], 1600112502, options={"public_key": SENDGRID_OTHER_KEY}
        )


# --- HubSpot, Mux, Zendesk, Dropbox ---------------------------------------------------------------


def test_hubspot_v3_vector() -> None:
    headers = {
        "x-hubspot-signature-v3": "K36dawei4A+QBNolUOqo7s91KQDWQ5MXZ/QufNYuk/Y=",
        "x-hubspot-request-timestamp": "1693657560000",
    }
    options = {"public_url": "https://www.example.com/webhook_uri"}
    secret = ["yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"]
    body = b"{'example_field':'example_value'}"

    with pytest.raises(Malformed):  # not an array of events: the signature passed
        _verify("hubspot", body, headers, secret, 1693657560, options=options)
    with pytest.raises(InvalidSignature):
        _verify("hubspot", body, headers, ["other"], 1693657560, options=options)


def test_mux_vector() -> None:
    header = "t=1591664030,v1=e43496b6aae982c4c2fd6f8e92935f1d90216f1f64d56024e72390acfb988272"

    with pytest.raises(Malformed):  # `payload` is no event: the signature passed
        _verify("mux", b"payload", {"mux-signature": header}, ["SuperSecret123"], 1591664030)
    with pytest.raises(InvalidSignature):
        _verify("mux", b"payload", {"mux-signature": header}, ["SuperSecret124"], 1591664030)


def test_zendesk_event_connectors_vector() -> None:
    body = b'{"say": "hello"}'
    headers = {
        "x-zendesk-webhook-signature": "tRDSF7URY8BLCDlaBcQ7FHu051Zk+aAB0NKMP53teMw=",
        "x-zendesk-webhook-signature-timestamp": "2021-07-25T10:00:00Z",
    }
    secret = "HRkRd4BeOAoUkfZr-mhauJT64rvBASlJRoIyPsd3zeA="

    event = _verify("zendesk", body, headers, [secret], 1627207200)

    digest = hashlib.sha256(body).hexdigest()
    assert event == VerifiedEvent(digest, "webhook", replay_key=digest)
    with pytest.raises(InvalidSignature):
        _verify("zendesk", body, headers, [secret + "x"], 1627207200)


def test_dropbox_community_vector() -> None:
    body = b'{"delta": {"users": [12345]}}'
    signature = "0a8c16b085420b960dc78664279fe09e936a2a01b1f91064869d9e77dfd64529"

    event = _verify("dropbox", body, {"x-dropbox-signature": signature}, ["the_secret"], 0)

    assert event.type == "notification"


# GitHub's docs vector for the `sha256=<hex>` raw-body construction, which these share.
GITHUB_DOCS = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("bitbucket", "x-hub-signature"),
        ("jira", "x-hub-signature"),
        ("notion", "x-notion-signature"),
        ("meta", "x-hub-signature-256"),
    ],
)
def test_sha256_prefixed_construction_matches_githubs_docs_vector(name: str, header: str) -> None:
    secret = ["It's a Secret to Everybody"]
    outcome: Any
    try:
        outcome = _verify(name, b"Hello, World!", {header: GITHUB_DOCS}, secret, 0)
    except Malformed as err:
        outcome = err
    assert isinstance(outcome, VerifiedEvent | Malformed)
    with pytest.raises(InvalidSignature):
        _verify(name, b"Hello, World?", {header: GITHUB_DOCS}, secret, 0)


# --- Coinbase Commerce (coinbase-commerce-python tests/test_webhook.py) ---------------------------

COINBASE_BODY = (
    b'{"id":1,"scheduled_for":"2017-01-31T20:50:02Z","attempt_number":1,"event":{'
    b'"id":"24934862-d980-46cb-9402-43c81b0cdba6","type":"charge:created",'
    b'"api_version":"2018-03-22","created_at":"2017-01-31T20:49:02Z","data":{'
    b'"code":"66BEOV2A","name":"The Sovereign Individual",'
    b'"description":"Mastering the Transition to the Information Age",'
    b'"hosted_url":"https://commerce.coinbase.com/charges/66BEOV2A",'
    b'"created_at":"2017-01-31T20:49:02Z","expires_at":"2017-01-31T21:04:02Z",'
    b'"timeline":[{"time":"2017-01-31T20:49:02Z","status":"NEW"}],'
    b'"metadata":{},"pricing_type":"no_price","payments":[],"addresses":{'
    b'"bitcoin":"0000000000000000000000000000000000",'
    b'"ethereum":"0x0000000000000000000000000000000000000000",'
    b'"litecoin":"3000000000000000000000000000000000",'
    b'"bitcoincash":"bitcoincash:000000000000000000000000000000000000000000"}}}}'
)
COINBASE_SIGNATURE = "8be7742c7d372f08a6a3224edadf18a22b65fa9e28f3f2de97376cdaa092590d"
COINBASE_SECRET = "30291a20-0bd1-4267-9b0f-e6e7b123c0bf"


def test_coinbase_sdk_test_suite_vector() -> None:
    headers = {"x-cc-webhook-signature": COINBASE_SIGNATURE}

    event = _verify("coinbase", COINBASE_BODY, headers, [COINBASE_SECRET], 0)

    assert event == VerifiedEvent("24934862-d980-46cb-9402-43c81b0cdba6", "charge:created")
    # The SDK's own negative: every '3' in the signature turned into '1'.
    bad = {"x-cc-webhook-signature": COINBASE_SIGNATURE.replace("3", "1")}
    with pytest.raises(InvalidSignature):
        _verify("coinbase", COINBASE_BODY, bad, [COINBASE_SECRET], 0)


# --- Sanity (sanity-io/webhook-toolkit test/signature.test.ts) ------------------------------------

SANITY_T = 1633519811129
SANITY_SIGNATURE = "tLa470fx7qkLLEcMOcEUFuBbRSkGujyskxrNXcoh0N0"


def _sanity(body: bytes, header: str, secret: str = "test") -> Any:
    headers = {"sanity-webhook-signature": header, "sanity-operation": "update"}
    return _verify("sanity", body, headers, [secret], SANITY_T / 1000)


def test_sanity_toolkit_vector() -> None:
    body = b'{"_id":"resume"}'

    event = _sanity(body, f"t={SANITY_T},v1={SANITY_SIGNATURE}")

    assert event == VerifiedEvent(
        hashlib.sha256(body).hexdigest(), "update", replay_key=hashlib.sha256(body).hexdigest()
    )


@pytest.mark.parametrize(
    ("body", "header"),
    [
        (b'{"_id":"resume"}', f"t={SANITY_T - 1},v1={SANITY_SIGNATURE}"),
        (b'{"_id":"resume"}', f"t={SANITY_T},v1={SANITY_SIGNATURE[:-1]}1"),
        (b'{"_id":"structure"}', f"t={SANITY_T},v1={SANITY_SIGNATURE}"),
        (b'{"_id":"resume"}', f"t={SANITY_T},v5={SANITY_SIGNATURE}"),
    ],
)
def test_sanity_toolkit_negative_vectors(body: bytes, header: str) -> None:
    with pytest.raises(InvalidSignature):
        _sanity(body, header)


# --- Constructions from the sender's own source or documents (no vector published: weaker) ------


def test_ghost_request_signed_as_ghosts_webhook_trigger_does() -> None:
    # Ghost's WebhookTrigger.js: body = JSON.stringify({event, ...payload}); the header is
    # `sha256=${hmac_sha256_hex(secret, body + ts)}, t=${ts}` with ts = Date.now().
    secret, ts = "ghost-integration-secret", 1764700000123
    body = json.dumps(
        {"event": "post.published", "post": {"current": {"id": "6746", "title": "Hi & bye"}}},
        separators=(",", ":"),
    ).encode()
    digest = hmac.new(secret.encode(), body + str(ts).encode(), hashlib.sha256).hexdigest()
    headers = {"x-ghost-signature": f"sha256={digest}, t={ts}", "content-version": "v6.0"}

    event = _verify("ghost", body, headers, [secret], ts / 1000)

    assert event == VerifiedEvent(hashlib.sha256(body).hexdigest(), "post.published")
    with pytest.raises(InvalidSignature):
        _verify(
            "ghost",
            body,
            {"x-ghost-signature": f"sha256={digest}, t={ts + 1}"},
            [secret],
            ts / 1000,
        )


def test_webflow_request_signed_as_webflows_documents_say() -> None:
    # developers.webflow.com "Verifying Requests": HMAC-SHA256 (client secret) of
    # `${x-webflow-timestamp}:${body}`, hex, in x-webflow-signature; timestamp in ms.
    secret, ts = "webflow-client-secret", "1663849649733"
    body = b'{"triggerType":"form_submission","payload":{"name":"Contact","data":{"x":"1"}}}'
    digest = hmac.new(secret.encode(), ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    headers = {"x-webflow-signature": digest, "x-webflow-timestamp": ts}

    event = _verify("webflow", body, headers, [secret], int(ts) / 1000)

    assert event == VerifiedEvent(hashlib.sha256(body).hexdigest(), "form_submission")
    with pytest.raises(InvalidSignature):
        _verify(
            "webflow",
            body,
            {**headers, "x-webflow-timestamp": ts[:-1] + "4"},
            [secret],
            int(ts) / 1000,
        )


def test_revolut_documented_example_and_a_rotation_header() -> None:
    # developer.revolut.com "Verify the payload signature": its example secret, payload and
    # timestamp, signed as its Python reference computes `v1=` + HMAC(`v1.{ts}.{payload}`).
    # Revolut prints no resulting value, so the expected signature is computed here.
    secret, ts = "wsk_r59a4HfWVAKycbCaNO1RvgCJec02gRd8", "1683650202360"
    body = (
        b'{"data":{"id":"645a7696-22f3-aa47-9c74-cbae0449cc46","new_state":"completed",'
        b'"old_state":"pending","request_id":"app_charges-9f5d5eb3-1e06-46c5-b1c0-3914763e0bcb"},'
        b'"event":"TransactionStateChanged","timestamp":"2023-05-09T16:36:38.028960Z"}'
    )
    digest = hmac.new(secret.encode(), b"v1." + ts.encode() + b"." + body, "sha256").hexdigest()
    old = hmac.new(b"wsk_old", b"v1." + ts.encode() + b"." + body, "sha256").hexdigest()
    headers = {"revolut-signature": f"v1={old},v1={digest}", "revolut-request-timestamp": ts}

    event = _verify("revolut", body, headers, [secret], int(ts) / 1000)

    assert event == VerifiedEvent(hashlib.sha256(body).hexdigest(), "TransactionStateChanged")
    with pytest.raises(InvalidSignature):
        _verify(
            "revolut", body, {**headers, "revolut-signature": f"v1={old}"}, [secret], 1683650202
        )


# --- LINE: line/line-bot-sdk-python tests/v3/test_webhook.py ------------------------------------


def test_line_sdk_test_suite_vector() -> None:
    body = b"bodybodybodybody"
    good = {"x-line-signature": "/gg9a+LvFevTH1sd7XCQycD7tsWclCsInj7MhBHxN7k="}

    # Not an event body: verified, then malformed (a wrong signature is invalid instead).
    with pytest.raises(Malformed):
        _verify("line", body, good, ["channel_secret"], 0)
    with pytest.raises(InvalidSignature):
        _verify("line", body, {"x-line-signature": "invalid_signature"}, ["channel_secret"], 0)
    with pytest.raises(InvalidSignature):
        _verify("line", body, good, ["channel_secret_2"], 0)


# --- Help Scout: the documented construction (weaker: Help Scout publishes no signature value) ----


def test_helpscout_documented_construction() -> None:
    # developer.helpscout.com/webhooks: base64(HMAC-SHA1(secret key, JSON body)), its example
    # key `my-secret-key`; computed here with the standard library, not hookgate's signer.
    body = b'{"id":2391938111,"number":349,"status":"active","subject":"Refund"}'
    mac = hmac.new(b"my-secret-key", body, hashlib.sha1).digest()
    headers = {
        "x-helpscout-signature": base64.b64encode(mac).decode(),
        "x-helpscout-event": "convo.created",
    }

    event = _verify("helpscout", body, headers, ["my-secret-key"], 0)

    assert event.type == "convo.created"
    with pytest.raises(InvalidSignature):
        _verify(
            "helpscout", body, {**headers, "x-helpscout-signature": mac.hex()}, ["my-secret-key"], 0
        )
    with pytest.raises(InvalidSignature):
        _verify("helpscout", body + b"\n", headers, ["my-secret-key"], 0)


# --- Cloudinary: cloudinary/pycloudinary test/test_utils.py -------------------------------------

CLOUDINARY_BODY = (
    b'{"notification_type":"eager","eager":[{"transformation":"sp_full_hd/mp4","bytes":1055,'
    b'"url":"http://res.cloudinary.com/demo/video/upload/sp_full_hd/v1533125278/dog.mp4",'
    b'"secure_url":"https://res.cloudinary.com/demo/video/upload/sp_full_hd/v1533125278/dog.mp4"}],'
    b'"public_id":"dog","batch_id":"9b11fa058c61fa577f4ec516bf6ee756ac2aefef095af99aef1302142cc1694a"}'
)


def test_cloudinary_sdk_test_suite_sha1_vector() -> None:
    # The suite's clock is 1549533574 and the notification is 60 s old.
    headers = {
        "x-cld-signature": "dfe82de1d9083fe0b7ea68070649f9a15b8874da",
        "x-cld-timestamp": "1549533514",
    }
    secret = ["X7qLTrsES31MzxxkxPPA-pAGGfU"]

    event = _verify("cloudinary", CLOUDINARY_BODY, headers, secret, 1549533574)

    assert event == VerifiedEvent(hashlib.sha256(CLOUDINARY_BODY).hexdigest(), "eager")
    bad = {**headers, "x-cld-signature": headers["x-cld-signature"] + "chars"}
    with pytest.raises(InvalidSignature):
        _verify("cloudinary", CLOUDINARY_BODY, bad, secret, 1549533574)
    with pytest.raises(StaleTimestamp):  # the suite's "expired": older than the tolerance
        _verify("cloudinary", CLOUDINARY_BODY, headers, secret, 1549533514 + 7201)


def test_cloudinary_sdk_test_suite_sha256_vector() -> None:
    signature = "d5497e1a206ad0ba29ad09a7c0c5f22e939682d15009c15ab3199f62fefbd14b"
    headers = {"x-cld-signature": signature, "x-cld-timestamp": "0"}

    # Body `{}` has no notification_type: verified, then malformed (timestamp 0: no tolerance).
    provider = build_provider(load("cloudinary"), ["someApiSecret"], tolerance_seconds=0)
    with pytest.raises(Malformed):
        provider.verify(make_request(b"{}", headers, received_at=1549533574))
    bad = {**headers, "x-cld-signature": signature[:-1] + "a"}
    with pytest.raises(InvalidSignature):
        provider.verify(make_request(b"{}", bad, received_at=1549533574))


# --- X (Twitter): the documented construction (weaker: X publishes no inputs with a value) --------


def test_twitter_documented_construction() -> None:
    # developer.x.com "Securing webhooks": `sha256=` + base64(HMAC-SHA256(consumer secret, body));
    # computed here with the standard library, not hookgate's signer.
    secret = "consumer-secret"
    body = b'{"for_user_id":"2244994945","follow_events":[{"type":"follow"}]}'
    mac = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    headers = {"x-twitter-webhooks-signature": "sha256=" + base64.b64encode(mac).decode()}

    event = _verify("twitter", body, headers, [secret], 0)

    assert event == VerifiedEvent(hashlib.sha256(body).hexdigest(), "follow_events")
    for wrong in ("sha256=" + mac.hex(), base64.b64encode(mac).decode()):
        with pytest.raises(InvalidSignature):
            _verify("twitter", body, {"x-twitter-webhooks-signature": wrong}, [secret], 0)


# --- Razorpay (razorpay-python tests/mocks/fake_payment_authorized_webhook.json) -----------------

#: The mock's bytes: this JSON pretty-printed with two spaces, and a final newline (971 bytes).
RAZORPAY_DOCUMENT: dict[str, Any] = {
    "event": "payment.authorized",
    "entity": "event",
    "contains": ["payment"],
    "payload": {
        "payment": {
            "entity": {
                "id": "pay_6koWN7bvxujzxM",
                "entity": "payment",
                "amount": 1000000,
                "currency": "INR",
                "status": "captured",
                "order_id": "order_100000000order",
                "international": False,
                "method": "card",
                "amount_refunded": 0,
                "refund_status": None,
                "captured": True,
                "description": "random description",
                "card_id": "card_6koWNAT6LASUqy",
                "bank": None,
                "wallet": None,
                "vpa": None,
                "email": "a@b.com",
                "contact": "+919999999999",
                "notes": {"merchant_order_id": "random order id"},
                "fee": 23000,
                "service_tax": 3000,
                "error_code": None,
                "error_description": None,
                "created_at": 1479978483,
            }
        }
    },
    "created_at": 1400826760,
}
RAZORPAY_SECRET = "key_secret"
RAZORPAY_SIGNATURE = "d60e67fd884556c045e9be7dad57903e33efc7172c17c6e3ef77db42d2b366e9"


def test_razorpay_sdk_test_suite_vector() -> None:
    body = (json.dumps(RAZORPAY_DOCUMENT, indent=2) + "\n").encode()
    assert len(body) == 971

    event = _verify(
        "razorpay", body, {"x-razorpay-signature": RAZORPAY_SIGNATURE}, [RAZORPAY_SECRET], 0
    )

    assert event == VerifiedEvent(
        hashlib.sha256(body).hexdigest(),
        "payment.authorized",
        replay_key=hashlib.sha256(body).hexdigest(),
    )
    with pytest.raises(InvalidSignature):
        _verify("razorpay", body, {"x-razorpay-signature": RAZORPAY_SIGNATURE}, ["key_secreT"], 0)
    with pytest.raises(InvalidSignature):
        _verify(
            "razorpay",
            body[:-1],
            {"x-razorpay-signature": RAZORPAY_SIGNATURE},
            [RAZORPAY_SECRET],
            0,
        )


# --- Documented examples (weaker evidence: no SDK verifier and no published signature) ---------
#
# Paystack, Checkout.com, Webex, ClickUp and Squarespace publish no Python verifier and no
# signature for a known secret and body (ClickUp's page prints an abbreviated placeholder). Each
# documented recipe is run here with the `openssl` command-line tool, independently of Python's
# `hmac` and of hookgate, on the documents' example bodies and secrets where they give them.


def _openssl(*arguments: str, body: bytes) -> str:
    openssl = shutil.which("openssl")
    if openssl is None:  # never a skip: these are the only evidence for five providers
        pytest.fail("the openssl command is not installed: apt-get install openssl")
    done = subprocess.run([openssl, *arguments], input=body, capture_output=True, check=True)
    return done.stdout.decode().split()[-1]  # `…(stdin)= <hex>`


def test_squarespace_documented_openssl_recipe_with_the_hex_decoded_secret() -> None:
    # developers.squarespace.com/webhooks/verifying-notifications: HMAC-SHA256(hexToBytes(secret),
    # payload), shown as `openssl sha256 -mac hmac -macopt hexkey:$SECRET`.
    secret = "5c4a1e7fd0b3f2a8c6e9d1b4a7f0c3e6d9b2a5f8c1e4d7b0a3f6c9e2d5b8a1f4"
    body = (
        b'{"id":"5f3e7a3c1b2d4e5f6a7b8c9d","websiteId":"5b8ef0c1a9e3d2f1b0c4a7e6",'
        b'"subscriptionId":"1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9","topic":"order.create",'
        b'"createdOn":"2026-12-02T21:00:00.000Z","data":{"orderId":"5f3e7a3c1b2d4e5f6a7b8c9e"}}'
    )
    documented = _openssl("sha256", "-mac", "hmac", "-macopt", f"hexkey:{secret}", body=body)

    assert sign_request("squarespace", body, secret)["squarespace-signature"] == documented
    event = _verify("squarespace", body, {"squarespace-signature": documented}, [secret], 0)
    assert event == VerifiedEvent("5f3e7a3c1b2d4e5f6a7b8c9d", "order.create")
    # The mistake the page warns about: the secret's text as the key.
    text_keyed = _openssl("sha256", "-mac", "hmac", "-macopt", f"key:{secret}", body=body)
    with pytest.raises(InvalidSignature):
        _verify("squarespace", body, {"squarespace-signature": text_keyed}, [secret], 0)


def test_clickup_documented_example_body_and_key() -> None:
    # developer.clickup.com/docs/webhooksignature: key 'secret', this body, SHA-256, hex.
    body = (
        b'{"webhook_id":"7689a169-a000-4985-8676-6902b96d6627",'
        b'"event":"taskCreated","task_id":"c0j"}'
    )
    documented = _openssl("dgst", "-sha256", "-mac", "hmac", "-macopt", "key:secret", body=body)

    assert sign_request("clickup", body, "secret")["x-signature"] == documented
    event = _verify("clickup", body, {"x-signature": documented}, ["secret"], 0)
    assert event == VerifiedEvent(hashlib.sha256(body).hexdigest(), "taskCreated")
    with pytest.raises(InvalidSignature):  # the page's abbreviated placeholder is no signature
        _verify("clickup", body, {"x-signature": "f7bc83f430538424b13298e6aa6"}, ["secret"], 0)


def test_paystack_documented_sha512_recipe_on_its_sample_event() -> None:
    # PaystackOSS/doc-code-snippets: HMAC-SHA512(secret key, raw body), hex, `x-paystack-signature`;
    # the body is its transfer.success sample, trimmed.
    secret = "sk_test_5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b"
    body = (
        b'{\n  "event": "transfer.success",\n  "data": {\n    "amount": 100000,\n'
        b'    "currency": "NGN",\n    "id": 860703114,\n    "reason": "Bonus for the week",\n'
        b'    "reference": "ACV_9ee55786-2323-4760-98e2-6380c9cb3f68",\n'
        b'    "status": "success",\n    "transfer_code": "TRF_v5tip3zx8nna9o78"\n  }\n}'
    )
    documented = _openssl("dgst", "-sha512", "-mac", "hmac", "-macopt", f"key:{secret}", body=body)

    assert len(documented) == 128
    assert sign_request("paystack", body, secret)["x-paystack-signature"] == documented
    event = _verify("paystack", body, {"x-paystack-signature": documented}, [secret], 0)
    assert event == VerifiedEvent(hashlib.sha256(body).hexdigest(), "transfer.success")
    sha256 = _openssl("dgst", "-sha256", "-mac", "hmac", "-macopt", f"key:{secret}", body=body)
    with pytest.raises(InvalidSignature):
        _verify("paystack", body, {"x-paystack-signature": sha256}, [secret], 0)


def test_webex_documented_sha1_recipe_with_the_blogs_secret() -> None:
    # developer.webex.com blog "Using a Webhook Secret": HMAC-SHA1(secret, raw body), hex.
    secret = "somesupersecretphrase"
    body = (
        b'{"id":"Y2lzY29zcGFyazovL3VzL1dFQkhPT0svZjRlNjA1NjAtNjYwMi00ZmIwLWEyNWEtOTQ5ODgxNjA5NDk3",'
        b'"name":"New message in room","resource":"messages","event":"created",'
        b'"data":{"id":"Y2lzY29zcGFyazovL3VzL01FU1NBR0UvOTJkYjNiZTAtNDNiZC0xMWU2LThhZTktZGQ1YjNkZmM1NjVk",'
        b'"roomId":"Y2lzY29zcGFyazovL3VzL1JPT00vYmJjZWIxYWQtNDNmMS0zYjU4LTkxNDctZjE0YmIwYzRkMTU0"},'
        b'"created":"2026-12-02T21:00:00.000Z"}'
    )
    documented = _openssl("dgst", "-sha1", "-mac", "hmac", "-macopt", f"key:{secret}", body=body)

    assert sign_request("webex", body, secret)["x-spark-signature"] == documented
    event = _verify("webex", body, {"x-spark-signature": documented}, [secret], 0)
    assert event == VerifiedEvent(hashlib.sha256(body).hexdigest(), "messages.created")
    with pytest.raises(InvalidSignature):
        _verify("webex", body[:-1], {"x-spark-signature": documented}, [secret], 0)


def test_checkout_documented_recipe_and_the_authorization_header_is_not_needed() -> None:
    # checkout.com/docs (set up your webhook receiver): HMAC-SHA256 of the body with the key
    # from the workflow's webhook action, hex-encoded in `Cko-Signature`.
    key = "0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e"
    body = (
        b'{"id":"evt_az5sblvku4ge3dwpztvyizgcau","type":"payment_approved","version":"1.0.33",'
        b'"created_on":"2026-12-02T21:00:00.000Z","data":{"id":"pay_mbabizu24mvu3mela5njyhpit4",'
        b'"amount":6540,"currency":"EUR"}}'
    )
    documented = _openssl("dgst", "-sha256", "-mac", "hmac", "-macopt", f"key:{key}", body=body)

    assert sign_request("checkout", body, key)["cko-signature"] == documented
    event = _verify("checkout", body, {"cko-signature": documented}, [key], 0)
    assert event == VerifiedEvent("evt_az5sblvku4ge3dwpztvyizgcau", "payment_approved")
    with pytest.raises(InvalidSignature):
        _verify("checkout", body, {"cko-signature": documented, "authorization": key}, ["k"], 0)


# --- EasyPost (easypost-python tests/test_webhook.py, fixtures from EasyPost/examples) -----------
#
# `official/fixtures/event-body.json` (in vectors/, as published) re-serialised compactly, as the
# SDK's `event_bytes` fixture does; secret and signature from `client-library-fixtures.json`. The
# secret's é is precomposed: only its NFKD form (e + combining acute) gives this signature.

EASYPOST_SECRET = "s\u00e9cret"
EASYPOST_SIGNATURE = (
    "hmac-sha256-hex=38f3f53c103713df81616a0a186d77141957323ec21d5fe9363db93840f527db"
)


def test_easypost_sdk_test_suite_vector_needs_the_nfkd_secret() -> None:
    published = (VECTORS / "easypost-event-body.json").read_bytes()
    body = json.dumps(json.loads(published), separators=(",", ":")).encode()
    assert body == published.rstrip(b"\n")

    event = _verify(
        "easypost", body, {"x-hmac-signature": EASYPOST_SIGNATURE}, [EASYPOST_SECRET], 0
    )

    assert event == VerifiedEvent("evt_1", "tracker.updated")
    raw_key = hmac.new(EASYPOST_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert "hmac-sha256-hex=" + raw_key != EASYPOST_SIGNATURE
    with pytest.raises(InvalidSignature):
        _verify("easypost", body, {"x-hmac-signature": EASYPOST_SIGNATURE}, ["secret"], 0)


# --- GoCardless (gocardless-pro-python tests/webhooks_test.py, tests/fixtures/webhook_body.json) -

GOCARDLESS_KEY = "ED7D658C-D8EB-4941-948B-3973214F2D49"
GOCARDLESS_SIGNATURE = "2693754819d3e32d7e8fcb13c729631f316c6de8dc1cf634d6527f1c07276e7e"
GOCARDLESS_BODY = (  # the fixture, stripped of its final newline as the SDK's test reads it
    b'{"events":[{"id":"EV00BD05S5VM2T","created_at":"2018-07-05T09:13:51.404Z",'
    b'"resource_type":"subscriptions","action":"created","links":{"subscription":"SB0003JJQ2MR06"},'
    b'"details":{"origin":"api","cause":"subscription_created",'
    b'"description":"Subscription created via the API."},"metadata":{}},'
    b'{"id":"EV00BD05TB8K63","created_at":"2018-07-05T09:13:56.893Z","resource_type":"mandates",'
    b'"action":"created","links":{"mandate":"MD000AMA19XGEC"},"details":{"origin":"api",'
    b'"cause":"mandate_created","description":"Mandate created via the API."},"metadata":{}}]}'
)


def test_gocardless_sdk_test_suite_vector() -> None:
    headers = {"webhook-signature": GOCARDLESS_SIGNATURE}
    assert len(GOCARDLESS_BODY) == 550

    event = _verify("gocardless", GOCARDLESS_BODY, headers, [GOCARDLESS_KEY], 0)

    ids = b"EV00BD05S5VM2T\nEV00BD05TB8K63"
    assert event == VerifiedEvent("batch-" + hashlib.sha256(ids).hexdigest(), "batch.created")
    with pytest.raises(InvalidSignature):
        _verify("gocardless", GOCARDLESS_BODY, headers, ["anotherkey"], 0)


# --- Onfido (onfido-python tests/test_classic_webhook_event_verification.py) --------------------

ONFIDO_TOKEN = "wU99mE6jJ7nXOLFwZ0tJymM1lpI15pZh"
ONFIDO_BODY = (
    b'{"payload":{"resource_type":"check","action":"check.completed",'
    b'"object":{"id":"f2302f45-227d-413d-ad61-09ec077a086a","status":"complete",'
    b'"completed_at_iso8601":"2024-04-04T09:21:21Z",'
    b'"href":"https://api.onfido.com/v3.6/checks/f2302f45-227d-413d-ad61-09ec077a086a"}}}'
)


def test_onfido_sdk_test_suite_vector() -> None:
    good = "77ebc3e418f26be6eebb47f7ebe551321de26734fc273961e075fc9ab163d9c7"
    bad = "77ebc3e418f26be6eebb47f7ebe551321de26734fc273961e075fc9ab163d9c8"

    event = _verify("onfido", ONFIDO_BODY, {"x-sha2-signature": good}, [ONFIDO_TOKEN], 0)

    assert event == VerifiedEvent(
        "f2302f45-227d-413d-ad61-09ec077a086a:check.completed", "check.completed"
    )
    with pytest.raises(InvalidSignature):
        _verify("onfido", ONFIDO_BODY, {"x-sha2-signature": bad}, [ONFIDO_TOKEN], 0)


# --- Airtable (pyairtable tests/test_models_webhook.py::test_notification_from_request) ---------


def test_airtable_pyairtable_test_suite_vector_with_the_base64_secret() -> None:
    notification = {
        "base": {"id": "app00000000000000"},
        "webhook": {"id": "ach00000000000000"},
        "timestamp": "2022-02-01T21:25:05.663Z",
    }
    body = json.dumps(notification).encode()  # as the test writes it: ", " and ": "
    header = {
        "x-airtable-content-mac": (
            "hmac-sha256=e26da696a90933647bddc83995c3e1e3bb1c3d8ce1ff61cb7469767d50b2b2d4"
        )
    }

    event = _verify("airtable", body, header, ["c2VjcmV0LWtleQ=="], 0)  # b64("secret-key")

    assert event == VerifiedEvent("ach00000000000000:2022-02-01T21:25:05.663Z", "notification")
    with pytest.raises(InvalidSignature):  # the decoded key given as the secret is another key
        _verify("airtable", body, header, [base64.b64encode(b"bad-secret").decode()], 0)


# --- Modern Treasury (modern-treasury-python tests/api_resources/test_webhooks.py) -------------

MODERN_TREASURY_VECTORS = [
    (b"foo", "08ba357e274f528065766c770a639abf6809b39ccfd37c2a3157c7f51954da0a"),
    (b'{"foo":"bar"}', "57e14f6f354543f0101fb06ea24df7731d90087b76651e3497345e22a3622940"),
    (
        b'{"foo":"bar","bar":"baz","a": true}',
        "ec1c86d16075e6937fc26d55b7dc60bac9b1178a2f714312f7c5cb13a319b0ac",
    ),
    (
        b'{"a":{"b":{"c":{"d":[null,1,true,false,["foo",{"bar":[true, false]}]]}}}}',
        "39b6fc0f5b02a5aefbdd7fb337245b4209036334e837d8c5b6a4092965ebc0a5",
    ),
]


@pytest.mark.parametrize(("body", "signature"), MODERN_TREASURY_VECTORS)
def test_modern_treasury_sdk_test_suite_vectors(body: bytes, signature: str) -> None:
    # None of these bodies is an event: the signature passes, then the body is malformed.
    with pytest.raises(Malformed):
        _verify("moderntreasury", body, {"x-signature": signature}, ["foo"], 0)
    with pytest.raises(InvalidSignature):
        _verify("moderntreasury", body + b"foo", {"x-signature": signature}, ["foo"], 0)
    with pytest.raises(InvalidSignature):
        _verify("moderntreasury", body, {"x-signature": signature}, ["bar"], 0)


def test_mandrill_documented_construction_computed_with_openssl() -> None:
    # mandrill.zendesk.com "How to Authenticate Webhook Requests": base64 HMAC-SHA1, keyed with
    # the webhook's key, of the URL exactly as configured (its query too) followed by each POST
    # field's name and value, sorted by name. No SDK verifies and no signature is published.
    url = "https://hooks.example.com/webhooks/mandrill?tenant=7"
    events = (
        '[{"event":"send","msg":{"ts":1365109999,"subject":"This an example webhook message",'
        '"email":"example.webhook@mandrillapp.com","sender":"example.sender@mandrillapp.com",'
        '"tags":["webhook-example"],"state":"sent","_id":"exampleaaaaaaaaaaaaaaaaaaaaaaaaa"},'
        '"_id":"exampleaaaaaaaaaaaaaaaaaaaaaaaaa","ts":1365109999}]'
    )
    body = urlencode({"mandrill_events": events}).encode()
    signed = (url + "mandrill_events" + events).encode()
    digest = _openssl("dgst", "-sha1", "-mac", "hmac", "-macopt", "key:mandrill-key", body=signed)
    documented = base64.b64encode(bytes.fromhex(digest)).decode()
    options = {"public_url": url}

    assert sign_request("mandrill", body, "mandrill-key", options=options) == {
        "x-mandrill-signature": documented,
        "content-type": "application/x-www-form-urlencoded",
    }
    headers = {"x-mandrill-signature": documented}
    event = _verify("mandrill", body, headers, ["mandrill-key"], 0, options=options)
    assert event == VerifiedEvent("exampleaaaaaaaaaaaaaaaaaaaaaaaaa", "send")
    for wrong in ({"public_url": url.partition("?")[0]}, {"public_url": url + "&x=1"}):
        with pytest.raises(InvalidSignature):  # the URL as configured, query and all
            _verify("mandrill", body, headers, ["mandrill-key"], 0, options=wrong)
    with pytest.raises(InvalidSignature):
        _verify("mandrill", body, headers, ["another-key"], 0, options=options)


# --- Wise (transferwise/digital-signatures-examples verify-webhook-signature/verify-signature.js,
# its sandbox public key, body and X-Signature-SHA256; signatures-2.md §4.4) ------------------

WISE_SANDBOX_KEY = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwpb91cEYuyJNQepZAVfP\n"
    "ZIlPZfNUefH+n6w9SW3fykqKu938cR7WadQv87oF2VuT+fDt7kqeRziTmPSUhqPU\n"
    "ys/V2Q1rlfJuXbE+Gga37t7zwd0egQ+KyOEHQOpcTwKmtZ81ieGHynAQzsn1We3j\n"
    "wt760MsCPJ7GMT141ByQM+yW1Bx+4SG3IGjXWyqOWrcXsxAvIXkpUD/jK/L958Cg\n"
    "nZEgz0BSEh0QxYLITnW1lLokSx/dTianWPFEhMC9BgijempgNXHNfcVirg1lPSyg\n"
    "z7KqoKUN0oHqWLr2U1A+7kqrl6O2nx3CKs1bj1hToT1+p4kcMoHXA7kA+VBLUpEs\n"
    "VwIDAQAB\n"
    "-----END PUBLIC KEY-----\n"
)
WISE_BODY = (
    b'{"data":{"resource":{"id":49983981,"profile_id":16055450,"account_id":14124090,'
    b'"type":"transfer"},"current_state":"incoming_payment_waiting","previous_state":null,'
    b'"occurred_at":"2021-08-23T10:12:50Z"},"subscription_id":"90aa8e14-4ef1-4a56-861c-'
    b'f3c9cde097ea","event_type":"transfers#state-change","schema_version":"2.0.0",'
    b'"sent_at":"2021-08-23T10:12:50Z"}'
)
WISE_SIGNATURE = (
    "wKcKCYXAzxNgiu7xmoDm943NUni7Rz33QN8JkEA9dWSGebgndonabgSj18Y4C08OrwVmueGsED2s00M7DtJVcYKO"
    "S1i3G4TMVx+mgM3aL9djMBkQtiYNBFUd6wrPI7ZUNHv/TrlKSjTMc+6JFvUvJ7owY3z85e3I4jLRLJowMFvO8kvC"
    "J60+1pY9wDwZvtZ//WS93LrwGjk9Dvwzpmu0w+P4J75tETT5qC3Uv0y5G2yO8SEoO3yNP/tg/BOli02niHb53vE"
    "OUWUb9bly6thnfMoXoiV/osoGxgF20R58RlvkAmezyyl1Sv542TfS2DpiwVnmjjjkCyXeSUcKookYLQ=="
)


def test_wise_published_sandbox_vector() -> None:
    headers = {"x-signature-sha256": WISE_SIGNATURE, "x-delivery-id": "d-1"}
    options = {"public_key": WISE_SANDBOX_KEY}

    event = _verify("wise", WISE_BODY, headers, [], 0, options=options)

    assert event == VerifiedEvent(
        "d-1", "transfers#state-change", replay_key=hashlib.sha256(WISE_BODY).hexdigest()
    )
    with pytest.raises(InvalidSignature):  # one byte of the body changed
        _verify(
            "wise", WISE_BODY.replace(b"49983981", b"49983982"), headers, [], 0, options=options
        )
    other = base64.b64encode(base64.b64decode(WISE_SIGNATURE)[::-1]).decode()
    with pytest.raises(InvalidSignature):
        _verify("wise", WISE_BODY, {**headers, "x-signature-sha256": other}, [], 0, options=options)


# --- AWS SNS (aws/aws-php-sns-message-validator tests/FunctionalValidationsTest.php: four real
# messages, v1 and v2, with and without Subject, in HTTP and Lambda spellings, and the real
# certificate they were signed with; signatures-2.md §4.1). The certificate expired on
# 2022-08-17: each message verifies at its own time, as the production check requires, and is
# refused now. -----------------------------------------------------------------------------------

SNS_VECTORS = json.loads((VECTORS / "aws-sns-php-validator.json").read_text())
SNS_CASES = [("http", i) for i in range(len(SNS_VECTORS["http"]))] + [
    ("lambda", i) for i in range(len(SNS_VECTORS["lambda"]))
]


def _sns(message: dict[str, Any], at: float, **options: Any) -> Any:
    # The vectors' own topic (a test topic of AWS's validator suite) is the source's.
    topics = {"topic_arns": [message.get("TopicArn") or "arn:aws:sns:us-east-1:123456789012:x"]}
    options = {"certificates": [SNS_VECTORS["certificate"]], **topics, **options}
    return _verify("aws-sns", json.dumps(message).encode(), {}, [], at, options=options)


def _sns_time(message: dict[str, Any]) -> float:
    from datetime import datetime

    return datetime.fromisoformat(message["Timestamp"]).timestamp()


def test_sns_vectors_are_four_real_messages_in_both_versions() -> None:
    http = SNS_VECTORS["http"]
    assert len(http) == 4
    assert sorted(m["SignatureVersion"] for m in http) == ["1", "1", "2", "2"]
    assert sum("Subject" in m for m in http) == 2
    assert len(SNS_VECTORS["lambda"]) == 6


@pytest.mark.parametrize(("spelling", "index"), SNS_CASES)
def test_sns_published_messages_verify_at_their_time(spelling: str, index: int) -> None:
    message = SNS_VECTORS[spelling][index]
    at = _sns_time(message) + 2

    event = _sns(message, at, topic_arns=[message["TopicArn"]])

    assert event == VerifiedEvent(
        message["MessageId"], message["TopicArn"].rsplit(":", 1)[1], occurred_at=at - 2
    )


@pytest.mark.parametrize(("spelling", "index"), SNS_CASES)
def test_sns_published_messages_are_refused_when_changed_late_or_now(
    spelling: str, index: int
) -> None:
    message = SNS_VECTORS[spelling][index]
    at = _sns_time(message) + 2
    with pytest.raises(InvalidSignature):
        _sns({**message, "Message": "Hello world!"}, at)
    other = "1" if message["SignatureVersion"] == "2" else "2"
    with pytest.raises(InvalidSignature):
        _sns({**message, "SignatureVersion": other}, at)
    with pytest.raises(StaleTimestamp):
        _sns(message, at + 2 * 3600)
    with pytest.raises(InvalidSignature, match="not valid at this time"):
        _sns(message, at + 365 * 86400)  # past the certificate's notAfter
