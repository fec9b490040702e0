"""Standard Webhooks (and Svix, which sends the same scheme under `svix-*` header names).

`webhook-signature` is a space-separated list of `<version>,<base64>`; only `v1` (HMAC-SHA256)
is checked, other versions are skipped. The signed bytes are `{id}.{timestamp}.` + the raw body,
and the key is the base64 decoding of the secret without its `whsec_` prefix. The event ID is the
`webhook-id` header (it is signed); the type is the body's `type`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from providers._signing import (
    as_bytes,
    check_tolerance,
    json_object,
    matches_any,
    parse_unix_timestamp,
    require_header,
    require_secrets,
    required_str,
)
from providers.base import SourceSpec, VerifiedEvent, WebhookRequest
from providers.errors import InvalidSignature, ProviderConfigError

DEFAULT_TOLERANCE = 300.0
_SECRET_PREFIX = "whsec_"  # noqa: S105 - a marker, not a secret
# (id, timestamp, signature) header names: the unbranded set and Svix's branded one.
_WEBHOOK_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
_SVIX_HEADERS = ("svix-id", "svix-timestamp", "svix-signature")


class StandardWebhooksProvider:
    """Standard Webhooks / Svix senders. Options: none beyond secrets and tolerance.

    Secrets are `whsec_<base64>` (the prefix is optional). Several secrets may be configured, and
    the sender may send several `v1` signatures while it rotates: any pair matching verifies.
    """

    family: ClassVar[str] = "standard-webhooks"
    source_keys: ClassVar[tuple[str, ...]] = ("secrets", "tolerance_seconds")
    methods: ClassVar[frozenset[str]] = frozenset({"POST"})

    def __init__(self, spec: SourceSpec) -> None:
        require_secrets(spec.secrets, spec.name)
        spec.options.finish()
        self._keys = decode_secrets(spec)
        self._tolerance = (
            DEFAULT_TOLERANCE if spec.tolerance_seconds is None else spec.tolerance_seconds
        )

    def verify(self, request: WebhookRequest) -> VerifiedEvent:
        msg_id = check_signature(request, self._keys, self._tolerance)
        event = json_object(request.body)
        return VerifiedEvent(
            id=msg_id,
            type=self.event_type(event),
            occurred_at=_rfc3339(event.get("timestamp")),
        )

    def event_type(self, event: dict[str, Any]) -> str:
        """The routing type: the body's `type` (a sender with another shape overrides this)."""
        return required_str(event, "type")


def check_signature(request: WebhookRequest, keys: tuple[bytes, ...], tolerance: float) -> str:
    """Check a Standard Webhooks signature with any of `keys`; return the (signed) message ID."""
    id_name, timestamp_name, signature_name = _header_names(request.headers)
    msg_id = require_header(request.headers, id_name)
    timestamp_text = require_header(request.headers, timestamp_name)
    header = require_header(request.headers, signature_name)
    timestamp = parse_unix_timestamp(timestamp_text)
    candidates = _v1_signatures(header)
    signed = as_bytes(f"{msg_id}.{timestamp_text}.") + request.body
    expected = (base64.b64encode(hmac.digest(key, signed, hashlib.sha256)) for key in keys)
    if not matches_any(expected, candidates):
        raise InvalidSignature("no v1 signature matches a configured secret")
    check_tolerance(timestamp, request.received_at, tolerance)
    return msg_id


def decode_secrets(spec: SourceSpec) -> tuple[bytes, ...]:
    """The HMAC keys of a source's `whsec_` secrets; `ProviderConfigError` naming a bad one."""
    keys = []
    for i, secret in enumerate(spec.secrets):
        try:
            keys.append(decode_secret(secret.reveal()))
        except ValueError as err:
            # The reason names no part of the secret, so it is safe to show.
            raise ProviderConfigError(f"sources.{spec.name}.secrets[{i}]: {err}") from err
    return tuple(keys)


def _header_names(headers: Mapping[str, str]) -> tuple[str, str, str]:
    # Svix's own verifier prefers its branded headers; a request carries one set or the other.
    return _SVIX_HEADERS if headers.get("svix-signature") else _WEBHOOK_HEADERS


def _v1_signatures(header: str) -> list[bytes]:
    candidates = []
    for item in header.split(" "):
        version, _, value = item.partition(",")
        if version == "v1" and value:
            candidates.append(as_bytes(value))
    if not candidates:
        raise InvalidSignature("signature header has no v1 signature")
    return candidates


def _rfc3339(value: object) -> float | None:
    """The body's optional `timestamp` as Unix time; anything unparseable is simply ignored."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    # RFC 3339 requires an offset; a local time without one names no instant.
    return moment.timestamp() if moment.tzinfo is not None else None


def decode_secret(secret: str) -> bytes:
    """The HMAC key of a `whsec_<base64>` secret; `ValueError` (naming no part of it) if bad."""
    text = secret.removeprefix(_SECRET_PREFIX)
    try:
        # Senders hand out secrets with and without padding; restore it before a strict decode.
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except binascii.Error as err:
        raise ValueError("not a base64 signing secret (expected 'whsec_' + base64)") from err
    if not key:
        raise ValueError("the signing secret is empty after its 'whsec_' prefix")
    return key


def sign(body: bytes, secret: str, msg_id: str, timestamp: int) -> str:
    """The `webhook-signature` value a sender would send (`v1,<base64>`; the inverse of verify)."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.digest(decode_secret(secret), signed, hashlib.sha256)
    return "v1," + base64.b64encode(digest).decode("ascii")
