"""Asymmetric providers: the provider signs with a private key; the source holds `public_key`.

Discord (Ed25519 over timestamp + body), SendGrid (ECDSA P-256 over timestamp + body) and
Plaid (an ES256 JWT whose claims carry the body's SHA-256). `public_key` may be a list, for a
rotation; `secrets` are refused (there is no shared secret to keep). Discord and SendGrid sign a
timestamp but document no tolerance: the check is off unless `tolerance_seconds` is set.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any, ClassVar

import orjson
from cryptography.exceptions import InvalidSignature as _BadSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from providers._fields import batch, body, joined
from providers._provider import ProviderBase, Signing
from providers._signing import (
    as_bytes,
    check_tolerance,
    matches_any,
    parse_unix_timestamp,
    require_header,
)
from providers.base import Handshake, SourceSpec, VerifiedEvent, WebhookRequest
from providers.errors import InvalidSignature, ProviderConfigError

PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey


class AsymmetricProvider(ProviderBase):
    """Reads `public_key` (one or a list) with `load_key`; `authenticate` tries each."""

    family: ClassVar[str] = "asymmetric"
    source_keys = ("public_key", "tolerance_seconds")
    default_tolerance: ClassVar[float] = 0.0

    def configure(self, spec: SourceSpec) -> None:
        if spec.secrets:
            raise ProviderConfigError(
                f"sources.{spec.name}.secrets: this provider verifies with public_key only"
            )
        keys = []
        for text in spec.options.strings("public_key", required=True):
            try:
                keys.append(self.load_key(text))
            except ValueError as err:
                raise spec.options.error("public_key", str(err)) from err
        self._keys = tuple(keys)
        tolerance = spec.tolerance_seconds
        self._tolerance = self.default_tolerance if tolerance is None else tolerance

    def load_key(self, text: str) -> Any:
        raise NotImplementedError


class DiscordProvider(AsymmetricProvider):
    """Discord interactions and webhook events (`X-Signature-Ed25519`, `X-Signature-Timestamp`).

    `public_key` is the application's hex Ed25519 key. An interaction PING (type 1) is answered
    `{"type": 1}`; a webhook-event PING (type 0) with 204. Discord probes endpoints with bad
    signatures and expects 401, which every refusal is.
    """

    event_id = body("/id")
    default_type = "interaction"
    reads_body = True

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
        if not any(_valid(key, signature, signed) for key in self._keys):
            raise InvalidSignature("x-signature-ed25519 matches no configured public key")
        check_tolerance(seconds, request.received_at, self._tolerance)

    def signed_handshake(self, request: WebhookRequest, document: Any) -> Handshake | None:
        if not isinstance(document, dict):
            return None
        kind = document.get("type")
        if "event" in document:  # a webhook event: type 0 is the PING
            return Handshake(b"", status_code=204) if kind == 0 else None
        return Handshake(b'{"type":1}') if kind == 1 else None

    def event(self, request: WebhookRequest, document: Any) -> VerifiedEvent:
        verified = super().event(request, document)
        return VerifiedEvent(verified.id, _discord_type(document) or verified.type)

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
        if not any(_valid(key, signature, signed) for key in self._keys):
            raise InvalidSignature(f"{self.signature_header} matches no configured public key")
        check_tolerance(seconds, request.received_at, self._tolerance)

    @classmethod
    def sign(cls, signing: Signing) -> dict[str, str]:
        """`signing.secret` is a P-256 private key: PEM, or base64 PKCS#8 DER."""
        key = _ec_private_key(signing.secret)
        text = str(signing.timestamp)
        signature = key.sign(text.encode() + signing.body, ec.ECDSA(hashes.SHA256()))
        return {
            cls.signature_header: base64.b64encode(signature).decode("ascii"),
            cls.timestamp_header: text,
            "content-type": "application/json",
        }


class PlaidProvider(AsymmetricProvider):
    """Plaid (`Plaid-Verification`: an ES256 JWT with `iat` and `request_body_sha256`).

    `public_key` is the JWK Plaid's `/webhook_verification_key/get` returns (JSON text), or a
    list of them; a token whose `kid` names none of them is refused (no fetching at request
    time). `iat` must be within 5 min. No event ID: the body hash; type `webhook_type.code`.
    """

    header: ClassVar[str] = "plaid-verification"
    default_tolerance = 300.0
    event_type = joined(".", body("/webhook_type"), body("/webhook_code"))

    def load_key(self, text: str) -> tuple[str | None, ec.EllipticCurvePublicKey]:
        try:
            jwk = orjson.loads(text)
            if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
                raise ValueError("not a P-256 key")
            x, y = (int.from_bytes(_b64url(jwk[c]), "big") for c in ("x", "y"))
            key = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
        except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError) as err:
            raise ValueError("expected a P-256 JWK as JSON (kty EC, crv P-256, x, y)") from err
        kid = jwk.get("kid")
        return (kid if isinstance(kid, str) else None, key)

    def authenticate(self, request: WebhookRequest) -> None:
        token = require_header(request.headers, self.header)
        header, claims, signed, signature = _jwt_parts(token)
        if header.get("alg") != "ES256":
            raise InvalidSignature("Plaid-Verification is not an ES256 JWT")
        kid = header.get("kid")
        keys = [key for key_id, key in self._keys if key_id is None or key_id == kid]
        if not any(_valid(key, signature, signed) for key in keys):
            raise InvalidSignature("Plaid-Verification matches no configured public key")
        body_hash = claims.get("request_body_sha256")
        iat = claims.get("iat")
        if not isinstance(body_hash, str) or not isinstance(iat, int | float):
            raise InvalidSignature("the JWT lacks iat or request_body_sha256")
        actual = hashlib.sha256(request.body).hexdigest()
        if not matches_any((as_bytes(actual),), (as_bytes(body_hash),)):
            raise InvalidSignature("request_body_sha256 does not match the body")
        check_tolerance(float(iat), request.received_at, self._tolerance)

    @classmethod
    def sign(cls, signing: Signing) -> dict[str, str]:
        """`signing.secret` is a P-256 private key (PEM or base64 PKCS#8 DER); the `kid` is
        taken from the first `public_key` JWK in the options, when there is one."""
        kid = None
        keys = signing.options.get("public_key")
        first = keys[0] if isinstance(keys, list) and keys else keys
        if isinstance(first, str):
            kid = orjson.loads(first).get("kid")
        header = {"alg": "ES256", "typ": "JWT", **({"kid": kid} if kid else {})}
        claims = {
            "iat": signing.timestamp,
            "request_body_sha256": hashlib.sha256(signing.body).hexdigest(),
        }
        signed = f"{_b64url_encode(orjson.dumps(header))}.{_b64url_encode(orjson.dumps(claims))}"
        der = _ec_private_key(signing.secret).sign(signed.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return {cls.header: f"{signed}.{_b64url_encode(raw)}", "content-type": "application/json"}


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


def _valid(key: Any, signature: bytes, signed: bytes) -> bool:
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, signed)
        else:
            key.verify(signature, signed, ec.ECDSA(hashes.SHA256()))
    except (_BadSignature, ValueError):
        return False
    return True


def _ec_public_key(text: str) -> ec.EllipticCurvePublicKey:
    try:
        if text.lstrip().startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
        else:
            key = serialization.load_der_public_key(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError, TypeError) as err:
        raise ValueError("expected a base64 (or PEM) SubjectPublicKeyInfo") from err
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ValueError("expected an ECDSA P-256 public key")
    return key


def _ec_private_key(text: str) -> ec.EllipticCurvePrivateKey:
    if text.lstrip().startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
    else:
        key = serialization.load_der_private_key(base64.b64decode(text), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("expected an ECDSA P-256 private key")
    return key


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _jwt_parts(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """Header, claims, signed bytes and DER signature of a compact JWS; `invalid_signature`."""
    pieces = token.split(".")
    if len(pieces) != 3 or not token.isascii():
        raise InvalidSignature("Plaid-Verification is not a compact JWT")
    try:
        header, claims = (orjson.loads(_b64url(piece)) for piece in pieces[:2])
        raw = _b64url(pieces[2])
    except (binascii.Error, ValueError) as err:  # JSONDecodeError is a ValueError
        raise InvalidSignature("Plaid-Verification does not decode") from err
    if not isinstance(header, dict) or not isinstance(claims, dict) or len(raw) != 64:
        raise InvalidSignature("Plaid-Verification is not an ES256 JWT")
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    return header, claims, f"{pieces[0]}.{pieces[1]}".encode(), der
