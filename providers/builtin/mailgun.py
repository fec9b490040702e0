"""Mailgun: the signature travels in the JSON body, not in a header.

`{"signature": {"timestamp", "token", "signature"}, "event-data": {…}}` where `signature` is
hex(HMAC-SHA256(signing key, timestamp + token)). The event itself is not covered, so a body
that does not parse cannot be checked (refused as `invalid_signature`). Dedupe keys on the event
ID (`event-data.id`) and, as Mailgun recommends, on the token: `replay_key` is its SHA-256, so a
captured signature block re-sent with forged event data is a duplicate. The timestamp is held to
5 min as in Mailgun's SDK. A forged body costs no full JSON parse unless it is small: the block
is first read from the bytes after the first `"signature"` key, and the body's own top-level
block is checked again once the body is parsed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any, ClassVar

import orjson

from providers._fields import body
from providers._provider import ProviderBase, Signing
from providers._signing import (
    as_bytes,
    check_tolerance,
    matches_any,
    parse_unix_timestamp,
    require_secrets,
)
from providers.base import SourceSpec, VerifiedEvent, WebhookRequest
from providers.errors import InvalidSignature, MissingSignature

DEFAULT_TOLERANCE = 300.0
#: A body up to this size may be parsed whole before its signature is checked; in a larger one
#: only the object after the first `"signature"` key is read until it verifies (Mailgun puts
#: its block first).
FULL_PARSE_LIMIT = 64 * 1024
#: How many bytes after `"signature":` the block may take (Mailgun's takes about 150).
_BLOCK_WINDOW = 1024
_KEY = b'"signature"'
_DECODER = json.JSONDecoder()


class MailgunProvider(ProviderBase):
    """Mailgun webhooks. Secrets: the account's HTTP webhook signing key."""

    family: ClassVar[str] = "timestamped-hmac"
    source_keys = ("secrets", "tolerance_seconds")
    event_id = body("/event-data/id")
    event_type = body("/event-data/event")
    signed_timestamp = True

    def configure(self, spec: SourceSpec) -> None:
        require_secrets(spec.secrets, spec.name)
        self._keys = tuple(secret.reveal().encode() for secret in spec.secrets)
        tolerance = spec.tolerance_seconds
        self._tolerance = DEFAULT_TOLERANCE if tolerance is None else tolerance
        self.signed_timestamp = bool(self._tolerance)

    def authenticate(self, request: WebhookRequest) -> None:
        # Cheap first: the object after the first "signature" key (Mailgun puts its block
        # first), read from a few bytes; only a small body is parsed whole before it verifies.
        fields = _leading_block(request.body)
        if fields is None or not self._signed(fields):
            if len(request.body) > FULL_PARSE_LIMIT:
                raise InvalidSignature("the first signature object in the body does not verify")
            fields = _top_level_block(request.body)
        self._check(fields, request)

    def event(self, request: WebhookRequest, document: Any) -> VerifiedEvent:
        # The block checked above may not be the body's own (a copy placed first): the body's
        # own must verify too, since its token is the replay key.
        block = document.get("signature") if isinstance(document, dict) else None
        fields = _block_fields(block)
        if fields is None:
            raise InvalidSignature("the body's own signature block is missing")
        self._check(fields, request)
        return super().event(request, document)

    def _signed(self, fields: tuple[str, str, str]) -> bool:
        timestamp, token, signature = fields
        signed = as_bytes(timestamp + token)
        expected = (as_bytes(hmac.digest(key, signed, "sha256").hex()) for key in self._keys)
        return matches_any(expected, (as_bytes(signature.lower()),))

    def _check(self, fields: tuple[str, str, str], request: WebhookRequest) -> None:
        seconds = parse_unix_timestamp(fields[0])
        if not self._signed(fields):
            raise InvalidSignature("signature matches no configured signing key")
        check_tolerance(seconds, request.received_at, self._tolerance)

    def replay_digest(self, request: WebhookRequest, document: Any) -> str | None:
        """The signed token's SHA-256: Mailgun signs it, not the event."""
        block = document.get("signature") if isinstance(document, dict) else None
        token = block.get("token") if isinstance(block, dict) else None
        # `event` refused any body without a signed token string; None is unreachable.
        return hashlib.sha256(as_bytes(token)).hexdigest() if isinstance(token, str) else None

    @classmethod
    def sign(cls, signing: Signing) -> dict[str, str]:
        """Mailgun sends no signature header: the signature is in `signed_body`."""
        return {"content-type": "application/json"}

    @classmethod
    def signed_body(cls, signing: Signing) -> bytes:
        """`signing.body`'s `event-data` (or the whole JSON object) in a signed Mailgun body."""
        try:
            data = orjson.loads(signing.body)
        except orjson.JSONDecodeError as err:
            raise ValueError("a mailgun payload must be JSON (the event-data object)") from err
        if not isinstance(data, dict):
            raise ValueError("a mailgun payload must be a JSON object (the event-data object)")
        event_data = data.get("event-data", data)
        if not isinstance(event_data, dict):
            event_data = data
        return sign_body(event_data, signing.secret, signing.timestamp)


def _block_fields(block: object) -> tuple[str, str, str] | None:
    """`(timestamp, token, signature)` of a signature object, when all three are strings."""
    if not isinstance(block, dict):
        return None
    fields = [block.get(key) for key in ("timestamp", "token", "signature")]
    if not all(isinstance(value, str) and value for value in fields):
        return None
    timestamp, token, signature = (str(value) for value in fields)
    return timestamp, token, signature


def _leading_block(body: bytes) -> tuple[str, str, str] | None:
    """The object after the first `"signature":`, decoded from at most `_BLOCK_WINDOW` bytes."""
    at = body.find(_KEY)
    if at < 0:
        return None
    start = at + len(_KEY)
    text = body[start : start + _BLOCK_WINDOW].decode("utf-8", "replace").lstrip()
    if not text.startswith(":"):
        return None
    try:
        block, _ = _DECODER.raw_decode(text[1:].lstrip())
    except ValueError:
        return None
    return _block_fields(block)


def _top_level_block(body: bytes) -> tuple[str, str, str]:
    """The body's own signature block, from a full parse (small bodies only)."""
    try:
        document: Any = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise InvalidSignature("body is not JSON: its signature cannot be read") from err
    block = document.get("signature") if isinstance(document, dict) else None
    if not isinstance(block, dict):
        raise MissingSignature("body has no signature object")
    fields = _block_fields(block)
    if fields is None:
        raise MissingSignature("signature needs timestamp, token and signature strings")
    return fields


def sign_body(event_data: dict[str, Any], key: str, timestamp: int, token: str = "") -> bytes:
    """A Mailgun webhook body for `event_data`, signed with `key` at `timestamp`."""
    token = token or secrets.token_hex(25)
    text = str(timestamp)
    signature = hmac.digest(key.encode(), (text + token).encode(), "sha256").hex()
    block = {"timestamp": text, "token": token, "signature": signature}
    return orjson.dumps({"signature": block, "event-data": event_data})
