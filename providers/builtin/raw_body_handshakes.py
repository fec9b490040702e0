"""Raw-body HMAC providers whose senders also check the endpoint: Meta's and Dropbox's GET
challenges, LINE's signed "Verify" request, X's CRC. The signature scheme is the one in
`providers.builtin.raw_body`; only the handshakes differ.
"""

from __future__ import annotations

import base64
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from providers._fields import batch, body, const, joined
from providers._hmac_scheme import HmacScheme
from providers._provider import GET_AND_POST
from providers._signing import as_bytes, matches_any
from providers.base import Handshake, SourceSpec, WebhookRequest
from providers.builtin.raw_body import RawBodyProvider
from providers.errors import InvalidSignature, MissingSignature


class MetaProvider(RawBodyProvider):
    """Meta (Facebook, Instagram, WhatsApp, Messenger): `X-Hub-Signature-256: sha256=<hex>`.

    The subscription handshake is a GET with `hub.mode=subscribe`, `hub.verify_token` (the
    source's `verify_token` option) and `hub.challenge`, which is echoed. No event ID is sent:
    the body hash is used.
    """

    methods = GET_AND_POST
    extra_keys = ("verify_token",)
    scheme = HmacScheme("x-hub-signature-256", prefix="sha256=")
    event_type = joined(".", body("/object"), body("/entry/0/changes/0/field"))

    def configure(self, spec: SourceSpec) -> None:
        super().configure(spec)
        token = spec.options.string("verify_token")
        self._verify_token = as_bytes(token) if token is not None else None

    def unsigned_handshake(self, request: WebhookRequest) -> Handshake | None:
        if request.method != "GET":
            return None
        challenge = request.query.get("hub.challenge")
        token = request.query.get("hub.verify_token")
        if request.query.get("hub.mode") != "subscribe" or not challenge or token is None:
            raise MissingSignature("hub.mode=subscribe, hub.verify_token, hub.challenge needed")
        if self._verify_token is None:
            raise InvalidSignature("set the source's verify_token option to subscribe")
        if not matches_any((self._verify_token,), (as_bytes(token),)):
            raise InvalidSignature("hub.verify_token does not match verify_token")
        return Handshake(challenge.encode(), content_type="text/plain")


class DropboxProvider(RawBodyProvider):
    """Dropbox (`X-Dropbox-Signature`, hex). GET `?challenge=` is echoed; notifications only say
    that something changed, so their ID is the body hash."""

    methods = GET_AND_POST
    scheme = HmacScheme("x-dropbox-signature")
    event_type = const("notification")

    def unsigned_handshake(self, request: WebhookRequest) -> Handshake | None:
        if request.method != "GET":
            return None
        challenge = request.query.get("challenge")
        if not challenge:
            raise MissingSignature("challenge parameter is missing")
        return Handshake(
            challenge.encode(),
            content_type="text/plain",
            headers=(("x-content-type-options", "nosniff"),),
        )


class LineProvider(RawBodyProvider):
    """LINE Messaging API (`X-Line-Signature`, base64), keyed with the channel secret.

    ID: `events[].webhookEventId` (a redelivery keeps it); type: `events[].type`. The console's
    "Verify" request is signed and carries an empty `events` list: it is answered 200, not
    published.
    """

    scheme = HmacScheme("x-line-signature", encoding="base64")
    event_id = batch("/events", "webhookEventId", kind="id")
    event_type = batch("/events", "type", kind="type")

    def signed_handshake(self, request: WebhookRequest, document: Any) -> Handshake | None:
        if isinstance(document, dict) and document.get("events") == []:
            return Handshake(b"", content_type="text/plain")
        return None


@dataclass(frozen=True, slots=True)
class _ActivityKind:
    """An X delivery's type: its top-level `…_events` key, else `webhook`; only an object has
    one (anything else is `malformed`)."""

    needs_body = True

    def read(self, headers: Mapping[str, str], document: Any) -> str | None:
        if not isinstance(document, dict):
            return None
        return next((str(key) for key in document if str(key).endswith("_events")), "webhook")


#: What hookgate answers a CRC for. X's tokens are opaque base64-like text; the CRC answer is
#: the very HMAC that signs bodies, so a token must never be something a body could be: an
#: event is a JSON object, and none can be written in these characters.
_CRC_TOKEN = re.compile(r"[A-Za-z0-9+/=_-]{1,256}")


class TwitterProvider(RawBodyProvider):
    """X (Twitter) Account Activity and v2 webhooks: `x-twitter-webhooks-signature: sha256=`
    base64 HMAC-SHA256 of the body, keyed with the app's consumer secret.

    The challenge-response check (`GET ?crc_token=`) is answered with
    `{"response_token": "sha256=" + base64(HMAC(consumer secret, crc_token))}`, with the
    source's first secret. That is the body signature's construction, so only tokens of
    base64-like characters are answered: no JSON object can be signed through it, and a body
    that is not an object is `malformed`. The ID is the body hash; the type the top-level
    `…_events` key (`tweet_create_events`), else `webhook`.
    """

    methods = GET_AND_POST
    scheme = HmacScheme("x-twitter-webhooks-signature", encoding="base64", prefix="sha256=")
    event_type = _ActivityKind()

    def unsigned_handshake(self, request: WebhookRequest) -> Handshake | None:
        if request.method != "GET":
            return None
        token = request.query.get("crc_token")
        if not token:
            raise MissingSignature("crc_token parameter is missing")
        if not _CRC_TOKEN.fullmatch(token):
            raise InvalidSignature("crc_token is not a token X sends")
        digest = hmac.digest(self._keys[0], token.encode(), "sha256")
        answer = {"response_token": "sha256=" + base64.b64encode(digest).decode("ascii")}
        return Handshake(orjson.dumps(answer))
