"""admin.bulk: a bulk replay request is read and checked before the archive is touched; a bad
one is a 400 naming the key (through the app, whose broker is down: nothing reaches it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest

from admin.answers import ApiError
from admin.app import create_admin_app
from admin.bulk import DEFAULT_LIMIT, MAX_LIMIT, parse_bulk
from admin.ledger_memory import MemoryLedger
from hookgate.envelope import Envelope
from hookgate.topology import archive_arguments

TOKEN = "s3cret-admin-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DOWN_BROKER = "amqp://guest:broker-pw@127.0.0.1:1/"
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC).timestamp()
SINCE = "2026-12-01T00:00:00Z"


def _parse(**data: Any) -> Any:
    return parse_bulk(orjson.dumps(data), NOW)


def _event(source: str, event_type: str, at: str) -> Envelope:
    return Envelope("e", source, event_type, "p", datetime.fromisoformat(at))


def test_a_request_with_defaults() -> None:
    bulk = _parse(service="billing", since=SINCE)
    assert (bulk.service, bulk.source, bulk.type, bulk.limit) == (
        "billing",
        None,
        None,
        DEFAULT_LIMIT,
    )
    assert (bulk.since, bulk.until) == (datetime.fromisoformat(SINCE).timestamp(), NOW)


def test_source_type_pattern_and_range_choose_the_events() -> None:
    bulk = _parse(
        service="billing",
        source="stripe",
        type="invoice.*",
        since=SINCE,
        until="2026-12-01T12:00:00+00:00",
        limit=5,
    )
    assert bulk.matches(_event("stripe", "invoice.paid", "2026-12-01T06:00:00Z"))
    assert bulk.matches(_event("stripe", "invoice.paid", "2026-12-01T12:00:00Z"))  # included
    assert not bulk.matches(_event("stripe", "invoice.paid.late", "2026-12-01T06:00:00Z"))
    assert not bulk.matches(_event("github", "invoice.paid", "2026-12-01T06:00:00Z"))
    assert not bulk.matches(_event("stripe", "invoice.paid", "2026-11-30T23:59:59Z"))
    assert not bulk.matches(_event("stripe", "invoice.paid", "2026-12-01T12:00:01Z"))
    # The type is matched as it is routed: `orders/create` travels as `orders_create`.
    exact = _parse(service="shop", since=SINCE, type="orders_create")
    assert exact.matches(_event("shopify", "orders/create", "2026-12-01T06:00:00Z"))
    everything = _parse(service="shop", since=SINCE, type="#")
    assert everything.matches(_event("shopify", "a.b.c", "2026-12-01T06:00:00Z"))


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"", "body: expected a JSON object"),
        (b"[1]", "body: expected a JSON object"),
        (b"{", "body: expected a JSON object"),
        (b'{"since": "2026-12-01T00:00:00Z"}', "service: required"),
        (b'{"service": "b"}', "since: required"),
        (b'{"service": 3, "since": "2026-12-01T00:00:00Z"}', "service: expected a name"),
        (b'{"service": "b", "since": "yesterday"}', "since: expected an RFC 3339 time"),
        (b'{"service": "b", "since": "2026-12-01T00:00:00"}', "since: needs an offset"),
        (b'{"service": "b", "since": 1700000000}', "since: expected an RFC 3339 time"),
        (
            b'{"service": "b", "since": "2026-12-01T00:00:00Z", "until": "2026-11-01T00:00:00Z"}',
            "until: earlier than since",
        ),
        (b'{"service": "b", "since": "2026-12-01T00:00:00Z", "limit": 0}', "limit: expected"),
        (
            b'{"service": "b", "since": "2026-12-01T00:00:00Z", "limit": 100001}',
            f"limit: expected an integer from 1 to {MAX_LIMIT}",
        ),
        (b'{"service": "b", "since": "2026-12-01T00:00:00Z", "limit": true}', "limit: expected"),
        (b'{"service": "b", "since": "2026-12-01T00:00:00Z", "type": "a b"}', "type: expected"),
        (b'{"service": "b", "since": "2026-12-01T00:00:00Z", "type": "a..b"}', "type: expected"),
        (b'{"service": "b", "since": "2026-12-01T00:00:00Z", "sevrice": "x"}', "sevrice: unknown"),
        (b'{"service": "b", "since": "2026-12-01T00:00:00Z", "source": ""}', "source: expected"),
    ],
)
def test_bad_requests_name_the_key(body: bytes, detail: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_bulk(body, NOW)
    assert (caught.value.detail or "").startswith(detail)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "status", "refusal"),
    [
        (b'{"service": "billing"}', 400, "bad_request"),
        (b'{"service": "billing", "since": "2026-12-01"}', 400, "bad_request"),
        (
            b'{"service": "billing", "since": "2026-12-01T00:00:00Z", "limit": 1000000}',
            400,
            "bad_request",
        ),
        (b'{"service": "nobody", "since": "2026-12-01T00:00:00Z"}', 404, "not_found"),
        (b"x" * 5000, 400, "bad_request"),
    ],
)
async def test_the_route_refuses_before_reading_the_archive(
    body: bytes, status: int, refusal: str
) -> None:
    app = create_admin_app(
        MemoryLedger(), token=TOKEN, broker_url=DOWN_BROKER, exchange="hooks", archive=True
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://admin") as client:
        answer = await client.post("/api/replay", headers=AUTH, content=body)
    assert answer.status_code == status, answer.text
    assert answer.json()["status"] == refusal


@pytest.mark.anyio
async def test_without_an_archive_bulk_replay_is_not_found() -> None:
    app = create_admin_app(MemoryLedger(), token=TOKEN, broker_url=DOWN_BROKER, exchange="hooks")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://admin") as client:
        answer = await client.post(
            "/api/replay", headers=AUTH, json={"service": "b", "since": SINCE}
        )
    assert answer.status_code == 404
    assert "turn on [ledger] archive" in answer.json()["detail"]


def test_the_archive_keeps_retention_days_in_small_segments() -> None:
    assert archive_arguments(14, 10_000_000_000) == {
        "x-queue-type": "stream",
        "x-max-age": "1209600s",
        "x-max-length-bytes": 10_000_000_000,
        "x-stream-max-segment-size-bytes": 64 * 2**20,
    }
    small = archive_arguments(0.5, 64 * 2**20)
    assert (small["x-max-age"], small["x-stream-max-segment-size-bytes"]) == (
        "43200s",
        64 * 2**20 // 20,
    )
