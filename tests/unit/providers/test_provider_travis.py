"""Travis CI: documented example (weaker evidence; Travis ships no SDK, publishes no signature).

What is checked is the construction Travis's reference verifier (`travis-ci/webhook-signature-
verifier`) and its docs state: the form's `payload` value, decoded, signed RSA PKCS#1 v1.5 with
SHA-1, base64 in `Signature`; and that Travis's published key (`api.travis-ci.org/config`) loads
as a `public_key`.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus, urlencode

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from providers import InvalidSignature, MissingSignature, ProviderConfigError, VerifiedEvent, load
from providers.testing import build_provider, make_request

#: The key `https://api.travis-ci.org/config` published under
#: `config.notifications.webhook.public_key` (as quoted in public webhook receivers).
TRAVIS_ORG_KEY = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAvtjdLkS+FP+0fPC09j25\n"
    "y/PiuYDDivIT86COVedvlElk99BBYTrqNaJybxjXbIZ1Q6xFNhOY+iTcBr4E1zJu\n"
    "tizF3Xi0V9tOuP/M8Wn4Y/1lCWbQKlWrNQuqNBmhovF4K3mDCYswVbpgTmp+JQYu\n"
    "Bm9QMdieZMNry5s6aiMA9aSjDlNyedvSENYo18F+NYg1J0C0JiPYTxheCb4optr1\n"
    "5xNzFKhAkuGs4XTOA5C7Q06GCKtDNf44s/CVE30KODUxBi0MCKaxiXw/yy55zxX2\n"
    "/YdGphIyQiA5iO1986ZmZCLLW8udz9uhW5jUr3Jlp9LbmphAC61bVSf4ou2YsJaN\n"
    "0QIDAQAB\n"
    "-----END PUBLIC KEY-----"
)
#: The fields of the documented payload (Travis's webhook delivery format).
PAYLOAD = {
    "id": 183791261,
    "number": "6",
    "status": 0,
    "result": 0,
    "status_message": "Passed",
    "result_message": "Passed",
    "state": "passed",
    "type": "pull_request",
    "pull_request": True,
    "pull_request_number": 7,
    "branch": "master",
    "message": "Caf\u00e9 \u2615 & friends",
    "build_url": "https://travis-ci.org/svenfuchs/minimal/builds/183791261",
    "repository": {"id": 1, "name": "minimal", "owner_name": "svenfuchs"},
}
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PEM = (
    KEY.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)


def _provider(*keys: str) -> object:
    return build_provider(load("travis"), [], options={"public_key": list(keys or (PEM,))})


def _sign(message: bytes, algorithm: hashes.HashAlgorithm | None = None) -> str:
    signature = KEY.sign(message, padding.PKCS1v15(), algorithm or hashes.SHA1())
    return base64.b64encode(signature).decode()


def _verify(body: bytes, signature: str, provider: object | None = None) -> object:
    verifier = provider or _provider()
    return verifier.verify(make_request(body, {"signature": signature}))  # type: ignore[attr-defined]


@pytest.mark.parametrize("encode", [quote_plus, quote])  # `+` or `%20` for spaces: both decode
def test_the_decoded_payload_signed_as_travis_documents_verifies(encode: object) -> None:
    text = json.dumps(PAYLOAD)
    body = b"payload=" + encode(text).encode()  # type: ignore[operator]

    event = _verify(body, _sign(text.encode()))

    assert event == VerifiedEvent("183791261:passed", "pull_request")


def test_a_signature_over_the_form_as_sent_or_with_sha256_is_refused() -> None:
    text = json.dumps(PAYLOAD)
    body = urlencode({"payload": text}).encode()

    with pytest.raises(InvalidSignature):
        _verify(body, _sign(body))
    with pytest.raises(InvalidSignature):
        _verify(body, _sign(text.encode(), hashes.SHA256()))


def test_the_event_id_falls_back_to_the_status_message_and_needs_the_build() -> None:
    started = {k: v for k, v in PAYLOAD.items() if k != "state"} | {"status_message": "Pending"}
    text = json.dumps(started)
    assert _verify(urlencode({"payload": text}).encode(), _sign(text.encode())) == VerifiedEvent(
        "183791261:Pending", "pull_request"
    )
    from providers import Malformed

    text = json.dumps({"type": "push", "state": "passed"})
    with pytest.raises(Malformed):
        _verify(urlencode({"payload": text}).encode(), _sign(text.encode()))


def test_requests_without_a_signature_or_payload_are_refused() -> None:
    text = json.dumps(PAYLOAD)
    with pytest.raises(MissingSignature):
        _provider().verify(make_request(b"payload=" + quote_plus(text).encode(), {}))  # type: ignore[attr-defined]
    with pytest.raises(InvalidSignature, match="payload"):
        _verify(b"other=1", _sign(b""))
    with pytest.raises(InvalidSignature, match="base64"):
        _verify(b"payload=%7B%7D", "not base64!")


def test_travis_published_key_loads_and_a_rotation_lists_both() -> None:
    text = json.dumps(PAYLOAD)
    body = urlencode({"payload": text}).encode()
    published = _provider(TRAVIS_ORG_KEY)

    with pytest.raises(InvalidSignature):  # not Travis's signature
        _verify(body, _sign(text.encode()), published)
    both = _provider(TRAVIS_ORG_KEY, PEM)
    assert isinstance(_verify(body, _sign(text.encode()), both), VerifiedEvent)


def test_config_takes_only_a_pinned_rsa_key() -> None:
    with pytest.raises(ProviderConfigError, match="public_key"):
        build_provider(load("travis"), [])
    with pytest.raises(ProviderConfigError, match="secrets"):
        build_provider(load("travis"), ["shared"], options={"public_key": PEM})
    with pytest.raises(ProviderConfigError, match="tolerance_seconds"):
        build_provider(load("travis"), [], options={"public_key": PEM}, tolerance_seconds=60)
    with pytest.raises(ProviderConfigError, match="public_key"):
        build_provider(load("travis"), [], options={"public_key": "not a key"})
