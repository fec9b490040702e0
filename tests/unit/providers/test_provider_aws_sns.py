"""AWS SNS (`providers.builtin.aws_sns`): the certificate URL allow-list (nothing fetched for an
off-list URL), the fetch path through `KeyUnavailable`, certificate checks, confirmations and
`auto_confirm`, the refusals, and the community validator (`aws-sns-message-validator`) verifying
ours. The published vectors are in test_provider_vectors.py."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sns_message_validator import SNSMessageValidator
from sns_message_validator.exceptions import SignatureVerificationFailureException

from providers import (
    Handshake,
    InvalidSignature,
    KeyUnavailable,
    MissingSignature,
    ProviderConfigError,
    StaleTimestamp,
    VerificationError,
    VerifiedEvent,
    load,
)
from providers.builtin.aws_sns import AwsSnsProvider, sign_message, sns_timestamp
from providers.keyfetch import Fetched
from providers.testing import build_provider, make_request
from tests.keyserver import KeyServer, LoopbackRule
from tests.unit.providers._catalogue import certificate_for, rsa_pkcs8, sns_certificate

KEY = rsa_pkcs8()
CERT = sns_certificate(KEY)
TOPIC = "arn:aws:sns:us-east-2:123456789012:orders"
TOPICS = {"topic_arns": [TOPIC]}
_CERT_FILE = "SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfd0.pem"
CERT_URL = "https://sns.us-east-2.amazonaws.com/SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfd0.pem"
SUBSCRIBE_URL = (
    "https://sns.us-east-2.amazonaws.com/?Action=ConfirmSubscription"
    f"&TopicArn={TOPIC}&Token=2336412f37fb687f5d51e6e2425c464d"
)


def _message(kind: str = "Notification", **fields: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "Type": kind,
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": TOPIC,
        "Message": '{"order": "o-1"}',
        "Timestamp": sns_timestamp(time.time()),
    }
    if kind != "Notification":
        message |= {"Token": "2336412f37fb687f5d51e6e2425c464d", "SubscribeURL": SUBSCRIBE_URL}
    return {**message, **fields}


def _envelope(message: dict[str, Any], *, url: str = CERT_URL, version: str = "2") -> bytes:
    signed = sign_message(message, KEY, version)
    return json.dumps({**signed, "SigningCertURL": url}).encode()


def _provider(cls: type[AwsSnsProvider] = AwsSnsProvider, **options: Any) -> Any:
    options = {"certificates": [CERT], "topic_arns": [TOPIC], **options}
    return build_provider(cls, [], options=options)


def _verify(body: bytes, provider: Any = None, headers: dict[str, str] | None = None) -> Any:
    return (provider or _provider()).verify(make_request(body, headers or {}))


def test_a_signed_notification_is_the_event_typed_by_its_topic() -> None:
    for version in ("1", "2"):
        event = _verify(_envelope(_message(), version=version))
        assert event.id == "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324"
        assert event.type == "orders"
        assert event.replay_key is None


@pytest.mark.parametrize(
    "url",
    [
        "http://sns.us-east-2.amazonaws.com/SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfd0.pem",
        "https://sns.us-east-2.amazonaws.com:443/SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfd0.pem",
        "https://user@sns.us-east-2.amazonaws.com/SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfd0.pem",
        "https://sns.us-east-2.amazonaws.com./SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfd0.pem",
        "https://sns.us-east-2.amazonaws.com%2F@evil.example/x.pem",
        "https://sns.us-east-2.amazonaws.com.evil.example/x.pem",
        "https://evil.example/sns.us-east-2.amazonaws.com/x.pem",
        # S3's legacy bucket hosts and API Gateway's match the official validators' pattern.
        f"https://sns.s3-us-west-2.amazonaws.com/{_CERT_FILE}",
        f"https://sns.s3-external-1.amazonaws.com/{_CERT_FILE}",
        f"https://sns.execute-api.amazonaws.com/{_CERT_FILE}",
        f"https://SNS.US-EAST-2.AMAZONAWS.COM/{_CERT_FILE}",
        "https://sns.us-east-2.amazonaws.com/SimpleNotificationService-xyz.pem",
        "https://s3.amazonaws.com/bucket/x.pem",
        "https://sns.amazonaws.com/x.pem",  # no region
        "https://sns.us.amazonaws.com/x.pem",  # region shorter than 3
        "https://mybucket.sns.us-east-2.amazonaws.com/x.pem",
        "https://sns.us-east-2.amazonaws.com/x.pem?x=1",
        "https://sns.us-east-2.amazonaws.com/x.pem#f",
        "https://sns.us-east-2.amazonaws.com/x.txt",
        "https://sns.us-east-2.amazonaws.com/a/x.pem",
        "https://sns.us-east-2.amazonaws.com/../x.pem",
        "https://sns.us-east-2.amazonaws.com/%2e%2e.pem",
        "https://52.94.0.1/x.pem",
        "https://[::1]/x.pem",
        "https://sns.us-east-2.amazonaws.com\\.evil.example/x.pem",
        "file:///etc/ssl/cert.pem",
        "",
    ],
)
def test_off_list_certificate_urls_are_refused_and_nothing_is_fetched(url: str) -> None:
    fetching = build_provider(
        AwsSnsProvider, [], options=TOPICS
    )  # no pinned certificate: it would fetch
    body = _envelope(_message(), url=url)
    for provider in (fetching, _provider()):
        with pytest.raises(InvalidSignature) as caught:
            _verify(body, provider)
        assert not isinstance(caught.value, KeyUnavailable)  # no load offered: nothing fetched
    assert fetching.fetcher.fetches == 0
    assert len(fetching.fetcher) == 0


@pytest.mark.parametrize(
    "url",
    [
        CERT_URL,
        "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfd0.pem",
        "https://sns.eu-central-1.amazonaws.com/SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfd0.pem",
    ],
)
def test_an_allowed_url_is_a_key_unavailable_with_a_load(url: str) -> None:
    provider = build_provider(AwsSnsProvider, [], options=TOPICS)
    with pytest.raises(KeyUnavailable) as caught:
        _verify(_envelope(_message(), url=url), provider)
    assert caught.value.load is not None
    assert provider.fetcher.fetches == 0  # verify itself fetched nothing


def _loopback(server: KeyServer) -> type[AwsSnsProvider]:
    rule = LoopbackRule(server.port)
    return type("LoopbackSns", (AwsSnsProvider,), {"url_rule": rule, "subscribe_rule": rule})


def _after_load(provider: Any, body: bytes) -> Any:
    request = make_request(body, {})
    try:
        return provider.verify(request)
    except KeyUnavailable as missing:
        load = missing.load
    assert load is not None
    asyncio.run(load())
    try:
        return provider.verify(request)
    except (InvalidSignature, KeyUnavailable) as err:
        return err


def test_the_certificate_is_fetched_once_then_served_from_the_cache() -> None:
    with KeyServer({"/cert.pem": CERT.encode()}) as server:
        provider = build_provider(_loopback(server), [], options=TOPICS)
        body = _envelope(_message(), url=server.url("/cert.pem"))
        assert isinstance(_after_load(provider, body), VerifiedEvent)
        assert isinstance(_verify(body, provider), VerifiedEvent)  # cached: no load needed
        assert server.hits["/cert.pem"] == 1


@pytest.mark.parametrize(
    ("served", "why"),
    [
        (b"not a certificate", "not PEM"),
        (certificate_for(KEY, "sns.evil.example").encode(), "another name"),
        (sns_certificate(rsa_pkcs8()).encode(), "another key"),
        (certificate_for(KEY, "sns.amazonaws.com", valid_until=time.time() - 60).encode(), "old"),
    ],
)
def test_a_fetched_certificate_that_does_not_fit_is_refused(served: bytes, why: str) -> None:
    with KeyServer({"/cert.pem": served}) as server:
        provider = build_provider(_loopback(server), [], options=TOPICS)
        outcome = _after_load(provider, _envelope(_message(), url=server.url("/cert.pem")))
        assert isinstance(outcome, InvalidSignature), why
        assert not isinstance(outcome, KeyUnavailable), why


def test_a_key_server_that_fails_is_key_unavailable_not_accepted() -> None:
    with KeyServer() as server:
        provider = build_provider(_loopback(server), [], options=TOPICS)
        outcome = _after_load(provider, _envelope(_message(), url=server.url("/fail")))
        assert isinstance(outcome, KeyUnavailable)
        assert outcome.status == "key_unavailable"


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({"Message": "changed"}, InvalidSignature),
        ({"TopicArn": "arn:aws:sns:us-east-2:123456789012:other"}, InvalidSignature),
        ({"SignatureVersion": "3"}, InvalidSignature),
        ({"Type": "Unknown"}, InvalidSignature),
        ({"Type": ["Notification"]}, InvalidSignature),
        ({"Type": {"a": 1}}, InvalidSignature),
        ({"Timestamp": "2024-13-01T00:00:00.000Z"}, InvalidSignature),
        ({"MessageId": 5}, InvalidSignature),
        ({"Timestamp": "yesterday"}, InvalidSignature),
        ({"Signature": "%%%"}, InvalidSignature),
        ({"Signature": "A" * 2000}, InvalidSignature),
        ({"Signature": None}, MissingSignature),
        ({"SigningCertURL": None}, MissingSignature),
        ({"SigningCertUrl": CERT_URL}, InvalidSignature),  # both spellings at once
        ({"Signature": 5}, InvalidSignature),
    ],
)
def test_changed_or_broken_fields_are_refused(change: dict[str, Any], refusal: type) -> None:
    envelope = json.loads(_envelope(_message()))
    for key, value in change.items():
        if value is None:
            del envelope[key]
        else:
            envelope[key] = value
    with pytest.raises(refusal):
        _verify(json.dumps(envelope).encode())


def test_lambda_spellings_and_a_null_subject_verify() -> None:
    envelope = json.loads(_envelope(_message()))
    envelope["SigningCertUrl"] = envelope.pop("SigningCertURL")
    envelope["Subject"] = None
    assert isinstance(_verify(json.dumps(envelope).encode()), VerifiedEvent)


def test_raw_message_delivery_and_bare_bodies_are_missing_signature() -> None:
    with pytest.raises(MissingSignature):
        _verify(b'{"order": "o-1"}', headers={"x-amz-sns-rawdelivery": "true"})
    with pytest.raises(MissingSignature):
        _verify(b'{"order": "o-1"}')


def test_oversized_and_bracket_heavy_bodies_are_refused_unparsed() -> None:
    with pytest.raises(InvalidSignature):
        _verify(b'{"Message": "' + b"a" * (600 * 1024) + b'"}')
    with pytest.raises(InvalidSignature):
        _verify(b"[" + b"[]," * 20_000 + b"[]]")


def test_the_timestamp_is_held_to_an_hour_either_way_and_tolerance_zero_lifts_it() -> None:
    for skew in (-3700, 3700):
        body = _envelope(_message(Timestamp=sns_timestamp(time.time() + skew)))
        with pytest.raises(StaleTimestamp):
            _verify(body)
        assert isinstance(
            build_provider(
                AwsSnsProvider, [], options={"certificates": [CERT], **TOPICS}, tolerance_seconds=0
            ).verify(make_request(body, {})),
            VerifiedEvent,
        )
    assert isinstance(
        _verify(_envelope(_message(Timestamp=sns_timestamp(time.time() - 3500)))), VerifiedEvent
    )


def test_an_expired_pinned_certificate_refuses_everything() -> None:
    expired = certificate_for(KEY, "sns.amazonaws.com", valid_until=time.time() - 1)
    provider = build_provider(AwsSnsProvider, [], options={"certificates": [expired], **TOPICS})
    with pytest.raises(InvalidSignature, match="not valid at this time"):
        _verify(_envelope(_message()), provider)


def test_topic_arns_limit_the_topics() -> None:
    provider = _provider(topic_arns=[TOPIC])
    assert isinstance(_verify(_envelope(_message()), provider), VerifiedEvent)
    # SNS signs every account's topics with one certificate: another account's `orders` topic,
    # signed by SNS itself, is not this source's.
    other = _message(TopicArn="arn:aws:sns:us-east-2:999999999999:orders")
    with pytest.raises(InvalidSignature, match="topic_arns"):
        _verify(_envelope(other), provider)


def test_a_line_break_in_a_signed_field_other_than_message_is_refused() -> None:
    # `Key\nValue\n`: a MessageId of "m-1\nSubject\nhello" would sign as a Subject field.
    original = sign_message(_message(MessageId="m-1", Subject="hello"), KEY)
    shifted = {k: v for k, v in original.items() if k != "Subject"}
    shifted["MessageId"] = "m-1\nSubject\nhello"
    body = json.dumps({**shifted, "SigningCertURL": CERT_URL}).encode()
    assert isinstance(_verify(_envelope(_message(MessageId="m-1", Subject="hello"))), VerifiedEvent)
    with pytest.raises(InvalidSignature, match="line break"):
        _verify(body)
    assert isinstance(_verify(_envelope(_message(Message="line 1\nline 2"))), VerifiedEvent)


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({}, "topic_arns"),
        ({"topic_arns": ["orders"]}, "topic_arns[0]"),
        ({"auto_confirm": "yes", "topic_arns": [TOPIC]}, "auto_confirm"),
        ({"certificates": [certificate_for(KEY, "sns.evil.example")]}, "certificates[0]"),
        ({"certificates": ["-----BEGIN CERTIFICATE-----"]}, "certificates[0]"),
    ],
)
def test_config_errors_name_the_key(options: dict[str, Any], key: str) -> None:
    with pytest.raises(ProviderConfigError) as caught:
        build_provider(AwsSnsProvider, [], options={"certificates": [CERT], **options})
    assert str(caught.value).startswith(f"sources.test.{key}: ")
    with pytest.raises(ProviderConfigError, match=r"secrets"):
        build_provider(AwsSnsProvider, ["a-secret"], options=TOPICS)


def test_a_subscription_confirmation_is_a_handshake_logged_for_an_operator(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, "hookgate.providers.aws_sns"):
        answer = _verify(_envelope(_message("SubscriptionConfirmation")))
    assert isinstance(answer, Handshake)
    assert (answer.status_code, answer.follow_up) == (200, None)
    [record] = caplog.records
    assert record.fields["subscribe_url"] == SUBSCRIBE_URL  # type: ignore[attr-defined]


def test_an_unsubscribe_confirmation_is_a_handshake_too() -> None:
    answer = _verify(_envelope(_message("UnsubscribeConfirmation")))
    assert isinstance(answer, Handshake)
    assert answer.follow_up is None


def test_a_confirmation_must_be_signed_with_its_token() -> None:
    envelope = json.loads(_envelope(_message("SubscriptionConfirmation")))
    envelope["SubscribeURL"] = SUBSCRIBE_URL.replace("Token=2", "Token=3")
    with pytest.raises(InvalidSignature):
        _verify(json.dumps(envelope).encode())


def test_auto_confirm_gets_the_subscribe_url_in_the_background() -> None:
    fetched: list[str] = []

    def transport(url: str, timeout: float, max_bytes: int) -> Fetched:
        fetched.append(url)
        return Fetched(b"<ConfirmSubscriptionResponse/>")

    confirming = type(
        "Confirming", (AwsSnsProvider,), {"confirm_transport": staticmethod(transport)}
    )
    provider = _provider(confirming, auto_confirm=True, topic_arns=[TOPIC])
    answer = _verify(_envelope(_message("SubscriptionConfirmation")), provider)
    assert isinstance(answer, Handshake)
    assert fetched == []  # nothing inside verify
    assert answer.follow_up is not None
    asyncio.run(answer.follow_up())
    assert fetched == [SUBSCRIBE_URL]


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/?Action=ConfirmSubscription&TopicArn=" + TOPIC + "&Token=t",
        "http://sns.us-east-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=" + TOPIC,
        "https://sns.us-east-2.amazonaws.com/x?Action=ConfirmSubscription&TopicArn=" + TOPIC,
        "https://sns.us-east-2.amazonaws.com/?Action=Unsubscribe&TopicArn=" + TOPIC,
        "https://sns.us-east-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:"
        "us-east-2:123456789012:other&Token=t",
        "https://sns.us-east-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn="
        + TOPIC
        + "&Action=ConfirmSubscription",
        "https://sns.us-east-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn="
        + TOPIC
        + "&Redirect=https://evil.example",
    ],
)
def test_auto_confirm_never_gets_an_off_list_subscribe_url(url: str) -> None:
    provider = _provider(auto_confirm=True, topic_arns=[TOPIC])
    answer = _verify(_envelope(_message("SubscriptionConfirmation", SubscribeURL=url)), provider)
    assert isinstance(answer, Handshake)
    assert answer.follow_up is None


def test_the_provider_is_installed() -> None:
    assert load("aws-sns") is AwsSnsProvider


_FIELDS = [
    "Type",
    "MessageId",
    "TopicArn",
    "Message",
    "Subject",
    "Timestamp",
    "Token",
    "SubscribeURL",
    "SubscribeUrl",
    "SignatureVersion",
    "Signature",
    "SigningCertURL",
    "SigningCertUrl",
]
_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=30),
    st.lists(st.text(max_size=5), max_size=2),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
    st.sampled_from(["Notification", "SubscriptionConfirmation", "1", "2", CERT_URL, TOPIC]),
    st.sampled_from(["2024-13-01T00:00:00.000Z", sns_timestamp(time.time()), SUBSCRIBE_URL]),
)


@settings(max_examples=150, deadline=None)
@given(changes=st.dictionaries(st.sampled_from(_FIELDS), _VALUES, max_size=5))
def test_any_envelope_is_an_event_a_handshake_or_a_refusal(changes: dict[str, Any]) -> None:
    envelope = {**json.loads(_envelope(_message())), **changes}
    try:
        outcome = _verify(json.dumps(envelope).encode())
    except VerificationError:
        return
    assert isinstance(outcome, VerifiedEvent | Handshake)


# --- the community validator (`aws-sns-message-validator` 0.0.5; AWS ships no Python one) ------


class _PinnedSession:
    """Stands in for the validator's HTTP session: serves our certificate for any URL."""

    def __init__(self, pem: str) -> None:
        self.pem = pem.encode()
        self.urls: list[str] = []

    def get(self, url: str) -> Any:
        self.urls.append(url)
        return type("Response", (), {"content": self.pem})()


@pytest.mark.parametrize("kind", ["Notification", "SubscriptionConfirmation"])
@pytest.mark.parametrize("subject", [None, "Hello world"])
def test_the_community_validator_accepts_our_v1_messages(kind: str, subject: str | None) -> None:
    message = _message(kind) | ({"Subject": subject} if subject and kind == "Notification" else {})
    envelope = json.loads(_envelope(message, version="1"))
    validator = SNSMessageValidator()
    session = _PinnedSession(CERT)
    validator._cert_session = session  # its only network access

    validator.validate_message(envelope)  # raises when it does not verify

    assert session.urls == [CERT_URL]
    assert isinstance(_verify(json.dumps(envelope).encode()), VerifiedEvent | Handshake)
    with pytest.raises(SignatureVerificationFailureException):
        validator.validate_message({**envelope, "Message": "changed"})
