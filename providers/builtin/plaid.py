"""Plaid: `Plaid-Verification` is an ES256 JWT whose claims carry the body's SHA-256.

The JWT is checked against the JWK(s) in `public_key` (Plaid's `/webhook_verification_key/get`
answer, as JSON text); a `kid` naming none of them is refused, since verification never fetches.
`iat` is held to 5 minutes. No event ID is sent: the body hash; the type is `type.code`.
"""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar

import orjson
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from providers import _jws
from providers._fields import body, joined
from providers._provider import Signing
from providers._signing import as_bytes, check_tolerance, matches_any, require_header
from providers.base import WebhookRequest
from providers.builtin.asymmetric import AsymmetricProvider, ec_private_key, valid
from providers.errors import InvalidSignature


class PlaidProvider(AsymmetricProvider):
    """Plaid (`Plaid-Verification`: an ES256 JWT with `iat` and `request_body_sha256`).

    `public_key` is the JWK Plaid's `/webhook_verification_key/get` returns (JSON text), or a
    list of them; a token whose `kid` names none of them is refused (no fetching at request
    time). `iat` must be within 5 min. No event ID: the body hash; type `webhook_type.code`.
    """

    header: ClassVar[str] = "plaid-verification"
    signature_headers = frozenset({header})
    event_type = joined(".", body("/webhook_type"), body("/webhook_code"))

    def load_key(self, text: str) -> tuple[str | None, ec.EllipticCurvePublicKey]:
        try:
            jwk = orjson.loads(text)
            if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
                raise ValueError("not a P-256 key")
            x, y = (int.from_bytes(_jws.b64url_decode(jwk[c]), "big") for c in ("x", "y"))
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
        if not any(valid(key, signature, signed) for key in keys):
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
        key = ec_private_key(signing.secret)
        token = _jws.encode(
            header,
            orjson.dumps(claims),
            lambda signed: _jws.es256_raw(key.sign(signed, ec.ECDSA(hashes.SHA256()))),
        )
        return {cls.header: token, "content-type": "application/json"}


#: Plaid's tokens are a few hundred characters; a longer header is refused before decoding.
MAX_TOKEN_LENGTH = 4096


def _jwt_parts(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """Header, claims, signed bytes and DER signature of a compact JWS; `invalid_signature`."""
    jws = _jws.split(token, max_length=MAX_TOKEN_LENGTH, what="Plaid-Verification")
    return jws.header, jws.claims, jws.signed, _jws.es256_der(jws.signature)
