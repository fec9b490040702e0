"""Bad input gets a documented 4xx, never a 500, and nothing is published."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import aiormq
import pytest

from tests.integration.broker import bind_queue, drain
from tests.integration.cases import CASES, Case
from tests.integration.conftest import Gateway, make_config, running_gateway

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

MAX_BODY = 4096
GARBAGE = ["", "garbage", "=,,=", "t=,v1=", "t=abc,v1=zz", "v1,", "sha256=", "x" * 10_000, "é\xff"]


@pytest.fixture
async def gateway(exchange: str) -> AsyncIterator[Gateway]:
    sources = {case.source: case.source_table() for case in CASES.values()}
    config = make_config(exchange, sources, max_body_bytes=MAX_BODY, max_header_bytes=16_384)
    async with running_gateway(config) as gw:
        yield gw


@pytest.fixture
async def queue(gateway: Gateway, exchange: str, amqp: aiormq.abc.AbstractChannel) -> str:
    return await bind_queue(amqp, exchange)


async def _assert_nothing_published(gw: Gateway, amqp: aiormq.abc.AbstractChannel, queue: str):
    assert await drain(amqp, queue) == []
    for case in CASES.values():
        assert gw.count(case.source, "error") == 0
        assert gw.count(case.source, "accepted") == 0


#: Providers whose signature covers decoded form fields, not the raw body.
FORM_SIGNED = {"mandrill", "plivo", "twilio"}


def _utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _signed(case: Case) -> tuple[bytes, dict[str, str]]:
    event_id = str(uuid.uuid4())
    body = case.body(event_id)
    return body, case.sign(body, case.secrets[0], event_id, int(time.time()))


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
@pytest.mark.parametrize("value", GARBAGE, ids=range(len(GARBAGE)))
async def test_garbage_signature_header_is_refused_with_401(
    case: Case, value: str, gateway: Gateway, queue: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    body, headers = _signed(case)
    headers[case.signature_header] = value
    encoded = {k: v.encode("utf-8") for k, v in headers.items()}  # raw non-ASCII bytes too
    response = await gateway.client.post(f"/webhooks/{case.source}", content=body, headers=encoded)
    assert response.status_code == 401
    assert response.json()["status"] in {"missing_signature", "invalid_signature"}
    await _assert_nothing_published(gateway, amqp, queue)


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
@pytest.mark.parametrize("body", [b"", b"\xff\xfe\x00garbage\x80", b"[]", b"null"], ids=range(4))
async def test_odd_bodies_unsigned_are_401_and_validly_signed_are_400(
    case: Case, body: bytes, gateway: Gateway, queue: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    _, headers = _signed(case)  # a signature for another body
    response = await gateway.client.post(f"/webhooks/{case.source}", content=body, headers=headers)
    assert response.status_code == 401

    # Signed over these very bytes: verified, but no event ID or type in them. A provider that
    # signs form fields cannot verify a body that is not a form (not UTF-8): still 401.
    signed = case.sign(body, case.secrets[0], str(uuid.uuid4()), int(time.time()))
    response = await gateway.client.post(f"/webhooks/{case.source}", content=body, headers=signed)
    if case.provider in FORM_SIGNED and not _utf8(body):
        assert response.status_code == 401, response.text
        assert response.json()["status"] == "invalid_signature"
    else:
        assert response.status_code == 400, response.text
        assert response.json()["status"] == "malformed"
    await _assert_nothing_published(gateway, amqp, queue)


@pytest.mark.parametrize(
    "case", [CASES["stripe"], CASES["standard-webhooks"]], ids=["stripe", "standard-webhooks"]
)
async def test_signed_body_without_an_event_type_is_malformed(
    case: Case, gateway: Gateway, queue: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    body = b'{"id": "evt_1", "data": {}}'
    headers = case.sign(body, case.secrets[0], str(uuid.uuid4()), int(time.time()))
    response = await gateway.client.post(f"/webhooks/{case.source}", content=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["status"] == "malformed"
    await _assert_nothing_published(gateway, amqp, queue)


async def test_unknown_source_is_404(
    gateway: Gateway, queue: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    body, headers = _signed(CASES["stripe"])
    response = await gateway.client.post("/webhooks/nope", content=body, headers=headers)
    assert response.status_code == 404
    assert response.json()["status"] == "unknown_source"
    assert gateway.count("_unknown", "unknown_source") == 1
    await _assert_nothing_published(gateway, amqp, queue)


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "OPTIONS"])
async def test_wrong_method_is_405_with_allow(
    method: str, gateway: Gateway, queue: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    body, headers = _signed(CASES["stripe"])
    response = await gateway.client.request(
        method, "/webhooks/stripe", content=body, headers=headers
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["status"] == "method_not_allowed"
    await _assert_nothing_published(gateway, amqp, queue)


async def test_declared_content_length_over_limit_is_413(
    gateway: Gateway, queue: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    body = b"{" + b" " * MAX_BODY + b"}"
    _, headers = _signed(CASES["stripe"])
    response = await gateway.client.post("/webhooks/stripe", content=body, headers=headers)
    assert response.status_code == 413
    assert response.json()["status"] == "too_large"
    await _assert_nothing_published(gateway, amqp, queue)


async def test_chunked_body_over_limit_is_413_while_streaming(
    gateway: Gateway, queue: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    sent = []

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):  # 100 KiB offered; the gateway must stop well before the end
            sent.append(1)
            yield b"x" * 1024

    _, headers = _signed(CASES["stripe"])
    response = await gateway.client.post("/webhooks/stripe", content=chunks(), headers=headers)
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["status"] == "too_large"
    await _assert_nothing_published(gateway, amqp, queue)


async def test_huge_headers_are_431(
    gateway: Gateway, queue: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    body, headers = _signed(CASES["stripe"])
    headers.update({f"x-pad-{i}": "p" * 1000 for i in range(40)})
    response = await gateway.client.post("/webhooks/stripe", content=body, headers=headers)
    assert response.status_code == 431
    assert response.json()["status"] == "headers_too_large"
    await _assert_nothing_published(gateway, amqp, queue)


async def test_too_many_small_headers_are_431(
    gateway: Gateway, queue: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    body, headers = _signed(CASES["stripe"])
    headers.update({f"x-{i}": "1" for i in range(120)})  # far under max_header_bytes
    response = await gateway.client.post("/webhooks/stripe", content=body, headers=headers)
    assert response.status_code == 431
    assert response.json()["status"] == "headers_too_large"
    await _assert_nothing_published(gateway, amqp, queue)


async def test_overlong_event_id_is_malformed_not_a_crash(
    gateway: Gateway, queue: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    case = CASES["stripe"]
    body = case.body("evt_" + "x" * 300)
    headers = case.sign(body, case.secrets[0], "", int(time.time()))
    response = await gateway.client.post("/webhooks/stripe", content=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["status"] == "malformed"
    await _assert_nothing_published(gateway, amqp, queue)


@pytest.mark.parametrize("path", ["/webhooks/stripe/extra", "/webhooks/", "/webhooks/STRIPE"])
async def test_paths_under_the_prefix_that_name_no_source_are_404_json(
    path: str, gateway: Gateway, queue: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    body, headers = _signed(CASES["stripe"])
    response = await gateway.client.post(path, content=body, headers=headers)
    assert response.status_code == 404
    assert response.json()["status"] == "unknown_source"
    await _assert_nothing_published(gateway, amqp, queue)


async def test_other_paths_answer_json_404(gateway: Gateway) -> None:
    response = await gateway.client.get("/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"status": "not_found"}
    response = await gateway.client.post("/healthz")
    assert response.status_code == 405
    assert response.json() == {"status": "method_not_allowed"}


async def test_body_that_stalls_past_the_read_timeout_is_408(
    exchange: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    config = make_config(
        exchange, {"stripe": CASES["stripe"].source_table()}, body_read_timeout_seconds=0.4
    )
    async with running_gateway(config) as gw:
        queue = await bind_queue(amqp, exchange)
        body, headers = _signed(CASES["stripe"])

        async def slowloris() -> AsyncIterator[bytes]:
            yield body[:10]
            await asyncio.sleep(5)  # never finishes in time
            yield body[10:]

        started = time.monotonic()
        response = await gw.client.post("/webhooks/stripe", content=slowloris(), headers=headers)
        assert response.status_code == 408
        assert response.json()["status"] == "read_timeout"
        assert time.monotonic() - started < 3
        # A prompt request on the same gateway is unaffected.
        body, headers = _signed(CASES["stripe"])
        response = await gw.client.post("/webhooks/stripe", content=body, headers=headers)
        assert response.json()["status"] == "accepted"
        assert len(await drain(amqp, queue)) == 1
