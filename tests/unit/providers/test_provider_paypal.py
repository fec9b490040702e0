"""PayPal (`providers.builtin.paypal`): checked against PayPal's own Python SDK
(`paypalrestsdk` 1.13.3, `WebhookEvent`), the certificate URL allow-list (nothing fetched for an
off-list URL), the fetch path, and the refusals.

The SDK builds the signed string (`_get_expected_sig`) and checks the certificate
(`_verify_certificate`: its chain to the SDK's bundled roots, the CN ending `.paypal.com`, not
expired); here its roots are swapped for a test CA. Its last step, `OpenSSL.crypto.verify`, no
longer exists in pyOpenSSL (removed in 24.3): that RSA check is made with `cryptography` over the
string the SDK built.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import gc
import json
import time
import warnings
import zlib
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from OpenSSL import crypto
from paypalrestsdk.notifications import WebhookEvent

from providers import (
    InvalidSignature,
    KeyUnavailable,
    MissingSignature,
    ProviderConfigError,
    StaleTimestamp,
    VerifiedEvent,
    load,
)
from providers.builtin.paypal import PayPalProvider, signed_string
from providers.testing import build_provider, make_request, sign_request
from tests.keyserver import KeyServer, LoopbackRule
from tests.unit.providers._catalogue import TABLE, paypal_certificate, rsa_pkcs8

KEY = rsa_pkcs8()
CERT = paypal_certificate(KEY)
WEBHOOK_ID = "1JE4291016473214C"
BODY = TABLE["paypal"][0]
OPTIONS = {"webhook_id": WEBHOOK_ID, "certificates": [CERT]}


def _signed(body: bytes = BODY, **options: Any) -> dict[str, str]:
    return sign_request("paypal", body, KEY, options={**OPTIONS, **options})


def _verify(headers: dict[str, str], body: bytes = BODY, provider: Any = None) -> Any:
    provider = provider or build_provider(PayPalProvider, [], options=OPTIONS)
    return provider.verify(make_request(body, headers))


# --- the SDK ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body", [BODY, b'{"id": "WH-1", "event_type": "X", "note": "caf\xc3\xa9 \xe2\x98\x83"}']
)
def test_the_sdk_builds_the_string_we_sign_and_verify(body: bytes) -> None:
    headers = _signed(body)
    sdk = WebhookEvent._get_expected_sig(
        headers["paypal-transmission-id"],
        headers["paypal-transmission-time"],
        WEBHOOK_ID,
        body.decode("utf-8"),  # the SDK takes the body as text (it CRCs its UTF-8)
    )
    assert sdk.encode() == signed_string(
        headers["paypal-transmission-id"], headers["paypal-transmission-time"], WEBHOOK_ID, body
    )
    certificate = x509.load_pem_x509_certificate(CERT.encode())
    key = certificate.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    signature = base64.b64decode(headers["paypal-transmission-sig"])
    key.verify(signature, sdk.encode(), padding.PKCS1v15(), hashes.SHA256())  # ours, SDK's string
    assert isinstance(_verify(headers, body), VerifiedEvent)


def test_a_signature_over_the_sdk_string_verifies_here() -> None:
    transmission_id, when = "b2384410-f8d2-11ec-8b5e-0d1f5b8ab2e1", _now_text()
    sdk = WebhookEvent._get_expected_sig(transmission_id, when, WEBHOOK_ID, BODY.decode())
    private = serialization.load_der_private_key(base64.b64decode(KEY), password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    signature = private.sign(sdk.encode(), padding.PKCS1v15(), hashes.SHA256())
    headers = {
        **_signed(),
        "paypal-transmission-id": transmission_id,
        "paypal-transmission-time": when,
        "paypal-transmission-sig": base64.b64encode(signature).decode(),
    }
    assert isinstance(_verify(headers), VerifiedEvent)
    with pytest.raises(InvalidSignature):  # the same signature for another webhook
        _verify(headers, provider=build_provider(PayPalProvider, [], options=_other_webhook()))


def _sdk_accepts(pem: str) -> bool:
    """The SDK's `_verify_certificate`. It leaves its root files open and calls pyOpenSSL APIs
    deprecated since: those warnings are the SDK's, not ours."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        result = WebhookEvent._verify_certificate(crypto.load_certificate(crypto.FILETYPE_PEM, pem))
        gc.collect()
    return bool(result)


def _now_text() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _other_webhook() -> dict[str, Any]:
    return {**OPTIONS, "webhook_id": "9X2345678A1234567"}


def _ca(tmp_path: Path) -> tuple[rsa.RSAPrivateKey, x509.Name]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test EV Root")])
    now = datetime.datetime.now(datetime.UTC)
    root = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=90))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "root.pem").write_bytes(root.public_bytes(serialization.Encoding.PEM))
    return key, name


def _leaf(ca: tuple[rsa.RSAPrivateKey, x509.Name], name: str, days: int = 30) -> str:
    private = serialization.load_der_private_key(base64.b64decode(KEY), password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    now = datetime.datetime.now(datetime.UTC)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca[1])
        .public_key(private.public_key())
        .serial_number(2)
        .not_valid_before(now - datetime.timedelta(days=2))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(ca[0], hashes.SHA256())
    )
    return leaf.public_bytes(serialization.Encoding.PEM).decode()


@pytest.mark.parametrize(
    ("name", "days", "accepted"),
    [
        ("messageverificationcerts.paypal.com", 30, True),
        ("messageverificationcerts.sandbox.paypal.com", 30, True),
        ("messageverificationcerts.paypal.com.evil.example", 30, False),
        ("paypal.com.evil.example", 30, False),
        ("messageverificationcerts.paypal.com", -1, False),  # expired
    ],
)
def test_the_sdk_and_hookgate_agree_on_the_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, days: int, accepted: bool
) -> None:
    ca = _ca(tmp_path)
    pem = _leaf(ca, name, days)
    # The SDK's trust store, with its bundled DigiCert roots swapped for the test CA.
    monkeypatch.setattr(
        WebhookEvent, "_WebhookEvent__cert_chain_path", [str(tmp_path / "root.pem")]
    )
    assert _sdk_accepts(pem) is accepted

    if days < 0:  # an expired pinned certificate refuses every request
        provider = build_provider(PayPalProvider, [], options={**OPTIONS, "certificates": [pem]})
        with pytest.raises(InvalidSignature, match="not valid at this time"):
            _verify(_signed(), provider=provider)
        return
    try:
        provider = build_provider(PayPalProvider, [], options={**OPTIONS, "certificates": [pem]})
    except ProviderConfigError:
        assert not accepted
        return
    assert accepted
    assert isinstance(_verify(_signed(), provider=provider), VerifiedEvent)


#: The SDK reads its bundled roots with `open(...).read()` and never closes them.
_SDK_LEAKS_FILES = pytest.mark.filterwarnings(
    "ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning"
)


@_SDK_LEAKS_FILES
def test_the_sdk_refuses_an_untrusted_chain_that_hookgate_would_not_fetch(
    tmp_path: Path,
) -> None:
    # Outside the SDK's bundled roots: the SDK refuses. Hookgate does not chain-check (PayPal's
    # URL serves the leaf); it trusts what it fetched over TLS from PayPal's own hosts, or pins.
    pem = _leaf(_ca(tmp_path), "messageverificationcerts.paypal.com")
    assert (
        WebhookEvent._verify_certificate(crypto.load_certificate(crypto.FILETYPE_PEM, pem)) is False
    )


# --- hookgate's rules ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://api.paypal.com/v1/notifications/certs/CERT-1",
        "https://api.paypal.com:443/v1/notifications/certs/CERT-1",
        "https://user@api.paypal.com/v1/notifications/certs/CERT-1",
        "https://api.paypal.com./v1/notifications/certs/CERT-1",
        "https://api.paypal.com.evil.example/v1/notifications/certs/CERT-1",
        "https://evil.example/v1/notifications/certs/CERT-1",
        "https://www.paypal.com/v1/notifications/certs/CERT-1",
        "https://api.sandbox.paypal.com.evil/v1/notifications/certs/CERT-1",
        "https://evilapi.paypal.com/v1/notifications/certs/CERT-1",
        "https://api.paypal.com/v1/notifications/certs/",
        "https://api.paypal.com/v1/notifications/certs/../../oauth2/token",
        "https://api.paypal.com/v1/notifications/certs/a/b",
        "https://api.paypal.com/v1/notifications/webhooks",
        "https://api.paypal.com/v1/notifications/certs/CERT-1?x=1",
        "https://api.paypal.com/v1/notifications/certs/CERT-1#x",
        "https://api.paypal.com/v1/notifications/certs/CERT%2D1",
        "https://64.4.250.36/v1/notifications/certs/CERT-1",
        "https://api.paypal.com\\@evil.example/v1/notifications/certs/CERT-1",
    ],
)
def test_off_list_certificate_urls_are_refused_and_nothing_is_fetched(url: str) -> None:
    fetching = build_provider(PayPalProvider, [], options={"webhook_id": WEBHOOK_ID})
    headers = {**_signed(), "paypal-cert-url": url}
    for provider in (fetching, None):
        with pytest.raises(InvalidSignature) as caught:
            _verify(headers, provider=provider)
        assert not isinstance(caught.value, KeyUnavailable)
    assert fetching.fetcher.fetches == 0
    assert len(fetching.fetcher) == 0


@pytest.mark.parametrize(
    "host",
    ["api.paypal.com", "api-m.paypal.com", "api.sandbox.paypal.com", "api-m.sandbox.paypal.com"],
)
def test_paypal_certificate_hosts_are_fetched_on_demand(host: str) -> None:
    provider = build_provider(PayPalProvider, [], options={"webhook_id": WEBHOOK_ID})
    url = f"https://{host}/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77"
    with pytest.raises(KeyUnavailable) as caught:
        _verify({**_signed(), "paypal-cert-url": url}, provider=provider)
    assert caught.value.load is not None


def test_the_certificate_is_fetched_once_over_loopback() -> None:
    with KeyServer({"/cert.pem": CERT.encode()}) as server:
        loopback = type(
            "LoopbackPayPal", (PayPalProvider,), {"url_rule": LoopbackRule(server.port)}
        )
        provider = build_provider(loopback, [], options={"webhook_id": WEBHOOK_ID})
        headers = {**_signed(), "paypal-cert-url": server.url("/cert.pem")}
        with pytest.raises(KeyUnavailable) as caught:
            _verify(headers, provider=provider)
        assert caught.value.load is not None
        asyncio.run(caught.value.load())
        assert isinstance(_verify(headers, provider=provider), VerifiedEvent)
        assert isinstance(
            _verify(_signed() | {"paypal-cert-url": server.url("/cert.pem")}, provider=provider),
            VerifiedEvent,
        )
        assert server.hits["/cert.pem"] == 1


@pytest.mark.parametrize(
    ("header", "value", "refusal"),
    [
        ("paypal-auth-algo", "SHA1withRSA", InvalidSignature),
        ("paypal-auth-algo", "sha256WithRSAEncryption", InvalidSignature),
        ("paypal-transmission-id", "b2384410|0", InvalidSignature),
        ("paypal-transmission-time", "1700000000", InvalidSignature),
        ("paypal-transmission-time", "2024-13-01T00:00:00Z", InvalidSignature),
        ("paypal-transmission-time", "2024-02-30T00:00:00Z", InvalidSignature),
        ("paypal-transmission-sig", "%%", InvalidSignature),
        ("paypal-transmission-sig", "A" * 2000, InvalidSignature),
    ],
)
def test_bad_headers_are_refused(header: str, value: str, refusal: type) -> None:
    with pytest.raises(refusal):
        _verify({**_signed(), header: value})


def test_each_header_is_required() -> None:
    headers = _signed()
    for name in [h for h in headers if h.startswith("paypal-")]:
        with pytest.raises(MissingSignature):
            _verify({k: v for k, v in headers.items() if k != name})


def test_another_webhook_id_or_a_changed_body_does_not_verify() -> None:
    with pytest.raises(InvalidSignature):
        _verify(_signed(), provider=build_provider(PayPalProvider, [], options=_other_webhook()))
    with pytest.raises(InvalidSignature):
        _verify(_signed(), BODY.replace(b"COMPLETED", b"DENIED"))


def test_the_transmission_time_is_held_to_five_minutes() -> None:
    for skew in (-400, 400):
        headers = sign_request(
            "paypal", BODY, KEY, options=OPTIONS, timestamp=int(time.time()) + skew
        )
        with pytest.raises(StaleTimestamp):
            _verify(headers)


def test_webhook_id_is_required_and_secrets_are_refused() -> None:
    with pytest.raises(ProviderConfigError, match=r"^sources\.test\.webhook_id: "):
        build_provider(PayPalProvider, [], options={"certificates": [CERT]})
    with pytest.raises(ProviderConfigError, match=r"^sources\.test\.secrets: "):
        build_provider(PayPalProvider, ["s"], options=OPTIONS)
    with pytest.raises(ProviderConfigError, match=r"^sources\.test\.webhook_id: "):
        build_provider(PayPalProvider, [], options={**OPTIONS, "webhook_id": "a|b"})


def test_crc32_is_unsigned_decimal() -> None:
    body = b"\xff" * 7  # a CRC with the top bit set
    assert zlib.crc32(body) > 2**31
    assert signed_string("t", "2024-01-05T09:46:21Z", "W", body).endswith(
        str(zlib.crc32(body)).encode()
    )


def test_the_provider_is_installed() -> None:
    assert load("paypal") is PayPalProvider


def test_the_event_time_is_create_time_when_valid() -> None:
    body = b'{"id": "WH-1", "event_type": "X", "create_time": "2024-01-05T09:46:21.000Z"}'
    assert _verify(_signed(body), body).occurred_at == 1704447981.0
    for created in (b'"2024-13-05T09:46:21Z"', b"5", b'"yesterday"'):
        odd = b'{"id": "WH-1", "event_type": "X", "create_time": ' + created + b"}"
        assert _verify(_signed(odd), odd).occurred_at is None


# --- one transmission, one event -------------------------------------------------------------


def _same_crc(body: bytes, target: int) -> bytes:
    """`body` (a JSON object) with a `pad` field whose A/a letters are chosen (over GF(2): a
    CRC-32 is affine in the bits it covers) so that its CRC-32 equals `target`: what anyone
    can do to carry another body under a captured PayPal signature."""
    base = body[:-1] + b', "pad": "' + b"A" * 48 + b'"}'
    start = base.index(b"A" * 48)
    crc = zlib.crc32(base)
    # One row per letter: the CRC change its toggle makes, and the letter's bit in the solution.
    rows = []
    for i in range(48):
        toggled = bytearray(base)
        toggled[start + i] ^= 0x20
        rows.append((zlib.crc32(bytes(toggled)) ^ crc, 1 << i))
    want, chosen, basis = crc ^ target, 0, []
    for delta, mark in rows:  # Gaussian elimination on the CRC deltas
        for pivot_delta, pivot_mark in basis:
            if delta ^ pivot_delta < delta:
                delta, mark = delta ^ pivot_delta, mark ^ pivot_mark
        if delta:
            basis.append((delta, mark))
    basis.sort(reverse=True)
    for pivot_delta, pivot_mark in basis:
        if want ^ pivot_delta < want:
            want, chosen = want ^ pivot_delta, chosen ^ pivot_mark
    assert want == 0, "the letters do not span the CRC"
    forged = bytearray(base)
    for i in range(48):
        if chosen >> i & 1:
            forged[start + i] ^= 0x20
    return bytes(forged)


def test_a_captured_signature_carries_no_other_body() -> None:
    # PayPal's signature covers the body only through its CRC-32: a body with the same CRC-32
    # verifies under a captured signature. The replay key (the transmission's) makes the
    # gateway take one event per transmission: the forged one is a duplicate of the real one.
    headers = _signed(BODY)
    other = json.loads(BODY) | {"id": "WH-666-FORGED"}
    forged = _same_crc(json.dumps(other).encode(), zlib.crc32(BODY))
    assert zlib.crc32(forged) == zlib.crc32(BODY)

    real, copy = _verify(headers), _verify(headers, forged)

    assert (real.id, copy.id) == (json.loads(BODY)["id"], "WH-666-FORGED")
    assert real.replay_key is not None
    assert copy.replay_key == real.replay_key
    assert _verify(_signed(BODY)).replay_key != real.replay_key  # another transmission
