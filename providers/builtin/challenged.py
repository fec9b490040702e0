"""HMAC providers whose sender checks the endpoint with a challenge it must echo (Smartsheet,
Front). The challenge answer is never published; a challenge value is echoed only when it is a
short token of safe characters (it is reflected into a header or JSON).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson

from providers._fields import as_text, body, collapse_batch
from providers._hmac_scheme import HmacScheme, HmacSchemeProvider
from providers._signing import as_bytes, matches_any, require_header
from providers.base import Handshake, WebhookRequest
from providers.errors import InvalidSignature

#: What a challenge may be to be echoed: Smartsheet's and Front's are random tokens (UUIDs,
#: base64-like text). Nothing that could break out of a header or be read as markup.
_CHALLENGE = re.compile(r"[A-Za-z0-9+/=_.:-]{1,256}")


def _challenge(value: str) -> str:
    if not _CHALLENGE.fullmatch(value):
        raise InvalidSignature("the challenge is not a token this sender sends")
    return value


@dataclass(frozen=True, slots=True)
class _SheetEvents:
    """A callback's events as `objectType.eventType`: the shared value, else `batch`."""

    needs_body = True

    def read(self, headers: Mapping[str, str], document: Any) -> str | None:
        events = document.get("events") if isinstance(document, dict) else None
        if not isinstance(events, list) or not events:
            return None
        kinds = [
            f"{as_text(e.get('objectType'))}.{as_text(e.get('eventType'))}"
            if isinstance(e, dict) and as_text(e.get("objectType")) and as_text(e.get("eventType"))
            else None
            for e in events
        ]
        return collapse_batch(kinds, "type")


class SmartsheetProvider(HmacSchemeProvider):
    """Smartsheet (`Smartsheet-Hmac-SHA256`: hex HMAC-SHA256 of the body, keyed with the
    webhook's `sharedSecret`). Smartsheet's own example formats the digest as a base-16 number
    (Java's `BigInteger.toString(16)`), which drops leading zeros: those are ignored on both
    sides.

    Verification requests (on enabling a webhook, and again periodically) carry
    `Smartsheet-Hook-Challenge` and are not signed: the value is echoed in
    `Smartsheet-Hook-Response` and as `{"smartsheetHookResponse": …}`, before any check, never
    published. Callbacks carry no event ID (`nonce` is per callback): the body hash. Type: the
    events' `objectType.eventType` (`row.created`; `batch` if mixed); a status-change
    callback's is `status`.
    """

    family: ClassVar[str] = "raw-body-hmac"
    scheme = HmacScheme("smartsheet-hmac-sha256")
    event_type = _SheetEvents()
    default_type = "status"

    def authenticate(self, request: WebhookRequest) -> None:
        value = require_header(request.headers, self.scheme.header).strip().lower()
        received = as_bytes(value.lstrip("0"))
        expected = (
            as_bytes(hmac.digest(key, request.body, "sha256").hex().lstrip("0"))
            for key in self._keys
        )
        if len(value) > 64 or not matches_any(expected, (received,)):
            raise InvalidSignature(f"{self.scheme.header} matches no configured secret")

    def unsigned_handshake(self, request: WebhookRequest) -> Handshake | None:
        value = request.headers.get("smartsheet-hook-challenge")
        if value is None:
            return None
        challenge = _challenge(value)
        return Handshake(
            orjson.dumps({"smartsheetHookResponse": challenge}),
            headers=(("smartsheet-hook-response", challenge),),
        )


class FrontProvider(HmacSchemeProvider):
    """Front application webhooks (`X-Front-Signature`: base64 HMAC-SHA256 of
    `{X-Front-Request-Timestamp}:` + the raw body, timestamp in ms, keyed with the app's signing
    key; 300 s).

    The validation request Front sends when the webhook is saved is signed like any other and
    carries `X-Front-Challenge` (body `type` `sync`): once verified it is answered
    `{"challenge": …}` and never published. ID `payload.id` (the event); type `type`.
    """

    family: ClassVar[str] = "timestamped-hmac"
    scheme = HmacScheme(
        "x-front-signature",
        message="{timestamp}:{body}",
        encoding="base64",
        timestamp_header="x-front-request-timestamp",
        timestamp_format="unix_ms",
        tolerance=300,
    )
    event_id = body("/payload/id")
    event_type = body("/type")
    reads_body = True

    def signed_handshake(self, request: WebhookRequest, document: Any) -> Handshake | None:
        value = request.headers.get("x-front-challenge")
        if value is not None:
            return Handshake(orjson.dumps({"challenge": _challenge(value)}))
        if isinstance(document, dict) and document.get("type") == "sync":
            return Handshake(b"{}")
        return None
