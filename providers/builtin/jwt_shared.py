"""JWT with a shared secret: `Authorization` carries an HS256 JWT keyed with the source's secret.

The engine checks the compact JWS (header `alg` HS256 only: `none` and every other algorithm
are refused), then `iat` within the tolerance (300 s either way by default) and `exp` when the
token has one, then the body-hash claim when the provider declares one. A provider is data: the
claim that carries the body's hex SHA-256 (`None`: the body is not covered, only the sender is
authenticated), whether the `Bearer ` prefix is required, the event fields.

The token is declared a credential header, never forwarded or stored: it is a bearer token
(monday.com's carries a short-lived API token), and the gateway never forwards `Authorization`.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Any, ClassVar

import orjson

from providers import _jws
from providers._fields import body, first
from providers._provider import ProviderBase, Signing
from providers._signing import as_bytes, check_tolerance, matches_any, require_secrets
from providers.base import Handshake, SourceSpec, WebhookRequest
from providers.errors import InvalidSignature, MissingSignature, StaleTimestamp

#: A longer header is refused before anything is decoded (tokens are well under 2 KiB).
MAX_TOKEN_LENGTH = 8192


def hs256_token(claims: dict[str, Any], secret: str) -> str:
    """A compact HS256 JWT of `claims` keyed with `secret` (UTF-8)."""
    return _jws.encode(
        {"alg": "HS256", "typ": "JWT"},
        orjson.dumps(claims),
        lambda signed: hmac.new(secret.encode(), signed, hashlib.sha256).digest(),
    )


class SharedSecretJwtProvider(ProviderBase):
    """`Authorization: [Bearer ]<HS256 JWT>`, keyed with one of `secrets`."""

    family: ClassVar[str] = "jwt-shared-secret"
    source_keys = ("secrets", "tolerance_seconds")
    header: ClassVar[str] = "authorization"
    credential_headers = frozenset({header})
    #: The claim holding hex(SHA-256(body)); `None`: the body is not covered.
    body_hash_claim: ClassVar[str | None] = None
    #: `Bearer ` must precede the token (else it is optional).
    bearer_required: ClassVar[bool] = False
    default_tolerance: ClassVar[float] = 300.0
    signed_timestamp = True

    def configure(self, spec: SourceSpec) -> None:
        require_secrets(spec.secrets, spec.name)
        self._keys = tuple(secret.reveal().encode() for secret in spec.secrets)
        tolerance = spec.tolerance_seconds
        self._tolerance = self.default_tolerance if tolerance is None else tolerance
        self.signed_timestamp = bool(self._tolerance)

    def authenticate(self, request: WebhookRequest) -> None:
        value = request.headers.get(self.header) or ""
        token = value[7:] if value[:7].lower() == "bearer " else value
        if not token.strip() or (self.bearer_required and token is value):
            raise MissingSignature(f"{self.header} carries no bearer token")
        claims, signed, mac = _parts(token.strip())
        expected = (hmac.new(key, signed, hashlib.sha256).digest() for key in self._keys)
        if not matches_any(expected, (mac,)):
            raise InvalidSignature("the JWT matches no configured secret")
        iat = _jws.numeric(claims.get("iat"))
        if iat is None:
            raise InvalidSignature("the JWT has no numeric iat")
        if self.body_hash_claim is not None:
            claimed = claims.get(self.body_hash_claim)
            if not isinstance(claimed, str):
                raise InvalidSignature(f"the JWT has no {self.body_hash_claim} claim")
            actual = hashlib.sha256(request.body).hexdigest()
            if not matches_any((as_bytes(actual),), (as_bytes(claimed.lower()),)):
                raise InvalidSignature(f"{self.body_hash_claim} does not match the body")
        if "exp" in claims:
            exp = _jws.numeric(claims["exp"])
            if exp is None or request.received_at > exp:
                raise StaleTimestamp("the JWT has expired")
        check_tolerance(iat, request.received_at, self._tolerance)

    @classmethod
    def claims(cls, signing: Signing) -> dict[str, Any]:
        """The claims the signer puts in the token beside `iat` and the body hash."""
        return {"jti": str(uuid.uuid4())}

    @classmethod
    def sign(cls, signing: Signing) -> dict[str, str]:
        claims: dict[str, Any] = {"iat": signing.timestamp, **cls.claims(signing)}
        if cls.body_hash_claim is not None:
            claims[cls.body_hash_claim] = hashlib.sha256(signing.body).hexdigest()
        token = hs256_token(claims, signing.secret)
        return {
            cls.header: f"Bearer {token}" if cls.bearer_required else token,
            "content-type": "application/json",
        }


def _parts(token: str) -> tuple[dict[str, Any], bytes, bytes]:
    """Claims, signed bytes and MAC of a compact HS256 JWS, or `invalid_signature`."""
    jws = _jws.split(token, max_length=MAX_TOKEN_LENGTH, what="the JWT")
    if jws.header.get("alg") != "HS256":
        raise InvalidSignature("the bearer token is not an HS256 JWT")
    return jws.claims, jws.signed, jws.signature


class VonageProvider(SharedSecretJwtProvider):
    """Vonage signed webhooks (Messages API, Voice): `Authorization: Bearer <JWT>`, HS256 with
    the account's signature secret, `payload_hash` = hex SHA-256 of the body (required: a token
    without it is refused). `iat` within 300 s. ID `message_uuid` (Messages) or `uuid` (Voice);
    type `status`, else `message_type`.
    """

    body_hash_claim = "payload_hash"
    bearer_required = True
    event_id = first(body("/message_uuid"), body("/uuid"))
    event_type = first(body("/status"), body("/message_type"))

    @classmethod
    def claims(cls, signing: Signing) -> dict[str, Any]:
        return {"jti": str(uuid.uuid4()), "iss": "Vonage"}


class MondayProvider(SharedSecretJwtProvider):
    """monday.com app webhooks: `Authorization: <JWT>` (a `Bearer ` prefix is accepted), HS256
    with the app's signing secret (or client secret); `iat` within 300 s, `exp` honoured.

    The JWT covers no part of the body: it authenticates the sender, not the bytes (a captured
    token could carry another body within its lifetime). `aud` is not checked. The challenge
    (`{"challenge": …}`, sent when the webhook is created, before any token is configured) is
    echoed unverified and never published. ID `event.triggerUuid`; type `event.type`.
    """

    event_id = body("/event/triggerUuid")
    event_type = body("/event/type")
    reads_body = True

    def unsigned_handshake(self, request: WebhookRequest) -> Handshake | None:
        if b"challenge" not in request.body or len(request.body) > 1024:
            return None
        try:
            document = orjson.loads(request.body)
        except orjson.JSONDecodeError:
            return None
        if (
            isinstance(document, dict)
            and set(document) == {"challenge"}
            and isinstance(document["challenge"], str)
        ):
            return Handshake(orjson.dumps({"challenge": document["challenge"]}))
        return None

    @classmethod
    def claims(cls, signing: Signing) -> dict[str, Any]:
        return {"exp": signing.timestamp + 300, "accountId": 1, "userId": 1}
