"""JWT/JWS against the provider's keys: Apple App Store Server Notifications V2 (an x5c chain
to a pinned Apple root) and Google's OIDC push tokens (Pub/Sub, Play RTDN).

Proofs: Apple's `app-store-server-library` 3.1.2 verifies what hookgate signs, hookgate verifies
a real sandbox notification Apple signed (published in a public repository) and the library's
own test-suite notifications, as the library does; Google's `google-auth` verifies the tokens
hookgate signs, and hookgate verifies tokens `google-auth` mints.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import google.auth.crypt
import google.auth.jwt
import jwt
import pytest
from appstoreserverlibrary.models.Environment import Environment
from appstoreserverlibrary.signed_data_verifier import SignedDataVerifier, VerificationException
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from google.oauth2 import id_token

from providers import (
    InvalidSignature,
    Malformed,
    MissingSignature,
    ProviderConfigError,
    StaleTimestamp,
    VerificationError,
    VerifiedEvent,
    load,
    sign,
)
from providers.builtin.apple_appstore import APPLE_ROOT_CA_G3, signing_chain
from providers.builtin.google_oidc import CERTS_URL
from providers.testing import build_provider, make_request, sign_request
from tests.unit.providers._catalogue import (
    APPLE_NOTIFICATION,
    GOOGLE,
    apple_chain,
    apple_root,
    google_certificates,
    rsa_pkcs8,
)
from tests.unit.providers._test_certificates import make_chain

VECTORS = Path(__file__).parent / "vectors" / "apple"
APPLE_OPTIONS = {"bundle_id": "com.example.hookgate", "environment": "Sandbox"}
#: A TEST notification Apple's sandbox signed on 2025-09-05 for com.loki-project.loki-messenger,
#: published in Doy-lee/session-pro-backend's test.py; its leaf certificate expired 2025-10-11.
SANDBOX_VECTOR = VECTORS / "sandbox-test-notification.jws"


def _apple(body: bytes, options: dict[str, Any], **kw: Any) -> VerifiedEvent | VerificationError:
    provider = build_provider(load("apple-appstore"), [], options=options)
    try:
        outcome = provider.verify(make_request(body, {}, **kw))
    except VerificationError as err:
        return err
    assert isinstance(outcome, VerifiedEvent)
    return outcome


def _wrapped(token: str) -> bytes:
    return json.dumps({"signedPayload": token}).encode()


def _signed(payload: dict[str, Any], bundle: str, **kw: Any) -> bytes:
    return sign(load("apple-appstore"), json.dumps(payload).encode(), bundle, **kw).body


def _root_der(bundle: str) -> bytes:
    pem = apple_root(bundle).encode()
    return x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)


# --- Apple: the pinned root, real and SDK vectors ------------------------------------------------


def test_pinned_root_is_apple_root_ca_g3_by_its_published_fingerprint() -> None:
    der = base64.b64decode(APPLE_ROOT_CA_G3)
    certificate = x509.load_der_x509_certificate(der)

    assert hashlib.sha256(der).hexdigest() == (
        "63343abfb89a6a03ebb57e9b3f5fa7be7c4f5c756f3017b3a8c488c3653e9179"
    )
    assert certificate.subject.rfc4514_string() == (
        "C=US,O=Apple Inc.,OU=Apple Certification Authority,CN=Apple Root CA - G3"
    )


def test_a_real_sandbox_notification_apple_signed_verifies_at_its_signed_date() -> None:
    token = SANDBOX_VECTOR.read_text().strip()
    options = {"bundle_id": "com.loki-project.loki-messenger", "environment": "Sandbox"}

    event = _apple(_wrapped(token), options)

    assert event == VerifiedEvent(
        "592751ef-c1b8-47fc-929e-d62dee66df4c", "TEST", occurred_at=1757035472.686
    )
    # Apple's own library agrees, offline (its rule: the chain is checked at signedDate).
    root = base64.b64decode(APPLE_ROOT_CA_G3)
    verifier = SignedDataVerifier([root], False, Environment.SANDBOX, options["bundle_id"])
    assert verifier.verify_and_decode_notification(token).notificationUUID == event.id


def test_the_real_notification_is_refused_tampered_for_another_app_or_environment() -> None:
    token = SANDBOX_VECTOR.read_text().strip()
    head, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged = base64.urlsafe_b64encode(json.dumps({**claims, "notificationType": "REFUND"}).encode())
    options = {"bundle_id": "com.loki-project.loki-messenger", "environment": "Sandbox"}

    tampered = _apple(_wrapped(f"{head}.{forged.decode().rstrip('=')}.{signature}"), options)
    other_app = _apple(_wrapped(token), {**options, "bundle_id": "com.example"})
    production = {**options, "environment": "Production", "app_apple_id": 1}

    assert isinstance(tampered, InvalidSignature)
    assert isinstance(other_app, InvalidSignature)
    assert isinstance(_apple(_wrapped(token), production), InvalidSignature)
    # The same bytes against a root the source did not pin: refused.
    assert isinstance(
        _apple(_wrapped(token), {**options, "root_certificates": apple_root(apple_chain())}),
        InvalidSignature,
    )


@pytest.mark.parametrize(
    ("vector", "options", "outcome"),
    [
        ("testNotification", {"bundle_id": "com.example", "environment": "Sandbox"}, "TEST"),
        (
            "testNotification",
            {"bundle_id": "com.example", "environment": "Production", "app_apple_id": 1234},
            InvalidSignature,  # the library: INVALID_ENVIRONMENT
        ),
        (
            "wrongBundleId",
            {"bundle_id": "com.examplex", "environment": "Sandbox"},
            InvalidSignature,
        ),
        (
            "missingX5CHeaderClaim",
            {"bundle_id": "com.example", "environment": "Sandbox"},
            InvalidSignature,
        ),
    ],
)
def test_app_store_server_library_test_suite_notifications(
    vector: str, options: dict[str, Any], outcome: Any
) -> None:
    # apple/app-store-server-library-python tests/resources: signed by its test CA.
    token = (VECTORS / f"{vector}.jws").read_text().strip()
    root = (VECTORS / "testCA.der.b64").read_text().strip()

    result = _apple(_wrapped(token), {**options, "root_certificates": root})

    if isinstance(outcome, str):
        assert isinstance(result, VerifiedEvent)
        assert (result.id, result.type) == ("9ad56bd2-0bc6-42e0-af24-fd996d87a1e6", outcome)
    else:
        assert isinstance(result, outcome)


@pytest.mark.parametrize(
    ("environment", "app_apple_id"), [(Environment.SANDBOX, None), (Environment.PRODUCTION, 1234)]
)
def test_apple_library_verifies_what_hookgate_signs(
    environment: Environment, app_apple_id: int | None
) -> None:
    bundle = apple_chain()
    data = {**APPLE_NOTIFICATION["data"], "environment": environment.value}
    body = _signed({**APPLE_NOTIFICATION, "data": data}, bundle)
    token = json.loads(body)["signedPayload"]
    # Strict X.509 checks on (the library's default): hookgate's test chain is well formed.
    verifier = SignedDataVerifier(
        [_root_der(bundle)], False, environment, "com.example.hookgate", app_apple_id
    )

    decoded = verifier.verify_and_decode_notification(token)

    assert decoded.notificationUUID == APPLE_NOTIFICATION["notificationUUID"]
    assert decoded.rawSubtype == "BILLING_RECOVERY"
    other = SignedDataVerifier(
        [_root_der(apple_chain())], False, environment, "com.example.hookgate", app_apple_id
    )
    with pytest.raises(VerificationException):
        other.verify_and_decode_notification(token)


def test_a_notification_signed_with_pyjwt_and_an_x5c_header_verifies() -> None:
    # Signed the way the library's tests sign (PyJWT, ES256), with the chain in `x5c`.
    bundle = apple_chain()
    key, chain = signing_chain(bundle)
    x5c = [base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode() for c in chain]
    payload = {**APPLE_NOTIFICATION, "signedDate": int(time.time() * 1000)}
    token = jwt.encode(payload, key, algorithm="ES256", headers={"x5c": x5c})
    options = {**APPLE_OPTIONS, "root_certificates": [apple_root(bundle)]}

    event = _apple(_wrapped(token), options)

    assert isinstance(event, VerifiedEvent)
    assert event.type == "DID_RENEW.BILLING_RECOVERY"
    none = jwt.encode(payload, None, algorithm="none", headers={"x5c": x5c})
    assert isinstance(_apple(_wrapped(none), options), InvalidSignature)


# --- Apple: the chain rules --------------------------------------------------------------------


def _chain_outcome(bundle: str, **payload: Any) -> VerifiedEvent | VerificationError:
    body = _signed({**APPLE_NOTIFICATION, **payload}, bundle)
    return _apple(body, {**APPLE_OPTIONS, "root_certificates": apple_root(bundle)})


def test_a_leaf_without_apples_marker_extension_is_refused() -> None:
    outcome = _chain_outcome(make_chain(markers=()))

    assert isinstance(outcome, InvalidSignature)
    assert "marker" in str(outcome)


def test_a_leaf_that_is_a_ca_is_refused() -> None:
    assert isinstance(_chain_outcome(make_chain(ca=True)), InvalidSignature)


def test_the_chain_is_checked_at_the_signed_date_not_now() -> None:
    bundle = apple_chain()  # valid from yesterday for 30 days
    now_ms = int(time.time() * 1000)

    assert isinstance(_chain_outcome(bundle, signedDate=now_ms), VerifiedEvent)
    before = _chain_outcome(bundle, signedDate=now_ms - 2 * 86_400_000)
    after = _chain_outcome(bundle, signedDate=now_ms + 40 * 86_400_000)
    assert isinstance(before, InvalidSignature)
    assert isinstance(after, InvalidSignature)


def test_a_chain_of_two_or_four_certificates_or_another_alg_is_refused() -> None:
    bundle = apple_chain()
    token = json.loads(_signed(APPLE_NOTIFICATION, bundle))["signedPayload"]
    head, rest = token.split(".", 1)
    header = json.loads(base64.urlsafe_b64decode(head + "=="))
    options = {**APPLE_OPTIONS, "root_certificates": apple_root(bundle)}

    for changed in (
        {**header, "x5c": header["x5c"][:2]},
        {**header, "x5c": [*header["x5c"], header["x5c"][2]]},
        {**header, "alg": "HS256"},
        {**header, "x5c": "not a list"},
    ):
        encoded = base64.urlsafe_b64encode(json.dumps(changed).encode()).decode().rstrip("=")
        assert isinstance(_apple(_wrapped(f"{encoded}.{rest}"), options), InvalidSignature)


def test_a_verified_chain_is_cached_so_a_repeat_costs_one_signature_check() -> None:
    bundle = apple_chain()
    provider = build_provider(
        load("apple-appstore"),
        [],
        options={**APPLE_OPTIONS, "root_certificates": apple_root(bundle)},
    )
    chain = provider._chain  # type: ignore[attr-defined]
    body = _signed(APPLE_NOTIFICATION, bundle)

    provider.verify(make_request(body, {}))
    verified = chain._verify
    chain._verify = lambda *_: pytest.fail("a cached chain was verified again")
    try:
        provider.verify(make_request(_signed(APPLE_NOTIFICATION, bundle), {}))
    finally:
        chain._verify = verified
    assert len(chain) == 1
    for _ in range(40):  # 40 distinct chains under one root? Only 32 are kept.
        other = make_chain()
        chain._roots = (*chain._roots, *signing_chain(other)[1][2:])
        provider.verify(make_request(_signed(APPLE_NOTIFICATION, other), {}))
    assert len(chain) == 32


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"notificationType": "TEST"}, "TEST"),
        ({"notificationType": "SUBSCRIBED", "subtype": "INITIAL_BUY"}, "SUBSCRIBED.INITIAL_BUY"),
    ],
)
def test_apple_id_is_the_notification_uuid_and_type_its_type_and_subtype(
    payload: dict[str, Any], expected: str
) -> None:
    bundle = apple_chain()
    base = {k: v for k, v in APPLE_NOTIFICATION.items() if k not in {"notificationType", "subtype"}}

    options = {**APPLE_OPTIONS, "root_certificates": apple_root(bundle)}
    event = _apple(_signed({**base, **payload}, bundle), options)

    assert isinstance(event, VerifiedEvent)
    assert (event.id, event.type) == (APPLE_NOTIFICATION["notificationUUID"], expected)


def test_summary_and_external_purchase_notifications_name_their_app_too() -> None:
    bundle = apple_chain()
    app = {"bundleId": "com.example.hookgate", "environment": "Sandbox"}
    base = {"notificationType": "RENEWAL_EXTENSION", "notificationUUID": "u1", "summary": app}
    token = {"bundleId": "com.example.hookgate", "externalPurchaseId": "SANDBOX_1"}
    external = {"notificationType": "EXTERNAL_PURCHASE_TOKEN", "notificationUUID": "u2"}

    # A null `data` is absent (the library reads the first truthy section): `summary` counts.
    assert isinstance(_chain_outcome(bundle, **{**base, "data": None}), VerifiedEvent)
    assert isinstance(_chain_outcome(bundle, data=None), InvalidSignature)
    summary = _signed(base, bundle)
    purchase = _signed({**external, "externalPurchaseToken": token}, bundle)
    options = {**APPLE_OPTIONS, "root_certificates": apple_root(bundle)}
    assert isinstance(_apple(summary, options), VerifiedEvent)
    assert isinstance(_apple(purchase, options), VerifiedEvent)
    production = {**options, "environment": "Production", "app_apple_id": 1234}
    assert isinstance(_apple(purchase, production), InvalidSignature)


def test_apple_body_without_signed_payload_is_missing_and_without_uuid_is_malformed() -> None:
    bundle = apple_chain()
    options = {**APPLE_OPTIONS, "root_certificates": apple_root(bundle)}
    no_uuid = {k: v for k, v in APPLE_NOTIFICATION.items() if k != "notificationUUID"}
    key, chain = signing_chain(bundle)
    x5c = [base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode() for c in chain]
    payload = {**no_uuid, "signedDate": int(time.time() * 1000)}
    token = jwt.encode(payload, key, algorithm="ES256", headers={"x5c": x5c})

    assert isinstance(_apple(b'{"notificationType": "TEST"}', options), MissingSignature)
    assert isinstance(_apple(b"[1]", options), InvalidSignature)
    assert isinstance(_apple(b"x" * (200 * 1024), options), InvalidSignature)
    assert isinstance(_apple(_wrapped(token), options), Malformed)


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({}, "bundle_id"),
        ({"bundle_id": "com.x"}, "app_apple_id"),  # Production (the default) needs it
        ({"bundle_id": "com.x", "environment": "Xcode"}, "environment"),
        (
            {"bundle_id": "com.x", "environment": "Sandbox", "root_certificates": "nope"},
            "root_certificates",
        ),
        ({"bundle_id": "com.x", "app_apple_id": "12ab"}, "app_apple_id"),
    ],
)
def test_apple_options_are_checked_at_startup(options: dict[str, Any], key: str) -> None:
    with pytest.raises(ProviderConfigError, match=rf"^sources\.test\.{key}"):
        build_provider(load("apple-appstore"), [], options=options)


def test_apple_refuses_secrets_and_a_tolerance() -> None:
    with pytest.raises(ProviderConfigError, match="secrets"):
        build_provider(load("apple-appstore"), ["s"], options=APPLE_OPTIONS)
    with pytest.raises(ProviderConfigError, match="tolerance_seconds"):
        build_provider(load("apple-appstore"), [], options=APPLE_OPTIONS, tolerance_seconds=60)
    # An App Store Connect "Apple ID" from an environment variable is a string of digits.
    production = {"bundle_id": "com.x", "app_apple_id": "6790648491"}
    assert build_provider(load("apple-appstore"), [], options=production)


# --- Google: google-auth both ways --------------------------------------------------------------


def _google(
    name: str, body: bytes, headers: dict[str, str], options: dict[str, Any], **kw: Any
) -> VerifiedEvent | VerificationError:
    provider = build_provider(load(name), [], options=options)
    try:
        outcome = provider.verify(make_request(body, headers, **kw))
    except VerificationError as err:
        return err
    assert isinstance(outcome, VerifiedEvent)
    return outcome


def _certs_request(document: str) -> Any:
    def request(url: str, method: str = "GET", **_: Any) -> Any:
        assert url == "https://www.googleapis.com/oauth2/v1/certs"
        return SimpleNamespace(status=200, data=document.encode(), headers={})

    return request


def test_google_auth_verifies_the_token_hookgate_signs() -> None:
    key = rsa_pkcs8()
    document = google_certificates(key)
    body = TABLE_PUBSUB_BODY
    headers = sign_request("google-pubsub", body, key, options=GOOGLE)
    token = headers["authorization"].removeprefix("Bearer ")

    claims = id_token.verify_oauth2_token(token, _certs_request(document), GOOGLE["audience"])
    same = id_token.verify_token(
        token, _certs_request(document), audience=GOOGLE["audience"], certs_url=CERTS_URL
    )

    assert same == claims
    assert claims["email"] == GOOGLE["service_account"]
    assert claims["email_verified"] is True
    with pytest.raises(ValueError, match="audience"):
        id_token.verify_oauth2_token(token, _certs_request(document), "https://other.example")
    # Another key under the same key ID: the signature does not verify.
    [(kid, _)] = json.loads(document).items()
    [(_, other)] = json.loads(google_certificates(rsa_pkcs8())).items()
    with pytest.raises(ValueError, match="signature"):
        id_token.verify_oauth2_token(
            token, _certs_request(json.dumps({kid: other})), GOOGLE["audience"]
        )


def _minted(key: str, **claims: Any) -> str:
    pem = serialization.load_der_private_key(base64.b64decode(key), password=None).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    kid = next(iter(json.loads(google_certificates(key))))
    signer = google.auth.crypt.RSASigner.from_string(pem, key_id=kid)
    now = int(time.time())
    payload = {
        "iss": "https://accounts.google.com",
        "aud": GOOGLE["audience"],
        "email": GOOGLE["service_account"],
        "email_verified": True,
        "sub": "1",
        "iat": now,
        "exp": now + 3600,
        **claims,
    }
    return google.auth.jwt.encode(signer, payload).decode()


TABLE_PUBSUB_BODY = b'{"message": {"data": "e30=", "messageId": "m-1"}, "subscription": "s"}'


def test_hookgate_verifies_a_token_google_auth_mints() -> None:
    key = rsa_pkcs8()
    options = {**GOOGLE, "certificates": google_certificates(key)}
    bearer = {"authorization": f"Bearer {_minted(key)}"}

    event = _google("google-pubsub", TABLE_PUBSUB_BODY, bearer, options)

    assert event == VerifiedEvent("m-1", "pubsub")


@pytest.mark.parametrize(
    ("claims", "refusal"),
    [
        ({"iss": "https://evil.example"}, InvalidSignature),
        ({"iss": "accounts.google.com"}, None),
        ({"aud": "https://hooks.example.com/other"}, InvalidSignature),
        ({"email": "other@project.iam.gserviceaccount.com"}, InvalidSignature),
        ({"email_verified": False}, InvalidSignature),
        # Times relative to when the test runs (not when it is collected): seconds from now.
        ({"exp": -120}, StaleTimestamp),
        ({"exp": -30}, None),  # within the 60 s leeway
        ({"iat": 600}, StaleTimestamp),
        ({"exp": "soon"}, InvalidSignature),
    ],
)
def test_google_claims_are_checked(claims: dict[str, Any], refusal: Any) -> None:
    now = int(time.time())
    claims = {
        k: now + v if k in ("exp", "iat") and isinstance(v, int) else v for k, v in claims.items()
    }
    key = rsa_pkcs8()
    options = {**GOOGLE, "certificates": google_certificates(key)}
    bearer = {"authorization": f"Bearer {_minted(key, **claims)}"}

    outcome = _google("google-pubsub", TABLE_PUBSUB_BODY, bearer, options)

    assert isinstance(outcome, refusal or VerifiedEvent), outcome


def test_google_token_of_another_alg_or_unknown_key_is_refused() -> None:
    key = rsa_pkcs8()
    options = {**GOOGLE, "certificates": google_certificates(key)}
    token = _minted(key)
    head, rest = token.split(".", 1)
    header = json.loads(base64.urlsafe_b64decode(head + "=="))

    for changed in ({**header, "alg": "none"}, {**header, "alg": "HS256"}, {**header, "kid": "k2"}):
        encoded = base64.urlsafe_b64encode(json.dumps(changed).encode()).decode().rstrip("=")
        bearer = {"authorization": f"Bearer {encoded}.{rest}"}
        assert isinstance(
            _google("google-pubsub", TABLE_PUBSUB_BODY, bearer, options), InvalidSignature
        )
    unsigned = {"authorization": token}  # no Bearer
    assert isinstance(
        _google("google-pubsub", TABLE_PUBSUB_BODY, unsigned, options), InvalidSignature
    )


def _bundle(*certificates: x509.Certificate, key: Any) -> str:
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return pem + "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in certificates)


def test_an_intermediate_without_its_marker_or_a_leaf_of_another_key_type_is_refused() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    from providers.builtin.apple_appstore import INTERMEDIATE_OID, LEAF_OID
    from tests.unit.providers._test_certificates import certificate

    root_key, middle_key = (
        ec.generate_private_key(ec.SECP384R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    root = certificate("Root", root_key, ca=True)
    bare = certificate("Mid", middle_key, ("Root", root_key), ca=True)  # no marker
    marked = certificate(
        "Mid", middle_key, ("Root", root_key), ca=True, markers=(INTERMEDIATE_OID,)
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = certificate("Leaf", leaf_key, ("Mid", middle_key), ca=False, markers=(LEAF_OID,))
    p384 = ec.generate_private_key(ec.SECP384R1())
    leaf384 = certificate("Leaf", p384, ("Mid", middle_key), ca=False, markers=(LEAF_OID,))
    edwards = certificate(
        "Leaf",
        ed25519.Ed25519PrivateKey.generate(),
        ("Mid", middle_key),
        ca=False,
        markers=(LEAF_OID,),
    )
    options = {
        **APPLE_OPTIONS,
        "root_certificates": root.public_bytes(serialization.Encoding.PEM).decode(),
    }
    signed_by = _signed(APPLE_NOTIFICATION, _bundle(leaf, bare, root, key=leaf_key))

    assert isinstance(_apple(signed_by, options), InvalidSignature)
    good = _signed(APPLE_NOTIFICATION, _bundle(leaf, marked, root, key=leaf_key))
    assert isinstance(_apple(good, options), VerifiedEvent)
    # A P-384 leaf: its JWS cannot be ES256. Sign with the P-256 key, present the P-384 chain.
    x5c_384 = _signed(APPLE_NOTIFICATION, _bundle(leaf384, marked, root, key=leaf_key))
    assert isinstance(_apple(x5c_384, options), InvalidSignature)
    ed_chain = _signed(APPLE_NOTIFICATION, _bundle(edwards, marked, root, key=leaf_key))
    assert isinstance(_apple(ed_chain, options), InvalidSignature)


@pytest.mark.parametrize(
    "x5c",
    [
        ["", "", ""],
        ["AAAA", "AAAA", "AAAA"],
        ["!!", "@@", "##"],
        [1, 2, 3],
        ["A" * 9000, "A", "A"],
        None,
    ],
)
def test_garbage_x5c_is_refused_never_an_error(x5c: Any) -> None:
    header = base64.urlsafe_b64encode(json.dumps({"alg": "ES256", "x5c": x5c}).encode())
    payload = base64.urlsafe_b64encode(json.dumps(APPLE_NOTIFICATION).encode())
    token = f"{header.decode().rstrip('=')}.{payload.decode().rstrip('=')}.{'A' * 86}"

    assert isinstance(_apple(_wrapped(token), APPLE_OPTIONS), InvalidSignature)


def _huge_exponent_rsa() -> tuple[Any, Any]:
    """A 3072-bit RSA private key, and a public key with its modulus and an exponent as long:
    each signature check with that public key costs milliseconds (the private key signs the
    forged leaf, so that its signature is as long as the modulus and the check really runs)."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    signer = rsa.generate_private_key(65537, 3072)
    modulus = signer.public_key().public_numbers().n
    return signer, rsa.RSAPublicNumbers((modulus >> 1) | 1, modulus).public_key()


def _forged_x5c(intermediate_key: Any, signer: Any) -> list[str]:
    """A chain under an unpinned root: an intermediate holding `intermediate_key` (signed by the
    forger's own key) and a leaf `signer` signed under the intermediate's name."""
    from cryptography import x509 as x
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    from providers.builtin.apple_appstore import INTERMEDIATE_OID, LEAF_OID
    from tests.unit.providers._test_certificates import certificate

    forger = ec.generate_private_key(ec.SECP384R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    name = x.Name([x.NameAttribute(x.oid.NameOID.COMMON_NAME, "Test Intermediate")])
    intermediate = (
        x.CertificateBuilder()
        .subject_name(name)
        .issuer_name(x.Name([x.NameAttribute(x.oid.NameOID.COMMON_NAME, "Test Root CA")]))
        .public_key(intermediate_key)
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x.UnrecognizedExtension(x.ObjectIdentifier(INTERMEDIATE_OID), b"\5\0"), False
        )
        .sign(forger, hashes.SHA256())
    )
    leaf = certificate(
        "Test Leaf", leaf_key, ("Test Intermediate", signer), ca=False, markers=(LEAF_OID,)
    )
    return [
        base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode()
        for c in (leaf, intermediate, intermediate)
    ]


def test_a_forged_chain_never_costs_a_check_with_its_own_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The intermediate is checked against the pinned root before its key checks the leaf, and
    an intermediate key that is not EC P-256/P-384 (Apple's WWDR G6 is P-384) is refused
    unchecked: an RSA key with a huge exponent would cost milliseconds per forged request."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from providers import _x5c
    from providers.builtin.apple_appstore import INTERMEDIATE_OID, LEAF_OID

    root = x509.load_pem_x509_certificate(apple_root(apple_chain()).encode())
    chain = _x5c.X5cChain([root], leaf_oid=LEAF_OID, intermediate_oid=INTERMEDIATE_OID)
    checked: list[tuple[str, str]] = []
    issued_by = _x5c._issued_by

    def recording(child: x509.Certificate, issuer: x509.Certificate) -> bool:
        checked.append((child.subject.rfc4514_string(), issuer.subject.rfc4514_string()))
        return issued_by(child, issuer)

    monkeypatch.setattr(_x5c, "_issued_by", recording)
    with pytest.raises(InvalidSignature, match="not ECDSA P-256/P-384"):
        chain.leaf_key(_forged_x5c(*reversed(_huge_exponent_rsa())), time.time())
    assert checked == []  # no signature check at all
    p256 = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(InvalidSignature, match="pinned root"):
        chain.leaf_key(_forged_x5c(p256.public_key(), p256), time.time())
    assert checked == [("CN=Test Intermediate", "CN=Test Root CA")]  # the pinned root's only
    assert len(chain) == 0
