"""The Standard Webhooks scheme (Svix sends it under `svix-*` header names): the engine.

`webhook-signature` is a space-separated list of `<version>,<base64>`: `v1` is HMAC-SHA256 keyed
with the base64 decoding of a `whsec_` secret, `v1a` is Ed25519 checked with a `whpk_` public key
(the `public_key` option); other versions are skipped. The signed bytes are `{id}.{timestamp}.` +
the raw body. `StandardWebhooksProvider` (and GitLab's signing token) are built on it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime

from cryptography.exceptions import InvalidSignature as _BadSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from providers._signing import (
    as_bytes,
    check_tolerance,
    matches_any,
    parse_unix_timestamp,
    require_header,
    signature_items,
)
from providers.base import SourceSpec, WebhookRequest
from providers.errors import InvalidSignature, ProviderConfigError

DEFAULT_TOLERANCE = 300.0
#: v1a signatures checked per request: one per signing key, two while a sender rotates.
MAX_ASYMMETRIC = 3
_SECRET_PREFIX = "whsec_"  # noqa: S105 - a marker, not a secret
_PUBLIC_PREFIX = "whpk_"
# (id, timestamp, signature) header names: the unbranded set and Svix's branded one.
WEBHOOK_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
SVIX_HEADERS = ("svix-id", "svix-timestamp", "svix-signature")


def check_signature(
    request: WebhookRequest,
    keys: tuple[bytes, ...],
    tolerance: float,
    public_keys: tuple[Ed25519PublicKey, ...] = (),
) -> str:
    """Check a Standard Webhooks signature with any of `keys` (`v1`) or `public_keys` (`v1a`);
    return the (signed) message ID."""
    id_name, timestamp_name, signature_name = header_names(request.headers)
    msg_id = require_header(request.headers, id_name)
    timestamp_text = require_header(request.headers, timestamp_name)
    header = require_header(request.headers, signature_name)
    timestamp = parse_unix_timestamp(timestamp_text)
    symmetric, asymmetric = _signatures(header)
    signed = as_bytes(f"{msg_id}.{timestamp_text}.") + request.body
    expected = (base64.b64encode(hmac.digest(key, signed, hashlib.sha256)) for key in keys)
    if not matches_any(expected, symmetric) and not _any_ed25519(public_keys, asymmetric, signed):
        raise InvalidSignature("no signature matches a configured key")
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


def header_names(headers: Mapping[str, str]) -> tuple[str, str, str]:
    """The (id, timestamp, signature) names a request uses: Svix's own verifier prefers its
    branded headers; a request carries one set or the other."""
    return SVIX_HEADERS if headers.get("svix-signature") else WEBHOOK_HEADERS


def _signatures(header: str) -> tuple[list[bytes], list[bytes]]:
    """The `v1` (base64 text) and `v1a` (decoded) signatures of a header."""
    symmetric, asymmetric = [], []
    for item in signature_items(header, " ", "webhook-signature"):
        version, _, value = item.partition(",")
        if version == "v1" and value:
            symmetric.append(as_bytes(value))
        elif version == "v1a" and value:
            try:
                asymmetric.append(base64.b64decode(value, validate=True))
            except (binascii.Error, ValueError):
                continue  # unreadable: it cannot match
    if not symmetric and not asymmetric:
        raise InvalidSignature("signature header has no v1 or v1a signature")
    if len(asymmetric) > MAX_ASYMMETRIC:
        # Each v1a signature costs an Ed25519 check over the whole body, per public key.
        raise InvalidSignature("more v1a signatures than a sender rotating keys sends")
    return symmetric, asymmetric


def _any_ed25519(
    public_keys: tuple[Ed25519PublicKey, ...], signatures: list[bytes], signed: bytes
) -> bool:
    for key in public_keys:
        for signature in signatures:
            try:
                key.verify(signature, signed)
            except _BadSignature:
                continue
            return True
    return False


def public_keys(spec: SourceSpec) -> tuple[Ed25519PublicKey, ...]:
    keys = []
    for text in spec.options.strings("public_key"):
        raw = text.removeprefix(_PUBLIC_PREFIX)
        try:
            key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
            keys.append(Ed25519PublicKey.from_public_bytes(key))
        except (binascii.Error, ValueError) as err:
            raise spec.options.error("public_key", "expected 'whpk_' + base64 Ed25519 key") from err
    return tuple(keys)


def rfc3339(value: object) -> float | None:
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
    """The `webhook-signature` value a sender would send (the inverse of verify): `v1,<base64>`
    for a `whsec_` secret, `v1a,<base64>` for a `whsk_` Ed25519 signing key."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    if secret.startswith("whsk_"):
        raw = base64.b64decode(secret.removeprefix("whsk_"))
        private = Ed25519PrivateKey.from_private_bytes(raw[:32])  # seed, or seed + public key
        return "v1a," + base64.b64encode(private.sign(signed)).decode("ascii")
    digest = hmac.digest(decode_secret(secret), signed, hashlib.sha256)
    return "v1," + base64.b64encode(digest).decode("ascii")
