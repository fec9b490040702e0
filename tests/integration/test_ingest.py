"""Signed requests through the real app to a real RabbitMQ, for each built-in provider."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime

import aiormq
import orjson
import pytest

from tests.integration.broker import bind_queue, drain
from tests.integration.cases import CASES, Case
from tests.integration.conftest import make_config, running_gateway

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

PROVIDERS = pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))


def _event_id(case: Case) -> str:
    return f"evt_{uuid.uuid4().hex}" if case.provider == "stripe" else str(uuid.uuid4())


def _signed(case: Case, *, secret: str | None = None, timestamp: int | None = None):
    event_id = _event_id(case)
    body = case.body(event_id)
    headers = case.sign(body, secret or case.secrets[0], event_id, timestamp or int(time.time()))
    return event_id, body, headers


@PROVIDERS
async def test_accepted_event_is_published_once_byte_for_byte(
    case: Case, exchange: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    config = make_config(exchange, {case.source: case.source_table()})
    async with running_gateway(config) as gw:
        queue = await bind_queue(amqp, exchange)
        event_id, body, headers = _signed(case)
        headers["authorization"] = "Bearer must-not-travel"
        headers["cookie"] = "session=must-not-travel"
        before = time.time()

        response = await gw.client.post(f"/webhooks/{case.source}", content=body, headers=headers)

        assert response.status_code == 200, response.text
        assert response.json() == {
            "status": "accepted",
            "event_id": event_id,
            "source": case.source,
        }
        [message] = await drain(amqp, queue)
        assert message.body == body
        assert message.routing_key == f"{case.source}.{case.event_type}"
        props = message.header.properties
        assert props.delivery_mode == 2
        assert props.message_id == event_id
        assert props.app_id == "hookgate"
        assert props.content_type == headers["content-type"]
        assert isinstance(props.timestamp, datetime)
        assert abs(props.timestamp.timestamp() - before) < 5
        amqp_headers = props.headers
        assert amqp_headers["hookgate-source"] == case.source
        assert amqp_headers["hookgate-provider"] == case.provider
        assert amqp_headers["hookgate-event-id"] == event_id
        assert amqp_headers["hookgate-event-type"] == case.event_type
        received = amqp_headers["hookgate-received-at"]
        assert received.endswith("Z")
        assert len(received) == len("2026-01-01T00:00:00.000Z")
        http_headers = amqp_headers["hookgate-http-headers"]
        assert http_headers[case.signature_header] == headers[case.signature_header]
        assert "authorization" not in http_headers
        assert "cookie" not in http_headers
        assert gw.count(case.source, "accepted") == 1


@PROVIDERS
async def test_redelivery_is_answered_duplicate_and_not_published_again(
    case: Case, exchange: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    config = make_config(exchange, {case.source: case.source_table()})
    async with running_gateway(config) as gw:
        queue = await bind_queue(amqp, exchange)
        _, body, headers = _signed(case)
        first = await gw.client.post(f"/webhooks/{case.source}", content=body, headers=headers)
        again = await gw.client.post(f"/webhooks/{case.source}", content=body, headers=headers)

        assert first.json()["status"] == "accepted"
        assert again.status_code == 200
        assert again.json() == {"status": "duplicate"}
        assert len(await drain(amqp, queue)) == 1


@PROVIDERS
async def test_rotated_secret_second_in_list_is_accepted(
    case: Case, exchange: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    config = make_config(exchange, {case.source: case.source_table()})
    async with running_gateway(config) as gw:
        queue = await bind_queue(amqp, exchange)
        _, body, headers = _signed(case, secret=case.secrets[1])
        response = await gw.client.post(f"/webhooks/{case.source}", content=body, headers=headers)
        assert response.json()["status"] == "accepted"
        assert len(await drain(amqp, queue)) == 1


def _tampered(case: Case):
    _, body, headers = _signed(case)
    return body.replace(b"e", b"E", 1), headers


def _wrong_secret(case: Case):
    _, body, headers = _signed(case, secret="whsec_" + "A" * 32)
    return body, headers


def _old_timestamp(case: Case):
    _, body, headers = _signed(case, timestamp=int(time.time()) - 3600)
    return body, headers


def _future_timestamp(case: Case):
    _, body, headers = _signed(case, timestamp=int(time.time()) + 3600)
    return body, headers


def _missing_signature(case: Case):
    _, body, headers = _signed(case)
    del headers[case.signature_header]
    return body, headers


REFUSALS = [
    (make, status, case)
    for case in CASES.values()
    for make, status in [
        (_tampered, "invalid_signature"),
        (_wrong_secret, "invalid_signature"),
        (_missing_signature, "missing_signature"),
        *(
            [(_old_timestamp, "stale_timestamp"), (_future_timestamp, "stale_timestamp")]
            if case.has_timestamp
            else []
        ),
    ]
]


@pytest.mark.parametrize(
    ("make", "status", "case"),
    REFUSALS,
    ids=[f"{c.provider}-{m.__name__.strip('_')}" for m, _, c in REFUSALS],
)
async def test_unverified_request_is_refused_with_401_and_never_published(
    make, status: str, case: Case, exchange: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    config = make_config(exchange, {case.source: case.source_table()})
    async with running_gateway(config) as gw:
        queue = await bind_queue(amqp, exchange)
        body, headers = make(case)
        response = await gw.client.post(f"/webhooks/{case.source}", content=body, headers=headers)

        assert response.status_code == 401
        assert response.json()["status"] == status
        for secret in case.secrets:
            assert secret not in response.text
        assert await drain(amqp, queue) == []
        assert gw.count(case.source, status) == 1


async def test_event_without_a_matching_binding_lands_in_the_unrouted_queue(
    exchange: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    case = CASES["stripe"]
    config = make_config(exchange, {case.source: case.source_table()})
    async with running_gateway(config) as gw:
        await bind_queue(amqp, exchange, pattern="github.#")  # matches nothing we send
        event_id, body, headers = _signed(case)
        response = await gw.client.post("/webhooks/stripe", content=body, headers=headers)

        assert response.json()["status"] == "accepted"
        [message] = await drain(amqp, f"{exchange}.unrouted")
        assert message.body == body
        assert message.header.properties.message_id == event_id


async def test_github_published_vector_is_accepted(
    exchange: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    # octokit/webhooks-methods.js test vector: secret "mysecret", body {"foo":"bar"}.
    signature = "sha256=4864d2759938a15468b5df9ade20bf161da9b4f737ea61794142f3484236bda3"
    config = make_config(exchange, {"github": {"provider": "github", "secrets": ["mysecret"]}})
    async with running_gateway(config) as gw:
        queue = await bind_queue(amqp, exchange)
        response = await gw.client.post(
            "/webhooks/github",
            content=b'{"foo":"bar"}',
            headers={
                "x-hub-signature-256": signature,
                "x-github-event": "push",
                "x-github-delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
            },
        )
        assert response.json()["status"] == "accepted"
        [message] = await drain(amqp, queue)
        assert message.routing_key == "github.push"
        assert message.body == b'{"foo":"bar"}'


async def test_github_docs_vector_verifies_but_non_json_body_is_malformed(
    exchange: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    # GitHub docs vector: the signature is right (not 401), the body is not an event (400).
    signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    secrets = ["It's a Secret to Everybody"]
    config = make_config(exchange, {"github": {"provider": "github", "secrets": secrets}})
    async with running_gateway(config) as gw:
        queue = await bind_queue(amqp, exchange)
        response = await gw.client.post(
            "/webhooks/github",
            content=b"Hello, World!",
            headers={"x-hub-signature-256": signature, "x-github-event": "push"},
        )
        assert response.status_code == 400
        assert response.json()["status"] == "malformed"
        assert await drain(amqp, queue) == []


async def test_accepted_answer_and_log_line_never_contain_the_secret(
    exchange: str, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hookgate")  # the request line is INFO
    case = CASES["stripe"]
    config = make_config(exchange, {case.source: case.source_table()})
    async with running_gateway(config) as gw:
        event_id, body, headers = _signed(case)
        response = await gw.client.post("/webhooks/stripe", content=body, headers=headers)
    [line] = [line for line in capsys.readouterr().err.splitlines() if event_id in line]
    entry = orjson.loads(line)
    assert entry["outcome"] == "accepted"
    assert entry["source"] == "stripe"
    assert entry["status"] == 200
    other_logs = orjson.dumps([r.__dict__ for r in caplog.records], default=str).decode()
    assert response.json()["status"] == "accepted"
    for secret in case.secrets:
        assert secret not in line
        assert secret not in other_logs
        assert secret not in response.text
    assert "amount_paid" in body.decode()
    assert "amount_paid" not in line  # no JSON escaping can hide this token
