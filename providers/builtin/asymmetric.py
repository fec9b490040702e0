"""Asymmetric providers: the provider signs with a private key; the source holds `public_key`.

Discord (Ed25519 over timestamp + body) and SendGrid (ECDSA P-256 over timestamp + body); Plaid
(an ES256 JWT) builds on the same base in `plaid.py`. `public_key` may be a list, for a
rotation; `secrets` are refused (there is no shared secret to keep). Discord and SendGrid sign a
timestamp but document no tolerance: it is held to 5 minutes either way, as every other signed
timestamp (`tolerance_seconds = 0` turns the check off).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import replace
from typing import Any, ClassVar

from cryptography.exceptions import InvalidSignature as _BadSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from providers._fields import batch, body
from providers._provider import ProviderBase, Signing
from providers._signing import (
    as_bytes,
    check_tolerance,
    parse_unix_timestamp,
    require_header,
)
from providers.base import Handshake, SourceSpec, VerifiedEvent, WebhookRequest
from providers.errors import InvalidSignature, ProviderConfigError

PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey


def public_keys(spec: SourceSpec, load_key: Callable[[str], Any]) -> tuple[Any, ...]:
    """The source's `public_key` (one or a list, for a rotation), each read with `load_key`;
    `secrets` are refused: these providers verify with the provider's public key only."""
    if spec.secrets:
        raise ProviderConfigError(
            f"sources.{spec.name}.secrets: this provider verifies with public_key only"
        )
    keys = []
    for text in spec.options.strings("public_key", required=True):
        try:
            keys.append(load_key(text))
        except ValueError as err:
            raise spec.options.error("public_key", str(err)) from err
    return tuple(keys)


class AsymmetricProvider(ProviderBase):
    """Reads `public_key` (one or a list) with `load_key`; `authenticate` tries each."""

    family: ClassVar[str] = "asymmetric"
    source_keys = ("public_key", "tolerance_seconds")
    default_tolerance: ClassVar[float] = 300.0
    signed_timestamp = True

    def configure(self, spec: SourceSpec) -> None:
        self._keys = public_keys(spec, self.load_key)
        tolerance = spec.tolerance_seconds
        self._tolerance = self.default_tolerance if tolerance is None else tolerance
        self.signed_timestamp = bool(self._tolerance)

    def load_key(self, text: str) -> Any:
        raise NotImplementedError


class DiscordProvider(AsymmetricProvider):
    """Discord interactions and webhook events (`X-Signature-Ed25519`, `X-Signature-Timestamp`).

    `public_key` is the application's hex Ed25519 key. An interaction PING (type 1) is answered
    `{"type": 1}`; a webhook-event PING (type 0) with 204 and an empty body; neither is
    published. Discord probes endpoints with bad
    signatures and expects 401, which every refusal is.
    """

    event_id = body("/id")
    default_type = "interaction"
    reads_body = True
    signature_headers = frozenset({"x-signature-ed25519", "x-signature-timestamp"})

    def load_key(self, text: str) -> ed25519.Ed25519PublicKey:
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise ValueError("expected the application's public key: 64 hex digits")
        return ed25519.Ed25519PublicKey.from_public_bytes(raw)

    def authenticate(self, request: WebhookRequest) -> None:
        signature_hex = require_header(request.headers, "x-signature-ed25519")
        timestamp = require_header(request.headers, "x-signature-timestamp")
        seconds = parse_unix_timestamp(timestamp)
        try:
            signature = bytes.fromhex(signature_hex)
        except ValueError as err:
            raise InvalidSignature("x-signature-ed25519 is not hex") from err
        signed = as_bytes(timestamp) + request.body
        if not any(valid(key, signature, signed) for key in self._keys):
            raise InvalidSignature("x-signature-ed25519 matches no configured public key")
        check_tolerance(seconds, request.received_at, self._tolerance)

    def signed_handshake(self, request: WebhookRequest, document: Any) -> Handshake | None:
        if not isinstance(document, dict):
            return None
        kind = document.get("type")
        if type(kind) is not int:  # `True == 1`: a bool is no type
            return None
        if kind == 0:
            # Webhook events' PING (`{"version": 1, "type": 0, …}`, no `event`): 204, empty.
            # Interaction types start at 1, so 0 is never an interaction.
            return Handshake(b"", status_code=204)
        if kind == 1 and "event" not in document:  # interactions' PING; 1 + `event`: an event
            return Handshake(b'{"type":1}')
        return None

    def event(self, request: WebhookRequest, document: Any) -> VerifiedEvent:
        verified = super().event(request, document)
        return replace(verified, type=_discord_type(document) or verified.type)

    @classmethod
    def sign(cls, signing: Signing) -> dict[str, str]:
        """`signing.secret` is the hex Ed25519 private key (seed) matching `public_key`."""
        key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(signing.secret))
        text = str(signing.timestamp)
        return {
            "x-signature-ed25519": key.sign(text.encode() + signing.body).hex(),
            "x-signature-timestamp": text,
            "content-type": "application/json",
        }


class SendGridProvider(AsymmetricProvider):
    """SendGrid Event Webhook (ECDSA P-256 over timestamp + body; base64 DER signature).

    `public_key` is the verification key from Mail Settings (base64 SubjectPublicKeyInfo).
    Bodies are arrays of events: one event gives its `sg_event_id`, a batch a digest of them.
    """

    signature_header: ClassVar[str] = "x-twilio-email-event-webhook-signature"
    timestamp_header: ClassVar[str] = "x-twilio-email-event-webhook-timestamp"
    signature_headers = frozenset({signature_header, timestamp_header})
    event_id = batch("", "sg_event_id", kind="id")
    event_type = batch("", "event", kind="type")

    def load_key(self, text: str) -> ec.EllipticCurvePublicKey:
        return _ec_public_key(text)

    def authenticate(self, request: WebhookRequest) -> None:
        signature_text = require_header(request.headers, self.signature_header)
        timestamp = require_header(request.headers, self.timestamp_header)
        seconds = parse_unix_timestamp(timestamp)
        try:
            signature = base64.b64decode(signature_text, validate=True)
        except (binascii.Error, ValueError) as err:
            raise InvalidSignature(f"{self.signature_header} is not base64") from err
        signed = as_bytes(timestamp) + request.body
        if not any(valid(key, signature, signed) for key in self._keys):
            raise InvalidSignature(f"{self.signature_header} matches no configured public key")
        check_tolerance(seconds, request.received_at, self._tolerance)

    @classmethod
    def sign(cls, signing: Signing) -> dict[str, str]:
        """`signing.secret` is a P-256 private key: PEM, or base64 PKCS#8 DER."""
        key = ec_private_key(signing.secret)
        text = str(signing.timestamp)
        signature = key.sign(text.encode() + signing.body, ec.ECDSA(hashes.SHA256()))
        return {
            cls.signature_header: base64.b64encode(signature).decode("ascii"),
            cls.timestamp_header: text,
            "content-type": "application/json",
        }


_INTERACTIONS = {
    2: "application_command",
    3: "message_component",
    4: "application_command_autocomplete",
    5: "modal_submit",
}


def _discord_type(document: Any) -> str | None:
    if not isinstance(document, dict):
        return None
    event = document.get("event")
    if isinstance(event, dict) and isinstance(event.get("type"), str) and event["type"]:
        return str(event["type"])
    kind = document.get("type")
    return _INTERACTIONS.get(kind) if isinstance(kind, int) else None


def valid(key: Any, signature: bytes, signed: bytes) -> bool:
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, signed)
        else:
            key.verify(signature, signed, ec.ECDSA(hashes.SHA256()))
    except (_BadSignature, ValueError):
        return False
    return True


def spki_public_key(text: str, expected: str) -> Any:
    """A public key given as PEM or as base64 DER SubjectPublicKeyInfo; `ValueError` naming
    `expected` when it is neither."""
    try:
        if text.lstrip().startswith("-----BEGIN"):
            return serialization.load_pem_public_key(text.encode())
        return serialization.load_der_public_key(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError, TypeError) as err:
        raise ValueError(f"expected {expected}") from err


def _ec_public_key(text: str) -> ec.EllipticCurvePublicKey:
    key = spki_public_key(text, "a base64 (or PEM) SubjectPublicKeyInfo")
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ValueError("expected an ECDSA P-256 public key")
    return key


def ec_private_key(text: str) -> ec.EllipticCurvePrivateKey:
    if text.lstrip().startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
    else:
        key = serialization.load_der_private_key(base64.b64decode(text), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("expected an ECDSA P-256 private key")
    return key
