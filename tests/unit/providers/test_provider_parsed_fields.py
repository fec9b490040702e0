"""Adyen: notifications (signatures over parsed fields) and platform webhooks (`HmacSignature`
over the raw body), each against its SDK both ways and its published vectors.

The `Adyen` SDK (PyPI `Adyen`, the `test` extra) signs and verifies one `NotificationRequestItem`
(`Adyen.util.generate_notification_sig`, `is_valid_hmac_notification`); its test suite
(`Adyen/adyen-python-api-library` `test/test_util.py`) publishes a key and an item with the
signature it must give, reproduced here.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
from typing import Any

import pytest
from Adyen.util import (
    generate_notification_sig,
    generate_payload_sig,
    is_valid_hmac_notification,
    is_valid_hmac_payload,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from providers import load
from providers.base import VerifiedEvent
from providers.builtin.parsed_fields import sign_body
from providers.errors import InvalidSignature, Malformed, MissingSignature, ProviderConfigError
from providers.signing import sign
from providers.testing import build_provider, make_request, sign_request

#: The SDK test suite's HMAC key, and the signed fields of its item (no originalReference).
VECTOR_KEY = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
VECTOR_ITEM: dict[str, Any] = {
    "pspReference": "7914073381342284",
    "merchantAccountCode": "TestMerchant",
    "merchantReference": "TestPayment-1407325143704",
    "amount": {"value": 1130, "currency": "EUR"},
    "eventCode": "AUTHORISATION",
    "success": "true",
}
VECTOR_SIGNATURE = "coqCmt/IZ4E3CzPvMY8zTjQVL5hYJUiBRg8UU+iCWo0="


def _notification(*items: dict[str, Any]) -> dict[str, Any]:
    return {"live": "false", "notificationItems": [{"NotificationRequestItem": i} for i in items]}


def _item(psp: str = "8815", code: str = "AUTHORISATION", **extra: Any) -> dict[str, Any]:
    return {
        "pspReference": psp,
        "merchantAccountCode": "Acme",
        "merchantReference": "order-" + psp,
        "amount": {"value": 4200, "currency": "EUR"},
        "eventCode": code,
        "success": "true",
        "additionalData": {},
        **extra,
    }


def _verify(body: bytes, keys: list[str]) -> Any:
    return build_provider(load("adyen"), keys).verify(make_request(body, {}))


def _signed_by_sdk(key: str, *items: dict[str, Any]) -> bytes:
    signed = []
    for item in items:
        item = copy.deepcopy(item)
        item.setdefault("additionalData", {})["hmacSignature"] = generate_notification_sig(
            item, key
        ).decode()
        signed.append(item)
    return json.dumps(_notification(*signed)).encode()


# --- published vector -----------------------------------------------------------------------


def test_adyen_sdk_suite_vector_is_reproduced_and_verifies() -> None:
    item = {**VECTOR_ITEM, "additionalData": {"hmacSignature": VECTOR_SIGNATURE}}
    body = json.dumps(_notification(item)).encode()

    event = _verify(body, [VECTOR_KEY])

    assert event == VerifiedEvent("7914073381342284:AUTHORISATION:true", "AUTHORISATION")
    assert (
        json.loads(sign_body(_notification(dict(VECTOR_ITEM)), VECTOR_KEY))["notificationItems"][0][
            "NotificationRequestItem"
        ]["additionalData"]["hmacSignature"]
        == VECTOR_SIGNATURE
    )
    with pytest.raises(InvalidSignature):
        _verify(body.replace(b"1130", b"1131"), [VECTOR_KEY])


#: The SDK suite's notifications sent by Adyen's test platform (`test/mocks/util/*.json`,
#: `test_webhooks_with_slashes`): merchantReference, pspReference and hmacSignature.
SLASHES_KEY = "74F490DD33F7327BAECC88B2947C011FC02D014A473AAA33A8EC93E4DC069174"
SLASHES = [
    ("\\\\slashes are fun", "T7FD4VM4D3RZNN82", "nIgT81gaB5oJpn2jPXupDq68iRo2wUlBsuYjtYfwKqo="),
    (":slashes are fun", "M8NB66SBZSGLNK82", "2EQYm7YJpKO4EtHSPu55SQTyWf8dkW5u2nD1tJFpViA="),
    ("//slashes are fun", "X3GWNS6KJ8NKGK82", "9Z0xdpG9Xi3zcmXv14t/BvMBut77O/Xq9D4CQXSDUi4="),
]


@pytest.mark.parametrize(("reference", "psp", "signature"), SLASHES)
def test_adyen_sdk_suite_notifications_from_adyen_verify(
    reference: str, psp: str, signature: str
) -> None:
    item = {
        "additionalData": {"hmacSignature": signature, "authCode": "076181"},
        "amount": {"currency": "EUR", "value": 1000},
        "eventCode": "AUTHORISATION",
        "merchantAccountCode": "AntoniStroinski",
        "merchantReference": reference,
        "pspReference": psp,
        "success": "true",
    }
    body = json.dumps(_notification(item), indent=2).encode()

    assert _verify(body, [SLASHES_KEY]) == VerifiedEvent(
        f"{psp}:AUTHORISATION:true", "AUTHORISATION"
    )
    assert is_valid_hmac_notification(item, SLASHES_KEY)
    with pytest.raises(InvalidSignature):
        _verify(body.replace(b"slashes", b"Slashes"), [SLASHES_KEY])


# --- the SDK both ways ----------------------------------------------------------------------


def test_adyen_sdk_accepts_every_item_we_sign() -> None:
    key = os.urandom(32).hex()
    body = sign(load("adyen"), json.dumps(_notification(_item("1"), _item("2"))).encode(), key)

    items = [w["NotificationRequestItem"] for w in json.loads(body.body)["notificationItems"]]

    assert all(is_valid_hmac_notification(item, key) for item in items)
    assert not any(is_valid_hmac_notification(item, os.urandom(32).hex()) for item in items)
    assert body.headers == {"content-type": "application/json"}


@pytest.mark.parametrize("upper", [False, True])
def test_adyen_sdk_signed_notification_verifies_with_either_case_of_hex_key(upper: bool) -> None:
    key = os.urandom(32).hex()
    body = _signed_by_sdk(key, _item("1", originalReference="0"), _item("2", "CAPTURE"))

    event = _verify(body, [os.urandom(32).hex(), key.upper() if upper else key])

    ids = "1:AUTHORISATION:true\n2:CAPTURE:true"
    assert event == VerifiedEvent("batch-" + hashlib.sha256(ids.encode()).hexdigest(), "batch")
    with pytest.raises(InvalidSignature):
        _verify(body, [os.urandom(32).hex()])


def test_adyen_batch_with_one_forged_item_is_refused() -> None:
    key = os.urandom(32).hex()
    good = json.loads(_signed_by_sdk(key, _item("1")))
    forged = json.loads(_signed_by_sdk(os.urandom(32).hex(), _item("2")))
    good["notificationItems"] += forged["notificationItems"]

    with pytest.raises(InvalidSignature):
        _verify(json.dumps(good).encode(), [key])


@settings(max_examples=40, deadline=None)
@given(
    psp=st.text(min_size=1, max_size=20),
    reference=st.one_of(st.none(), st.text(max_size=20)),
    value=st.integers(min_value=0, max_value=10**12),
    success=st.sampled_from(["true", "false"]),
)
def test_adyen_sdk_signature_over_any_field_values_verifies(
    psp: str, reference: str | None, value: int, success: str
) -> None:
    key = "0f" * 32
    item = _item(psp, success=success, amount={"value": value, "currency": "USD"})
    if reference is not None:
        item["merchantReference"] = reference

    event = _verify(_signed_by_sdk(key, item), [key])

    assert event == VerifiedEvent(f"{psp}:AUTHORISATION:{success}", "AUTHORISATION")


# --- refusals and configuration -------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"", MissingSignature),
        (b'{"notificationItems": []}', MissingSignature),
        (b'{"hmacSignature": 1}', MissingSignature),
        (b'{"x": "hmacSignature"} trailing', InvalidSignature),
        (b'{"notificationItems": [{"NotificationRequestItem": {"hmacSignature": "x"}}]}', None),
        (b'["hmacSignature"', InvalidSignature),
    ],
)
def test_adyen_unsigned_or_unparsable_bodies_are_refused(body: bytes, error: Any) -> None:
    with pytest.raises(error or (MissingSignature, InvalidSignature)):
        _verify(body, ["00ff"])


def test_adyen_item_without_a_pspreference_verifies_but_is_malformed() -> None:
    key = os.urandom(16).hex()
    item = _item()
    del item["pspReference"]

    with pytest.raises(Malformed):
        _verify(_signed_by_sdk(key, item), [key])


def test_adyen_body_larger_than_any_notification_is_refused_unparsed() -> None:
    key = os.urandom(16).hex()
    body = _signed_by_sdk(key, _item(reason="x" * 70_000))

    with pytest.raises(InvalidSignature, match="larger"):
        _verify(body, [key])


@pytest.mark.parametrize("secret", ["not-hex", "abc", "caf\u00e9"])
def test_adyen_secret_that_is_not_a_hex_key_is_a_config_error(secret: str) -> None:
    with pytest.raises(ProviderConfigError, match=r"secrets\[0\].*hex"):
        build_provider(load("adyen"), [secret])


def test_adyen_signer_wraps_a_bare_item_as_adyen_sends_it() -> None:
    key = os.urandom(16).hex()
    signed = sign(load("adyen"), json.dumps(_item("9")).encode(), key)

    assert _verify(signed.body, [key]) == VerifiedEvent("9:AUTHORISATION:true", "AUTHORISATION")
    assert base64.b64decode(
        json.loads(signed.body)["notificationItems"][0]["NotificationRequestItem"][
            "additionalData"
        ]["hmacSignature"]
    )


# --- platform webhooks (adyenplatform): HmacSignature over the raw body --------------------

#: The SDK suite's `test_is_valid_hmac_payload` body (after its `textwrap.dedent`).
PAYLOAD = (
    b'{\n    "type": "merchant.created",\n    "environment": "test",\n'
    b'    "createdAt": "01-01-2024",\n    "data": {\n        "capabilities": {\n'
    b'            "sendToTransferInstrument": {\n                "requested": true,\n'
    b'                "requestedLevel": "notApplicable"\n            }\n        },\n'
    b'        "companyId": "YOUR_COMPANY_ID",\n        "merchantId": "YOUR_MERCHANT_ACCOUNT",\n'
    b'        "status": "PreActive"\n    }\n}'
)
PAYLOAD_SIGNATURE = "NiqA5vsdV5etZMOaR27+GBSG4i6JeP6j1wkCM6t53vA="


def _platform(body: bytes, headers: dict[str, str], keys: list[str]) -> Any:
    return build_provider(load("adyenplatform"), keys).verify(make_request(body, headers))


def test_adyen_platform_sdk_suite_vector_is_reproduced_and_verifies() -> None:
    event = _platform(PAYLOAD, {"HmacSignature": PAYLOAD_SIGNATURE}, [VECTOR_KEY])

    assert len(PAYLOAD) == 408
    assert event == VerifiedEvent(hashlib.sha256(PAYLOAD).hexdigest(), "merchant.created")
    assert sign_request("adyenplatform", PAYLOAD, VECTOR_KEY)["hmacsignature"] == PAYLOAD_SIGNATURE
    with pytest.raises(InvalidSignature):
        _platform(PAYLOAD + b" ", {"HmacSignature": PAYLOAD_SIGNATURE}, [VECTOR_KEY])


def test_adyen_platform_sdk_accepts_ours_and_its_signature_verifies() -> None:
    key = os.urandom(32).hex()
    body = b'{"type": "balancePlatform.accountHolder.created", "data": {"id": "AH1"}}'
    ours = sign_request("adyenplatform", body, key)["hmacsignature"]
    theirs = generate_payload_sig(body, key).decode()

    assert is_valid_hmac_payload(ours, key, body)
    assert not is_valid_hmac_payload(ours, os.urandom(32).hex(), body)
    event = _platform(body, {"HmacSignature": theirs}, [key.upper()])
    assert event.type == "balancePlatform.accountHolder.created"
