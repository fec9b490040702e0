"""providers._hmac_scheme: the digests, encodings and key derivations providers are built from.

Each is checked against a reference computed here with the standard library only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import unicodedata
from typing import ClassVar

import pytest

from providers import InvalidSignature, ProviderConfigError, VerifiedEvent
from providers._fields import body
from providers._hmac_scheme import HmacScheme, HmacSchemeProvider
from providers.signing import CannotSign, sign
from providers.testing import build_provider, make_request

BODY = b'{"id": "evt_1", "type": "thing.happened"}'


def _provider_class(scheme: HmacScheme) -> type[HmacSchemeProvider]:
    class Provider(HmacSchemeProvider):
        family: ClassVar[str] = "raw-body-hmac"
        event_id = body("/id")
        event_type = body("/type")

    Provider.scheme = scheme
    Provider.__init_subclass__()
    return Provider


def _reference(key: bytes, algorithm: str, encoding: str) -> str:
    digest = hmac.new(key, BODY, getattr(hashlib, algorithm)).digest()
    if encoding == "hex":
        return digest.hex()
    if encoding == "hex_upper":
        return digest.hex().upper()
    if encoding == "base64url":
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")
    return base64.b64encode(digest).decode()


@pytest.mark.parametrize("algorithm", ["md5", "sha1", "sha256", "sha512"])
@pytest.mark.parametrize("encoding", ["hex", "hex_upper", "base64", "base64url"])
def test_every_digest_and_encoding_matches_the_standard_library(
    algorithm: str, encoding: str
) -> None:
    scheme = HmacScheme("x-sig", algorithm=algorithm, encoding=encoding, prefix="p=")
    secret = "scheme-secret"
    value = "p=" + _reference(secret.encode(), algorithm, encoding)

    assert scheme.sign(scheme.key(secret), BODY, 0) == {"x-sig": value}
    provider = build_provider(_provider_class(scheme), [secret])
    assert provider.verify(make_request(BODY, {"x-sig": value})) == VerifiedEvent(
        "evt_1", "thing.happened"
    )


def test_sha512_hex_is_128_characters_and_a_sha256_one_is_refused() -> None:
    scheme = HmacScheme("x-sig", algorithm="sha512")
    provider = build_provider(_provider_class(scheme), ["k"])
    assert len(scheme.sign(b"k", BODY, 0)["x-sig"]) == 128

    with pytest.raises(InvalidSignature):
        provider.verify(make_request(BODY, {"x-sig": _reference(b"k", "sha256", "hex")}))


KEYS = [
    ("utf8", "s\u00e9cret", "s\u00e9cret".encode()),
    (
        "nfkd",
        "\ufb01\uff11-s\u00e9cret",
        unicodedata.normalize("NFKD", "\ufb01\uff11-s\u00e9cret").encode(),
    ),
    ("hex", "00ff10AB", bytes.fromhex("00ff10ab")),
    ("base64", base64.b64encode(b"\x00\xffkey").decode(), b"\x00\xffkey"),
    ("sha1", "braintree-private-key", hashlib.sha1(b"braintree-private-key").digest()),
]


@pytest.mark.parametrize(("key_format", "secret", "key"), KEYS)
def test_key_format_derives_the_hmac_key_from_the_secret(
    key_format: str, secret: str, key: bytes
) -> None:
    scheme = HmacScheme("x-sig", key_format=key_format)
    value = _reference(key, "sha256", "hex")

    assert scheme.key(secret) == key
    provider = build_provider(_provider_class(scheme), [secret])
    assert provider.verify(make_request(BODY, {"x-sig": value})).id == "evt_1"
    assert sign(_provider_class(scheme), BODY, secret).headers["x-sig"] == value


@pytest.mark.parametrize(
    ("key_format", "secret"),
    [
        ("hex", "not-hex-0123"),
        ("hex", "abc"),
        ("base64", "not base64!"),
        ("base64", "=="),
        ("base64", "é"),
    ],
)
def test_a_secret_that_does_not_decode_is_a_config_error_that_never_echoes_it(
    key_format: str, secret: str
) -> None:
    cls = _provider_class(HmacScheme("x-sig", key_format=key_format))

    with pytest.raises(ProviderConfigError) as info:
        build_provider(cls, ["0000", secret], source="src")

    assert str(info.value) == (
        f"sources.src.secrets[1]: expected the {key_format}-encoded secret exactly as the "
        "provider gives it"
    )
    with pytest.raises(CannotSign) as signing:
        sign(cls, BODY, secret)
    assert secret not in str(signing.value)


@pytest.mark.parametrize(
    "options",
    [{"algorithm": "md4"}, {"encoding": "base32"}, {"key_format": "latin1"}],
)
def test_unknown_parameters_are_refused_when_the_scheme_is_built(options: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=r"is (md5|utf8)"):
        HmacScheme("x-sig", **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("key_format", ["hex", "base64"])
def test_a_blank_decoded_secret_cannot_sign(key_format: str) -> None:
    cls = _provider_class(HmacScheme("x-sig", key_format=key_format))

    with pytest.raises(CannotSign, match="decodes to no bytes"):
        sign(cls, BODY, "  ")


@pytest.mark.parametrize("encoding", ["hex", "hex_upper"])
def test_hex_of_either_case_verifies_when_folded(encoding: str) -> None:
    scheme = HmacScheme("x-sig", encoding=encoding)
    provider = build_provider(_provider_class(scheme), ["k"])
    value = _reference(b"k", "sha256", "hex")

    for signature in (value, value.upper()):
        assert provider.verify(make_request(BODY, {"x-sig": signature})).id == "evt_1"


def test_upper_case_hex_unfolded_is_compared_exactly() -> None:
    scheme = HmacScheme("x-sig", encoding="hex_upper", fold_case=False)
    provider = build_provider(_provider_class(scheme), ["k"])
    value = _reference(b"k", "sha256", "hex_upper")

    assert provider.verify(make_request(BODY, {"x-sig": value})).id == "evt_1"
    with pytest.raises(InvalidSignature):
        provider.verify(make_request(BODY, {"x-sig": value.lower()}))


def test_base64url_is_neither_padded_nor_standard_base64() -> None:
    scheme = HmacScheme("x-sig", encoding="base64url")
    provider = build_provider(_provider_class(scheme), ["k"])
    value = _reference(b"k", "sha256", "base64url")
    standard = _reference(b"k", "sha256", "base64")
    assert "=" not in value

    assert provider.verify(make_request(BODY, {"x-sig": value})).id == "evt_1"
    with pytest.raises(InvalidSignature):
        provider.verify(make_request(BODY, {"x-sig": value + "="}))
    if standard.rstrip("=") != value:  # the alphabets differ in this digest
        with pytest.raises(InvalidSignature):
            provider.verify(make_request(BODY, {"x-sig": standard}))
