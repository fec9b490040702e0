"""Google Cloud Pub/Sub push (and Google Play RTDN, which rides on it): an OIDC ID token.

`Authorization: Bearer <JWT>`, RS256, signed by Google with a key from the fixed
`https://www.googleapis.com/oauth2/v1/certs` (a JSON map of key ID to PEM certificate), never
from a URL in the request. The certificates are fetched by `providers.keyfetch` outside
`verify` (a miss answers after one bounded load, or 503), cached until Google's
`Cache-Control: max-age` or the certificates' notAfter; a token naming an unknown `kid`
reloads them at most every 5 minutes. `certificates` pins that JSON document instead (nothing
is fetched). Claims as `google.oauth2.id_token.verify_token` checks them, plus the push
subscription's service account: `iss` is Google, `aud` the source's `audience`, `email` its
`service_account` with `email_verified`, `exp`/`iat` within `tolerance_seconds` (60 s).

The token authenticates the sender, not the body: Google signs no part of the message, so a
captured token (it lives an hour) could carry another body until it expires. Use TLS; dedupe
on `message.messageId`. No replay key: Pub/Sub reuses a token for many messages.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from typing import Any, ClassVar

import orjson
from cryptography import x509
from cryptography.exceptions import InvalidSignature as _BadSignature
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from providers import _jws
from providers._certs import rsa_private_key
from providers._fields import body, first
from providers._provider import ProviderBase, Signing
from providers._signing import require_header
from providers.base import SourceSpec, WebhookRequest
from providers.errors import InvalidSignature, ProviderConfigError, StaleTimestamp
from providers.keyfetch import KeyFetcher, Parsed, UrlPolicy, UrlRule

CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
ISSUERS = frozenset({"accounts.google.com", "https://accounts.google.com"})
#: Google's ID tokens are ~1 KiB; a longer header is refused before anything is decoded.
MAX_TOKEN_LENGTH = 8192
#: Google serves two or three keys; a document with more is no key set of Google's.
MAX_KEYS = 16
Keys = dict[str, rsa.RSAPublicKey]


def parse_certificates(document: bytes) -> Parsed[Keys]:
    """The key ID → RSA key map of Google's certificate document (JSON: kid → PEM certificate),
    expiring at the earliest notAfter; `ValueError` when it is not one."""
    try:
        pems = orjson.loads(document)
    except orjson.JSONDecodeError as err:
        raise ValueError("expected Google's certificates: JSON, key ID to PEM") from err
    if not isinstance(pems, dict) or not pems or len(pems) > MAX_KEYS:
        raise ValueError("expected Google's certificates: JSON, key ID to PEM")
    keys: Keys = {}
    expiry = float("inf")
    for kid, pem in pems.items():
        if not isinstance(pem, str):
            raise ValueError("expected Google's certificates: JSON, key ID to PEM")
        certificate = x509.load_pem_x509_certificate(pem.encode())  # ValueError when not one
        try:
            key = certificate.public_key()
        except UnsupportedAlgorithm as err:
            raise ValueError("expected RSA certificates of at least 2048 bits") from err
        if not isinstance(key, rsa.RSAPublicKey) or key.key_size < 2048:
            raise ValueError("expected RSA certificates of at least 2048 bits")
        keys[kid] = key
        expiry = min(expiry, certificate.not_valid_after_utc.timestamp())
    return Parsed(keys, expiry)


class GoogleOidcProvider(ProviderBase):
    """A push whose `Authorization` carries a Google-signed OIDC ID token (see the module)."""

    family: ClassVar[str] = "jwt-provider-keys"
    source_keys: ClassVar[tuple[str, ...]] = (
        "audience",
        "service_account",
        "certificates",
        "tolerance_seconds",
    )
    credential_headers = frozenset({"authorization"})
    signed_timestamp = True
    default_tolerance: ClassVar[float] = 60.0
    #: Where Google's keys come from; a test subclass may point both at a loopback server.
    certs_url: ClassVar[str] = CERTS_URL
    url_rule: ClassVar[UrlPolicy] = UrlRule(
        re.compile(r"www\.googleapis\.com"), re.compile(r"/oauth2/v1/certs")
    )
    event_id = body("/message/messageId")
    id_required = True

    def configure(self, spec: SourceSpec) -> None:
        where = f"sources.{spec.name}"
        if spec.secrets:
            raise ProviderConfigError(f"{where}.secrets: Google signs with its own keys")
        options = spec.options
        self._audience = options.string("audience", required=True)
        self._account = options.string("service_account", required=True)
        self._pinned: Keys = {}
        self._fetcher: KeyFetcher[Keys] | None = None
        pinned = options.strings("certificates")
        if pinned:
            for i, text in enumerate(pinned):
                try:
                    self._pinned |= parse_certificates(text.encode()).value
                except ValueError as err:
                    where_key = "certificates" if len(pinned) == 1 else f"certificates[{i}]"
                    raise options.error(where_key, str(err)) from err
        else:
            self._fetcher = KeyFetcher(spec.name, parse_certificates, self.url_rule)
        tolerance = spec.tolerance_seconds
        self._tolerance = self.default_tolerance if tolerance is None else tolerance
        self.signed_timestamp = bool(self._tolerance)

    def authenticate(self, request: WebhookRequest) -> None:
        value = require_header(request.headers, "authorization")
        if value[:7].lower() != "bearer ":
            raise InvalidSignature("authorization is not a bearer token")
        jws = _jws.split(value[7:].strip(), max_length=MAX_TOKEN_LENGTH, what="the bearer token")
        if jws.header.get("alg") != "RS256":
            raise InvalidSignature("the bearer token is not an RS256 JWT")
        key = self._key(jws.header.get("kid"), request.received_at)
        try:
            key.verify(jws.signature, jws.signed, padding.PKCS1v15(), hashes.SHA256())
        except (_BadSignature, ValueError) as err:
            raise InvalidSignature("the bearer token's signature does not verify") from err
        self._check_claims(jws.claims, request.received_at)

    def _key(self, kid: object, now: float) -> rsa.RSAPublicKey:
        keys = self._pinned
        if self._fetcher is not None:
            keys = self._fetcher.get(self.certs_url, now)  # KeyUnavailable: loaded, then again
        key = keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            if self._fetcher is not None:
                self._fetcher.reload(self.certs_url, now)  # a new key? loaded at most every 5 min
            raise InvalidSignature("the bearer token names none of Google's keys")
        return key

    def _check_claims(self, claims: dict[str, Any], now: float) -> None:
        if claims.get("iss") not in ISSUERS:
            raise InvalidSignature("the token was not issued by Google")
        if claims.get("aud") != self._audience:
            raise InvalidSignature("the token is for another audience")
        if claims.get("email") != self._account or claims.get("email_verified") is not True:
            raise InvalidSignature("the token is for another service account")
        exp, iat = _jws.numeric(claims.get("exp")), _jws.numeric(claims.get("iat"))
        if exp is None or iat is None:
            raise InvalidSignature("the token has no numeric exp or iat")
        if self._tolerance and now > exp + self._tolerance:
            raise StaleTimestamp("the token has expired")
        if self._tolerance and iat > now + self._tolerance:
            raise StaleTimestamp("the token was issued in the future")

    @classmethod
    def sign(cls, signing: Signing) -> dict[str, str]:
        """`signing.secret` is an RSA private key (PEM, or base64 PKCS#8 DER); the token's
        `kid` names its certificate in the `certificates` option, when one matches."""
        key = rsa_private_key(signing.secret)
        claims = {
            "iss": "https://accounts.google.com",
            "aud": signing.options.get("audience"),
            "azp": "108364727612839140113",
            "sub": "108364727612839140113",
            "email": signing.options.get("service_account"),
            "email_verified": True,
            "iat": signing.timestamp,
            "exp": signing.timestamp + 3600,
        }
        header = {"alg": "RS256", "kid": signing_kid(key, signing.options), "typ": "JWT"}
        token = _jws.encode(
            header,
            orjson.dumps(claims),
            lambda signed: key.sign(signed, padding.PKCS1v15(), hashes.SHA256()),
        )
        return {"authorization": f"Bearer {token}", "content-type": "application/json"}

    @classmethod
    def push_body(cls, data: bytes, *, message_id: str | None = None) -> bytes:
        """A push body as Pub/Sub sends it, carrying `data` (for tests and `hookgate send`)."""
        message = {
            "data": base64.b64encode(data).decode("ascii"),
            "messageId": message_id or str(uuid.uuid4().int)[:16],
            "publishTime": "2026-12-03T07:00:00.000Z",
        }
        return orjson.dumps({"message": message, "subscription": "projects/p/subscriptions/s"})


def key_id(key: rsa.RSAPublicKey) -> str:
    """The key ID hookgate gives a key it signs with: the SHA-1 of its SubjectPublicKeyInfo."""
    spki = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha1(spki, usedforsecurity=False).hexdigest()


def signing_kid(key: rsa.RSAPrivateKey, options: Any) -> str:
    """The kid of `key`'s certificate in the `certificates` option, else `key_id`."""
    public = key.public_key().public_numbers()
    documents = options.get("certificates") or []
    for document in [documents] if isinstance(documents, str) else documents:
        try:
            keys = parse_certificates(document.encode()).value
        except ValueError:
            continue
        for kid, candidate in keys.items():
            if candidate.public_numbers() == public:
                return kid
    return key_id(key.public_key())


class GooglePubSubProvider(GoogleOidcProvider):
    """Google Cloud Pub/Sub push with authentication (an OIDC token for a service account).

    ID `message.messageId`; type the message's `eventType` attribute (Cloud Storage and other
    Google senders set it), else `pubsub`. The body is not covered by the token.
    """

    event_type = first(body("/message/attributes/eventType"))
    default_type = "pubsub"
