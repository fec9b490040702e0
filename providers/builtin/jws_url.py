"""MessageBird's signed requests: `MessageBird-Signature-JWT`, a JWT over the URL and the body.

The token is an HMAC JWT (HS256, HS384 or HS512) keyed with the account's signing key (not the
API key), on the jwt-shared-secret engine (`jwt_shared.py`). Its claims: `iss` = `MessageBird`,
`nbf` and `exp` (a one-minute window), `url_hash` = hex SHA-256 of the URL called, query string
included, and `payload_hash` = hex SHA-256 of the body, present exactly when there is a body (a
GET status report carries its data in the query, which `url_hash` covers). As in MessageBird's
SDK (`messagebird.request_validator`), the window is held with 1 s of leeway; `tolerance_seconds`
sets that leeway (`0` turns the time check off). The URL is the source's `public_url`, plus the
request's query when `public_url` has none (as for the other URL-bound providers).

A notification has no ID of its own (conversation webhooks update one message several times,
status reports repeat the message ID per status): the ID is the SHA-256 of the signed URL and
the body, which a retry repeats. Type: body `type` (conversations), else `status` (a status
report's query or body), else `webhook`. Not handled: Bird's newer platform (other headers).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import replace
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

from providers._fields import NOT_JSON, body, first, parse_json
from providers._hmac_scheme import public_url, signed_url
from providers._provider import GET_AND_POST, Signing
from providers._signing import as_bytes, matches_any, require_secrets
from providers.base import SourceSpec, VerifiedEvent, WebhookRequest
from providers.builtin.jwt_shared import (
    HMAC_DIGESTS,
    SharedSecretJwtProvider,
    _number,
    hs256_token,
)
from providers.errors import InvalidSignature, StaleTimestamp

#: How long a token the signer makes is valid (MessageBird's: `exp` = `nbf` + 60).
_WINDOW = 60


class MessageBirdProvider(SharedSecretJwtProvider):
    """MessageBird (`MessageBird-Signature-JWT`: an HMAC JWT with `url_hash` and `payload_hash`,
    valid from `nbf` to `exp`). `public_url` is required. ID: SHA-256 of URL and body."""

    header: ClassVar[str] = "messagebird-signature-jwt"
    credential_headers: frozenset[str] = frozenset()
    signature_headers = frozenset({header})
    source_keys = ("secrets", "public_url", "tolerance_seconds")
    methods = GET_AND_POST
    issuer = "MessageBird"
    algorithms = frozenset(HMAC_DIGESTS)
    default_tolerance = 1.0  # the SDK's leeway around nbf and exp
    event_type = first(body("/type"), body("/status"))
    default_type = "webhook"
    reads_body = True

    def configure(self, spec: SourceSpec) -> None:
        require_secrets(spec.secrets, spec.name)
        self._keys = tuple(secret.reveal().encode() for secret in spec.secrets)
        self._public_url = public_url(spec)
        self.configure_clock(spec)

    def check_claims(self, claims: dict[str, Any], request: WebhookRequest) -> None:
        if claims.get("iss") != self.issuer:
            raise InvalidSignature("the JWT's iss is not MessageBird")
        nbf, exp = _number(claims.get("nbf")), _number(claims.get("exp"))
        if nbf is None or exp is None:
            raise InvalidSignature("the JWT has no numeric nbf and exp")
        url = signed_url(self._public_url, request)
        if not _hash_matches(claims.get("url_hash"), url.encode()):
            raise InvalidSignature("url_hash does not match the URL")
        payload_hash = claims.get("payload_hash")
        if bool(request.body) != (payload_hash is not None):
            raise InvalidSignature("payload_hash is not set exactly when there is a body")
        if request.body and not _hash_matches(payload_hash, request.body):
            raise InvalidSignature("payload_hash does not match the body")
        leeway = self._tolerance
        if leeway and not nbf - leeway <= request.received_at <= exp + leeway:
            raise StaleTimestamp("the JWT is not valid now (nbf, exp)")

    def document(self, request: WebhookRequest) -> Any:
        """The JSON body; else the form body, or the signed query of a bodiless GET, as a dict
        (read from the URL `url_hash` covers, never from parameters it does not)."""
        if not request.body:
            query = urlsplit(signed_url(self._public_url, request)).query
            return dict(parse_qsl(query, keep_blank_values=True))
        parsed = parse_json(request.body)
        if parsed is not NOT_JSON:
            return parsed
        try:
            return dict(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            return NOT_JSON

    def event(self, request: WebhookRequest, document: Any) -> VerifiedEvent:
        signed = signed_url(self._public_url, request).encode() + b"\n" + request.body
        return replace(super().event(request, document), id=hashlib.sha256(signed).hexdigest())

    @classmethod
    def sign(cls, signing: Signing) -> dict[str, str]:
        """The token MessageBird sends for `signing.body` POSTed to the `public_url` option."""
        url = signing.options.get("public_url")
        if not isinstance(url, str):
            raise ValueError("MessageBird signs the URL: the options need public_url")
        claims: dict[str, Any] = {
            "iss": cls.issuer,
            "nbf": signing.timestamp,
            "exp": signing.timestamp + _WINDOW,
            "jti": str(uuid.uuid4()),
            "url_hash": hashlib.sha256(url.encode()).hexdigest(),
        }
        if signing.body:
            claims["payload_hash"] = hashlib.sha256(signing.body).hexdigest()
        return {cls.header: hs256_token(claims, signing.secret), "content-type": "application/json"}


def _hash_matches(claimed: object, data: bytes) -> bool:
    """`claimed` is the hex SHA-256 of `data` (compared in constant time)."""
    if not isinstance(claimed, str):
        return False
    return matches_any((as_bytes(hashlib.sha256(data).hexdigest()),), (as_bytes(claimed),))
