"""Pinned-public-key providers: the sender signs with its private key; the source pins the public
half in `public_key` (one, or a list while the sender rotates). Nothing is ever fetched.

Telnyx (Ed25519 over `{timestamp}|{body}`, a signed timestamp held to 5 minutes) and Wise
(RSA PKCS#1 v1.5 with SHA-256 over the body; no timestamp is signed). `secrets` are refused:
there is no shared secret to keep.
"""

from __future__ import annotations

import base64
import binascii
from typing import ClassVar

from cryptography.exceptions import InvalidSignature as _BadSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from providers._certs import rsa_sign
from providers._fields import body, header
from providers._provider import ProviderBase, Signing
from providers._signing import (
    as_bytes,
    check_tolerance,
    parse_unix_timestamp,
    require_header,
)
from providers.base import SourceSpec, WebhookRequest
from providers.builtin.asymmetric import AsymmetricProvider, public_keys, spki_public_key, valid
from providers.errors import InvalidSignature, ProviderConfigError

#: The largest RSA signature accepted (a 8192-bit key), base64: decoding is bounded before it.
_MAX_SIGNATURE_TEXT = 1400


def _b64decode(text: str, name: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as err:
        raise InvalidSignature(f"{name} is not base64") from err


class TelnyxProvider(AsymmetricProvider):
    """Telnyx (`telnyx-signature-ed25519`: base64 Ed25519 over `{telnyx-timestamp}|{body}`).

    `public_key` is the account's public key from the Mission Control portal (base64 of the
    32-byte key). The timestamp is held to 300 s either way, as Telnyx's SDK does. ID `data.id`;
    type `data.event_type`.
    """

    family: ClassVar[str] = "pinned-key"
    signature_header: ClassVar[str] = "telnyx-signature-ed25519"
    timestamp_header: ClassVar[str] = "telnyx-timestamp"
    signature_headers = frozenset({signature_header, timestamp_header})
    event_id = body("/data/id")
    event_type = body("/data/event_type")

    def load_key(self, text: str) -> ed25519.Ed25519PublicKey:
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise ValueError("expected the account's public key: base64 of 32 bytes")
        return ed25519.Ed25519PublicKey.from_public_bytes(raw)

    def authenticate(self, request: WebhookRequest) -> None:
        signature_text = require_header(request.headers, self.signature_header)
        timestamp = require_header(request.headers, self.timestamp_header)
        seconds = parse_unix_timestamp(timestamp)
        if len(signature_text) > 100:
            raise InvalidSignature(f"{self.signature_header} is longer than an Ed25519 signature")
        signature = _b64decode(signature_text, self.signature_header)
        signed = as_bytes(timestamp) + b"|" + request.body
        if not any(valid(key, signature, signed) for key in self._keys):
            raise InvalidSignature(f"{self.signature_header} matches no configured public key")
        check_tolerance(seconds, request.received_at, self._tolerance)

    @classmethod
    def sign(cls, signing: Signing) -> dict[str, str]:
        """`signing.secret` is the hex Ed25519 private key (seed) matching `public_key`."""
        key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(signing.secret))
        text = str(signing.timestamp)
        signature = key.sign(text.encode() + b"|" + signing.body)
        return {
            cls.signature_header: base64.b64encode(signature).decode("ascii"),
            cls.timestamp_header: text,
            "content-type": "application/json",
        }


class WiseProvider(ProviderBase):
    """Wise (`X-Signature-SHA256`: base64 RSA PKCS#1 v1.5 / SHA-256 signature of the body).

    `public_key` is Wise's published public key for the environment (sandbox and production
    differ), PEM or base64 SubjectPublicKeyInfo; pin both during a rotation. No timestamp is
    signed: a captured delivery verifies forever and only dedupe stops a replay. ID
    `X-Delivery-Id` (unsigned: a replay key covers the body); type `event_type`.
    """

    family: ClassVar[str] = "pinned-key"
    source_keys = ("public_key",)
    signature_header: ClassVar[str] = "x-signature-sha256"
    signature_headers = frozenset({signature_header})
    signed_timestamp = False
    event_id = header("x-delivery-id")
    event_type = body("/event_type")

    def configure(self, spec: SourceSpec) -> None:
        self._keys = public_keys(spec, self.load_key)
        if spec.tolerance_seconds is not None:
            raise ProviderConfigError(
                f"sources.{spec.name}.tolerance_seconds: Wise signs no timestamp"
            )

    def load_key(self, text: str) -> rsa.RSAPublicKey:
        key = spki_public_key(text, "an RSA public key: PEM, or base64 SubjectPublicKeyInfo")
        if not isinstance(key, rsa.RSAPublicKey) or key.key_size < 2048:
            raise ValueError("expected an RSA public key of at least 2048 bits")
        return key

    def authenticate(self, request: WebhookRequest) -> None:
        signature_text = require_header(request.headers, self.signature_header)
        if len(signature_text) > _MAX_SIGNATURE_TEXT:
            raise InvalidSignature(f"{self.signature_header} is longer than an RSA signature")
        signature = _b64decode(signature_text, self.signature_header)
        if not any(_rsa_valid(key, signature, request.body) for key in self._keys):
            raise InvalidSignature(f"{self.signature_header} matches no configured public key")

    @classmethod
    def sign(cls, signing: Signing) -> dict[str, str]:
        """`signing.secret` is an RSA private key: PEM, or base64 PKCS#8 DER."""
        return {
            cls.signature_header: rsa_sign(signing.secret, signing.body, hashes.SHA256()),
            **cls.metadata_headers(signing),
            "content-type": "application/json",
        }


def _rsa_valid(key: rsa.RSAPublicKey, signature: bytes, signed: bytes) -> bool:
    try:
        key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
    except (_BadSignature, ValueError):
        return False
    return True
