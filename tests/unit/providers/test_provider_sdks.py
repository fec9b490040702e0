"""Round trips with the providers' own Python code (installed from PyPI by the `test` extra).

For each SDK that signs: its signature verifies in hookgate. For each SDK that verifies:
hookgate's `providers.testing` signer produces what it accepts. Both directions where both exist.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import cloudinary
import easypost.util
import gocardless_pro.webhooks
import httpx
import jwt
import modern_treasury
import pytest
import razorpay
import svix.webhooks
from box_sdk_gen.internal.utils import compute_webhook_signature as box_signature
from box_sdk_gen.managers.webhooks import WebhooksManager as BoxWebhooks
from cloudinary.utils import (
    SIGNATURE_SHA1,
    SIGNATURE_SHA256,
    compute_hex_hash,
    verify_notification_signature,
)
from coinbase_commerce.webhook import WebhookSignature as CoinbaseSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from discord_interactions import verify_key
from easypost.errors import SignatureVerificationError as EasyPostSignatureError
from elevenlabs import ElevenLabs
from elevenlabs.errors import BadRequestError as ElevenLabsBadRequest
from gocardless_pro.errors import InvalidSignatureError as GoCardlessSignatureError
from hubspot.utils.signature import Signature as HubSpotSignature
from increase import Increase
from linebot.v3.exceptions import InvalidSignatureError as LineInvalidSignature
from linebot.v3.webhook import SignatureValidator, WebhookParser
from mailgun.security import SecurityGuard
from nacl.signing import SigningKey
from onfido.webhook_event_verifier import OnfidoInvalidSignatureError, WebhookEventVerifier
from openai import InvalidWebhookSignatureError, OpenAI
from paddle_billing.Notifications import PaddleSignature, Secret
from plivo.utils.signature_v3 import construct_post_url, get_signature_v3, validate_v3_signature
from pyairtable.models.webhook import WebhookNotification
from razorpay.errors import SignatureVerificationError as RazorpaySignatureError
from replicate.webhook import Webhooks, WebhookSigningSecret
from resend import Webhooks as ResendWebhooks
from sendgrid import EventWebhook
from slack_sdk.signature import SignatureVerifier
from square.utils.webhooks_helper import verify_signature as square_verify
from standardwebhooks.webhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError
from telegram import Bot
from telegram.constants import UpdateType
from telegram.ext._utils.webhookhandler import WebhookAppClass
from telnyx import Telnyx
from telnyx.lib.webhook_verification import WebhookVerificationError as TelnyxVerificationError
from telnyx.lib.webhook_verification import verify_webhook_signature as telnyx_verify
from telnyx.lib.webhooks_ed25519 import verify_ed25519 as telnyx_verify_ed25519
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from twilio.request_validator import RequestValidator
from vonage_jwt import verify_signature as vonage_verify_signature
from workos.webhooks._verification import verify_header as workos_verify_header

from providers import (
    Handshake,
    InvalidSignature,
    MissingSignature,
    StaleTimestamp,
    VerifiedEvent,
    load,
)
from providers.builtin.mailgun import sign_body
from providers.testing import build_provider, make_request, sign_request

WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
PUBLIC_URL = "https://hooks.example.com/webhooks/src"


def _verify(
    name: str,
    body: bytes,
    headers: dict[str, str],
    secrets: list[str],
    *,
    options: dict[str, Any] | None = None,
    url: str = "https://gateway.internal/webhooks/src",
    received_at: float | None = None,
) -> Any:
    provider = build_provider(load(name), secrets, options=options)
    return provider.verify(make_request(body, headers, url=url, received_at=received_at))


# --- Standard Webhooks senders -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["svix", "clerk", "resend"])
def test_svix_sdk_signature_verifies_and_svix_sdk_accepts_ours(name: str) -> None:
    body = b'{"type": "user.created", "data": {"id": "user_1"}}'
    now = int(time.time())
    signature = svix.webhooks.Webhook(WHSEC).sign(
        "msg_1", datetime.fromtimestamp(now, UTC), body.decode()
    )
    headers = {"svix-id": "msg_1", "svix-timestamp": str(now), "svix-signature": signature}

    event = _verify(name, body, headers, [WHSEC])

    assert event == VerifiedEvent("msg_1", "user.created")
    ours = sign_request(name, body, WHSEC, event_id="msg_2")
    svix.webhooks.Webhook(WHSEC).verify(body, ours)  # raises when it does not verify
    with pytest.raises(svix.webhooks.WebhookVerificationError):
        svix.webhooks.Webhook(WHSEC).verify(body + b" ", ours)


def test_resend_sdk_accepts_our_signature() -> None:
    body = b'{"type": "email.delivered", "data": {"email_id": "e1"}}'
    ours = sign_request("resend", body, WHSEC, event_id="msg_r")
    headers = {
        "id": ours["svix-id"],
        "timestamp": ours["svix-timestamp"],
        "signature": ours["svix-signature"],
    }

    verified = ResendWebhooks.verify(
        {"payload": body.decode(), "headers": headers, "webhook_secret": WHSEC}  # type: ignore[typeddict-item]
    )

    assert verified["type"] == "email.delivered"


def test_replicate_sdk_accepts_our_signature_and_its_body_types_as_prediction_status() -> None:
    body = b'{"id": "p1", "status": "succeeded", "output": ["x"]}'
    ours = sign_request("replicate", body, WHSEC, event_id="msg_p")

    Webhooks.validate(headers=ours, body=body.decode(), secret=WebhookSigningSecret(key=WHSEC))
    event = _verify("replicate", body, ours, [WHSEC])

    assert event == VerifiedEvent("msg_p", "prediction.succeeded")


def test_gitlab_signing_token_is_standard_webhooks_signed_by_the_official_library() -> None:
    body = b'{"object_kind": "merge_request", "object_attributes": {"action": "open"}}'
    now = int(time.time())
    signature = StandardWebhook(WHSEC).sign(
        "idem-1", datetime.fromtimestamp(now, UTC), body.decode()
    )
    headers = {
        "webhook-id": "idem-1",
        "webhook-timestamp": str(now),
        "webhook-signature": signature,
        "idempotency-key": "idem-1",
        "x-gitlab-event": "Merge Request Hook",
    }

    event = _verify("gitlab", body, headers, [WHSEC], options={"scheme": "signing-token"})

    # The ID is the signed webhook-id; a type from the unsigned X-Gitlab-Event is possible.
    assert event == VerifiedEvent(
        "idem-1", "merge_request.open", replay_key=hashlib.sha256(body).hexdigest()
    )


# --- timestamped HMAC --------------------------------------------------------------------------


def test_slack_sdk_signature_verifies_and_slack_sdk_accepts_ours() -> None:
    secret = "8f742231b10e8888abcd99yyyzzz85a5"
    body = b'{"type": "event_callback", "event_id": "Ev1", "event": {"type": "app_mention"}}'
    now = str(int(time.time()))
    verifier = SignatureVerifier(secret)
    headers = {
        "x-slack-signature": verifier.generate_signature(timestamp=now, body=body) or "",
        "x-slack-request-timestamp": now,
    }

    event = _verify("slack", body, headers, [secret])

    assert event == VerifiedEvent("Ev1", "event_callback.app_mention")
    assert verifier.is_valid_request(body, sign_request("slack", body, secret))


def test_zoom_signature_is_slacks_construction_checked_by_the_slack_sdk() -> None:
    # Zoom ships no Python verifier; its v0 scheme is byte-for-byte Slack's.
    secret = "zoom-secret-token"
    body = b'{"event": "meeting.started", "payload": {"object": {"id": 1}}}'
    ours = sign_request("zoom", body, secret)

    assert SignatureVerifier(secret).is_valid(
        body, ours["x-zm-request-timestamp"], ours["x-zm-signature"]
    )


def test_paddle_sdk_signature_verifies_and_paddle_sdk_accepts_ours() -> None:
    secret = "pdl_ntfset_01hs0t3tw21j988db1pam5xg8m_GrOWLNef+vmtjJYq4mSnHNzvc8uWoJ1I"
    body = b'{"event_id": "evt_01", "event_type": "transaction.completed", "data": {}}'
    now = int(time.time())
    digest = PaddleSignature.calculate_hmac(secret, f"{now}:".encode() + body).hexdigest()
    headers = {"paddle-signature": f"ts={now};h1={digest}"}

    event = _verify("paddle", body, headers, [secret])

    assert event == VerifiedEvent("evt_01", "transaction.completed")
    ours = sign_request("paddle", body, secret)
    assert PaddleSignature().verify(ours["paddle-signature"], body.decode(), Secret(secret))


def test_mailgun_sdk_accepts_our_signed_body_and_we_refuse_a_forged_one() -> None:
    key = "key-" + os.urandom(8).hex()
    now = int(time.time())
    body = sign_body({"id": "ev1", "event": "delivered"}, key, now)
    block = json.loads(body)["signature"]

    assert SecurityGuard.verify_webhook(
        key, block["token"], block["timestamp"], block["signature"], max_age_seconds=300
    )
    token_digest = hashlib.sha256(block["token"].encode()).hexdigest()
    assert _verify("mailgun", body, {}, [key]) == VerifiedEvent(
        "ev1", "delivered", replay_key=token_digest
    )
    with pytest.raises(InvalidSignature):
        _verify("mailgun", sign_body({"id": "ev1", "event": "x"}, "other", now), {}, [key])


# --- URL-bound HMAC ----------------------------------------------------------------------------


def test_twilio_sdk_form_signature_verifies_and_twilio_sdk_accepts_ours() -> None:
    token = "12345"
    body = b"MessageSid=SM1&MessageStatus=delivered&To=%2B14158675309&Body=caf%C3%A9"
    params = {
        "MessageSid": "SM1",
        "MessageStatus": "delivered",
        "To": "+14158675309",
        "Body": "café",
    }
    validator = RequestValidator(token)
    headers = {"x-twilio-signature": validator.compute_signature(PUBLIC_URL, params)}

    event = _verify("twilio", body, headers, [token], options={"public_url": PUBLIC_URL})

    assert event.type == "delivered"
    ours = sign_request("twilio", body, token, options={"public_url": PUBLIC_URL})
    assert validator.validate(PUBLIC_URL, params, ours["x-twilio-signature"])


def test_twilio_sdk_json_signature_with_body_hash_in_the_url_verifies() -> None:
    token = "12345"
    body = b'{"property": "value", "boolean": true}'
    validator = RequestValidator(token)
    url = f"{PUBLIC_URL}?bodySHA256={validator.compute_hash(body.decode())}"
    headers = {"x-twilio-signature": validator.compute_signature(url, {})}
    query_url = "http://10.0.0.5:8000/webhooks/src?" + url.partition("?")[2]

    event = _verify(
        "twilio", body, headers, [token], options={"public_url": PUBLIC_URL}, url=query_url
    )

    assert event.id == hashlib.sha256(body).hexdigest()
    with pytest.raises(InvalidSignature):
        _verify(
            "twilio",
            body + b" ",
            headers,
            [token],
            options={"public_url": PUBLIC_URL},
            url=query_url,
        )


def test_twilio_sdk_sha256_shared_key_signature_verifies() -> None:
    key = "webhooks_sharedkey_" + os.urandom(8).hex()
    params = {"CallSid": "CA1", "CallStatus": "completed"}
    signature = RequestValidator(key).compute_signature(PUBLIC_URL, params, "HMAC_SHA256")
    headers = {
        "x-twilio-signature": signature,
        "x-twilio-webhooks-signature-settings": "key=webhooks_sharedkey_x,algorithm=HMAC_SHA256",
    }

    event = _verify(
        "twilio",
        b"CallSid=CA1&CallStatus=completed",
        headers,
        [key],
        options={"public_url": PUBLIC_URL},
    )

    assert event.type == "completed"


def test_square_sdk_accepts_our_signature() -> None:
    key = "Ibxx_5AKakO-3qeNVR61Dw"
    body = b'{"event_id": "e1", "type": "payment.updated", "data": {}}'
    ours = sign_request("square", body, key, options={"public_url": PUBLIC_URL})

    assert square_verify(
        request_body=body.decode(),
        signature_header=ours["x-square-hmacsha256-signature"],
        signature_key=key,
        notification_url=PUBLIC_URL,
    )
    event = _verify("square", body, ours, [key], options={"public_url": PUBLIC_URL})
    assert event == VerifiedEvent("e1", "payment.updated")


def test_hubspot_sdk_v3_signature_verifies_and_hubspot_sdk_accepts_ours() -> None:
    secret = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
    body = (
        b'[{"eventId":1,"subscriptionType":"contact.creation"},'
        b'{"eventId":2,"subscriptionType":"contact.creation"}]'
    )
    now_ms = str(int(time.time() * 1000))
    signature = HubSpotSignature.get_signature(
        secret, body.decode(), "v3", http_uri=PUBLIC_URL, http_method="POST", timestamp=now_ms
    )
    headers = {"x-hubspot-signature-v3": signature, "x-hubspot-request-timestamp": now_ms}

    event = _verify("hubspot", body, headers, [secret], options={"public_url": PUBLIC_URL})

    assert event.type == "contact.creation"
    assert event.id.startswith("batch-")
    ours = sign_request("hubspot", body, secret, options={"public_url": PUBLIC_URL})
    assert HubSpotSignature.is_valid(
        ours["x-hubspot-signature-v3"],
        secret,
        body.decode(),
        http_uri=PUBLIC_URL,
        signature_version="v3",
        timestamp=ours["x-hubspot-request-timestamp"],
    )


# --- raw-body HMAC -----------------------------------------------------------------------------


def test_coinbase_sdk_signature_verifies_and_coinbase_sdk_accepts_ours() -> None:
    secret = "coinbase-shared-secret"
    body = b'{"id": 1, "event": {"id": "ev-1", "type": "charge:confirmed"}}'
    headers = {
        "x-cc-webhook-signature": CoinbaseSignature._compute_signature(body.decode(), secret)
    }

    assert _verify("coinbase", body, headers, [secret]) == VerifiedEvent("ev-1", "charge:confirmed")
    ours = sign_request("coinbase", body, secret)
    assert CoinbaseSignature.verify_sig_header(
        body.decode(), ours["x-cc-webhook-signature"], secret
    )


# --- asymmetric ---------------------------------------------------------------------------------


def test_discord_pynacl_signature_verifies_and_discord_interactions_accepts_ours() -> None:
    signing_key = SigningKey.generate()
    public = signing_key.verify_key.encode().hex()
    body = b'{"id": "123", "type": 2, "data": {"name": "hello"}}'
    now = str(int(time.time()))
    headers = {
        "x-signature-ed25519": signing_key.sign(now.encode() + body).signature.hex(),
        "x-signature-timestamp": now,
    }

    event = _verify("discord", body, headers, [], options={"public_key": public})

    assert event == VerifiedEvent("123", "application_command")
    ours = sign_request("discord", body, bytes(signing_key).hex())
    assert verify_key(body, ours["x-signature-ed25519"], ours["x-signature-timestamp"], public)


def test_discord_ping_is_answered_with_a_pong() -> None:
    signing_key = SigningKey.generate()
    body = b'{"id": "1", "type": 1}'
    headers = sign_request("discord", body, bytes(signing_key).hex())

    answer = _verify(
        "discord", body, headers, [], options={"public_key": signing_key.verify_key.encode().hex()}
    )

    assert answer.body == b'{"type":1}'


def _p256() -> tuple[ec.EllipticCurvePrivateKey, str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    private = base64.b64encode(
        key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    ).decode()
    public = base64.b64encode(
        key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).decode()
    return key, private, public


def test_sendgrid_sdk_accepts_our_signature() -> None:
    _, private, public = _p256()
    body = b'[{"email":"a@example.com","event":"delivered","sg_event_id":"sg1"}]\r\n'
    ours = sign_request("sendgrid", body, private)

    assert EventWebhook(public).verify_signature(
        body.decode(),
        ours["x-twilio-email-event-webhook-signature"],
        ours["x-twilio-email-event-webhook-timestamp"],
    )
    event = _verify("sendgrid", body, ours, [], options={"public_key": public})
    assert event == VerifiedEvent("sg1", "delivered")


def test_plaid_jwt_signed_with_pyjwt_verifies_and_pyjwt_accepts_ours() -> None:
    # Plaid's SDK only fetches the key; its docs verify with a JWT library, as here.
    key, private, _ = _p256()
    numbers = key.public_key().public_numbers()

    def b64(n: int) -> str:
        return base64.urlsafe_b64encode(n.to_bytes(32, "big")).rstrip(b"=").decode()

    jwk = json.dumps(
        {"kty": "EC", "crv": "P-256", "x": b64(numbers.x), "y": b64(numbers.y), "kid": "k1"}
    )
    body = b'{\n  "webhook_type": "TRANSACTIONS",\n  "webhook_code": "SYNC_UPDATES_AVAILABLE"\n}'
    claims = {"iat": int(time.time()), "request_body_sha256": hashlib.sha256(body).hexdigest()}
    token = jwt.encode(claims, key, algorithm="ES256", headers={"kid": "k1"})

    event = _verify("plaid", body, {"plaid-verification": token}, [], options={"public_key": jwk})

    assert event.type == "TRANSACTIONS.SYNC_UPDATES_AVAILABLE"
    ours = sign_request("plaid", body, private, options={"public_key": jwk})["plaid-verification"]
    decoded = jwt.decode(ours, key.public_key(), algorithms=["ES256"])
    assert decoded["request_body_sha256"] == claims["request_body_sha256"]
    assert jwt.get_unverified_header(ours)["kid"] == "k1"


# --- behaviour that must match the providers' own validators (issue 9, item 11) ------------------


TWILIO_PORT_CASES = [
    # (public_url configured in hookgate, URL Twilio signed). Not compared: IPv6 literals and
    # user:password@ URLs, which the SDK's `netloc.split(":")[0]` mangles.
    ("https://hooks.example.com:8443/twilio", "https://hooks.example.com/twilio"),
    ("https://hooks.example.com:8443/twilio", "https://hooks.example.com:8443/twilio"),
    ("https://hooks.example.com:8443/twilio", "https://hooks.example.com:443/twilio"),
    ("https://hooks.example.com/twilio", "https://hooks.example.com:443/twilio"),
    ("https://hooks.example.com/twilio", "https://hooks.example.com:8443/twilio"),
    ("https://hooks.example.com:443/twilio", "https://hooks.example.com/twilio"),
    ("http://hooks.example.com:8080/twilio?a=1", "http://hooks.example.com/twilio?a=1"),
    ("http://hooks.example.com/twilio", "http://hooks.example.com:80/twilio"),
    ("http://hooks.example.com/twilio", "http://hooks.example.com:8080/twilio"),
    ("https://hooks.example.com:8443/twilio", "https://other.example.com/twilio"),
]


@pytest.mark.parametrize(("public_url", "signed_url"), TWILIO_PORT_CASES)
def test_twilio_port_handling_matches_the_sdk_validator(public_url: str, signed_url: str) -> None:
    token = "12345"
    params = {"CallSid": "CA1", "CallStatus": "ringing"}
    body = b"CallSid=CA1&CallStatus=ringing"
    validator = RequestValidator(token)
    signature = validator.compute_signature(signed_url, params)
    sdk_accepts = validator.validate(public_url, params, signature)

    try:
        _verify(
            "twilio",
            body,
            {"x-twilio-signature": signature},
            [token],
            options={"public_url": public_url},
        )
    except InvalidSignature:
        accepted = False
    else:
        accepted = True

    assert accepted == sdk_accepts
    # The first case is the one issue 9 reported: a non-default port Twilio signed without.
    if (public_url, signed_url) == TWILIO_PORT_CASES[0]:
        assert accepted


def test_twilio_json_body_hash_is_compared_exactly_as_the_sdk_does() -> None:
    token = "12345"
    body = b'{"property": "value", "boolean": true}'
    validator = RequestValidator(token)
    upper = validator.compute_hash(body.decode()).upper()
    url = f"{PUBLIC_URL}?bodySHA256={upper}"
    signature = validator.compute_signature(url, {})

    assert not validator.validate(url, body.decode(), signature)
    with pytest.raises(InvalidSignature):
        _verify(
            "twilio",
            body,
            {"x-twilio-signature": signature},
            [token],
            options={"public_url": PUBLIC_URL},
            url="http://10.0.0.5/webhooks/src?" + url.partition("?")[2],
        )


@pytest.mark.parametrize(
    "body",
    [
        b'{"version":1,"application_id":"1234560123453231555","type":0}',
        b'{"version": 1, "application_id": "1", "type": 0, "event": null}',
    ],
)
def test_discord_webhook_event_ping_is_answered_204_empty_and_never_an_event(body: bytes) -> None:
    signing_key = SigningKey.generate()
    public = signing_key.verify_key.encode().hex()
    now = str(int(time.time()))
    headers = {
        "x-signature-ed25519": signing_key.sign(now.encode() + body).signature.hex(),
        "x-signature-timestamp": now,
    }
    assert verify_key(body, headers["x-signature-ed25519"], now, public)

    answer = _verify("discord", body, headers, [], options={"public_key": public})

    assert answer == Handshake(b"", status_code=204)


def test_discord_webhook_event_and_interaction_ping_are_told_apart() -> None:
    signing_key = SigningKey.generate()
    public = signing_key.verify_key.encode().hex()
    seed = bytes(signing_key).hex()

    def verify(body: bytes) -> Any:
        return _verify(
            "discord", body, sign_request("discord", body, seed), [], options={"public_key": public}
        )

    event = b'{"version":1,"application_id":"1","type":1,"event":{"type":"ENTITLEMENT_CREATE"}}'
    assert verify(event) == VerifiedEvent(hashlib.sha256(event).hexdigest(), "ENTITLEMENT_CREATE")
    assert verify(b'{"id":"9","application_id":"1","type":1}') == Handshake(b'{"type":1}')
    assert isinstance(verify(b'{"id":"9","type":false}'), VerifiedEvent)


# --- issue 14: Standard Webhooks senders and timestamped HMAC ------------------------------------


@pytest.mark.parametrize("secret", [WHSEC, "openai-raw-" + os.urandom(8).hex()])
def test_openai_sdk_accepts_our_signature_for_whsec_and_raw_secrets(secret: str) -> None:
    body = b'{"object": "event", "id": "evt_1", "type": "response.completed", "created_at": 1,'
    body += b' "data": {"id": "resp_1"}}'
    ours = sign_request("openai", body, secret, event_id="msg_o")
    client = OpenAI(api_key="unused", webhook_secret=secret)

    client.webhooks.verify_signature(body, ours)  # raises when it does not verify
    unwrapped = client.webhooks.unwrap(body, ours)
    with pytest.raises(InvalidWebhookSignatureError):
        client.webhooks.verify_signature(body + b" ", ours)

    assert unwrapped.type == "response.completed"
    assert _verify("openai", body, ours, [secret]) == VerifiedEvent("msg_o", "response.completed")


def test_openai_raw_secret_is_not_base64_decoded() -> None:
    # OpenAI's verifier keys a secret without `whsec_` with its UTF-8 bytes; the standard scheme
    # would base64-decode it. A signature made the standard way must fail.
    secret = "c2VjcmV0c2VjcmV0"  # valid base64, so only the key rule tells them apart
    body = b'{"type": "batch.completed"}'
    now = int(time.time())
    standard = StandardWebhook(secret).sign(
        "msg_1", datetime.fromtimestamp(now, UTC), body.decode()
    )
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(now), "webhook-signature": standard}

    with pytest.raises(InvalidSignature):
        _verify("openai", body, headers, [secret])
    raw = StandardWebhook(secret.encode()).sign(
        "msg_1", datetime.fromtimestamp(now, UTC), body.decode()
    )
    accepted = _verify("openai", body, {**headers, "webhook-signature": raw}, [secret])
    assert accepted == VerifiedEvent("msg_1", "batch.completed")


@pytest.mark.parametrize("secret", [os.urandom(16).hex(), WHSEC])
def test_increase_sdk_accepts_our_signature_and_its_verifier_library_signature_verifies(
    secret: str,
) -> None:
    # Increase's client keys the HMAC with the secret as is, even one spelled `whsec_…`.
    body = b'{"id": "event_1", "category": "transaction.created", "type": "event",'
    body += b' "associated_object_id": "transaction_1", "associated_object_type": "transaction",'
    body += b' "created_at": "2026-01-02T03:04:05Z"}'
    ours = sign_request("increase", body, secret, event_id="msg_i")

    unwrapped = Increase(api_key="unused", webhook_secret=secret).events.unwrap(
        body.decode(), headers=ours
    )
    assert unwrapped.category == "transaction.created"
    with pytest.raises(WebhookVerificationError):
        Increase(api_key="unused", webhook_secret=secret).events.unwrap(
            body.decode() + " ", headers=ours
        )
    now = int(time.time())
    theirs = StandardWebhook(secret.encode()).sign(
        "msg_2", datetime.fromtimestamp(now, UTC), body.decode()
    )
    headers = {"webhook-id": "msg_2", "webhook-timestamp": str(now), "webhook-signature": theirs}
    assert _verify("increase", body, headers, [secret]) == VerifiedEvent(
        "msg_2", "transaction.created"
    )


def test_make_standard_webhooks_library_both_ways_and_the_topic_header() -> None:
    body = b'{"scenarioId": 42, "status": "success"}'
    ours = sign_request("make", body, WHSEC, event_id="msg_m", event_type="scenario.completed")
    StandardWebhook(WHSEC).verify(body.decode(), ours)  # raises when it does not verify

    now = int(time.time())
    theirs = StandardWebhook(WHSEC).sign("msg_3", datetime.fromtimestamp(now, UTC), body.decode())
    headers = {
        "webhook-id": "msg_3",
        "webhook-timestamp": str(now),
        "webhook-signature": theirs,
        "webhook-topic": "scenario.completed",
    }
    event = _verify("make", body, headers, [WHSEC])

    digest = hashlib.sha256(body).hexdigest()
    assert event == VerifiedEvent("msg_3", "scenario.completed", replay_key=digest)


def test_workos_sdk_accepts_our_signature() -> None:
    secret = os.urandom(16).hex()
    body = json.dumps(
        {
            "id": "event_01HWWSQZ2H5S0B5T7D3C3S9B8X",
            "event": "organization.created",
            "data": {"object": "organization", "id": "org_1", "name": "Acme", "domains": []},
            "created_at": "2026-01-02T03:04:05.000Z",
        }
    ).encode()
    ours = sign_request("workos", body, secret)

    workos_verify_header(
        event_body=body, event_signature=ours["workos-signature"], secret=secret, tolerance=180
    )
    with pytest.raises(ValueError, match="Signature hash"):
        workos_verify_header(
            event_body=body + b" ", event_signature=ours["workos-signature"], secret=secret
        )
    event = _verify("workos", body, ours, [secret])
    assert event == VerifiedEvent("event_01HWWSQZ2H5S0B5T7D3C3S9B8X", "organization.created")


def test_elevenlabs_sdk_accepts_our_signature() -> None:
    secret = "wsec_" + os.urandom(16).hex()
    body = b'{"type": "post_call_transcription", "event_timestamp": 1739537297,'
    body += b' "data": {"agent_id": "a1", "conversation_id": "c1"}}'
    ours = sign_request("elevenlabs", body, secret)
    webhooks = ElevenLabs(api_key="unused").webhooks

    event = webhooks.construct_event(body.decode(), ours["elevenlabs-signature"], secret)
    with pytest.raises(ElevenLabsBadRequest):
        webhooks.construct_event(body.decode() + " ", ours["elevenlabs-signature"], secret)

    assert event["type"] == "post_call_transcription"
    verified = _verify("elevenlabs", body, ours, [secret])
    assert verified == VerifiedEvent(hashlib.sha256(body).hexdigest(), "post_call_transcription")


@pytest.mark.parametrize("escape_body", [False, True])
def test_box_sdk_signature_verifies_and_box_sdk_accepts_ours(escape_body: bool) -> None:
    primary, secondary = os.urandom(16).hex(), os.urandom(16).hex()
    text = '{"type": "webhook_event", "trigger": "FILE.UPLOADED", "source": {"name": "Café ☕"}}'
    body = text.encode()
    stamp = datetime.fromtimestamp(int(time.time()), UTC).isoformat()
    headers = {
        "box-delivery-id": "d-1",
        "box-delivery-timestamp": stamp,
        "box-signature-version": "1",
        "box-signature-algorithm": "HmacSHA256",
    }
    headers["box-signature-secondary"] = box_signature(text, headers, secondary, escape_body)

    event = _verify("box", body, headers, [primary, secondary])

    digest = hashlib.sha256(body).hexdigest()
    assert event == VerifiedEvent("d-1", "FILE.UPLOADED", replay_key=digest)
    ours = sign_request("box", body, primary, event_id="d-2")
    assert BoxWebhooks.validate_message(text, ours, primary, secondary_key=secondary)
    assert not BoxWebhooks.validate_message(text + " ", ours, primary, secondary_key=secondary)


# --- raw-body HMAC, base64: LINE ----------------------------------------------------------------


def test_line_sdk_accepts_our_signature_and_parses_the_event_we_take_the_id_from() -> None:
    secret = "4a1b2c3d4e5f60718293a4b5c6d7e8f9"  # a channel secret is 32 hex digits
    body = (
        b'{"destination":"U2b5a","events":[{"type":"message","mode":"active",'
        b'"timestamp":1700000000000,"source":{"type":"user","userId":"U4af"},'
        b'"webhookEventId":"01FZ74A0TDDPYRVKNK77XKC3ZR","deliveryContext":{"isRedelivery":false},'
        b'"replyToken":"b60d432864f44d079f6d8efe86cf404b",'
        b'"message":{"id":"444573844083572737","type":"text","quoteToken":"q3Plxr4AgKd","text":"hi"}}]}'
    )
    ours = sign_request("line", body, secret)

    assert SignatureValidator(secret).validate(body.decode(), ours["x-line-signature"])
    [parsed] = WebhookParser(secret).parse(body.decode(), ours["x-line-signature"])
    event = _verify("line", body, ours, [secret])
    assert event == VerifiedEvent(parsed.webhook_event_id, parsed.type)
    with pytest.raises(LineInvalidSignature):
        WebhookParser(secret).parse(body.decode() + " ", ours["x-line-signature"])
    with pytest.raises(InvalidSignature):
        _verify("line", body + b" ", ours, [secret])


def test_line_signature_made_the_sdks_way_verifies() -> None:
    # The SDK ships no signer: this is the validator's own construction, checked by it first.
    secret = "channel-secret-2"
    body = (
        '{"destination":"U1","events":[{"type":"follow","webhookEventId":"01H","mode":"active"}]}'
    )
    signature = base64.b64encode(
        hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()
    ).decode()
    assert SignatureValidator(secret).validate(body, signature)

    event = _verify("line", body.encode(), {"x-line-signature": signature}, [secret])

    assert event == VerifiedEvent("01H", "follow")


# --- static token: Telegram ---------------------------------------------------------------------

TELEGRAM_UPDATE = (
    b'{"update_id":734690001,"message":{"message_id":4,"date":1700000000,'
    b'"chat":{"id":42,"type":"private","first_name":"Ada"},'
    b'"from":{"id":42,"is_bot":false,"first_name":"Ada"},"text":"/start"}}'
)


def _telegram_handler(body: bytes, headers: dict[str, str], token: str) -> tuple[int, list[Any]]:
    """POST to python-telegram-bot's own webhook handler (tornado), as Telegram would."""

    async def post() -> tuple[int, list[Any]]:
        queue: asyncio.Queue[Any] = asyncio.Queue()
        app = WebhookAppClass("/hook", Bot("123456:telegram-test-token"), queue, token)
        [sock] = bind_sockets(0, "127.0.0.1")
        server = HTTPServer(app)
        server.add_sockets([sock])
        try:
            async with httpx.AsyncClient() as client:
                url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
                answer = await client.post(url, content=body, headers=headers)
        finally:
            server.stop()
            await server.close_all_connections()
        return answer.status_code, [queue.get_nowait() for _ in range(queue.qsize())]

    return asyncio.run(post())


def test_telegram_sdk_webhook_handler_accepts_ours_and_we_take_its_update_id_and_kind() -> None:
    token = "Tg_secret-0123456789abcdef"
    ours = sign_request("telegram", TELEGRAM_UPDATE, token)

    status, [update] = _telegram_handler(TELEGRAM_UPDATE, ours, token)

    assert status == 200
    event = _verify("telegram", TELEGRAM_UPDATE, ours, [token])
    assert event == VerifiedEvent(str(update.update_id), "message")
    assert update.message is not None
    wrong = sign_request("telegram", TELEGRAM_UPDATE, "another-token")
    assert _telegram_handler(TELEGRAM_UPDATE, wrong, token) == (403, [])
    with pytest.raises(InvalidSignature):
        _verify("telegram", TELEGRAM_UPDATE, wrong, [token])


@pytest.mark.parametrize("kind", [str(kind) for kind in UpdateType])
def test_telegram_every_update_type_the_sdk_knows_is_read_as_the_type(kind: str) -> None:
    body = json.dumps({"update_id": 7, kind: {}}).encode()
    ours = sign_request("telegram", body, "tok")

    assert _verify("telegram", body, ours, ["tok"]) == VerifiedEvent("7", kind)


# --- plain hash: Cloudinary ---------------------------------------------------------------------


@contextlib.contextmanager
def _cloudinary_secret(secret: str) -> Iterator[None]:
    config = cloudinary.config()
    before = config.api_secret
    config.api_secret = secret
    try:
        yield
    finally:
        config.api_secret = before


def test_cloudinary_sdk_accepts_our_signature_and_refuses_a_tampered_body() -> None:
    secret = "X7qLTrsES31MzxxkxPPA-pAGGfU-2"
    body = b'{"notification_type":"upload","public_id":"sample","version":1700000000}'
    ours = sign_request("cloudinary", body, secret)

    with _cloudinary_secret(secret):
        assert verify_notification_signature(
            body.decode(), ours["x-cld-timestamp"], ours["x-cld-signature"]
        )
        assert not verify_notification_signature(
            body.decode() + " ", ours["x-cld-timestamp"], ours["x-cld-signature"]
        )
    event = _verify("cloudinary", body, ours, [secret])
    assert event == VerifiedEvent(hashlib.sha256(body).hexdigest(), "upload")


@pytest.mark.parametrize("algorithm", [SIGNATURE_SHA1, SIGNATURE_SHA256])
def test_cloudinary_sdk_digest_verifies_with_either_algorithm(algorithm: str) -> None:
    # The SDK's own hash helper over its documented message (it ships no notification signer).
    secret = "someApiSecret"
    body = '{"notification_type":"delete","resources":{"sample":{"type":"upload"}}}'
    timestamp = str(int(time.time()))
    signature = compute_hex_hash(body + timestamp + secret, algorithm)
    headers = {"x-cld-signature": signature, "x-cld-timestamp": timestamp}
    with _cloudinary_secret(secret):
        assert verify_notification_signature(body, timestamp, signature, algorithm=algorithm)

    event = _verify("cloudinary", body.encode(), headers, [secret])

    assert event.type == "delete"
    with pytest.raises(InvalidSignature):
        _verify("cloudinary", body.encode(), headers, ["anotherSecret"])


# --- raw-body HMAC, hex (signatures-2.md Group IV) ----------------------------------------------


def test_gocardless_sdk_parses_our_signed_batch() -> None:
    secret = "gocardless-endpoint-secret"
    body = (
        b'{"events": [{"id": "EV1", "created_at": "2026-12-02T21:00:00.000Z", '
        b'"resource_type": "payments", "action": "confirmed", "links": {"payment": "PM1"}}, '
        b'{"id": "EV2", "resource_type": "payments", "action": "paid_out", "links": {}}], '
        b'"meta": {"webhook_id": "WB1"}}'
    )
    ours = sign_request("gocardless", body, secret)

    events = gocardless_pro.webhooks.parse(body, secret, ours["webhook-signature"])

    assert [(e.id, e.resource_type, e.action) for e in events] == [
        ("EV1", "payments", "confirmed"),
        ("EV2", "payments", "paid_out"),
    ]
    with pytest.raises(GoCardlessSignatureError):
        gocardless_pro.webhooks.parse(body + b" ", secret, ours["webhook-signature"])
    event = _verify("gocardless", body, ours, [secret])
    assert event.type == "payments.batch"


def test_razorpay_sdk_accepts_our_signature() -> None:
    secret = "razorpay-webhook-secret"
    body = b'{"entity": "event", "event": "payment.captured", "payload": {}, "created_at": 1}'
    ours = sign_request("razorpay", body, secret, event_id="Ev-r1")
    utility = razorpay.Client(auth=("rzp_test_key", "rzp_test_secret")).utility

    assert utility.verify_webhook_signature(body.decode(), ours["x-razorpay-signature"], secret)
    with pytest.raises(RazorpaySignatureError):
        utility.verify_webhook_signature(body.decode() + " ", ours["x-razorpay-signature"], secret)
    event = _verify("razorpay", body, ours, [secret])
    assert (event.id, event.type) == ("Ev-r1", "payment.captured")


def test_onfido_sdk_reads_our_signed_payload() -> None:
    token = "onfido-webhook-token"
    body = (
        b'{"payload": {"resource_type": "check", "action": "check.completed", "object": '
        b'{"id": "chk-1", "status": "complete", "completed_at_iso8601": "2026-12-02T21:00:00Z", '
        b'"href": "https://api.eu.onfido.com/v3.6/checks/chk-1"}}}'
    )
    ours = sign_request("onfido", body, token)
    verifier = WebhookEventVerifier(token)

    event = verifier.read_payload(body.decode(), ours["x-sha2-signature"])

    assert event is not None
    assert event.payload.action == "check.completed"
    with pytest.raises(OnfidoInvalidSignatureError):
        verifier.read_payload(body.decode() + " ", ours["x-sha2-signature"])
    ours_event = _verify("onfido", body, ours, [token])
    assert ours_event == VerifiedEvent("chk-1:check.completed", "check.completed")


def test_modern_treasury_sdk_signature_verifies_and_the_sdk_accepts_ours() -> None:
    key = "mt-webhook-key"
    body = b'{"event": "completed", "data": {"id": "po-1", "object": "payment_order"}}'
    client = modern_treasury.ModernTreasury(
        api_key="mt-api-key", organization_id="org-1", webhook_key=key
    )
    headers = {"x-signature": client.webhooks.get_signature(body.decode())}

    event = _verify("moderntreasury", body, headers, [key])

    assert event == VerifiedEvent(hashlib.sha256(body).hexdigest(), "completed")
    ours = sign_request("moderntreasury", body, key)
    assert client.webhooks.validate_signature(body.decode(), {"X-Signature": ours["x-signature"]})
    assert not client.webhooks.validate_signature(
        body.decode() + " ", {"X-Signature": ours["x-signature"]}
    )


def test_easypost_sdk_accepts_our_signature_with_an_nfkd_normalised_secret() -> None:
    secret = "\ufb01\uff11-easypost-webhook-secret"  # NFKD: "fi1-…", other bytes than UTF-8
    body = b'{"id": "evt_1", "object": "Event", "description": "tracker.updated", "result": {}}'
    ours = sign_request("easypost", body, secret)

    parsed = easypost.util.validate_webhook(
        body, {"X-Hmac-Signature": ours["x-hmac-signature"]}, secret
    )

    assert parsed["description"] == "tracker.updated"
    with pytest.raises(EasyPostSignatureError):
        easypost.util.validate_webhook(
            body + b" ", {"X-Hmac-Signature": ours["x-hmac-signature"]}, secret
        )
    assert _verify("easypost", body, ours, [secret]) == VerifiedEvent("evt_1", "tracker.updated")
    # The NFKD form of the secret is the same key; the secret's plain UTF-8 bytes are not.
    assert _verify("easypost", body, ours, ["fi1-easypost-webhook-secret"]).id == "evt_1"
    raw = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    with pytest.raises(InvalidSignature):
        _verify("easypost", body, {"x-hmac-signature": "hmac-sha256-hex=" + raw}, [secret])


def test_airtable_pyairtable_accepts_our_signature_keyed_with_the_decoded_secret() -> None:
    mac_secret = base64.b64encode(os.urandom(32)).decode()
    body = (
        b'{"base": {"id": "app1"}, "webhook": {"id": "ach1"}, '
        b'"timestamp": "2026-12-02T21:00:00.000Z"}'
    )
    ours = sign_request("airtable", body, mac_secret)

    notification = WebhookNotification.from_request(
        body.decode(), ours["x-airtable-content-mac"], mac_secret
    )

    assert (notification.base.id, notification.webhook.id) == ("app1", "ach1")
    with pytest.raises(ValueError, match="failed validation"):
        WebhookNotification.from_request(
            body.decode() + " ", ours["x-airtable-content-mac"], mac_secret
        )
    event = _verify("airtable", body, ours, [mac_secret])
    assert event == VerifiedEvent("ach1:2026-12-02T21:00:00.000Z", "notification")


# --- Plivo (form-parameter HMAC, signature V3) ---------------------------------------------------

PLIVO_URLS = [PUBLIC_URL, PUBLIC_URL + "?tenant=7&app=a%20b&app=c"]
PLIVO_FORMS = [
    b"MessageUUID=db3ce55a-7f1d-11e1-8ea7-1231380bc196&Status=delivered&To=%2B15551234567"
    b"&Text=caf%C3%A9+%26+more&Units=1&Empty=",
    b"",  # a callback without parameters: the URL and the nonce alone
]


@pytest.mark.parametrize("url", PLIVO_URLS)
@pytest.mark.parametrize("body", PLIVO_FORMS)
def test_plivo_sdk_signature_verifies_and_the_sdk_accepts_ours(url: str, body: bytes) -> None:
    token = "MAZDQ1ZDBkNWU3NjMwNmM2YmE5"
    params = dict(parse_qsl(body.decode(), keep_blank_values=True))
    nonce = "05429567804466091622"
    # The SDK's own signer: the V3 base string (`construct_post_url`, decoded as its
    # `validate_v3_signature` does) signed with the nonce.
    base = construct_post_url(url, dict(params)).decode()
    signature = get_signature_v3(token, base, nonce).decode()
    headers = {"x-plivo-signature-v3": signature, "x-plivo-signature-v3-nonce": nonce}
    options = {"public_url": url}

    event = _verify("plivo", body, headers, ["another-token", token], options=options)

    assert event == VerifiedEvent(
        hashlib.sha256(body).hexdigest(), "delivered" if body else "webhook"
    )
    ours = sign_request("plivo", body, token, options=options)
    nonce, signature = ours["x-plivo-signature-v3-nonce"], ours["x-plivo-signature-v3"]
    assert validate_v3_signature("POST", url, nonce, token, signature, dict(params))
    assert not validate_v3_signature("POST", url, nonce, token + "x", signature, dict(params))
    assert not validate_v3_signature("POST", url, nonce + "1", token, signature, dict(params))
    if params:
        tampered = {**params, "Status": "failed"}
        assert not validate_v3_signature("POST", url, nonce, token, signature, tampered)


def test_plivo_header_listing_several_signatures_verifies_when_one_matches() -> None:
    # The SDK splits X-Plivo-Signature-V3 on commas (a rotation sends one per token).
    body = b"CallUUID=c1&Event=Hangup"
    old, new = "MAold0000000000000000", "MAnew0000000000000000"
    options = {"public_url": PUBLIC_URL}
    nonce = "12345678901234567890"
    base = construct_post_url(PUBLIC_URL, dict(parse_qsl(body.decode()))).decode()
    both = ",".join(get_signature_v3(key, base, nonce).decode() for key in (old, new))
    headers = {"x-plivo-signature-v3": both, "x-plivo-signature-v3-nonce": nonce}

    assert validate_v3_signature(
        "POST", PUBLIC_URL, nonce, new, both, {"CallUUID": "c1", "Event": "Hangup"}
    )
    assert _verify("plivo", body, headers, [new], options=options).type == "Hangup"
    with pytest.raises(InvalidSignature):
        _verify("plivo", body, headers, ["MAother00000000000000"], options=options)


# --- JWT with a shared secret: Vonage, monday.com -------------------------------------------------


def test_vonage_jwt_sdk_accepts_our_token_and_a_token_minted_as_vonage_does_verifies() -> None:
    secret = os.urandom(16).hex()
    body = b'{"message_uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab", "status": "delivered"}'
    ours = sign_request("vonage", body, secret)
    token = ours["authorization"].removeprefix("Bearer ")

    assert vonage_verify_signature(token, secret) is True
    assert vonage_verify_signature(token, secret + "x") is False
    claims = jwt.decode(token, secret, algorithms=["HS256"])
    assert claims["payload_hash"] == hashlib.sha256(body).hexdigest()

    # Vonage's side: PyJWT (what vonage-jwt builds on) signs HS256 with the payload hash.
    theirs = jwt.encode(
        {
            "iat": int(time.time()),
            "jti": "f3d4c1a0",
            "iss": "Vonage",
            "payload_hash": hashlib.sha256(body).hexdigest(),
            "api_key": "abc123",
            "application_id": "aaaaaaaa-0000-0000-0000-000000000000",
        },
        secret,
        algorithm="HS256",
    )
    event = _verify("vonage", body, {"authorization": f"Bearer {theirs}"}, [secret])
    assert event == VerifiedEvent("aaaaaaaa-bbbb-cccc-dddd-0123456789ab", "delivered")
    with pytest.raises(InvalidSignature):  # the token's payload_hash pins the body
        _verify("vonage", body + b" ", {"authorization": f"Bearer {theirs}"}, [secret])


def test_vonage_token_without_payload_hash_or_with_another_algorithm_is_refused() -> None:
    secret = os.urandom(32).hex()  # 64 bytes: PyJWT's minimum for HS512
    body = b'{"uuid": "call-1", "status": "answered"}'
    bare = jwt.encode({"iat": int(time.time())}, secret, algorithm="HS256")
    with pytest.raises(InvalidSignature):
        _verify("vonage", body, {"authorization": f"Bearer {bare}"}, [secret])
    claims = {"iat": int(time.time()), "payload_hash": hashlib.sha256(body).hexdigest()}
    hs512 = jwt.encode(claims, secret, algorithm="HS512")
    with pytest.raises(InvalidSignature):
        _verify("vonage", body, {"authorization": f"Bearer {hs512}"}, [secret])
    unsigned = jwt.encode(claims, None, algorithm="none")
    with pytest.raises(InvalidSignature):
        _verify("vonage", body, {"authorization": f"Bearer {unsigned}"}, [secret])
    with pytest.raises(InvalidSignature):  # refused before any HMAC
        _verify("vonage", body, {"authorization": "Bearer " + "a.b." * 3000}, [secret])


def test_monday_pyjwt_reads_our_token_and_a_token_minted_as_monday_does_verifies() -> None:
    # monday.com publishes no SDK verifier: PyJWT stands in on both sides (documented claims).
    secret = os.urandom(16).hex()
    body = b'{"event": {"type": "create_pulse", "triggerUuid": "b5ed2e17c530f43668de"}}'
    ours = sign_request("monday", body, secret)
    claims = jwt.decode(ours["authorization"], secret, algorithms=["HS256"])
    assert claims["exp"] > claims["iat"]

    now = int(time.time())
    theirs = jwt.encode(
        {
            "accountId": 1,
            "userId": 2,
            "aud": PUBLIC_URL,
            "iat": now,
            "exp": now + 300,
            "shortLivedToken": "eyJhbGciOi.x.y",
        },
        secret,
        algorithm="HS256",
    )
    for value in (theirs, f"Bearer {theirs}"):
        event = _verify("monday", body, {"authorization": value}, [secret])
        assert event == VerifiedEvent("b5ed2e17c530f43668de", "create_pulse")
    expired = jwt.encode({"iat": now - 100, "exp": now - 10}, secret, algorithm="HS256")
    with pytest.raises(StaleTimestamp):
        _verify("monday", body, {"authorization": expired}, [secret])


def test_monday_challenge_is_echoed_and_never_an_event() -> None:
    body = b'{"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}'

    answer = _verify("monday", body, {}, ["signing-secret"])

    assert answer == Handshake(
        b'{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}'
    )
    with pytest.raises(MissingSignature):  # anything beside the challenge is an event to sign
        _verify("monday", b'{"challenge": "x", "event": {}}', {}, ["signing-secret"])


# --- pinned public keys: Telnyx -------------------------------------------------------------------


def test_telnyx_sdk_accepts_our_signature_and_a_pynacl_signature_verifies() -> None:
    signing_key = SigningKey.generate()
    public = base64.b64encode(bytes(signing_key.verify_key)).decode()
    body = b'{"data": {"id": "0ccc7b54-4df3", "event_type": "message.finalized"}}'
    ours = sign_request("telnyx", body, bytes(signing_key).hex())

    telnyx_verify(body, ours, public)  # raises when it does not verify
    telnyx_verify_ed25519(Telnyx(api_key="KEY_test", public_key=public), body, ours)
    with pytest.raises(TelnyxVerificationError):
        telnyx_verify(body + b" ", ours, public)

    # Telnyx's side: Ed25519 over "{timestamp}|{body}", as its SDK reconstructs it.
    now = str(int(time.time()))
    signature = signing_key.sign(now.encode() + b"|" + body).signature
    headers = {
        "telnyx-signature-ed25519": base64.b64encode(signature).decode(),
        "telnyx-timestamp": now,
    }
    event = _verify("telnyx", body, headers, [], options={"public_key": public})
    assert event == VerifiedEvent("0ccc7b54-4df3", "message.finalized")
