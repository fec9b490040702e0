"""Mailgun: the signature travels in the JSON body, not in a header.

`{"signature": {"timestamp", "token", "signature"}, "event-data": {…}}` where `signature` is
hex(HMAC-SHA256(signing key, timestamp + token)). The event itself is not covered, so a body
that does not parse cannot be checked (refused as `invalid_signature`). Dedupe keys on the event
ID (`event-data.id`) and, as Mailgun recommends, on the token: `replay_key` is its SHA-256, so a
captured signature block re-sent with forged event data is a duplicate. The timestamp is held to
5 min as in Mailgun's SDK.
"""

from __future__ import annotations

import hashlib
import hmac
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
from providers.base import SourceSpec, WebhookRequest
from providers.errors import InvalidSignature, MissingSignature

DEFAULT_TOLERANCE = 300.0


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
        try:
            document: Any = orjson.loads(request.body)
        except orjson.JSONDecodeError as err:
            raise InvalidSignature("body is not JSON: its signature cannot be read") from err
        block = document.get("signature") if isinstance(document, dict) else None
        if not isinstance(block, dict):
            raise MissingSignature("body has no signature object")
        fields = [block.get(key) for key in ("timestamp", "token", "signature")]
        if not all(isinstance(value, str) and value for value in fields):
            raise MissingSignature("signature needs timestamp, token and signature strings")
        timestamp, token, signature = (str(value) for value in fields)
        seconds = parse_unix_timestamp(timestamp)
        signed = as_bytes(timestamp + token)
        expected = (as_bytes(hmac.digest(key, signed, "sha256").hex()) for key in self._keys)
        if not matches_any(expected, (as_bytes(signature.lower()),)):
            raise InvalidSignature("signature matches no configured signing key")
        check_tolerance(seconds, request.received_at, self._tolerance)

    def replay_digest(self, request: WebhookRequest, document: Any) -> str | None:
        """The signed token's SHA-256: Mailgun signs it, not the event."""
        block = document.get("signature") if isinstance(document, dict) else None
        token = block.get("token") if isinstance(block, dict) else None
        # `authenticate` refused any body without a token string; None is unreachable.
        return hashlib.sha256(as_bytes(token)).hexdigest() if isinstance(token, str) else None

    @classmethod
    def sign(cls, signing: Signing) -> dict[str, str]:
        """Mailgun sends no signature header: sign the body with `sign_body` instead."""
        return {"content-type": "application/json"}


def sign_body(event_data: dict[str, Any], key: str, timestamp: int, token: str = "") -> bytes:
    """A Mailgun webhook body for `event_data`, signed with `key` at `timestamp`."""
    token = token or secrets.token_hex(25)
    text = str(timestamp)
    signature = hmac.digest(key.encode(), (text + token).encode(), "sha256").hex()
    block = {"timestamp": text, "token": token, "signature": signature}
    return orjson.dumps({"signature": block, "event-data": event_data})
