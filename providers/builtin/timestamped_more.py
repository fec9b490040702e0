"""More timestamped HMAC providers, in a module of their own (issue 14's slices).

Recurly lists its millisecond timestamp and then its signatures, comma-separated, with no
keys. Hygraph signs a JSON document wrapping the body as a string, its environment and its
millisecond timestamp, serialised exactly as JavaScript's `JSON.stringify` writes it. Cashfree
signs its timestamp header and the body, concatenated, base64. Tailscale signs as Stripe does.
"""

from __future__ import annotations

import base64
import hmac
import json
from collections.abc import Mapping
from typing import ClassVar

from providers._fields import batch, body, joined
from providers._hmac_scheme import HmacScheme, HmacSchemeProvider
from providers._signing import (
    as_bytes,
    check_tolerance,
    matches_any,
    parse_unix_timestamp,
    require_header,
    signature_items,
)
from providers.base import WebhookRequest
from providers.errors import InvalidSignature


class TimestampedProvider(HmacSchemeProvider):
    family: ClassVar[str] = "timestamped-hmac"


class _PositionalScheme(HmacScheme):
    """An `HmacScheme` whose header is `<timestamp>,<signature>[,<signature>…]`: the first item
    the timestamp, every later one a signature (one per secret while the sender rotates)."""

    def received(self, headers: Mapping[str, str]) -> tuple[str, list[bytes]]:
        value = require_header(headers, self.header)
        timestamp, *signatures = signature_items(value, ",", self.header)
        candidates = [self._normalise(item.strip()) for item in signatures if item.strip()]
        if not timestamp or not candidates:
            raise InvalidSignature(f"{self.header} lacks a timestamp or a signature")
        return timestamp.strip(), candidates

    def sign(
        self,
        key: bytes,
        body: bytes,
        timestamp: int,
        *,
        method: str = "POST",
        url: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        # The `k=v` pairs the engine writes, as bare positional items.
        signed = super().sign(key, body, timestamp, method=method, url=url, headers=headers)
        pairs = dict(item.split("=", 1) for item in signed[self.header].split(self.pairs or ","))
        return {self.header: f"{pairs[self.timestamp_key]},{pairs[self.signature_key]}"}


class RecurlyProvider(TimestampedProvider):
    """Recurly (`recurly-signature: <ms>,<hex>[,<hex>…]` over `{ms}.{body}`; JSON webhooks
    only, XML ones are unsigned). Any listed signature may match (Recurly lists two for 24 h
    after a key is regenerated). 5 min either way, its clients' `DEFAULT_TOLERANCE`.
    ID: the body's `id`; type: `object_type`.`event_type` (`account.created`)."""

    scheme = _PositionalScheme(
        "recurly-signature",
        message="{timestamp}.{body}",
        pairs=",",
        timestamp_format="unix_ms",
        tolerance=300,
    )
    event_id = body("/id")
    event_type = joined(".", body("/object_type"), body("/event_type"))


#: Hygraph's environment when a signer is given none (its SDK's default).
HYGRAPH_ENVIRONMENT = "master"


#: Characters of the body escaped at a time: the escaped text is hashed piece by piece, so a
#: body of control characters (six times longer escaped) never exists escaped in one piece.
_HYGRAPH_CHUNK = 16_384


def hygraph_digests(keys: tuple[bytes, ...], text: str, environment: str, ms: int) -> list[str]:
    """Base64 HMAC-SHA256, per key, of what Hygraph signs: `JSON.stringify({Body,
    EnvironmentName, TimeStamp})`, compact, `Body` being the body's text.

    Python's `json.dumps` without ASCII escaping writes a string as `JSON.stringify` does:
    `"` and `\\` escaped, `\\b \\f \\n \\r \\t` short, other controls as lower-case
    `\\u00xx`, everything else (U+2028/2029, DEL, non-ASCII) as is; only lone surrogates
    differ, and text decoded from UTF-8 holds none. Escaping is per character, so the body is
    escaped in pieces.
    """
    macs = [hmac.new(key, b'{"Body":"', "sha256") for key in keys]
    for start in range(0, len(text), _HYGRAPH_CHUNK):
        piece = json.dumps(text[start : start + _HYGRAPH_CHUNK], ensure_ascii=False)[1:-1]
        for mac in macs:
            mac.update(piece.encode())
    env = json.dumps(environment, ensure_ascii=False)
    tail = f'","EnvironmentName":{env},"TimeStamp":{ms}}}'.encode()
    for mac in macs:
        mac.update(tail)
    return [base64.b64encode(mac.digest()).decode("ascii") for mac in macs]


class _HygraphScheme(HmacScheme):
    """`gcms-signature: sign=<base64>, env=<environment>, t=<ms>` (see `hygraph_digests`)."""

    def check(
        self, request: WebhookRequest, keys: tuple[bytes, ...], tolerance: float, url: str
    ) -> None:
        value = require_header(request.headers, self.header)
        timestamp, environment, candidates = "", None, []
        for item in signature_items(value, ",", self.header):
            key, _, text = item.strip().partition("=")
            if key == "t":
                timestamp = text
            elif key == "env":
                environment = text
            elif key == "sign" and text:
                candidates.append(as_bytes(text))
        if not timestamp or environment is None or not candidates:
            raise InvalidSignature(f"{self.header} lacks sign=, env= or t=")
        seconds = self.seconds(timestamp)
        try:
            text = request.body.decode()
        except UnicodeDecodeError:
            raise InvalidSignature("hygraph signs the body as text; it is not UTF-8") from None
        expected = hygraph_digests(keys, text, environment, int(timestamp))
        if not matches_any((as_bytes(digest) for digest in expected), candidates):
            raise InvalidSignature(f"{self.header} matches no configured secret")
        check_tolerance(seconds, request.received_at, tolerance)

    def sign(
        self,
        key: bytes,
        body: bytes,
        timestamp: int,
        *,
        method: str = "POST",
        url: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        try:
            text = body.decode()
        except UnicodeDecodeError:
            raise ValueError("hygraph signs the body as text; it must be UTF-8") from None
        stamp = timestamp * 1000
        (signature,) = hygraph_digests((key,), text, HYGRAPH_ENVIRONMENT, stamp)
        return {self.header: f"sign={signature}, env={HYGRAPH_ENVIRONMENT}, t={stamp}"}


class HygraphProvider(TimestampedProvider):
    """Hygraph, formerly GraphCMS (`gcms-signature: sign=<base64>, env=<env>, t=<ms>`): base64
    HMAC-SHA256 of `{"Body":"<the body as a JSON string>","EnvironmentName":"<env>",
    "TimeStamp":<ms>}`, keyed with the webhook's secret key. A body that is not UTF-8 cannot
    have been signed so, and is refused.

    Hygraph's `t` is the event's time and deliveries may be queued for minutes, then retried
    four times; its SDK checks no age. Here: 1 h either way (`tolerance_seconds` lowers it, `0`
    turns it off). No event ID: the body hash. Type: the body's `operation` (`publish`).
    """

    scheme = _HygraphScheme(
        "gcms-signature",
        encoding="base64",
        pairs=",",
        timestamp_key="t",
        signature_key="sign",
        timestamp_format="unix_ms",
        tolerance=3600,
    )
    event_type = body("/operation")


class _SecondsOrMillisecondsScheme(HmacScheme):
    """An `HmacScheme` whose Unix timestamp may be in seconds (up to 11 digits) or, longer, in
    milliseconds; it signs milliseconds."""

    def seconds(self, timestamp: str) -> float:
        if timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 11:
            return parse_unix_timestamp(timestamp)
        return super().seconds(timestamp)


class CashfreeProvider(TimestampedProvider):
    """Cashfree Payments (`x-webhook-signature`: base64 HMAC-SHA256 of `x-webhook-timestamp` +
    the body, nothing between, keyed with the client secret, or the partner API key for partner
    webhooks). Its SDKs check no age and its documents give the timestamp in milliseconds (read
    in seconds too, should it be sent so); default retries come at 2, 10 and 30 min: 1 h
    either way here. No event ID: the body hash. Type: the body's `type`
    (`PAYMENT_SUCCESS_WEBHOOK`).
    """

    scheme = _SecondsOrMillisecondsScheme(
        "x-webhook-signature",
        message="{timestamp}{body}",
        encoding="base64",
        timestamp_header="x-webhook-timestamp",
        timestamp_format="unix_ms",
        tolerance=3600,
    )
    event_type = body("/type")


class TailscaleProvider(TimestampedProvider):
    """Tailscale (`Tailscale-Webhook-Signature: t=<unix>,v1=<hex>[,v1=…]` over `{t}.{body}`,
    keyed with the endpoint's secret; 5 min, as Tailscale's example verifier, here either way).
    The body is a JSON array of events with no ID: the body hash. Type: the events' `type`
    (`nodeCreated`, `policyUpdate`; `batch` if mixed)."""

    scheme = HmacScheme(
        "tailscale-webhook-signature", message="{timestamp}.{body}", pairs=",", tolerance=300
    )
    event_type = batch("", "type", kind="type")
