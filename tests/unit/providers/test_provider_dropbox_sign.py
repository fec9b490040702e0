"""Dropbox Sign against its own SDK (`dropbox-sign` on PyPI), both ways, and its form read safely.

The SDK's `EventCallbackHelper.is_valid` accepts what hookgate signs; hookgate accepts callbacks
built with the SDK's models, as JSON and in the multipart form Dropbox Sign posts (encoded by
httpx, independently of hookgate's signer).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re

import httpx
import pytest
from dropbox_sign import EventCallbackHelper
from dropbox_sign.models import EventCallbackRequest

from providers import (
    Handshake,
    InvalidSignature,
    MissingSignature,
    ProviderConfigError,
    VerifiedEvent,
    describe,
    load,
)
from providers.builtin.dropbox_sign import (
    ACKNOWLEDGEMENT,
    MAX_PARTS,
    event_hash,
    multipart_field,
)
from providers.signing import sign
from providers.testing import build_provider, make_request

API_KEY = "c4a3c5b4b0a84e3a8ed4aa53ab2b0c6e1b5c3e7d9f1a2b3c4d5e6f708192a3b4"


def _callback(event_type: str = "signature_request_signed", key: str = API_KEY) -> dict:
    event_time = "1733200000"
    return {
        "event": {
            "event_type": event_type,
            "event_time": event_time,
            "event_hash": event_hash(key, event_time, event_type),
            "event_metadata": {
                "related_signature_id": "5687fb7bd8ae3b6ce4a0f2e1f8a9b3b8b0a2b0a1",
                "reported_for_account_id": "63522885f9261e2b04eea043933ee7313eb674fd",
                "reported_for_app_id": None,
                "event_message": None,
            },
        },
        "signature_request": {
            "signature_request_id": "fa5c8a0b0f492d768749333ad6fcc214c111e967",
            "title": "NDA",
            "is_complete": False,
        },
    }


def _verify(body: bytes, headers: dict[str, str], key: str = API_KEY) -> object:
    provider = build_provider(load("dropbox-sign"), [key])
    return provider.verify(make_request(body, headers))


def _multipart(json_text: str) -> tuple[bytes, dict[str, str]]:
    request = httpx.Request("POST", "https://x.test/", files={"json": (None, json_text)})
    return request.read(), {"content-type": request.headers["content-type"]}


def test_hookgate_accepts_callbacks_built_with_the_sdk_models_json_and_multipart() -> None:
    model = EventCallbackRequest.init(_callback())
    assert EventCallbackHelper.is_valid(API_KEY, model)

    as_json = _verify(model.to_json().encode(), {"content-type": "application/json"})
    as_form = _verify(*_multipart(model.to_json()))

    expected_id = (
        "1733200000:signature_request_signed:fa5c8a0b0f492d768749333ad6fcc214c111e967"
        ":5687fb7bd8ae3b6ce4a0f2e1f8a9b3b8b0a2b0a1"
    )
    for event in (as_json, as_form):
        assert isinstance(event, VerifiedEvent)
        assert (event.id, event.type, event.occurred_at) == (
            expected_id,
            "signature_request_signed",
            1733200000.0,
        )
    assert EventCallbackHelper.get_callback_type(model) == "account_callback"


def test_the_sdk_accepts_what_hookgate_signs() -> None:
    payload = _callback()
    del payload["event"]["event_hash"]
    request = sign(load("dropbox-sign"), json.dumps(payload).encode(), API_KEY)
    boundary = re.search(r"boundary=(\S+)", request.headers["content-type"])
    assert boundary is not None

    field = multipart_field(request.body, boundary.group(1).encode())
    assert field is not None
    model = EventCallbackRequest.init(json.loads(field))

    assert EventCallbackHelper.is_valid(API_KEY, model)
    assert not EventCallbackHelper.is_valid("another-api-key", model)
    assert isinstance(_verify(request.body, request.headers), VerifiedEvent)


def test_the_hash_is_hmac_sha256_of_time_then_type_as_documented() -> None:
    expected = hmac.new(API_KEY.encode(), b"1733200000callback_test", hashlib.sha256)
    assert event_hash(API_KEY, "1733200000", "callback_test") == expected.hexdigest()


def test_callback_test_is_answered_with_the_acknowledgement_and_never_an_event() -> None:
    body = json.dumps(_callback("callback_test")).encode()

    assert _verify(body, {}) == ACKNOWLEDGEMENT
    assert Handshake(b"Hello API Event Received", content_type="text/plain") == ACKNOWLEDGEMENT
    assert load("dropbox-sign").acknowledgement == ACKNOWLEDGEMENT  # type: ignore[attr-defined]


def test_a_hash_made_with_another_key_or_for_another_type_is_refused() -> None:
    with pytest.raises(InvalidSignature):
        _verify(json.dumps(_callback(key="another-key")).encode(), {})
    forged = _callback()
    forged["event"]["event_type"] = "signature_request_all_signed"
    with pytest.raises(InvalidSignature):
        _verify(json.dumps(forged).encode(), {})
    rotated = build_provider(load("dropbox-sign"), ["old-key", API_KEY])
    assert isinstance(
        rotated.verify(make_request(json.dumps(_callback()).encode(), {})), VerifiedEvent
    )


def test_the_body_is_not_covered_so_the_replay_key_is_its_digest() -> None:
    body = json.dumps(_callback()).encode()
    other = _callback()
    other["signature_request"]["signature_request_id"] = "forged"
    forged = json.dumps(other).encode()

    first, second = _verify(body, {}), _verify(forged, {})

    assert isinstance(first, VerifiedEvent)
    assert isinstance(second, VerifiedEvent)  # as Dropbox Sign's own helper would accept it
    assert first.replay_key == hashlib.sha256(body).hexdigest()
    assert describe(load("dropbox-sign")).signed_timestamp is False


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{}",
        b'{"event": {"event_type": "x", "event_time": "1"}}',
        b"not json at all",
        b'["event_hash"]',
    ],
)
def test_a_callback_without_an_event_hash_is_missing_its_signature(body: bytes) -> None:
    with pytest.raises(MissingSignature):
        _verify(body, {})


def test_event_time_and_type_must_be_text() -> None:
    callback = _callback()
    callback["event"]["event_type"] = ["signature_request_signed"]
    with pytest.raises(InvalidSignature):
        _verify(json.dumps(callback).encode(), {})


def test_the_multipart_reader_is_bounded() -> None:
    json_text = json.dumps(_callback())
    fillers = [f"f{i}" for i in range(MAX_PARTS)]
    files = {name: (None, "x") for name in fillers} | {"json": (None, json_text)}
    request = httpx.Request("POST", "https://x.test/", files=files)
    headers = {"content-type": request.headers["content-type"]}

    with pytest.raises(MissingSignature):  # the json field comes after MAX_PARTS others
        _verify(request.read(), headers)
    body, headers = _multipart(json_text)
    long_header = body.replace(b"\r\n\r\n", b"\r\nX-Pad: " + b"p" * 2048 + b"\r\n\r\n", 1)
    with pytest.raises(MissingSignature):
        _verify(long_header, headers)
    padded = _callback()
    padded["signature_request"]["title"] = "t" * 300_000
    with pytest.raises(InvalidSignature, match="larger"):
        _verify(json.dumps(padded).encode(), {})


def test_a_form_whose_content_type_was_lost_is_still_read() -> None:
    body, _ = _multipart(json.dumps(_callback()))
    assert isinstance(_verify(body, {}), VerifiedEvent)


def test_config_refuses_a_tolerance_and_needs_the_api_key() -> None:
    with pytest.raises(ProviderConfigError, match="tolerance_seconds"):
        build_provider(load("dropbox-sign"), [API_KEY], tolerance_seconds=60)
    with pytest.raises(ProviderConfigError, match="secrets"):
        build_provider(load("dropbox-sign"), [])
