"""JWS bound to the body: a header carries a JWT whose one claim that matters is the body's SHA-256.

Netlify (outgoing deploy notifications: `X-Webhook-Signature`, HS256 with the notification's
"JWS secret token", `iss` = `netlify`, `sha256` = hex) and FusionAuth (`X-FusionAuth-Signature-
JWT`, `request_body_sha256` = base64, signed with a Key Master key: an HMAC secret in `secrets`,
or an RSA, EC or Ed25519 key whose public half is pinned in `public_key`). Both on the
jwt-shared-secret engine (`jwt_shared.py`), which parses and checks the token.

Neither sender puts a time in the token (FusionAuth's claims are the body hash alone), so no
tolerance applies and `tolerance_seconds` is refused: a captured delivery verifies forever and
only dedupe stops a replay. The token covers the body, so it is a signature header (forwarded,
like any signature), not a credential. FusionAuth's public keys are pinned, never fetched: a
JWKS lookup by `kid` needs the key-fetch engine, which verify() (pure CPU work) cannot be.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any, ClassVar

import orjson
from cryptography.exceptions import InvalidSignature as _BadSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from providers._fields import body
from providers._provider import Signing
from providers._signing import require_secrets
from providers.base import SourceSpec
from providers.builtin.asymmetric import spki_public_key
from providers.builtin.jwt_shared import (
    HMAC_DIGESTS,
    SharedSecretJwtProvider,
    _b64url_encode,
    hs256_token,
)
from providers.errors import InvalidSignature, ProviderConfigError

_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}
#: The ECDSA algorithm, and its signature's length (r || s), for each curve.
_CURVES = {"secp256r1": ("ES256", 64), "secp384r1": ("ES384", 96), "secp521r1": ("ES512", 132)}
_RSA_ALGS = ("RS256", "RS384", "RS512")
#: FusionAuth writes `Ed25519` (its library's name); RFC 8037 says `EdDSA`. Both mean Ed25519.
_ED_ALGS = ("Ed25519", "EdDSA")


class NetlifyProvider(SharedSecretJwtProvider):
    """Netlify outgoing webhooks (`X-Webhook-Signature`: an HS256 JWT keyed with the "JWS secret
    token", `iss` = `netlify`, `sha256` = hex SHA-256 of the body). No time is signed.

    ID: the body hash. A deploy is notified once per event (started, succeeded, locked, ...)
    with the same deploy `id` and often the same `state`, so neither identifies a notification;
    a retry resends the same bytes. Type: the deploy's `state` (`building`, `ready`, `error`),
    else `webhook` (form submission notifications carry no state).
    """

    header: ClassVar[str] = "x-webhook-signature"
    credential_headers: frozenset[str] = frozenset()
    signature_headers = frozenset({header})
    source_keys = ("secrets",)
    body_hash_claim = "sha256"
    issuer = "netlify"
    timestamped = False
    signed_timestamp = False
    event_type = body("/state")
    default_type = "webhook"

    @classmethod
    def claims(cls, signing: Signing) -> dict[str, Any]:
        return {}


class FusionAuthProvider(SharedSecretJwtProvider):
    """FusionAuth (`X-FusionAuth-Signature-JWT`: a JWT whose `request_body_sha256` claim is the
    base64 SHA-256 of the body). HMAC keys (HS256/384/512) are `secrets`; an RSA (RS256/384/512),
    EC (ES256/384/512) or Ed25519 key's public half is `public_key` (PEM or base64 SPKI, a list
    during a rotation). Either, or both. No time is signed. ID `event.id`; type `event.type`.
    """

    header: ClassVar[str] = "x-fusionauth-signature-jwt"
    credential_headers: frozenset[str] = frozenset()
    signature_headers = frozenset({header})
    source_keys = ("secrets", "public_key")
    body_hash_claim = "request_body_sha256"
    body_hash_encoding = "base64"
    algorithms = frozenset(HMAC_DIGESTS)
    timestamped = False
    signed_timestamp = False
    event_id = body("/event/id")
    event_type = body("/event/type")

    @classmethod
    def claims(cls, signing: Signing) -> dict[str, Any]:
        return {}  # FusionAuth's token carries the body hash alone

    def configure(self, spec: SourceSpec) -> None:
        texts = spec.options.strings("public_key")
        if spec.secrets or not texts:
            if not spec.secrets:
                raise ProviderConfigError(
                    f"sources.{spec.name}.secrets: the webhook's HMAC key, or public_key, "
                    "is required"
                )
            require_secrets(spec.secrets, spec.name)
        self._keys = tuple(secret.reveal().encode() for secret in spec.secrets)
        public: list[tuple[tuple[str, ...], Any]] = []
        for text in texts:
            try:
                public.append(_public_key(text))
            except ValueError as err:
                raise spec.options.error("public_key", str(err)) from err
        self._public = tuple(public)
        self.configure_clock(spec)

    def check_signature(self, head: dict[str, Any], signed: bytes, signature: bytes) -> None:
        alg = head.get("alg")
        if isinstance(alg, str) and alg in self.algorithms and self._keys:
            super().check_signature(head, signed, signature)
            return
        keys = [key for algs, key in self._public if isinstance(alg, str) and alg in algs]
        if not keys:
            raise InvalidSignature(f"no configured key verifies the {self.header} token's alg")
        if not any(_verifies(key, str(alg), signature, signed) for key in keys):
            raise InvalidSignature(f"the {self.header} token matches no configured public key")

    @classmethod
    def sign(cls, signing: Signing) -> dict[str, str]:
        """`signing.secret` is the HMAC key (HS256), or, when the options hold `public_key`, the
        private key (PEM or base64 PKCS#8) whose kind sets the algorithm (RS256, ES*, Ed25519)."""
        claims = cls.signed_claims(signing)
        if not signing.options.get("public_key"):
            token = hs256_token(claims, signing.secret)
        else:
            token = _private_key_token(claims, signing.secret)
        return {cls.header: token, "content-type": "application/json"}


def _public_key(text: str) -> tuple[tuple[str, ...], Any]:
    """A pinned public key and the `alg` values it verifies; `ValueError` when unusable."""
    key = spki_public_key(text, "a public key: PEM, or base64 SubjectPublicKeyInfo")
    if isinstance(key, rsa.RSAPublicKey) and key.key_size >= 2048:
        return _RSA_ALGS, key
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name in _CURVES:
        return (_CURVES[key.curve.name][0],), key
    if isinstance(key, ed25519.Ed25519PublicKey):
        return _ED_ALGS, key
    raise ValueError("expected an RSA (2048 bits or more), P-256/384/521 or Ed25519 public key")


def _verifies(key: Any, alg: str, signature: bytes, signed: bytes) -> bool:
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signed, padding.PKCS1v15(), _HASHES[alg[2:]]())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            size = _CURVES[key.curve.name][1] // 2
            if len(signature) != 2 * size:
                return False
            r, s = (int.from_bytes(part, "big") for part in (signature[:size], signature[size:]))
            key.verify(encode_dss_signature(r, s), signed, ec.ECDSA(_HASHES[alg[2:]]()))
        else:
            key.verify(signature, signed)
    except (_BadSignature, ValueError):
        return False
    return True


def _private_key_token(claims: dict[str, Any], text: str) -> str:
    if text.lstrip().startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
    else:
        key = serialization.load_der_private_key(base64.b64decode(text), password=None)
    if isinstance(key, rsa.RSAPrivateKey):
        alg = "RS256"
    elif isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in _CURVES:
        alg = _CURVES[key.curve.name][0]
    elif isinstance(key, ed25519.Ed25519PrivateKey):
        alg = "Ed25519"
    else:
        raise ValueError("expected an RSA, P-256/384/521 or Ed25519 private key")
    head = _b64url_encode(b'{"alg":"%s","typ":"JWT"}' % alg.encode())
    signed = f"{head}.{_b64url_encode(orjson.dumps(claims))}".encode()
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(signed, padding.PKCS1v15(), hashes.SHA256())
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        size = _CURVES[key.curve.name][1] // 2
        r, s = decode_dss_signature(key.sign(signed, ec.ECDSA(_HASHES[alg[2:]]())))
        signature = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    else:
        signature = key.sign(signed)
    return f"{signed.decode()}.{_b64url_encode(signature)}"
