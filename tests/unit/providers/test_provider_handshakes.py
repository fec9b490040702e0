"""Handshakes: answered synchronously, exactly as each provider requires, never as an event."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from providers import Handshake, InvalidSignature, MissingSignature, VerifiedEvent, load
from providers.testing import build_provider, make_request, sign_request

SECRET = "handshake-secret"


def _signed(name: str, body: bytes, **kwargs: Any) -> Any:
    provider = build_provider(load(name), [SECRET], options=kwargs.pop("options", None))
    headers = sign_request(name, body, SECRET, **kwargs)
    return provider.verify(make_request(body, headers))


def test_slack_url_verification_echoes_the_challenge() -> None:
    body = (
        b'{"token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", '
        b'"type": "url_verification"}'
    )

    answer = _signed("slack", body)

    assert answer == Handshake(
        b'{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}'
    )


def test_slack_url_verification_with_a_bad_signature_is_refused() -> None:
    body = b'{"challenge": "c", "type": "url_verification"}'
    provider = build_provider(load("slack"), [SECRET])
    headers = sign_request("slack", body, "another secret")

    with pytest.raises(InvalidSignature):
        provider.verify(make_request(body, headers))


def test_zoom_url_validation_answers_the_token_and_its_hmac() -> None:
    body = (
        b'{"payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"}, "event": "endpoint.url_validation"}'
    )

    answer = _signed("zoom", body)

    expected = hmac.digest(SECRET.encode(), b"qgg8vlvZRS6UYooatFL8Aw", "sha256").hex()
    assert isinstance(answer, Handshake)
    assert json.loads(answer.body) == {
        "plainToken": "qgg8vlvZRS6UYooatFL8Aw",
        "encryptedToken": expected,
    }


def test_twitch_callback_verification_returns_the_challenge_as_text() -> None:
    body = (
        b'{"challenge": "pogchamp-kappa-360noscope-vohiyo", '
        b'"subscription": {"type": "channel.follow"}}'
    )

    answer = _signed("twitch", body, event_type="webhook_callback_verification")

    assert answer == Handshake(b"pogchamp-kappa-360noscope-vohiyo", content_type="text/plain")


def test_twitch_notification_is_an_event_typed_by_its_subscription() -> None:
    body = b'{"subscription": {"type": "channel.follow"}, "event": {}}'
    provider = build_provider(load("twitch"), [SECRET])
    headers = sign_request("twitch", body, SECRET, event_id="msg-1", event_type="notification")
    headers["twitch-eventsub-subscription-type"] = "channel.follow"

    event = provider.verify(make_request(body, headers))

    # The message ID is signed; the type headers are not, hence a replay key.
    replay_key = hashlib.sha256(body).hexdigest()
    assert event == VerifiedEvent("msg-1", "notification.channel.follow", replay_key=replay_key)


def _get(
    name: str, query: dict[str, str], headers: dict[str, str] | None = None, **options: Any
) -> Any:
    provider = build_provider(load(name), [SECRET], options=options)
    return provider.verify(make_request(b"", headers or {}, method="GET", query=query))


META_QUERY = {"hub.mode": "subscribe", "hub.verify_token": "vt-123", "hub.challenge": "1158201444"}


def test_meta_subscription_get_echoes_the_challenge_when_the_token_matches() -> None:
    answer = _get("meta", META_QUERY, verify_token="vt-123")

    assert answer == Handshake(b"1158201444", content_type="text/plain")


@pytest.mark.parametrize(
    ("query", "options", "error"),
    [
        (
            {**META_QUERY, "hub.verify_token": "vt-124"},
            {"verify_token": "vt-123"},
            InvalidSignature,
        ),
        (META_QUERY, {}, InvalidSignature),  # no verify_token configured: nothing can match
        ({"hub.challenge": "1"}, {"verify_token": "vt-123"}, MissingSignature),
    ],
)
def test_meta_subscription_get_is_refused_otherwise(
    query: dict[str, str], options: dict[str, str], error: type
) -> None:
    with pytest.raises(error):
        _get("meta", query, **options)


def test_dropbox_get_echoes_the_challenge_as_unsniffable_text() -> None:
    answer = _get("dropbox", {"challenge": "abc123"})

    assert answer == Handshake(
        b"abc123", content_type="text/plain", headers=(("x-content-type-options", "nosniff"),)
    )
    with pytest.raises(MissingSignature):
        _get("dropbox", {})


def test_okta_verification_get_answers_the_challenge() -> None:
    answer = _get("okta", {}, {"x-okta-verification-challenge": "6xvQrqYe6Rd7jY4D"})

    assert answer == Handshake(b'{"verification":"6xvQrqYe6Rd7jY4D"}')


def test_xero_intent_to_receive_is_answered_not_published() -> None:
    body = b'{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":"S0m3r4Nd0mt3xt"}'

    assert _signed("xero", body) == Handshake(b"", content_type="text/plain")
    provider = build_provider(load("xero"), [SECRET])
    with pytest.raises(InvalidSignature):  # Xero expects 401 for a wrong signature
        provider.verify(make_request(body, sign_request("xero", body, "wrong")))


def test_discord_webhook_event_ping_is_answered_204_and_events_typed_by_their_event() -> None:
    seed = "11" * 32
    public = "d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737"
    provider = build_provider(load("discord"), [], options={"public_key": public})

    def verify(body: bytes) -> Any:
        return provider.verify(make_request(body, sign_request("discord", body, seed)))

    assert verify(b'{"version": 1, "type": 0, "event": null}') == Handshake(b"", status_code=204)
    event = verify(b'{"version": 1, "type": 1, "event": {"type": "APPLICATION_AUTHORIZED"}}')
    assert isinstance(event, VerifiedEvent)
    assert event.type == "APPLICATION_AUTHORIZED"
