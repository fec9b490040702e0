"""providers.generic_hmac: every digest/encoding/prefix, event fields, config errors by path."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest

from providers import InvalidSignature, Malformed, MissingSignature, ProviderConfigError
from providers.generic_hmac import HmacProvider, sign
from providers.testing import ProviderContract, build_provider, make_request

SECRET = "hmac-secret"
BODY = b'{"data":{"id":123,"kind":"order.paid"},"items":[{"sku":"a-1"}]}'
HEADER = {"signature_header": "X-Signature"}


def _provider(**options: Any) -> HmacProvider:
    provider = build_provider(HmacProvider, [SECRET], options={**HEADER, **options}, source="h")
    assert isinstance(provider, HmacProvider)
    return provider


def _reference(body: bytes, algorithm: str, encoding: str) -> str:
    """The signature computed independently of providers/, with the standard library only."""
    digest = hmac.new(SECRET.encode(), body, getattr(hashlib, algorithm)).digest()
    return digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()


def _config_error(**options: Any) -> str:
    with pytest.raises(ProviderConfigError) as info:
        build_provider(HmacProvider, [SECRET], options=options, source="h")
    return str(info.value)


# --- signature options -------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["sha1", "sha256"])
@pytest.mark.parametrize("encoding", ["hex", "base64"])
@pytest.mark.parametrize("prefix", ["", "sha256="])
def test_every_option_combination_verifies_the_reference_signature(
    algorithm: str, encoding: str, prefix: str
) -> None:
    options: dict[str, Any] = {"algorithm": algorithm, "encoding": encoding}
    if prefix:
        options["prefix"] = prefix
    value = prefix + _reference(BODY, algorithm, encoding)
    assert sign(BODY, SECRET, algorithm=algorithm, encoding=encoding, prefix=prefix) == value

    event = _provider(**options).verify(make_request(BODY, {"x-signature": value}))

    assert event.id == hashlib.sha256(BODY).hexdigest()
    assert event.type == "webhook"


@pytest.mark.parametrize(
    ("options", "value"),
    [
        ({}, "sha256=" + _reference(BODY, "sha256", "hex")),  # a prefix nobody configured
        ({"prefix": "sha256="}, _reference(BODY, "sha256", "hex")),  # the prefix left out
        ({"algorithm": "sha1"}, _reference(BODY, "sha256", "hex")),  # the other digest
        ({"encoding": "base64"}, _reference(BODY, "sha256", "hex")),  # the other encoding
        ({}, _reference(BODY + b" ", "sha256", "hex")),  # another body
    ],
    ids=["unexpected-prefix", "missing-prefix", "wrong-digest", "wrong-encoding", "other-body"],
)
def test_signature_for_other_options_is_invalid(options: dict[str, Any], value: str) -> None:
    with pytest.raises(InvalidSignature):
        _provider(**options).verify(make_request(BODY, {"x-signature": value}))


def test_hex_is_compared_case_insensitively() -> None:
    value = _reference(BODY, "sha256", "hex").upper()

    assert _provider().verify(make_request(BODY, {"x-signature": value})).type == "webhook"


def test_base64_is_compared_case_sensitively() -> None:
    value = _reference(BODY, "sha256", "base64").swapcase()

    with pytest.raises(InvalidSignature):
        _provider(encoding="base64").verify(make_request(BODY, {"x-signature": value}))


def test_missing_signature_header_is_named() -> None:
    with pytest.raises(MissingSignature, match="x-signature"):
        _provider().verify(make_request(BODY, {"x-other": "x"}))


def test_body_need_not_be_json_without_pointers() -> None:
    body = b"\x00\xffbinary"
    value = _reference(body, "sha256", "hex")

    assert _provider().verify(make_request(body, {"x-signature": value})).type == "webhook"


# --- event ID and type -------------------------------------------------------------------------


def _verify(body: bytes = BODY, headers: dict[str, str] | None = None, **options: Any) -> Any:
    signed = {"x-signature": _reference(body, "sha256", "hex"), **(headers or {})}
    return _provider(**options).verify(make_request(body, signed))


def test_pointers_read_the_id_and_type_from_the_body() -> None:
    event = _verify(event_id_pointer="/data/id", event_type_pointer="/data/kind")

    assert (event.id, event.type) == ("123", "order.paid")


def test_pointer_reads_through_arrays() -> None:
    assert _verify(event_id_pointer="/items/0/sku").id == "a-1"


def test_pointer_unescapes_tilde_and_slash() -> None:
    body = b'{"a/b":{"c~d":"evt_9"}}'

    assert _verify(body, event_id_pointer="/a~1b/c~0d").id == "evt_9"


def test_headers_carry_the_id_and_type() -> None:
    event = _verify(
        headers={"x-event-id": "evt_7", "x-event-type": "user.created"},
        event_id_header="X-Event-Id",
        event_type_header="X-Event-Type",
    )

    assert (event.id, event.type) == ("evt_7", "user.created")


@pytest.mark.parametrize(
    "options",
    [
        {"event_id_pointer": "/data/missing"},
        {"event_id_pointer": "/items/1/sku"},
        {"event_id_pointer": "/items/01/sku"},
        {"event_id_pointer": "/items/-"},
        {"event_type_pointer": "/data"},  # an object is not a type
        {"event_id_pointer": "/data/id/deeper"},
        {"event_id_header": "x-event-id"},
        {"event_type_header": "x-event-type"},
    ],
)
def test_configured_field_absent_from_a_verified_request_is_malformed(
    options: dict[str, Any],
) -> None:
    with pytest.raises(Malformed):
        _verify(**options)


def test_pointer_into_a_body_that_is_not_json_is_malformed() -> None:
    with pytest.raises(Malformed, match="JSON"):
        _verify(b"id=1", event_id_pointer="/id")


# --- configuration -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "sources.h.signature_header: required for this provider"),
        ({**HEADER, "algorithm": "md5"}, "sources.h.algorithm: expected one of sha1, sha256"),
        ({**HEADER, "encoding": "base32"}, "sources.h.encoding: expected one of base64, hex"),
        ({**HEADER, "prefix": 7}, "sources.h.prefix: expected a string"),
        (
            {**HEADER, "event_id_header": "x-id", "event_id_pointer": "/id"},
            "sources.h.event_id_pointer: set event_id_header or event_id_pointer, not both",
        ),
        (
            {**HEADER, "event_type_header": "x-t", "event_type_pointer": "/t"},
            "sources.h.event_type_pointer: set event_type_header or event_type_pointer, not both",
        ),
        ({**HEADER, "event_id_pointer": "data/id"}, "sources.h.event_id_pointer: a JSON pointer"),
        ({**HEADER, "event_type_pointer": "/a~2b"}, "sources.h.event_type_pointer: '~' must be"),
        ({**HEADER, "signature_heder": "x"}, "sources.h.signature_heder: unknown option"),
    ],
)
def test_bad_options_are_refused_by_key_path(options: dict[str, Any], message: str) -> None:
    assert _config_error(**options).startswith(message)


def test_tolerance_is_refused_because_nothing_is_timestamped() -> None:
    with pytest.raises(ProviderConfigError) as info:
        build_provider(HmacProvider, [SECRET], options=HEADER, tolerance_seconds=60, source="h")

    assert str(info.value) == "sources.h.tolerance_seconds: hmac signatures carry no timestamp"


def test_sign_refuses_an_unknown_algorithm() -> None:
    with pytest.raises(ValueError, match="md5"):
        sign(BODY, SECRET, algorithm="md5")


ACME_OPTIONS = {
    "signature_header": "X-Acme-Signature",
    "prefix": "sha256=",
    "encoding": "base64",
    "event_id_header": "X-Acme-Delivery",
    "event_type_pointer": "/data/kind",
}


class TestHmacContract(ProviderContract):
    provider = HmacProvider
    provider_name = "hmac"
    options = ACME_OPTIONS
    secrets = ("acme-1", "acme-2")
    body = BODY
    has_timestamp = False
    signature_headers = ("x-acme-signature",)
