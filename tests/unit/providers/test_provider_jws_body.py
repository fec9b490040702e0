"""Netlify and FusionAuth: a JWS in a header whose claim is the body's SHA-256.

Neither ships a verifier. PyJWT 2.x stands in as the independent signer and verifier, with the
claims each sender documents: Netlify's `iss: netlify` and hex `sha256` (the construction of
Netlify's own open-source signer, `netlify/gotrue` `api/hooks.go`), FusionAuth's base64
`request_body_sha256` alone (its `Sign Webhooks` page; its server's `WebhookEventSender`).
FusionAuth's documented example header is decoded and refused for want of its key.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from providers import InvalidSignature, MissingSignature, StaleTimestamp, VerifiedEvent, load
from providers.builtin.jwt_shared import hs256_token
from providers.errors import ProviderConfigError
from providers.testing import build_provider, make_request, sign_request

NETLIFY_BODY = json.dumps(
    {
        "id": "5ebc34bf4fea0b01f02efa3a",
        "site_id": "fa4dd95a-994e-4f89-8a7a-2d9e9fc36a32",
        "build_id": "5ebc34bf4fea0b01f02efa38",
        "state": "ready",
        "name": "www-example",
        "branch": "main",
        "context": "production",
    }
).encode()
FUSIONAUTH_BODY = json.dumps(
    {
        "event": {
            "id": "e2ad3f9c-9b5f-4f41-8f55-3e2f0a3b2c1d",
            "type": "user.create",
            "createInstant": 1733180000000,
            "tenantId": "2b0c1c3e-7fa4-4f5c-9d4a-1d2a7b4c5e6f",
            "user": {"id": "00000000-0000-0001-0000-000000000001", "email": "a@example.com"},
        }
    }
).encode()
#: FusionAuth's `Sign Webhooks` page: its example `X-FusionAuth-Signature-JWT` (RS256, a `kid`).
FUSIONAUTH_EXAMPLE = (
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6Il9IMDd3VkcxZlYzbDVpaDc0ck54SUMzbmV2RSJ9."
    "eyJyZXF1ZXN0X2JvZHlfc2hhMjU2IjoiS2VWKy9IR29JUXJ4dUU1WVBDUlI2QXVRT0p2ZWxkWU5OaGJWaTFpMjJxaz0ifQ."
    "J70gqZVuTej8FfriQqJJZecCT6XOZKH6h6Te2ir_yrSwR3luhoj_R1vAZULdrktaFPqXFXbnq9prN8j3ddelUVA5SU51J-"
    "MWVhz1bkimLo8EEdJ47ytI_97rPqVK1YJ6FSiS8_o37gablaQZv2WDbZ6ap-t4hNU5m7uwZTW9DerKg9iQjMDUIlfafE"
    "wsROLfNPfK49IsCzBNCQ8SsinVbGU0dNbs9YfMAxNzSuEKdZOIXkRNgjPfWpPnkwBbroWUrrpcoAcBSQIYFajKV-MFRI"
    "SnFZ_blYps16f95iQsuTfqBkBH3r59R5tFBP66FA1bvQJZVlAHJfdNTXnXx2F2BQ"
)
SECRET = "jws-secret-token-" + "0123456789abcdef" * 3  # 65 bytes: PyJWT wants 64 for HS512
FA_HEADER = "x-fusionauth-signature-jwt"


def _verify(name: str, body: bytes, headers: dict[str, str], secrets: list[str], **kw: Any) -> Any:
    options = kw.pop("options", None)
    provider = build_provider(load(name), secrets, options=options)
    return provider.verify(make_request(body, headers, **kw))


def _b64_sha256(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def _pem(key: Any) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _pkcs8(key: Any) -> str:
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return base64.b64encode(der).decode()


# --- Netlify --------------------------------------------------------------------------------------


def test_netlify_pyjwt_reads_our_token_with_netlifys_claims() -> None:
    headers = sign_request("netlify", NETLIFY_BODY, SECRET)

    claims = jwt.decode(headers["x-webhook-signature"], SECRET, ["HS256"], issuer="netlify")

    assert claims == {"iss": "netlify", "sha256": hashlib.sha256(NETLIFY_BODY).hexdigest()}
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(headers["x-webhook-signature"], SECRET + "x", ["HS256"])


def test_netlify_token_minted_as_netlify_does_verifies_and_pins_the_body() -> None:
    # Netlify's side: HS256 with the JWS secret token, iss "netlify", hex sha256 of the body
    # (its open-source GoTrue signs its own hooks this way, with an iat and another iss).
    digest = hashlib.sha256(NETLIFY_BODY).hexdigest()
    token = jwt.encode({"iss": "netlify", "sha256": digest}, SECRET, algorithm="HS256")
    with_iat = jwt.encode(
        {"iat": 1589392736, "iss": "netlify", "sha256": digest.upper()}, SECRET, "HS256"
    )

    for value in (token, with_iat):
        event = _verify("netlify", NETLIFY_BODY, {"X-Webhook-Signature": value}, [SECRET])
        assert isinstance(event, VerifiedEvent)
        assert event.id == hashlib.sha256(NETLIFY_BODY).hexdigest()
        assert event.type == "ready"
    with pytest.raises(InvalidSignature):
        _verify("netlify", NETLIFY_BODY + b" ", {"X-Webhook-Signature": token}, [SECRET])
    with pytest.raises(InvalidSignature):
        _verify("netlify", NETLIFY_BODY, {"X-Webhook-Signature": token}, ["another-secret"])


@pytest.mark.parametrize(
    ("claims", "alg"),
    [
        ({"iss": "gotrue", "sha256": "{digest}"}, "HS256"),  # another Netlify signer's issuer
        ({"sha256": "{digest}"}, "HS256"),  # no issuer
        ({"iss": "netlify"}, "HS256"),  # no body hash
        ({"iss": "netlify", "sha256": "{digest}"}, "HS512"),  # not the algorithm Netlify uses
    ],
)
def test_netlify_refuses_a_token_without_its_claims_or_algorithm(
    claims: dict[str, str], alg: str
) -> None:
    digest = hashlib.sha256(NETLIFY_BODY).hexdigest()
    filled = {k: v.format(digest=digest) for k, v in claims.items()}
    token = jwt.encode(filled, SECRET, algorithm=alg)

    with pytest.raises(InvalidSignature):
        _verify("netlify", NETLIFY_BODY, {"X-Webhook-Signature": token}, [SECRET])


def test_netlify_signs_no_time_so_an_old_token_verifies_but_an_expired_one_does_not() -> None:
    headers = sign_request("netlify", NETLIFY_BODY, SECRET, timestamp=1)
    digest = hashlib.sha256(NETLIFY_BODY).hexdigest()
    expired = jwt.encode({"iss": "netlify", "sha256": digest, "exp": 1}, SECRET, "HS256")

    assert isinstance(_verify("netlify", NETLIFY_BODY, headers, [SECRET]), VerifiedEvent)
    with pytest.raises(StaleTimestamp):
        _verify("netlify", NETLIFY_BODY, {"x-webhook-signature": expired}, [SECRET])
    with pytest.raises(ProviderConfigError, match=r"^sources\.test\.tolerance_seconds: "):
        build_provider(load("netlify"), [SECRET], tolerance_seconds=300)
    with pytest.raises(MissingSignature):
        _verify("netlify", NETLIFY_BODY, {}, [SECRET])


def test_netlify_form_notification_without_a_state_is_typed_webhook() -> None:
    body = b'{"number": 7, "form_name": "contact", "data": {"email": "a@example.com"}}'

    event = _verify("netlify", body, sign_request("netlify", body, SECRET), [SECRET])

    assert isinstance(event, VerifiedEvent)
    assert event.type == "webhook"


# --- FusionAuth -----------------------------------------------------------------------------------


def test_fusionauth_documented_example_header_decodes_to_the_claim_we_check() -> None:
    header = jwt.get_unverified_header(FUSIONAUTH_EXAMPLE)
    claims = jwt.decode(FUSIONAUTH_EXAMPLE, options={"verify_signature": False})

    assert header == {"alg": "RS256", "typ": "JWT", "kid": "_H07wVG1fV3l5ih74rNxIC3nevE"}
    assert claims == {"request_body_sha256": "KeV+/HGoIQrxuE5YPCRR6AuQOJveldYNNhbVi1i22qk="}
    # FusionAuth's key is not published: the token is refused, as a signature, with another
    # key, and with an HMAC secret alone (an RS256 token is never checked as an HMAC).
    other = _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    for secrets, options in (([], {"public_key": other}), ([SECRET], None)):
        with pytest.raises(InvalidSignature):
            _verify("fusionauth", b"{}", {FA_HEADER: FUSIONAUTH_EXAMPLE}, secrets, options=options)


def test_fusionauth_pyjwt_reads_our_hmac_token() -> None:
    headers = sign_request("fusionauth", FUSIONAUTH_BODY, SECRET)

    claims = jwt.decode(headers[FA_HEADER], SECRET, ["HS256"])

    assert claims == {"request_body_sha256": _b64_sha256(FUSIONAUTH_BODY)}


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_fusionauth_hmac_token_minted_as_fusionauth_does_verifies(alg: str) -> None:
    claims = {"request_body_sha256": _b64_sha256(FUSIONAUTH_BODY)}
    token = jwt.encode(claims, SECRET, algorithm=alg, headers={"kid": "a1b2c3"})

    event = _verify("fusionauth", FUSIONAUTH_BODY, {FA_HEADER: token}, ["old-key", SECRET])

    assert isinstance(event, VerifiedEvent)
    assert (event.id, event.type) == ("e2ad3f9c-9b5f-4f41-8f55-3e2f0a3b2c1d", "user.create")
    with pytest.raises(InvalidSignature):
        _verify("fusionauth", FUSIONAUTH_BODY + b"\n", {FA_HEADER: token}, [SECRET])
    hexed = jwt.encode({"request_body_sha256": hashlib.sha256(FUSIONAUTH_BODY).hexdigest()}, SECRET)
    with pytest.raises(InvalidSignature):  # the claim is base64, not hex
        _verify("fusionauth", FUSIONAUTH_BODY, {FA_HEADER: hexed}, [SECRET])


def _key_pairs() -> list[tuple[str, Any]]:
    return [
        ("RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ("RS512", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ("ES256", ec.generate_private_key(ec.SECP256R1())),
        ("ES384", ec.generate_private_key(ec.SECP384R1())),
        ("ES512", ec.generate_private_key(ec.SECP521R1())),
        ("EdDSA", ed25519.Ed25519PrivateKey.generate()),
    ]


@pytest.mark.parametrize(
    ("alg", "key"), _key_pairs(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_fusionauth_pinned_public_key_verifies_a_pyjwt_token(alg: str, key: Any) -> None:
    claims = {"request_body_sha256": _b64_sha256(FUSIONAUTH_BODY)}
    token = jwt.encode(claims, key, algorithm=alg, headers={"kid": "k1"})
    options = {"public_key": [_pem(ec.generate_private_key(ec.SECP256R1())), _pem(key)]}

    event = _verify("fusionauth", FUSIONAUTH_BODY, {FA_HEADER: token}, [], options=options)

    assert isinstance(event, VerifiedEvent)
    with pytest.raises(InvalidSignature):
        _verify("fusionauth", FUSIONAUTH_BODY + b" ", {FA_HEADER: token}, [], options=options)
    # The HMAC of the token keyed with the public key's own text is no signature here.
    forged = hs256_token(claims, _pem(key))
    with pytest.raises(InvalidSignature):
        _verify("fusionauth", FUSIONAUTH_BODY, {FA_HEADER: forged}, [], options=options)


def test_fusionauth_ed25519_token_with_fusionauths_alg_name_verifies() -> None:
    # FusionAuth's JWT library writes `"alg": "Ed25519"` (not RFC 8037's EdDSA).
    key = ed25519.Ed25519PrivateKey.generate()

    def b64url(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64url(b'{"alg":"Ed25519","typ":"JWT","kid":"k1"}')
    payload = b64url(json.dumps({"request_body_sha256": _b64_sha256(FUSIONAUTH_BODY)}).encode())
    signed = f"{head}.{payload}"
    token = f"{signed}.{b64url(key.sign(signed.encode()))}"

    event = _verify(
        "fusionauth", FUSIONAUTH_BODY, {FA_HEADER: token}, [], options={"public_key": _pem(key)}
    )

    assert isinstance(event, VerifiedEvent)


@pytest.mark.parametrize(
    ("alg", "key"), [_key_pairs()[i] for i in (0, 2, 5)], ids=["RS256", "ES256", "EdDSA"]
)
def test_fusionauth_signer_with_a_private_key_is_read_by_pyjwt(alg: str, key: Any) -> None:
    options = {"public_key": _pem(key)}
    headers = sign_request("fusionauth", FUSIONAUTH_BODY, _pkcs8(key), options=options)
    token = headers[FA_HEADER]
    written = jwt.get_unverified_header(token)["alg"]

    if written == "Ed25519":  # PyJWT knows it as EdDSA
        claims = jwt.decode(token, key.public_key(), ["EdDSA"], options={"verify_signature": 0})
        ours = _verify("fusionauth", FUSIONAUTH_BODY, headers, [], options=options)
        assert isinstance(ours, VerifiedEvent)
    else:
        assert written == alg
        claims = jwt.decode(token, key.public_key(), [alg])
    assert claims == {"request_body_sha256": _b64_sha256(FUSIONAUTH_BODY)}


def test_fusionauth_config_needs_a_key_and_refuses_a_tolerance_and_weak_keys() -> None:
    fusionauth = load("fusionauth")
    weak = _pem(rsa.generate_private_key(public_exponent=65537, key_size=1024))

    with pytest.raises(ProviderConfigError, match=r"^sources\.test\.secrets: "):
        build_provider(fusionauth, [])
    with pytest.raises(ProviderConfigError, match=r"^sources\.test\.public_key: ") as caught:
        build_provider(fusionauth, [], options={"public_key": weak})
    assert "BEGIN" not in str(caught.value)
    with pytest.raises(ProviderConfigError, match=r"^sources\.test\.tolerance_seconds: "):
        build_provider(fusionauth, [SECRET], tolerance_seconds=60)
    both = build_provider(
        fusionauth, [SECRET], options={"public_key": _pem(ed25519.Ed25519PrivateKey.generate())}
    )
    headers = sign_request("fusionauth", FUSIONAUTH_BODY, SECRET)
    assert isinstance(both.verify(make_request(FUSIONAUTH_BODY, headers)), VerifiedEvent)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-jwt",
        "a.b.c",
        jwt.encode({"request_body_sha256": "x"}, None, algorithm="none"),
        "eyJhbGciOlsiSFMyNTYiXX0.e30.c2ln",  # alg is a list
        "x." * 5000,
    ],
)
def test_fusionauth_malformed_tokens_are_refused_not_crashed(token: str) -> None:
    refusal = MissingSignature if not token else InvalidSignature
    with pytest.raises(refusal):
        _verify("fusionauth", FUSIONAUTH_BODY, {FA_HEADER: token}, [SECRET])
