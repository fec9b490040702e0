"""AWS SNS HTTP/S subscriptions: an RSA signature inside the JSON body, by the certificate at
`SigningCertURL` (certificate-url family; see `certificate_url`).

The signed string is `Key\\nValue\\n` for the type's keys in a fixed order: a `Notification`
signs Message, MessageId, Subject (when present), Timestamp, TopicArn, Type; a
`SubscriptionConfirmation` or `UnsubscribeConfirmation` Message, MessageId, SubscribeURL,
Timestamp, Token, TopicArn, Type. `SignatureVersion` 1 is SHA1withRSA, 2 SHA256withRSA; no
other. Lambda's spellings (`SigningCertUrl`, `SubscribeUrl`) are read as the URL spellings.

A notification is the event: ID `MessageId`, type the topic's name (the last part of the signed
`TopicArn`), time `Timestamp`, held to `tolerance_seconds` (3600 s by default, either way). A
confirmation is verified, answered 200 and never published; with `auto_confirm = true` (which
needs `topic_arns`) the gateway GETs its `SubscribeURL` in the background when that URL passes
the allow-list, otherwise the URL is logged for an operator. Raw message delivery is unsigned:
refused.
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

import orjson
from cryptography.hazmat.primitives import hashes

from providers._certs import decode_signature, rsa_sign, rsa_valid
from providers._fetch import Transport, urllib_transport
from providers._fields import body
from providers._provider import Signing
from providers._signing import check_tolerance
from providers.base import Handshake, SourceSpec, VerifiedEvent, WebhookRequest
from providers.builtin.certificate_url import CertificateUrlProvider
from providers.builtin.sns_confirm import SNS_HOST, SUBSCRIBE_RULE, confirm_later
from providers.errors import InvalidSignature, MissingSignature
from providers.keyfetch import UrlPolicy, UrlRule

_log = logging.getLogger("hookgate.providers.aws_sns")

#: SNS messages are at most 256 KiB; JSON escaping can grow the envelope: twice that, at most.
MAX_BODY = 512 * 1024
#: A body with more `{` and `[` (strings included) is not parsed before it verifies: parsing
#: many containers costs far more than hashing the body. An envelope holds a handful; only a
#: Message of dense JSON text comes near.
MAX_BRACKETS = 16384
NOTIFICATION = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
_SIGNED_KEYS = {
    "Notification": NOTIFICATION,
    "SubscriptionConfirmation": CONFIRMATION,
    "UnsubscribeConfirmation": CONFIRMATION,
}
_DIGESTS = {"1": hashes.SHA1, "2": hashes.SHA256}
_LAMBDA_SPELLINGS = {"SigningCertUrl": "SigningCertURL", "SubscribeUrl": "SubscribeURL"}
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z")
_TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:([A-Za-z0-9_-]{1,256}(\.fifo)?)")
_INFO_HEADERS = {
    "x-amz-sns-message-type": "Type",
    "x-amz-sns-message-id": "MessageId",
    "x-amz-sns-topic-arn": "TopicArn",
}
DEFAULT_TOPIC = "arn:aws:sns:us-east-1:123456789012:hookgate"


def sns_timestamp(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def string_to_sign(message: dict[str, Any]) -> bytes:
    """The bytes SNS signs for `message` (URL spellings), or `InvalidSignature`."""
    kind = message.get("Type")
    keys = _SIGNED_KEYS.get(kind) if isinstance(kind, str) else None
    if keys is None:
        raise InvalidSignature("the message's Type is not one SNS signs")
    parts = []
    for key in keys:
        value = message.get(key)
        if value is None and key == "Subject":
            continue  # optional; Lambda writes null
        if not isinstance(value, str):
            raise InvalidSignature(f"the message has no {key} string")
        if key != "Message" and "\n" in value:
            # A newline would let one field's text pass for the next field (`Key\nValue\n`).
            raise InvalidSignature(f"the message's {key} has a line break")
        parts.append(f"{key}\n{value}\n")
    return "".join(parts).encode()


def sign_message(message: dict[str, Any], private_key: str, version: str = "2") -> dict[str, Any]:
    """`message` with `SignatureVersion` and `Signature` added, as SNS signs it (for tests)."""
    signature = rsa_sign(private_key, string_to_sign(message), _DIGESTS[version]())
    return {**message, "SignatureVersion": version, "Signature": signature}


class AwsSnsProvider(CertificateUrlProvider):
    """AWS SNS. Options: `topic_arns` (allow-list), `auto_confirm`, `certificates` (pinned)."""

    source_keys = ("certificates", "topic_arns", "auto_confirm", "tolerance_seconds")
    #: SNS's certificates are `/SimpleNotificationService-<32 hex digits>.pem`.
    url_rule: ClassVar[UrlPolicy] = UrlRule(
        SNS_HOST, re.compile(r"/SimpleNotificationService-[0-9a-f]{32}\.pem")
    )
    subscribe_rule: ClassVar[UrlPolicy] = SUBSCRIBE_RULE
    #: How the confirmation GET is made (tests: a loopback server).
    confirm_transport: ClassVar[Transport] = staticmethod(urllib_transport)
    certificate_names = re.compile(r"sns(\.[a-z0-9-]+)?\.amazonaws\.com(\.cn)?")
    signing_cert_url = (
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-"
        "00000000000000000000000000000000.pem"
    )
    default_tolerance = 3600.0
    content_type = "text/plain; charset=UTF-8"
    event_id = body("/MessageId")

    def configure_options(self, spec: SourceSpec) -> None:
        # Required: SNS signs every AWS account's topics with the same certificate, so without
        # it a message of anyone's topic (one of the same name, too) would verify.
        topics = spec.options.strings("topic_arns", required=True)
        for i, arn in enumerate(topics):
            if not _TOPIC_ARN.fullmatch(arn):
                raise spec.options.error(f"topic_arns[{i}]", "expected an SNS topic ARN")
        self._topics = frozenset(topics)
        self._auto_confirm = spec.options.boolean("auto_confirm")

    def verify(self, request: WebhookRequest) -> VerifiedEvent | Handshake:
        if request.headers.get("x-amz-sns-rawdelivery", "").lower() == "true":
            raise MissingSignature("raw message delivery is unsigned; turn it off")
        raw = request.body
        if len(raw) > MAX_BODY or raw.count(b"{") + raw.count(b"[") > MAX_BRACKETS:
            raise InvalidSignature("the body is larger or more nested than SNS messages are")
        message = _message(request.body)
        signed = string_to_sign(message)
        digest = _DIGESTS.get(message["SignatureVersion"])
        if digest is None:
            raise InvalidSignature("the SignatureVersion is not 1 or 2")
        signature = decode_signature(message["Signature"], "Signature")
        topic = _TOPIC_ARN.fullmatch(message["TopicArn"])
        if topic is None:
            raise InvalidSignature("the TopicArn is not an SNS topic ARN")
        if message["TopicArn"] not in self._topics:
            raise InvalidSignature("the topic is not one of this source's topic_arns")
        sent = _unix_time(message["Timestamp"])
        certificates = self.certificates(message.get("SigningCertURL"), request.received_at)
        if not any(rsa_valid(c, signature, signed, digest()) for c in certificates):
            raise InvalidSignature("the signature does not verify with the signing certificate")
        check_tolerance(sent, request.received_at, self._tolerance)
        if message["Type"] != "Notification":
            return self._confirmation(message)
        return VerifiedEvent(id=message["MessageId"], type=topic.group(1), occurred_at=sent)

    def _confirmation(self, message: dict[str, Any]) -> Handshake:
        """A verified (un)subscription confirmation: answered, never published."""
        if message["Type"] == "UnsubscribeConfirmation":
            _log.info("SNS unsubscribe confirmed", extra={"fields": _fields(message)})
            return Handshake(b"", 200, "text/plain")
        url = message["SubscribeURL"]
        if self._auto_confirm and _subscribe_url_ok(self.subscribe_rule, url, message):
            _log.info("SNS subscription: confirming", extra={"fields": _fields(message)})
            follow_up = confirm_later(url, _fields(message), self.confirm_transport)
            return Handshake(b"", 200, "text/plain", follow_up=follow_up)
        # The URL carries a confirmation token: not a secret of ours (SNS sends it to whoever
        # the subscription names), and it is what an operator opens to confirm.
        fields = {**_fields(message), "subscribe_url": url}
        awaits = "SNS subscription awaits confirmation: open subscribe_url"
        _log.warning(awaits, extra={"fields": fields})
        return Handshake(b"", 200, "text/plain")

    @classmethod
    def signed_body(cls, signing: Signing) -> bytes:
        """A signed `Notification` whose Message is `signing.body` (UTF-8 text); the secret is
        the RSA private key of the certificate the source pins."""
        topics = signing.options.get("topic_arns") or [DEFAULT_TOPIC]
        topic = topics if isinstance(topics, str) else topics[0]  # type: ignore[index]
        message = {
            "Type": "Notification",
            "MessageId": signing.event_id or str(uuid.uuid4()),
            "TopicArn": topic,
            "Message": _text(signing.body),
            "Timestamp": sns_timestamp(signing.timestamp),
        }
        signed = sign_message(message, signing.secret)
        signed["SigningCertURL"] = cls.signing_cert_url
        return orjson.dumps(signed)

    @classmethod
    def sign(cls, signing: Signing) -> dict[str, str]:
        """The headers SNS sends beside a signed envelope (informational: nothing reads them)."""
        headers = {"content-type": cls.content_type}
        try:
            message = orjson.loads(signing.body)
        except orjson.JSONDecodeError:
            return headers
        if isinstance(message, dict):
            for header, key in _INFO_HEADERS.items():
                if isinstance(message.get(key), str):
                    headers[header] = message[key]
        return headers


def _unix_time(text: str) -> float:
    try:
        if _TIMESTAMP.fullmatch(text):
            return datetime.fromisoformat(text).timestamp()
    except ValueError:  # a month 13, a day 32
        pass
    raise InvalidSignature("the Timestamp is not an SNS timestamp")


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("an SNS Message is UTF-8 text; this body is not") from None


def _message(raw: bytes) -> dict[str, Any]:
    """The SNS envelope, Lambda spellings renamed; refuses what carries no signature."""
    try:
        message = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidSignature("the body is not an SNS message (not JSON)") from None
    if not isinstance(message, dict):
        raise InvalidSignature("the body is not an SNS message")
    for lambda_key, key in _LAMBDA_SPELLINGS.items():
        if lambda_key in message:
            if key in message:
                raise InvalidSignature(f"the message has both {lambda_key} and {key}")
            message[key] = message.pop(lambda_key)
    for key in ("Signature", "SignatureVersion", "SigningCertURL"):
        if key not in message:
            raise MissingSignature(f"the message has no {key}")
        if not isinstance(message[key], str):
            raise InvalidSignature(f"the message's {key} is not a string")
    return message


def _subscribe_url_ok(rule: UrlPolicy, url: str, message: dict[str, Any]) -> bool:
    try:
        rule.check(url)
    except InvalidSignature:
        return False
    query = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    fields = dict(query)
    return (
        len(fields) == len(query)
        and set(fields) <= {"Action", "TopicArn", "Token"}
        and fields.get("Action") == "ConfirmSubscription"
        and fields.get("TopicArn") == message["TopicArn"]
    )


def _fields(message: dict[str, Any]) -> dict[str, str]:
    return {"topic_arn": message["TopicArn"], "message_id": message["MessageId"]}
