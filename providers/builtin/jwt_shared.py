"""JWT with a shared secret: a header (`Authorization` by default) carries an HMAC-keyed JWT.

The engine checks the compact JWS (header `alg` among the provider's HMAC algorithms, HS256 by
default: `none` and every other algorithm are refused), then `iat` within the tolerance (300 s
either way by default) and `exp` when the token has one, then the body-hash claim when the
provider declares one. A provider is data: the header, the claim that carries the body's SHA-256
and its encoding (`None`: the body is not covered, only the sender is authenticated), a required
`iss`, whether the token is timestamped at all, whether `Bearer ` is required, the event fields.

Vonage's and monday.com's tokens are bearer tokens in `Authorization` (monday.com's carries a
short-lived API token): a credential header, never forwarded or stored. Body-bound tokens
(Netlify, FusionAuth: `jws_body.py`; MessageBird: `jws_url.py`) are signature headers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid
from typing import Any, ClassVar

import orjson

from providers._fields import body, first
from providers._provider import ProviderBase, Signing
from providers._signing import as_bytes, check_tolerance, matches_any, require_secrets
from providers.base import Handshake, SourceSpec, WebhookRequest
from providers.errors import (
    InvalidSignature,
    MissingSignature,
    ProviderConfigError,
    StaleTimestamp,
)

#: A longer header is refused before anything is decoded (tokens are well under 2 KiB).
MAX_TOKEN_LENGTH = 8192

#: The HMAC JWS algorithms (RFC 7518 §3.2) and their digests.
HMAC_DIGESTS: dict[str, Any] = {
    "HS256": hashlib.sha256,
    "HS384": hashlib.sha384,
    "HS512": hashlib.sha512,
}


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def hs256_token(claims: dict[str, Any], secret: str, alg: str = "HS256") -> str:
    """A compact HMAC JWT (HS256 by default) of `claims` keyed with `secret` (UTF-8)."""
    head = _b64url_encode(orjson.dumps({"alg": alg, "typ": "JWT"}))
    signed = f"{head}.{_b64url_encode(orjson.dumps(claims))}"
    mac = hmac.new(secret.encode(), signed.encode(), HMAC_DIGESTS[alg]).digest()
    return f"{signed}.{_b64url_encode(mac)}"


def body_digest(body: bytes, encoding: str) -> str:
    """The body's SHA-256 as a body-hash claim carries it: `hex` or (padded) `base64`."""
    digest = hashlib.sha256(body)
    return digest.hexdigest() if encoding == "hex" else base64.b64encode(digest.digest()).decode()


class SharedSecretJwtProvider(ProviderBase):
    """`Authorization: [Bearer ]<HMAC JWT>`, keyed with one of `secrets` (the defaults)."""

    family: ClassVar[str] = "jwt-shared-secret"
    source_keys: ClassVar[tuple[str, ...]] = ("secrets", "tolerance_seconds")
    header: ClassVar[str] = "authorization"
    credential_headers = frozenset({header})
    #: The claim holding the body's SHA-256; `None`: the body is not covered.
    body_hash_claim: ClassVar[str | None] = None
    #: How that claim writes the digest: `hex` (either case) or padded `base64`.
    body_hash_encoding: ClassVar[str] = "hex"
    #: The `iss` every token carries (`None`: not checked).
    issuer: ClassVar[str | None] = None
    #: The HMAC algorithms a token's `alg` may name (the signer uses HS256).
    algorithms: ClassVar[frozenset[str]] = frozenset({"HS256"})
    #: Every token carries `iat` (held to the tolerance); else `tolerance_seconds` is refused.
    timestamped: ClassVar[bool] = True
    #: `Bearer ` must precede the token (else it is optional).
    bearer_required: ClassVar[bool] = False
    default_tolerance: ClassVar[float] = 300.0
    signed_timestamp = True

    def configure(self, spec: SourceSpec) -> None:
        require_secrets(spec.secrets, spec.name)
        self._keys = tuple(secret.reveal().encode() for secret in spec.secrets)
        self.configure_clock(spec)

    def configure_clock(self, spec: SourceSpec) -> None:
        """The tolerance `iat` is held to, or none for a sender that signs no time."""
        tolerance = spec.tolerance_seconds
        if not self.timestamped:
            if tolerance is not None:
                raise ProviderConfigError(
                    f"sources.{spec.name}.tolerance_seconds: this sender's token carries no time"
                )
            self._tolerance, self.signed_timestamp = 0.0, False
            return
        self._tolerance = self.default_tolerance if tolerance is None else tolerance
        self.signed_timestamp = bool(self._tolerance)

    def authenticate(self, request: WebhookRequest) -> None:
        value = request.headers.get(self.header) or ""
        token = value[7:] if value[:7].lower() == "bearer " else value
        if not token.strip() or (self.bearer_required and token is value):
            raise MissingSignature(f"{self.header} carries no token")
        head, claims, signed, signature = parse_jws(token.strip(), self.header)
        self.check_signature(head, signed, signature)
        self.check_claims(claims, request)

    def check_signature(self, head: dict[str, Any], signed: bytes, signature: bytes) -> None:
        """Refuse a token whose `alg` is not accepted or whose MAC matches no secret."""
        alg = head.get("alg")
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise InvalidSignature(f"the {self.header} token's alg is not accepted")
        digest = HMAC_DIGESTS[alg]
        expected = (hmac.new(key, signed, digest).digest() for key in self._keys)
        if not matches_any(expected, (signature,)):
            raise InvalidSignature("the JWT matches no configured secret")

    def check_claims(self, claims: dict[str, Any], request: WebhookRequest) -> None:
        """`iat` (when timestamped), `iss`, the body hash, then `exp` and the tolerance."""
        iat = _number(claims.get("iat"))
        if iat is None and self.timestamped:
            raise InvalidSignature("the JWT has no numeric iat")
        if self.issuer is not None and claims.get("iss") != self.issuer:
            raise InvalidSignature(f"the JWT's iss is not {self.issuer}")
        if self.body_hash_claim is not None:
            claimed = claims.get(self.body_hash_claim)
            if not isinstance(claimed, str):
                raise InvalidSignature(f"the JWT has no {self.body_hash_claim} claim")
            if self.body_hash_encoding == "hex":
                claimed = claimed.lower()
            actual = body_digest(request.body, self.body_hash_encoding)
            if not matches_any((as_bytes(actual),), (as_bytes(claimed),)):
                raise InvalidSignature(f"{self.body_hash_claim} does not match the body")
        if "exp" in claims:
            exp = _number(claims["exp"])
            if exp is None or request.received_at > exp:
                raise StaleTimestamp("the JWT has expired")
        if iat is not None and self.timestamped:
            check_tolerance(iat, request.received_at, self._tolerance)

    @classmethod
    def claims(cls, signing: Signing) -> dict[str, Any]:
        """The claims the signer puts in the token beside `iat` and the body hash."""
        return {"jti": str(uuid.uuid4())}

    @classmethod
    def signed_claims(cls, signing: Signing) -> dict[str, Any]:
        """Every claim of a signed token: `iat`, `iss`, `claims()` and the body hash."""
        claims: dict[str, Any] = {"iat": signing.timestamp} if cls.timestamped else {}
        if cls.issuer is not None:
            claims["iss"] = cls.issuer
        claims |= cls.claims(signing)
        if cls.body_hash_claim is not None:
            claims[cls.body_hash_claim] = body_digest(signing.body, cls.body_hash_encoding)
        return claims

    @classmethod
    def sign(cls, signing: Signing) -> dict[str, str]:
        token = hs256_token(cls.signed_claims(signing), signing.secret)
        return {
            cls.header: f"Bearer {token}" if cls.bearer_required else token,
            "content-type": "application/json",
        }


def _number(value: object) -> float | None:
    """A numeric claim as a float, or `None` (a bool is no number)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def parse_jws(token: str, name: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """Header, claims, signed bytes and signature of a compact JWS (the token in header
    `name`), or `invalid_signature`. Nothing is trusted yet: the caller checks `alg`."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidSignature(f"the {name} token is longer than any sender's")
    pieces = token.split(".")
    if len(pieces) != 3 or not token.isascii():
        raise InvalidSignature(f"the {name} token is not a compact JWT")
    try:
        head, claims = (orjson.loads(_b64url(piece)) for piece in pieces[:2])
        signature = _b64url(pieces[2])
    except (binascii.Error, ValueError) as err:  # JSONDecodeError is a ValueError
        raise InvalidSignature(f"the {name} token does not decode") from err
    if not isinstance(head, dict) or not isinstance(claims, dict):
        raise InvalidSignature(f"the {name} token is not a JWT")
    return head, claims, f"{pieces[0]}.{pieces[1]}".encode(), signature


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
