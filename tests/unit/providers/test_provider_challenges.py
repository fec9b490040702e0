"""Smartsheet, Trello and Front: their endpoint checks, and their signatures computed
independently of hookgate (standard library only), as each sender documents them.

None ships a verifier in Python. Sources: Smartsheet's webhook guide (its documented verification
request, callbacks and HMAC recipe, `smartsheet-platform/slate`) and its sample app
(`smartsheet-samples/node-webhook-sample`, which answers `smartsheetHookResponse`);
Trello's webhook guide as Trello's own staff wrote it (`trello-archive/api-docs`: base64
HMAC-SHA1 of the body followed by the callback URL; since 2016 the body's UTF-8 bytes, not
Node's "binary" low bytes); Front's application-webhook guide (the signed validation request,
the `{timestamp}:` + raw body construction) and the sample app written for its tutorial
(`dugjason/front-webhook-application`, citing Front's "responding to the validation request":
the signature is checked first, then `X-Front-Challenge` is answered `{"challenge": …}`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest

from providers import Handshake, InvalidSignature, MissingSignature, VerifiedEvent, load
from providers.testing import build_provider, make_request, sign_request

SECRET = "289c4s9hnfp4b368x4p4wu9gea"  # the shape of a Smartsheet sharedSecret


def _verify(name: str, body: bytes, headers: dict[str, str], **kwargs: Any) -> Any:
    options = kwargs.pop("options", None)
    provider = build_provider(load(name), [SECRET], options=options)
    return provider.verify(make_request(body, headers, **kwargs))


# --- Smartsheet ------------------------------------------------------------------------------

CHALLENGE = "d78dd1d3-01ce-4481-81de-92b4f3aa5ab1"


def test_smartsheet_verification_request_is_echoed_in_the_header_and_the_body_unsigned() -> None:
    # The documented verification request: the header, and a body of challenge + webhookId.
    body = json.dumps({"challenge": CHALLENGE, "webhookId": 4503604829677444}).encode()

    answer = _verify("smartsheet", body, {"smartsheet-hook-challenge": CHALLENGE})

    assert answer == Handshake(
        b'{"smartsheetHookResponse":"%s"}' % CHALLENGE.encode(),
        headers=(("smartsheet-hook-response", CHALLENGE),),
    )
    with pytest.raises(InvalidSignature):  # nothing but a token is reflected
        _verify("smartsheet", body, {"smartsheet-hook-challenge": "<b>x</b>"})


#: Smartsheet's documented event callback (a row created), exactly as published.
SHEET_CALLBACK = b"""{
  "nonce": "4b2ed20d-6f00-4b0c-8fac-082182aa9aac",
  "timestamp": "2015-10-27T17:04:23.795+0000",
  "webhookId": 4503604829677444,
  "scope": "sheet",
  "scopeObjectId": 4509506114742148,
  "events": [
    {
      "objectType": "sheet",
      "eventType": "updated",
      "id": 4509506114742148,
      "userId": 9007194052434043,
      "timestamp": "2015-10-27T17:03:15.000+0000"
    },
    {
      "objectType": "row",
      "eventType": "created",
      "id": 7129509179746180,
      "userId": 9007194052434043,
      "timestamp": "2015-10-27T17:03:15.000+0000"
    }
  ]
}"""
#: Its documented status-change callback (access lost).
SHEET_STATUS = b"""{
  "nonce" : "20d4d741-6224-446f-b9c4-bf7802326192",
  "timestamp" : "2015-10-27T14:48:40.214+0000",
  "webhookId": 2674017481058180,
  "scope" : "sheet",
  "scopeObjectId" : 3407658024757124,
  "newWebhookStatus" : "DISABLED_SCOPE_INACCESSIBLE"
}"""


def _sheet_mac(body: bytes) -> str:
    return hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def test_smartsheet_documented_callbacks_signed_as_documented_are_events() -> None:
    signature = _sheet_mac(SHEET_CALLBACK)

    event = _verify("smartsheet", SHEET_CALLBACK, {"smartsheet-hmac-sha256": signature})

    # Two kinds of events in one callback: `batch`; no event ID: the body hash.
    assert event == VerifiedEvent(hashlib.sha256(SHEET_CALLBACK).hexdigest(), "batch")
    assert sign_request("smartsheet", SHEET_CALLBACK, SECRET)["smartsheet-hmac-sha256"] == signature
    status = _verify(
        "smartsheet", SHEET_STATUS, {"smartsheet-hmac-sha256": _sheet_mac(SHEET_STATUS)}
    )
    assert status.type == "status"
    with pytest.raises(InvalidSignature):
        _verify("smartsheet", SHEET_CALLBACK + b" ", {"smartsheet-hmac-sha256": signature})


def test_smartsheet_digest_written_as_a_base_16_number_without_leading_zeros_verifies() -> None:
    # Smartsheet's own example: `new BigInteger(1, rawHmac).toString(16)`, which drops leading
    # zeros. Find a body whose digest has one, and send it both ways.
    body = next(
        b
        for b in (b'{"webhookId": 1, "events": [], "n": %d}' % i for i in range(10_000))
        if _sheet_mac(b).startswith("0")
    )
    full = _sheet_mac(body)
    as_number = format(int(full, 16), "x")
    assert len(as_number) < 64

    for value in (full, as_number, full.upper()):
        assert isinstance(
            _verify("smartsheet", body, {"smartsheet-hmac-sha256": value}), VerifiedEvent
        )
    with pytest.raises(InvalidSignature):
        _verify("smartsheet", body, {"smartsheet-hmac-sha256": as_number[1:]})


# --- Trello ----------------------------------------------------------------------------------

CALLBACK = "https://hooks.example.com/trello?board=b1"


def _trello_signature(body: bytes, url: str, secret: str = SECRET) -> str:
    return base64.b64encode(
        hmac.new(secret.encode(), body + url.encode(), "sha1").digest()
    ).decode()


def test_trello_head_on_creation_is_answered_200_empty() -> None:
    answer = _verify("trello", b"", {}, method="HEAD", options={"public_url": CALLBACK})

    assert answer == Handshake(b"", content_type="text/plain")
    assert load("trello").methods == frozenset({"HEAD", "POST"})


@pytest.mark.parametrize(
    "text", ["Card", "Caf\u00e9 \u2013 \u65e5\u672c \U0001f600"], ids=["ascii", "non-ascii"]
)
def test_trello_signature_covers_the_utf8_body_and_the_callback_url(text: str) -> None:
    action = {"id": "5f2b1c0e9d", "type": "updateCard", "data": {"card": {"name": text}}}
    body = json.dumps({"action": action, "model": {"id": "b1"}}, ensure_ascii=False).encode()
    headers = {"x-trello-webhook": _trello_signature(body, CALLBACK)}

    event = _verify("trello", body, headers, options={"public_url": CALLBACK})

    assert event == VerifiedEvent("5f2b1c0e9d", "updateCard")
    options = {"public_url": CALLBACK}
    assert sign_request("trello", body, SECRET, options=options) == {
        **headers,
        "content-type": "application/json",
    }
    # Another callback URL (the path or query as registered differs): refused.
    other = {"public_url": "https://hooks.example.com/trello"}
    with pytest.raises(InvalidSignature):
        _verify("trello", body, headers, options=other, url="https://h.example/trello")
    if not text.isascii():  # Node's old "binary" encoding (low byte of each code unit): refused
        binary = bytes(ord(c) & 0xFF for c in body.decode())
        wrong = {"x-trello-webhook": _trello_signature(binary, CALLBACK)}
        with pytest.raises(InvalidSignature):
            _verify("trello", body, wrong, options={"public_url": CALLBACK})


# --- Front -----------------------------------------------------------------------------------


def _front(body: bytes, secret: str = SECRET, ts: int | None = None) -> dict[str, str]:
    stamp = str(ts if ts is not None else int(time.time() * 1000))
    digest = hmac.new(secret.encode(), stamp.encode() + b":" + body, "sha256").digest()
    return {
        "x-front-signature": base64.b64encode(digest).decode(),
        "x-front-request-timestamp": stamp,
    }


SYNC = b'{"type":"sync","authorization":{"id":"cmp_abc"}}'  # the documented validation body


def test_front_validation_request_is_verified_then_answered_with_the_challenge() -> None:
    headers = {**_front(SYNC), "x-front-challenge": "Z3Jvb3Z5LWNoYWxsZW5nZQ"}

    assert _verify("front", SYNC, headers) == Handshake(b'{"challenge":"Z3Jvb3Z5LWNoYWxsZW5nZQ"}')
    with pytest.raises(MissingSignature):  # unsigned: never answered
        _verify("front", SYNC, {"x-front-challenge": "Z3Jvb3Z5LWNoYWxsZW5nZQ"})
    with pytest.raises(InvalidSignature):
        _verify("front", SYNC, {**_front(SYNC, "wrong"), "x-front-challenge": "c"})
    # A sync without a challenge is answered too, never published.
    assert _verify("front", SYNC, _front(SYNC)) == Handshake(b"{}")


def test_front_event_signed_as_documented_is_an_event() -> None:
    body = json.dumps(
        {
            "type": "inbound_received",
            "authorization": {"id": "cmp_abc"},
            "payload": {"id": "evt_55c8c149", "type": "inbound", "emitted_at": 1.7e9},
        }
    ).encode()
    headers = _front(body)

    assert _verify("front", body, headers) == VerifiedEvent("evt_55c8c149", "inbound_received")
    stamp = int(headers["x-front-request-timestamp"]) // 1000
    assert (
        sign_request("front", body, SECRET, timestamp=stamp)["x-front-signature"]
        == (_front(body, ts=stamp * 1000)["x-front-signature"])
    )
