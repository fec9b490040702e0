"""No forged request makes a provider work much harder than hashing its body (issue 9, item 6).

Every built-in gets adversarial requests that no signature covers: 1 MiB forms of 150k fields
or of percent-escapes, JSON that is slow to parse (wide, deep, many empty containers), and each
signature header stretched to 64 KiB of repeated items. Headers are well formed (signed with
another secret), so each provider goes as far as it would for a real request. The CPU time of
one `verify` (`time.process_time`, the best of a few runs) must stay within a multiple of one
HMAC-SHA256 over 1 MiB, measured in the same test on the same machine.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import time
from collections.abc import Callable, Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from mailgun.security import SecurityGuard

from providers import (
    InvalidSignature,
    StaleTimestamp,
    VerificationError,
    VerifiedEvent,
    installed,
    load,
)
from providers._form import MAX_FORM_ESCAPES, MAX_FORM_FIELDS
from providers.base import WebhookRequest
from providers.builtin.mailgun import FULL_PARSE_LIMIT, sign_body
from providers.testing import build_provider, make_request
from tests.unit.providers.test_provider_declarations import BUILT_IN, Case, _case

MIB = 1 << 20
#: Generous: a valid request costs one to three such HMACs (two digests, two orders, a URL).
FACTOR = 20
#: Per-call overhead no body size explains (an Ed25519 or ECDSA check, a JWT).
SLACK = 0.002
HEADER_BYTES = 64 * 1024


def _cpu(work: Callable[[], object], runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.process_time()
        work()
        best = min(best, time.process_time() - start)
    return best


def _reference() -> float:
    data = os.urandom(MIB)
    return _cpu(lambda: hmac.digest(b"reference-key", data, "sha256"), runs=7)


def _fill(pattern: bytes, size: int = MIB) -> bytes:
    return (pattern * (size // len(pattern) + 1))[:size]


def _json_array(item: bytes) -> bytes:
    return b"[" + _fill(item + b",", MIB - 2 - len(item)) + item + b"]"


FORM_FIELDS = b"&".join(b"f%d=%d" % (i, i) for i in range(150_000))[:MIB]
BODIES: dict[str, bytes] = {
    "form-150k-fields": FORM_FIELDS,
    "form-one-field-of-escapes": b"a=" + _fill(b"%41", MIB - 2),
    "form-broken-escapes": _fill(b"%4%41&"),
    "json-empty-arrays": _json_array(b"[]"),
    "json-empty-objects": _json_array(b"{}"),
    "json-wide-object": (b"{" + b",".join(b'"%x":0' % i for i in range(110_000)) + b"}"),
    "json-deep": _fill(b"[", MIB // 2) + _fill(b"]", MIB // 2),
    "json-batch": json.dumps([{"id": str(i), "type": "t"} for i in range(40_000)]).encode(),
}


def _mailgun_bodies() -> dict[str, bytes]:
    block = {"timestamp": str(int(time.time())), "token": "t" * 50, "signature": "0" * 64}
    signature = json.dumps({"signature": block}).encode()[1:-1]
    slow = b'"event-data": ' + _json_array(b"[]")[: MIB - 256] + b"]"
    return {
        "mailgun-block-first": b"{" + signature + b", " + slow + b"}",
        "mailgun-block-last": b"{" + slow + b", " + signature + b"}",
        "mailgun-no-block": b"{" + slow + b"}",
    }


def _requests(case: Case) -> Iterator[tuple[str, WebhookRequest]]:
    # Well-formed headers for another secret: every check runs, none succeeds.
    other = _case(case.name)
    headers, _ = other.sign()
    bodies = {**BODIES, **_mailgun_bodies()}
    for label, body in bodies.items():
        yield label, make_request(body, headers)
    for name, value in headers.items():
        for separator in (",", ";", " "):
            stretched = ((value + separator) * (HEADER_BYTES // (len(value) + 1) + 1))[
                :HEADER_BYTES
            ]
            label = f"{name} x64KiB joined by {separator!r}"
            yield label, make_request(BODIES["form-150k-fields"], {**headers, name: stretched})
    if case.name == "twilio":
        settings = "x-twilio-webhooks-signature-settings"
        yield settings, make_request(FORM_FIELDS, {**headers, settings: "," * HEADER_BYTES})


def _standard_webhooks_v1a() -> Case:
    # The asymmetric side of Standard Webhooks: each v1a item costs an Ed25519 check.
    key = Ed25519PrivateKey.generate().public_key().public_bytes_raw()  # a point on the curve
    public = "whpk_" + base64.b64encode(key).decode()

    provider = build_provider(load("standard-webhooks"), [], options={"public_key": public})
    return Case("standard-webhooks", provider, "", {"public_key": public}, b'{"type": "x"}')


def _v1a_requests() -> Iterator[tuple[str, WebhookRequest]]:
    now = str(int(time.time()))
    # R, then an S below the group order (else the check stops before hashing the body).
    item = "v1a," + base64.b64encode(os.urandom(32) + os.urandom(31) + b"\x00").decode()
    many = " ".join([item] * (HEADER_BYTES // (len(item) + 1)))
    for label, signatures in (("3 v1a", " ".join([item] * 3)), ("64 KiB of v1a", many)):
        headers = {"webhook-id": "msg_1", "webhook-timestamp": now, "webhook-signature": signatures}
        yield label, make_request(_fill(b"x"), headers)


def _worst(case: Case, requests: Iterator[tuple[str, WebhookRequest]]) -> tuple[float, str]:
    worst, which = 0.0, ""
    for label, request in requests:

        def verify(request: WebhookRequest = request, label: str = label) -> None:
            try:
                outcome = case.provider.verify(request)
            except VerificationError:
                return
            raise AssertionError(f"{case.name}: {label} was accepted: {outcome!r}")

        cost = _cpu(verify)
        if cost > worst:
            worst, which = cost, label
    return worst, which


def test_every_built_in_is_covered() -> None:
    assert len(BUILT_IN) == len([p for p in installed() if p.target.startswith("providers.")])


@pytest.mark.parametrize("name", BUILT_IN)
def test_forged_requests_cost_at_most_a_few_body_hashes(name: str) -> None:
    case = _case(name)
    worst, which = _worst(case, _requests(case))
    limit = FACTOR * _reference() + SLACK

    assert worst <= limit, f"{name}: {which} took {worst * 1e3:.1f} ms (limit {limit * 1e3:.1f})"


def test_forged_v1a_signatures_cost_at_most_a_few_body_hashes() -> None:
    worst, which = _worst(_standard_webhooks_v1a(), _v1a_requests())
    limit = FACTOR * _reference() + SLACK

    assert worst <= limit, f"{which} took {worst * 1e3:.1f} ms (limit {limit * 1e3:.1f})"


@pytest.mark.parametrize(
    ("name", "header", "item"),
    [
        ("stripe", "stripe-signature", "v1=" + "0" * 64),
        ("mux", "mux-signature", "v1=" + "0" * 64),
        ("paddle", "paddle-signature", "h1=" + "0" * 64),
        ("standard-webhooks", "webhook-signature", "v1," + "A" * 44),
    ],
)
def test_a_signature_header_listing_more_items_than_any_sender_is_refused(
    name: str, header: str, item: str
) -> None:
    case = _case(name)
    headers, body = case.sign()
    separator = " " if name == "standard-webhooks" else (";" if name == "paddle" else ",")
    listed = separator.join([*headers[header].split(separator), *[item] * 40])

    outcome = case.verify({**headers, header: listed}, body)

    assert isinstance(outcome, VerificationError)
    assert "more signatures" in str(outcome)


# --- the limits keep real requests --------------------------------------------------------------


def _twilio(params: list[tuple[str, str]]) -> VerifiedEvent | VerificationError:
    from urllib.parse import urlencode

    from twilio.request_validator import RequestValidator

    url = "https://hooks.example.com/twilio"
    signature = RequestValidator("12345").compute_signature(url, dict(params))
    provider = build_provider(load("twilio"), ["12345"], options={"public_url": url})
    try:
        outcome = provider.verify(
            make_request(urlencode(params).encode(), {"x-twilio-signature": signature})
        )
    except VerificationError as err:
        return err
    assert isinstance(outcome, VerifiedEvent)
    return outcome


def test_twilio_form_within_the_limits_verifies_and_beyond_them_is_refused() -> None:
    fields = [(f"Field{i}", f"value {i}") for i in range(MAX_FORM_FIELDS)]
    escaped = [("Body", "é" * (MAX_FORM_ESCAPES // 6))]  # two UTF-8 bytes: %C3%A9

    assert isinstance(_twilio(fields), VerifiedEvent)
    assert isinstance(_twilio(escaped), VerifiedEvent)
    too_many = _twilio([*fields, ("OneMore", "x")])
    assert isinstance(too_many, InvalidSignature)
    assert "more fields" in str(too_many)
    too_escaped = _twilio([("Body", "é" * (MAX_FORM_ESCAPES // 2 + 1))])
    assert isinstance(too_escaped, InvalidSignature)
    assert "percent-escapes" in str(too_escaped)


def _mailgun(body: bytes, key: str = "mailgun-key") -> VerifiedEvent | VerificationError:
    provider = build_provider(load("mailgun"), [key])
    try:
        outcome = provider.verify(make_request(body, {}))
    except VerificationError as err:
        return err
    assert isinstance(outcome, VerifiedEvent)
    return outcome


def _mailgun_block(key: str = "mailgun-key", timestamp: int | None = None) -> dict[str, str]:
    signed = json.loads(sign_body({}, key, timestamp or int(time.time())))
    block: dict[str, str] = signed["signature"]
    assert SecurityGuard.verify_webhook(
        key, block["token"], block["timestamp"], block["signature"], max_age_seconds=10**10
    )
    return block


def test_mailgun_small_body_with_its_block_last_still_verifies() -> None:
    block = _mailgun_block()
    body = json.dumps({"event-data": {"id": "e1", "event": "opened"}, "signature": block})

    assert isinstance(_mailgun(body.encode()), VerifiedEvent)


def test_mailgun_large_body_verifies_unless_a_signature_key_precedes_its_block() -> None:
    block = _mailgun_block()
    padding = {"x" * 16: "y" * (FULL_PARSE_LIMIT * 2)}
    data = {"id": "e1", "event": "delivered", "user-variables": padding}
    first = json.dumps({"signature": block, "event-data": data}).encode()
    last = json.dumps({"event-data": data, "signature": block}).encode()
    decoy = {**data, "user-variables": {**padding, "signature": "mine"}}
    shadowed = json.dumps({"event-data": decoy, "signature": block}).encode()

    assert isinstance(_mailgun(first), VerifiedEvent)
    assert isinstance(_mailgun(last), VerifiedEvent)
    # Over FULL_PARSE_LIMIT only the first "signature" key is read before verifying.
    assert isinstance(_mailgun(shadowed), InvalidSignature)
    assert isinstance(_mailgun(shadowed[: FULL_PARSE_LIMIT // 2]), VerificationError)


def test_mailgun_a_copy_of_a_fresh_block_placed_first_cannot_vouch_for_a_stale_one() -> None:
    fresh = _mailgun_block()
    stale = _mailgun_block(timestamp=int(time.time()) - 86_400)
    body = json.dumps(
        {"event-data": {"id": "e2", "event": "x", "note": {"signature": fresh}}, "signature": stale}
    )

    assert isinstance(_mailgun(body.encode()), StaleTimestamp)
    forged = json.dumps(
        {"note": {"signature": fresh}, "event-data": {"id": "e3", "event": "x"}, "signature": {}}
    )
    assert isinstance(_mailgun(forged.encode()), InvalidSignature)
