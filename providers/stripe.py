"""Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`, HMAC-SHA256 over `t.body`.

The key is the whole `whsec_…` string. Several `v1` entries may be present while Stripe rolls a
secret; any one matching any configured secret verifies. Event ID and type come from the body.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import ClassVar

from providers._signing import (
    as_bytes,
    check_tolerance,
    json_object,
    matches_any,
    parse_unix_timestamp,
    require_header,
    require_secrets,
    required_str,
    signature_items,
)
from providers.base import SourceSpec, VerifiedEvent, WebhookRequest
from providers.errors import InvalidSignature

DEFAULT_TOLERANCE = 300.0


class StripeProvider:
    """Stripe webhooks (`Stripe-Signature`). Options: none beyond secrets and tolerance."""

    family: ClassVar[str] = "timestamped-hmac"
    source_keys: ClassVar[tuple[str, ...]] = ("secrets", "tolerance_seconds")
    methods: ClassVar[frozenset[str]] = frozenset({"POST"})
    # See `providers.facts`: the ID and type are in the signed body.
    credential_headers: frozenset[str] = frozenset()
    signature_headers: frozenset[str] = frozenset({"stripe-signature"})
    signed_headers: frozenset[str] = frozenset()
    unsigned_headers: frozenset[str] = frozenset()
    signed_timestamp: bool = True

    def __init__(self, spec: SourceSpec) -> None:
        require_secrets(spec.secrets, spec.name)
        spec.options.finish()
        self._keys = tuple(secret.reveal().encode() for secret in spec.secrets)
        self._tolerance = (
            DEFAULT_TOLERANCE if spec.tolerance_seconds is None else spec.tolerance_seconds
        )
        self.signed_timestamp = bool(self._tolerance)

    def verify(self, request: WebhookRequest) -> VerifiedEvent:
        header = require_header(request.headers, "stripe-signature")
        timestamp_text, candidates = _parse_header(header)
        timestamp = parse_unix_timestamp(timestamp_text)
        signed = timestamp_text.encode() + b"." + request.body
        expected = (hmac.digest(key, signed, hashlib.sha256).hex().encode() for key in self._keys)
        if not matches_any(expected, candidates):
            raise InvalidSignature("no v1 signature matches a configured secret")
        check_tolerance(timestamp, request.received_at, self._tolerance)

        event = json_object(request.body)
        created = event.get("created")
        return VerifiedEvent(
            id=required_str(event, "id"),
            type=required_str(event, "type"),
            occurred_at=float(created) if isinstance(created, int) else None,
        )


def _parse_header(header: str) -> tuple[str, list[bytes]]:
    timestamp = ""
    candidates: list[bytes] = []
    for item in signature_items(header, ",", "stripe-signature"):
        key, _, value = item.strip().partition("=")
        if key == "t":
            timestamp = value
        elif key == "v1" and value:
            candidates.append(as_bytes(value))
    if not timestamp or not candidates:
        raise InvalidSignature("Stripe-Signature has no timestamp or no v1 signature")
    return timestamp, candidates


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """The `Stripe-Signature` value Stripe would send for `body` (the inverse of verify)."""
    signed = str(timestamp).encode() + b"." + body
    digest = hmac.digest(secret.encode(), signed, hashlib.sha256).hex()
    return f"t={timestamp},v1={digest}"
