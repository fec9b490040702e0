"""Google Play RTDN over Pub/Sub push, and Google's keys fetched by `providers.keyfetch`.

A source without `certificates` fetches Google's certificate document from the fixed URL, never
inside `verify`: a miss raises `KeyUnavailable` carrying the load, the gateway awaits it and
verifies once more; a token naming an unknown key reloads the document at most every 5 minutes.
Here the transport is a fake that counts fetches (the loopback end-to-end test is in
tests/integration/test_google_keyfetch.py).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from providers import (
    InvalidSignature,
    KeyUnavailable,
    Malformed,
    VerificationError,
    VerifiedEvent,
    load,
)
from providers.builtin.google_oidc import CERTS_URL, parse_certificates
from providers.keyfetch import Fetched, KeyFetcher
from providers.testing import build_provider, make_request, sign_request
from tests.unit.providers._catalogue import (
    GOOGLE,
    PLAY_NOTIFICATION,
    google_certificates,
    play_push,
    rsa_pkcs8,
)

PLAY = {**GOOGLE, "package_name": "com.example.hookgate"}


def _play(notification: dict[str, Any], **options: Any) -> VerifiedEvent | VerificationError:
    key = rsa_pkcs8()
    source = {**PLAY, **options, "certificates": google_certificates(key)}
    body = play_push(notification, message_id="4711")
    headers = sign_request("google-play", body, key, options=source)
    try:
        outcome = build_provider(load("google-play"), [], options=source).verify(
            make_request(body, headers)
        )
    except VerificationError as err:
        return err
    assert isinstance(outcome, VerifiedEvent)
    return outcome


@pytest.mark.parametrize(
    ("notification", "expected"),
    [
        ({"subscriptionNotification": {"notificationType": 4}}, "SUBSCRIPTION_PURCHASED"),
        ({"subscriptionNotification": {"notificationType": 13}}, "SUBSCRIPTION_EXPIRED"),
        ({"subscriptionNotification": {"notificationType": 99}}, "subscriptionNotification.99"),
        ({"oneTimeProductNotification": {"notificationType": 2}}, "ONE_TIME_PRODUCT_CANCELED"),
        ({"voidedPurchaseNotification": {"refundType": 1}}, "voidedPurchaseNotification"),
        ({"testNotification": {"version": "1.0"}}, "testNotification"),
    ],
)
def test_play_type_comes_from_the_notification_it_carries(
    notification: dict[str, Any], expected: str
) -> None:
    base = {k: v for k, v in PLAY_NOTIFICATION.items() if k != "subscriptionNotification"}

    event = _play({**base, **notification})

    assert event == VerifiedEvent("4711", expected, occurred_at=1764745200.0)


def test_play_notification_for_another_package_is_refused_a_list_may_name_several() -> None:
    other = {**PLAY_NOTIFICATION, "packageName": "com.example.other"}

    assert isinstance(_play(other), InvalidSignature)
    assert isinstance(
        _play(other, package_name=["com.example.hookgate", "com.example.other"]), VerifiedEvent
    )


@pytest.mark.parametrize(
    "data",
    ["not base64!", "bm90IGpzb24=", "WzFd"],  # not base64, not JSON, not an object
)
def test_play_message_data_that_is_no_notification_is_malformed(data: str) -> None:
    key = rsa_pkcs8()
    source = {**PLAY, "certificates": google_certificates(key)}
    body = json.dumps({"message": {"data": data, "messageId": "1"}}).encode()
    headers = sign_request("google-play", body, key, options=source)

    with pytest.raises(Malformed):
        build_provider(load("google-play"), [], options=source).verify(make_request(body, headers))


@pytest.mark.parametrize(
    "envelope",
    [{"message": [1]}, {"message": "x"}, {"message": None}, [1], "x"],  # no message object
)
def test_play_envelope_without_a_message_object_is_malformed(envelope: Any) -> None:
    # The token covers no part of the body: any shape reaches the provider once it verifies.
    key = rsa_pkcs8()
    source = {**PLAY, "certificates": google_certificates(key)}
    body = json.dumps(envelope).encode()
    headers = sign_request("google-play", body, key, options=source)

    with pytest.raises(Malformed):
        build_provider(load("google-play"), [], options=source).verify(make_request(body, headers))


@pytest.mark.parametrize("package", [["com.example.hookgate"], {"a": 1}, 7, None])
def test_play_package_name_that_is_no_string_is_refused(package: Any) -> None:
    assert isinstance(_play({**PLAY_NOTIFICATION, "packageName": package}), InvalidSignature)


def test_play_notification_without_a_notification_object_is_malformed() -> None:
    assert isinstance(_play({"version": "1.0", "packageName": "com.example.hookgate"}), Malformed)


def test_pubsub_type_is_the_event_type_attribute_else_pubsub() -> None:
    key = rsa_pkcs8()
    source = {**GOOGLE, "certificates": google_certificates(key)}
    provider = build_provider(load("google-pubsub"), [], options=source)
    message: dict[str, Any] = {"data": "e30=", "messageId": "77"}
    typed = {**message, "attributes": {"eventType": "OBJECT_FINALIZE", "bucketId": "b"}}

    for sent, expected in ((message, "pubsub"), (typed, "OBJECT_FINALIZE")):
        body = json.dumps({"message": sent, "subscription": "projects/p/subscriptions/s"}).encode()
        event = provider.verify(
            make_request(body, sign_request("google-pubsub", body, key, options=source))
        )
        assert event == VerifiedEvent("77", expected)
    no_id = b'{"message": {"data": "e30="}}'
    with pytest.raises(Malformed):
        provider.verify(
            make_request(no_id, sign_request("google-pubsub", no_id, key, options=source))
        )


# --- fetched keys ------------------------------------------------------------------------------


class FakeTransport:
    def __init__(self, document: str) -> None:
        self.document = document
        self.urls: list[str] = []

    def __call__(self, url: str, timeout: float, max_bytes: int) -> Fetched:
        self.urls.append(url)
        return Fetched(self.document.encode(), "public, max-age=20000, must-revalidate")


def _fetching(document: str, clock: list[float] | None = None) -> tuple[Any, FakeTransport]:
    provider = build_provider(load("google-pubsub"), [], options=GOOGLE)
    transport = FakeTransport(document)
    now = clock or [time.time()]
    # Test-only: the same fetcher the provider builds, with a fake transport and clock.
    provider._fetcher = KeyFetcher(
        "test", parse_certificates, provider.url_rule, transport=transport, clock=lambda: now[0]
    )
    return provider, transport


BODY = b'{"message": {"data": "e30=", "messageId": "m-9"}}'


def test_keys_are_fetched_from_googles_fixed_url_outside_verify_then_cached() -> None:
    key = rsa_pkcs8()
    provider, transport = _fetching(google_certificates(key))
    request = make_request(BODY, sign_request("google-pubsub", BODY, key, options=GOOGLE))

    with pytest.raises(KeyUnavailable) as missing:
        provider.verify(request)  # nothing fetched inside verify
    assert transport.urls == []
    assert missing.value.load is not None
    asyncio.run(missing.value.load())

    assert provider.verify(request) == VerifiedEvent("m-9", "pubsub")
    assert provider.verify(request) == VerifiedEvent("m-9", "pubsub")
    assert transport.urls == [CERTS_URL]


def test_an_unknown_key_id_reloads_googles_keys_at_most_every_five_minutes() -> None:
    old, new = rsa_pkcs8(), rsa_pkcs8()
    now = time.time()
    clock = [now]
    provider, transport = _fetching(google_certificates(old), clock)
    first = make_request(BODY, sign_request("google-pubsub", BODY, old, options=GOOGLE))
    with pytest.raises(KeyUnavailable) as missing:
        provider.verify(first)
    asyncio.run(missing.value.load())
    rotated = sign_request("google-pubsub", BODY, new, options=GOOGLE, timestamp=int(now))

    # Fetched just now: a new key ID is refused without another fetch.
    with pytest.raises(InvalidSignature):
        provider.verify(make_request(BODY, rotated, received_at=now))
    assert len(transport.urls) == 1
    # Five minutes on, Google rotated its keys: the unknown key ID reloads them once.
    transport.document = google_certificates(new)
    clock[0] = now + 301
    later = make_request(BODY, rotated, received_at=now + 301)
    with pytest.raises(KeyUnavailable) as reload:
        provider.verify(later)
    asyncio.run(reload.value.load())
    assert provider.verify(later) == VerifiedEvent("m-9", "pubsub")
    assert len(transport.urls) == 2


def test_a_document_that_is_no_certificate_map_serves_no_key() -> None:
    for document in ('{"k": "not a pem"}', "[]", "{}", "<html>"):
        with pytest.raises(ValueError):  # noqa: PT011 (each parser refusal is a ValueError)
            parse_certificates(document.encode())
    key = rsa_pkcs8()
    provider, _ = _fetching("{}")
    request = make_request(BODY, sign_request("google-pubsub", BODY, key, options=GOOGLE))
    with pytest.raises(KeyUnavailable) as missing:
        provider.verify(request)
    asyncio.run(missing.value.load())
    with pytest.raises(InvalidSignature):  # the URL served no usable key: 401, never accepted
        provider.verify(request)


def test_pinned_certificates_are_checked_at_startup() -> None:
    from providers import ProviderConfigError

    with pytest.raises(ProviderConfigError, match=r"^sources\.test\.certificates: "):
        build_provider(load("google-pubsub"), [], options={**GOOGLE, "certificates": "{}"})
    with pytest.raises(ProviderConfigError, match=r"^sources\.test\.audience: "):
        build_provider(load("google-pubsub"), [], options={"service_account": "a@b"})
    with pytest.raises(ProviderConfigError, match=r"^sources\.test\.secrets: "):
        build_provider(load("google-pubsub"), ["s"], options=GOOGLE)
    with pytest.raises(ProviderConfigError, match=r"^sources\.test\.package_name: "):
        build_provider(load("google-play"), [], options=GOOGLE)
