"""Apple App Store Server Notifications V2: the body is `{"signedPayload": "<JWS>"}`.

The JWS is ES256 with an `x5c` chain of three certificates; the intermediate must be issued by a
pinned root (Apple Root CA - G3, shipped below; `root_certificates` replaces it), and the leaf
and intermediate must carry Apple's marker extensions, as Apple's `app-store-server-library`
checks them. The chain is checked at the payload's own `signedDate` (the library's offline
rule: a notification Apple signed while its certificate was valid stays verifiable, for its
retries), and a verified chain is cached, so a repeated chain costs one signature check.
Nothing is fetched (no OCSP). Then the payload must be for the configured app: `bundleId`,
`environment` and, in Production, `appAppleId`, as the library's `verify_and_decode_notification`
reads them (`data`, `summary`, `externalPurchaseToken` or `appData`).
"""

from __future__ import annotations

import base64
import re
import uuid
from typing import Any, ClassVar

import orjson
from cryptography import x509
from cryptography.exceptions import InvalidSignature as _BadSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from providers import _jws
from providers._fields import body, joined
from providers._provider import ProviderBase, Signing
from providers._x5c import X5cChain, load_certificate
from providers.base import SourceSpec, VerifiedEvent, WebhookRequest
from providers.errors import InvalidSignature, MissingSignature, ProviderConfigError

#: Apple Root CA - G3 (public; apple.com/certificateauthority), base64 DER. Its SHA-256
#: fingerprint, 63343abfb89a6a03ebb57e9b3f5fa7be7c4f5c756f3017b3a8c488c3653e9179, is Apple's
#: published one (tests/unit/providers/test_provider_apple_google.py checks it).
APPLE_ROOT_CA_G3 = (
    "MIICQzCCAcmgAwIBAgIILcX8iNLFS5UwCgYIKoZIzj0EAwMwZzEbMBkGA1UEAwwSQXBwbGUgUm9vdCBDQSAtIEcz"
    "MSYwJAYDVQQLDB1BcHBsZSBDZXJ0aWZpY2F0aW9uIEF1dGhvcml0eTETMBEGA1UECgwKQXBwbGUgSW5jLjELMAkG"
    "A1UEBhMCVVMwHhcNMTQwNDMwMTgxOTA2WhcNMzkwNDMwMTgxOTA2WjBnMRswGQYDVQQDDBJBcHBsZSBSb290IENB"
    "IC0gRzMxJjAkBgNVBAsMHUFwcGxlIENlcnRpZmljYXRpb24gQXV0aG9yaXR5MRMwEQYDVQQKDApBcHBsZSBJbmMu"
    "MQswCQYDVQQGEwJVUzB2MBAGByqGSM49AgEGBSuBBAAiA2IABJjpLz1AcqTtkyJygRMc3RCV8cWjTnHcFBbZDuWm"
    "BSp3ZHtfTjjTuxxEtX/1H7YyYl3J6YRbTzBPEVoA/VhYDKX1DyxNB0cTddqXl5dvMVztK517IDvYuVTZXpmkOlEK"
    "MaNCMEAwHQYDVR0OBBYEFLuw3qFYM4iapIqZ3r6966/ayySrMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQD"
    "AgEGMAoGCCqGSM49BAMDA2gAMGUCMQCD6cHEFl4aXTQY2e3v9GwOAEZLuN+yRhHFD/3meoyhpmvOwgPUnPWTxnS4"
    "at+qIxUCMG1mihDK1A3UT82NQz60imOlM27jbdoXt2QfyFMm+YhidDkLF1vLUagM6BgD56KyKA=="
)
#: The extensions Apple's library requires on the leaf and on the intermediate.
LEAF_OID = "1.2.840.113635.100.6.11.1"
INTERMEDIATE_OID = "1.2.840.113635.100.6.2.1"
#: A body over this is refused unparsed: a notification with both nested JWSs is ~20 KiB.
MAX_BODY = 128 * 1024
ENVIRONMENTS = ("Production", "Sandbox")
#: Where a notification names its app, in the order Apple's library reads them.
_SECTIONS = ("data", "summary", "externalPurchaseToken", "appData")
_PEM_KEY = re.compile(r"-----BEGIN ([A-Z ]*)PRIVATE KEY-----.+?-----END \1PRIVATE KEY-----", re.S)


class AppleAppStoreProvider(ProviderBase):
    """App Store Server Notifications V2 (`{"signedPayload": JWS}`, ES256 over an `x5c` chain
    to Apple Root CA - G3). `bundle_id` is required; `environment` is `Production` (default)
    or `Sandbox` (one source per notification URL); `app_apple_id` is required in Production.
    ID `notificationUUID`; type `notificationType`, `.subtype` when there is one.
    """

    family: ClassVar[str] = "jwt-provider-keys"
    source_keys = ("bundle_id", "environment", "app_apple_id", "root_certificates")
    signed_timestamp = False
    event_id = body("/notificationUUID")
    id_required = True
    event_type = joined(".", body("/notificationType"), body("/subtype"))

    def configure(self, spec: SourceSpec) -> None:
        where = f"sources.{spec.name}"
        if spec.secrets:
            raise ProviderConfigError(f"{where}.secrets: Apple signs with its certificates")
        if spec.tolerance_seconds is not None:
            raise ProviderConfigError(
                f"{where}.tolerance_seconds: App Store notifications are checked at their own "
                "signedDate, not against the clock"
            )
        options = spec.options
        self._bundle_id = options.string("bundle_id", required=True)
        self._environment = options.choice("environment", ENVIRONMENTS, "Production")
        self._app_apple_id = options.integer("app_apple_id")
        if self._environment == "Production" and self._app_apple_id is None:
            raise options.error("app_apple_id", "required when the environment is Production")
        roots = []
        pinned = options.strings("root_certificates")
        for i, text in enumerate(pinned or (APPLE_ROOT_CA_G3,)):
            try:
                roots.append(load_certificate(text))
            except ValueError as err:
                key = "root_certificates" if len(pinned) == 1 else f"root_certificates[{i}]"
                raise options.error(key, str(err)) from err
        self._chain = X5cChain(roots, leaf_oid=LEAF_OID, intermediate_oid=INTERMEDIATE_OID)

    def verify(self, request: WebhookRequest) -> VerifiedEvent:
        return self.event(request, self.verified_payload(request))

    def authenticate(self, request: WebhookRequest) -> None:
        self.verified_payload(request)

    def verified_payload(self, request: WebhookRequest) -> dict[str, Any]:
        """The notification's decoded payload once its signature, chain and app check out."""
        token = _signed_payload(request.body)
        jws = _jws.split(token, max_length=MAX_BODY, what="signedPayload")
        if jws.header.get("alg") != "ES256":
            raise InvalidSignature("signedPayload is not an ES256 JWS")
        signed_date = _jws.numeric(jws.claims.get("signedDate"))
        at = request.received_at if signed_date is None else signed_date / 1000
        key = self._chain.leaf_key(jws.header.get("x5c"), at)
        try:
            key.verify(_jws.es256_der(jws.signature), jws.signed, ec.ECDSA(hashes.SHA256()))
        except _BadSignature as err:
            raise InvalidSignature("signedPayload's signature does not verify") from err
        self._check_app(jws.claims)
        return jws.claims

    def _check_app(self, claims: dict[str, Any]) -> None:
        # The first section present (a null or empty one is absent), as the library reads them.
        name = next((k for k in _SECTIONS if isinstance(claims.get(k), dict) and claims[k]), None)
        if name is None:
            raise InvalidSignature("the notification names no app")
        section = claims[name]
        environment = section.get("environment")
        if name == "externalPurchaseToken":  # its environment is in the purchase ID
            purchase = section.get("externalPurchaseId")
            sandbox = isinstance(purchase, str) and purchase.startswith("SANDBOX")
            environment = "Sandbox" if sandbox else "Production"
        if section.get("bundleId") != self._bundle_id:
            raise InvalidSignature("the notification is for another app (bundleId)")
        app_id = section.get("appAppleId")
        if self._environment == "Production" and (
            type(app_id) is not int or app_id != self._app_apple_id
        ):
            raise InvalidSignature("the notification is for another app (appAppleId)")
        if environment != self._environment:
            raise InvalidSignature("the notification is from another environment")

    def occurred_at(self, document: Any) -> float | None:
        signed_date = _jws.numeric(document.get("signedDate"))
        return None if signed_date is None else signed_date / 1000

    @classmethod
    def sign(cls, signing: Signing) -> dict[str, str]:
        return {"content-type": "application/json"}

    @classmethod
    def signed_body(cls, signing: Signing) -> bytes:
        """`{"signedPayload": JWS}` of `signing.body`, the decoded payload (a `signedDate` and a
        `notificationUUID` are added to a JSON object lacking them). `signing.secret` is a PEM
        bundle: an EC P-256 private key and the chain it signs with, leaf first, then the
        intermediate and the root (the source pins that root in `root_certificates`)."""
        key, chain = signing_chain(signing.secret)
        payload = signing.body
        document = _json(payload)
        if isinstance(document, dict) and not {"signedDate", "notificationUUID"} <= set(document):
            document.setdefault("signedDate", signing.timestamp * 1000)
            document.setdefault("notificationUUID", signing.event_id or str(uuid.uuid4()))
            payload = orjson.dumps(document)
        x5c = [_b64(certificate.public_bytes(serialization.Encoding.DER)) for certificate in chain]
        token = _jws.encode(
            {"alg": "ES256", "x5c": x5c},
            payload,
            lambda signed: _jws.es256_raw(key.sign(signed, ec.ECDSA(hashes.SHA256()))),
        )
        return orjson.dumps({"signedPayload": token})


def signing_chain(secret: str) -> tuple[ec.EllipticCurvePrivateKey, list[x509.Certificate]]:
    """The private key and the certificates (leaf first) of a PEM bundle; `ValueError`."""
    match = _PEM_KEY.search(secret)
    if match is None:
        raise ValueError("expected a PEM bundle: an EC private key and three certificates")
    key = serialization.load_pem_private_key(match.group(0).encode(), password=None)
    chain = x509.load_pem_x509_certificates(secret.encode())
    if not isinstance(key, ec.EllipticCurvePrivateKey) or len(chain) != 3:
        raise ValueError("expected a PEM bundle: an EC private key and three certificates")
    return key, chain


def _signed_payload(raw: bytes) -> str:
    if len(raw) > MAX_BODY:
        raise InvalidSignature("the body is larger than any App Store notification")
    document = _json(raw)
    if not isinstance(document, dict):
        raise InvalidSignature("the body is not a JSON object carrying signedPayload")
    token = document.get("signedPayload")
    if token is None:
        raise MissingSignature("the body carries no signedPayload")
    if not isinstance(token, str):
        raise InvalidSignature("signedPayload is not a string")
    return token


def _json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
