"""Raw-body HMAC whose request names the digest (issue 14, slice hmac2): Sumsub and WebSub.

The request says which digest signed it, so the name is looked up in the sender's documented
list, built here at import: a name not on it is `invalid_signature` before any HMAC. MD5 is on
neither list (neither sender offers it), so no request can pick it. Letting the request choose
among the listed digests gives a forger nothing: each is an HMAC keyed with the source's secret
(SHA-1 included: HMAC-SHA1 has no known forgery), and a signature under one digest says nothing
about another. Senders sign with the one the subscription chose, and a subscription may change
it: pinning one per source would only turn that change into refused deliveries.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from providers._fields import body, const
from providers._hmac_scheme import HmacScheme, tolerance
from providers._provider import GET_AND_POST, ProviderBase, Signing
from providers._signing import as_bytes, matches_any, require_header, require_secrets
from providers.base import Handshake, SourceSpec, WebhookRequest
from providers.errors import InvalidSignature, MissingSignature, ProviderConfigError

_NOSNIFF = (("x-content-type-options", "nosniff"),)


class _NamedDigest(ProviderBase):
    """A raw-body HMAC, hex, keyed with the secret's UTF-8 bytes, under the digest the request
    names; `schemes` maps each name the sender uses to its scheme."""

    family: ClassVar[str] = "raw-body-hmac"
    schemes: ClassVar[Mapping[str, HmacScheme]]
    #: The name the signer uses.
    signing_name: ClassVar[str]
    signature_headers = frozenset[str]()
    signed_headers = frozenset[str]()
    credential_headers = frozenset[str]()
    signed_timestamp = False
    label: ClassVar[str] = "this provider's"

    def configure(self, spec: SourceSpec) -> None:
        require_secrets(spec.secrets, spec.name)
        self._keys = tuple(secret.reveal().encode() for secret in spec.secrets)
        tolerance(spec, None, self.label)  # refuses tolerance_seconds: nothing is timestamped

    def scheme_for(self, request: WebhookRequest) -> HmacScheme:
        raise NotImplementedError

    def authenticate(self, request: WebhookRequest) -> None:
        self.scheme_for(request).check(request, self._keys, 0.0, request.url)

    @classmethod
    def sign(cls, signing: Signing) -> dict[str, str]:
        scheme = cls.schemes[cls.signing_name]
        signed = scheme.sign(scheme.key(signing.secret), signing.body, signing.timestamp)
        return {**signed, **cls.name_headers(), "content-type": cls.content_type}

    @classmethod
    def name_headers(cls) -> dict[str, str]:
        """Headers that name the digest apart from the signature header."""
        return {}


#: Sumsub's `X-Payload-Digest-Alg` values (its webhook's `signatureAlgorithm`).
_SUMSUB = {"HMAC_SHA1_HEX": "sha1", "HMAC_SHA256_HEX": "sha256", "HMAC_SHA512_HEX": "sha512"}


class SumsubProvider(_NamedDigest):
    """Sumsub (`X-Payload-Digest`, hex, keyed with the webhook's secret key, not the App Token
    secret), under the digest `X-Payload-Digest-Alg` names: `HMAC_SHA1_HEX` (the legacy
    default), `HMAC_SHA256_HEX` or `HMAC_SHA512_HEX`; absent, SHA-256, as Sumsub's own example
    reads it. No event ID is sent: the body hash (a retry resends the same bytes). Type: the
    body's `type` (`applicantReviewed`)."""

    label = "sumsub"
    schemes: ClassVar[Mapping[str, HmacScheme]] = MappingProxyType(
        {name: HmacScheme("x-payload-digest", algorithm=alg) for name, alg in _SUMSUB.items()}
    )
    signing_name = "HMAC_SHA256_HEX"
    # `x-payload-digest-alg` only names the digest (absent: SHA-256), so it is no signature
    # header of its own: a wrong name is refused, a missing one is the default.
    signature_headers = frozenset({"x-payload-digest"})
    event_type = body("/type")

    def scheme_for(self, request: WebhookRequest) -> HmacScheme:
        name = request.headers.get("x-payload-digest-alg") or "HMAC_SHA256_HEX"
        scheme = self.schemes.get(name)
        if scheme is None:
            raise InvalidSignature("x-payload-digest-alg names no digest Sumsub signs with")
        return scheme

    @classmethod
    def name_headers(cls) -> dict[str, str]:
        return {"x-payload-digest-alg": cls.signing_name}


#: WebSub's registered `X-Hub-Signature` methods (W3C WebSub §7.1.1).
_WEBSUB = ("sha1", "sha256", "sha384", "sha512")
#: The `hub.challenge` values answered: a hub's random token, never markup or a long string.
_CHALLENGE = re.compile(r"[A-Za-z0-9._~+/=:-]{1,256}")
#: WebSub: `hub.secret` "MUST be less than 200 bytes in length".
_MAX_SECRET = 199


class WebSubProvider(_NamedDigest):
    """WebSub (W3C; PubSubHubbub 0.4) content distribution, as YouTube's push notifications
    arrive through Google's hub: `X-Hub-Signature: <method>=<hex>`, HMAC over the body keyed
    with the subscription's `hub.secret`, `method` one of `sha1` (what Google's hub sends),
    `sha256`, `sha384`, `sha512`.

    The hub's verification of intent is a GET with `hub.mode` (`subscribe`/`unsubscribe`),
    `hub.topic` and `hub.challenge`: the challenge is echoed (text, `nosniff`) only for a topic
    in the source's `topics` (the spec: confirm the topic is one you subscribe to) and, when the
    source sets `verify_token` (PubSubHubbub 0.3), only with that `hub.verify_token`. A `denied`
    notice for a listed topic is answered 200, empty. Neither is published. The ID is the body
    hash (an Atom feed); the type `feed`.
    """

    label = "websub"
    methods = GET_AND_POST
    schemes: ClassVar[Mapping[str, HmacScheme]] = MappingProxyType(
        {alg: HmacScheme("x-hub-signature", algorithm=alg, prefix=f"{alg}=") for alg in _WEBSUB}
    )
    signing_name = "sha1"
    signature_headers = frozenset({"x-hub-signature"})
    event_type = const("feed")
    content_type = "application/atom+xml"
    source_keys = ("secrets", "topics", "verify_token")

    def configure(self, spec: SourceSpec) -> None:
        super().configure(spec)
        for i, secret in enumerate(spec.secrets):
            if len(secret.reveal().encode()) > _MAX_SECRET:
                raise ProviderConfigError(
                    f"sources.{spec.name}.secrets[{i}]: a WebSub hub.secret is under 200 bytes"
                )
        self._topics = frozenset(spec.options.strings("topics", required=True))
        token = spec.options.string("verify_token")
        self._verify_token = as_bytes(token) if token is not None else None

    def scheme_for(self, request: WebhookRequest) -> HmacScheme:
        method, _, _ = require_header(request.headers, "x-hub-signature").partition("=")
        scheme = self.schemes.get(method)
        if scheme is None:
            raise InvalidSignature("x-hub-signature names no WebSub signature method")
        return scheme

    def unsigned_handshake(self, request: WebhookRequest) -> Handshake | None:
        if request.method != "GET":
            return None
        mode, topic = request.query.get("hub.mode"), request.query.get("hub.topic")
        if mode not in {"subscribe", "unsubscribe", "denied"} or not topic:
            raise MissingSignature("hub.mode and hub.topic are needed")
        if topic not in self._topics:
            raise InvalidSignature("hub.topic is not one of the source's topics")
        if mode == "denied":
            return Handshake(b"", content_type="text/plain", headers=_NOSNIFF)
        if self._verify_token is not None:
            token = request.query.get("hub.verify_token")
            if token is None or not matches_any((self._verify_token,), (as_bytes(token),)):
                raise InvalidSignature("hub.verify_token does not match verify_token")
        challenge = request.query.get("hub.challenge")
        if not challenge:
            raise MissingSignature("hub.challenge is missing")
        if not _CHALLENGE.fullmatch(challenge):
            raise InvalidSignature("hub.challenge is not a token a hub sends")
        return Handshake(challenge.encode(), content_type="text/plain", headers=_NOSNIFF)
