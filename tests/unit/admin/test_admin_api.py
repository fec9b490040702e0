"""The admin API over a memory ledger, through httpx's ASGI transport (no broker: its URL
points at a closed port, so broker-backed routes show how they answer when it is down)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from urllib.parse import quote

import httpx
import pytest

from admin.app import create_admin_app
from admin.ledger import (
    Activity,
    Count,
    EventDetail,
    EventQuery,
    EventSummary,
    LedgerUnavailable,
)
from admin.ledger_memory import MemoryLedger
from hookgate.envelope import rfc3339_ms
from hookgate.status import ServiceAnnouncement, Status, StatusChange

pytestmark = pytest.mark.anyio

TOKEN = "s3cret-admin-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DOWN_BROKER = "amqp://guest:broker-pw@127.0.0.1:1/"
ODD_IDS = ["a/b", "100%", "with space", "ünï/🙂", "x/replay", "?#&=", "..%2F"]
ROUTES = [
    ("GET", "/api/events"),
    ("GET", "/api/events/stripe/evt_1"),
    ("POST", "/api/events/stripe/evt_1/replay"),
    ("GET", "/api/services"),
    ("GET", "/api/sources"),
    ("GET", "/api/nowhere"),
]


def accepted(
    source: str, event_id: str, at: float, event_type: str = "invoice.paid"
) -> StatusChange:
    return StatusChange(
        source, event_id, Status.ACCEPTED, at, event_type=event_type, received_at=at
    )


async def filled() -> MemoryLedger:
    ledger = MemoryLedger()
    await ledger.record(
        [
            accepted("stripe", "evt_1", 1_700_000_001.0),
            StatusChange("stripe", "evt_1", Status.QUEUED, 1_700_000_001.0, service="billing"),
            StatusChange(
                "stripe",
                "evt_1",
                Status.FAILED,
                1_700_000_002.5,
                service="billing",
                attempt=3,
                detail="KeyError: 'amount'",
            ),
            accepted("stripe", "evt_2", 1_700_000_003.0, "charge.refunded"),
            accepted("github", "gh_1", 1_700_000_004.0, "push"),
            StatusChange("github", "gh_1", Status.DUPLICATE, 1_700_000_005.0),
            StatusChange(
                "github", "gh_1", Status.COMPLETED, 1_700_000_006.0, service="ci", attempt=1
            ),
        ]
    )
    await ledger.announce(ServiceAnnouncement("billing", ("stripe.#",), 1.0, (5.0, 60.0), 5))
    return ledger


def client_for(ledger: object, **kw: object) -> httpx.AsyncClient:
    app = create_admin_app(
        ledger,  # type: ignore[arg-type]
        token=TOKEN,
        broker_url=DOWN_BROKER,
        exchange="webhooks",
        broker_timeout=2.0,
        **kw,  # type: ignore[arg-type]
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://admin")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(await filled()) as c:
        yield c


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer", TOKEN, ""],
)
async def test_every_route_refuses_a_missing_or_wrong_token(
    client: httpx.AsyncClient, method: str, path: str, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await client.request(method, path, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"status": "unauthorized"}
    assert response.headers["www-authenticate"] == "Bearer"
    assert TOKEN not in response.text


async def test_two_authorization_headers_are_refused(client: httpx.AsyncClient) -> None:
    headers = [("Authorization", f"Bearer {TOKEN}"), ("Authorization", f"Bearer {TOKEN}")]
    response = await client.get("/api/events", headers=headers)
    assert response.status_code == 401


async def test_the_scheme_is_case_insensitive(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/events", headers={"Authorization": f"bearer {TOKEN}"})
    assert response.status_code == 200


async def test_a_websocket_without_the_token_is_closed() -> None:
    app = create_admin_app(MemoryLedger(), token=TOKEN, broker_url=DOWN_BROKER, exchange="w")
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {"type": "websocket", "path": "/api/events", "headers": [], "query_string": b""}
    await app(scope, receive, send)
    assert sent == [{"type": "websocket.close", "code": 1008}]


async def test_no_announced_service_means_no_broker_call() -> None:
    async with client_for(MemoryLedger()) as client:
        response = await client.get("/api/services", headers=AUTH)
    assert response.json() == {"services": []}


def test_the_token_is_in_no_repr() -> None:
    app = create_admin_app(MemoryLedger(), token=TOKEN, broker_url=DOWN_BROKER, exchange="w")
    assert TOKEN not in repr(app)
    assert TOKEN not in repr(vars(app))
    assert "broker-pw" not in repr(vars(app))


async def test_events_newest_first_with_times_in_rfc3339(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/events", headers=AUTH)
    assert response.status_code == 200
    body = response.json()
    assert [e["event_id"] for e in body["events"]] == ["gh_1", "evt_2", "evt_1"]
    assert body["events"][2] == {
        "source": "stripe",
        "event_id": "evt_1",
        "type": "invoice.paid",
        "received_at": "2023-11-14T22:13:21.000Z",
        "status": "failed",
    }
    assert body["next"] is None


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        ("source=stripe", ["evt_2", "evt_1"]),
        ("status=failed", ["evt_1"]),
        ("type=push", ["gh_1"]),
        ("service=billing", ["evt_1"]),
        ("since=1700000003", ["gh_1", "evt_2"]),
        ("since=2023-11-14T22:13:23Z", ["gh_1", "evt_2"]),
        ("since=2023-11-14T23:13:23%2B01:00", ["gh_1", "evt_2"]),
        ("source=stripe&status=accepted", ["evt_2"]),
        ("source=&status=", ["gh_1", "evt_2", "evt_1"]),
    ],
)
async def test_filters(client: httpx.AsyncClient, query: str, ids: list[str]) -> None:
    response = await client.get(f"/api/events?{query}", headers=AUTH)
    assert response.status_code == 200, response.text
    assert [e["event_id"] for e in response.json()["events"]] == ids


async def test_pages_follow_the_cursor_to_the_end(client: httpx.AsyncClient) -> None:
    seen, cursor = [], ""
    for _ in range(5):
        response = await client.get(f"/api/events?limit=2&cursor={cursor}", headers=AUTH)
        body = response.json()
        seen += [e["event_id"] for e in body["events"]]
        if body["next"] is None:
            break
        cursor = quote(body["next"])
    assert seen == ["gh_1", "evt_2", "evt_1"]


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("status=done", "status:"),
        ("limit=0", "limit:"),
        ("limit=501", "limit:"),
        ("limit=ten", "limit:"),
        ("since=yesterday", "since:"),
        ("since=2023-11-14T22:13:23", "since:"),
        ("since=nan", "since:"),
        ("since=-5", "since:"),
        ("since=1e300", "since:"),
        ("cursor=not-a-cursor", "cursor:"),
        ("colour=red", "colour:"),
    ],
)
async def test_bad_values_answer_400_naming_the_parameter(
    client: httpx.AsyncClient, query: str, names: str
) -> None:
    response = await client.get(f"/api/events?{query}", headers=AUTH)
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "bad_request"
    assert body["detail"].startswith(names)


async def test_one_event_with_services_timeline_and_duplicates(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/events/stripe/evt_1", headers=AUTH)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "failed"
    assert body["services"] == {
        "billing": {
            "status": "failed",
            "attempts": 3,
            "last_error": "KeyError: 'amount'",
            "next_attempt_at": None,
        }
    }
    assert body["timeline"][0] == {
        "at": "2023-11-14T22:13:21.000Z",
        "service": None,
        "status": "accepted",
        "attempt": None,
        "detail": None,
    }
    assert [step["status"] for step in body["timeline"]] == ["accepted", "queued", "failed"]
    assert body["duplicates"] == 0
    github = (await client.get("/api/events/github/gh_1", headers=AUTH)).json()
    assert github["duplicates"] == 1


async def test_unknown_event_and_unknown_route_are_404(client: httpx.AsyncClient) -> None:
    for path in ("/api/events/stripe/nope", "/api/events/nosuch/evt_1", "/api/nowhere", "/nowhere"):
        response = await client.get(path, headers=AUTH)
        assert response.status_code == 404, path
        assert response.json()["status"] == "not_found"


async def test_a_wrong_method_is_405(client: httpx.AsyncClient) -> None:
    response = await client.delete("/api/events", headers=AUTH)
    assert response.status_code == 405
    assert response.json() == {"status": "method_not_allowed"}


@pytest.mark.parametrize("event_id", ODD_IDS)
async def test_event_ids_with_any_characters(event_id: str) -> None:
    ledger = MemoryLedger()
    await ledger.record([accepted("stripe", event_id, 1_700_000_000.0)])
    async with client_for(ledger) as client:
        response = await client.get(f"/api/events/stripe/{quote(event_id, safe='/')}", headers=AUTH)
        assert response.status_code == 200, response.text
        assert response.json()["event_id"] == event_id
        listed = (await client.get("/api/events", headers=AUTH)).json()["events"]
        assert [e["event_id"] for e in listed] == [event_id]


class DownLedger(MemoryLedger):
    async def events(self, query: EventQuery) -> tuple[list[EventSummary], str | None]:
        raise LedgerUnavailable("disk I/O error")

    async def event(self, source: str, event_id: str) -> EventDetail | None:
        raise LedgerUnavailable("disk I/O error")

    async def services(self) -> list[ServiceAnnouncement]:
        raise LedgerUnavailable("disk I/O error")

    async def record(self, changes: Sequence[StatusChange]) -> int:
        raise LedgerUnavailable("disk I/O error")

    async def activity(self, since: float) -> Activity:
        raise LedgerUnavailable("disk I/O error")


@pytest.mark.parametrize(("method", "path"), ROUTES[:-1])
async def test_a_ledger_that_is_down_answers_503_with_retry_after(method: str, path: str) -> None:
    async with client_for(DownLedger()) as client:
        response = await client.request(method, path, headers=AUTH)
        assert response.status_code == 503
        assert response.json()["status"] == "unavailable"
        assert "retry-after" in response.headers


async def test_services_with_the_broker_down_have_null_numbers_and_an_error(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/services", headers=AUTH)
    assert response.status_code == 200
    (billing,) = response.json()["services"]
    assert billing["name"] == "billing"
    assert billing["patterns"] == ["stripe.#"]
    assert billing["queues"] == {
        "work": "billing",
        "retry": ["billing.retry.5s", "billing.retry.1m"],
        "dead": "billing.dead",
    }
    assert [billing[k] for k in ("ready", "consumers", "retrying", "dead")] == [None] * 4
    assert billing["error"]
    assert "broker-pw" not in response.text


async def test_sources_count_the_last_hour_by_outcome_and_keep_the_last_event() -> None:
    ledger = await filled()  # long ago: only their last event shows
    now = time.time()
    minute = int(now // 60)
    await ledger.record(
        [
            accepted("stripe", "new_1", now - 120),
            StatusChange("stripe", "new_1", Status.DUPLICATE, now - 60, received_at=now - 60),
            StatusChange("stripe", "new_2", Status.SPOOLED, now, received_at=now),
        ]
    )
    await ledger.count(
        [
            Count("source", "stripe", minute, "invalid_signature", 7),
            Count("source", "_unknown", minute, "unknown_source", 2),
            Count("source", "stripe", minute - 61, "invalid_signature", 100),  # too old
        ]
    )
    async with client_for(ledger) as client:
        response = await client.get("/api/sources", headers=AUTH)
    assert response.status_code == 200
    rows = {row["source"]: row for row in response.json()["sources"]}
    assert sorted(rows) == ["_unknown", "github", "stripe"]
    stripe = rows["stripe"]
    assert (stripe["accepted"], stripe["duplicates"]) == (2, 1)
    assert stripe["refused"] == {"invalid_signature": 7}
    assert stripe["last_event_at"] == rfc3339_ms(now)
    assert len(stripe["per_minute"]) == 60
    assert stripe["per_minute"][-3:] == [1, 0, 1]
    assert sum(stripe["per_minute"]) == 2
    assert rows["github"] == {
        "source": "github",
        "accepted": 0,
        "duplicates": 0,
        "refused": {},
        "last_event_at": "2023-11-14T22:13:25.000Z",
        "per_minute": [0] * 60,
    }
    assert rows["_unknown"]["refused"] == {"unknown_source": 2}
    assert rows["_unknown"]["last_event_at"] is None


async def test_services_show_their_handlers_outcomes_of_the_last_hour() -> None:
    ledger = await filled()
    now = time.time()
    steps = [
        (Status.RETRYING, now - 30, 1),
        (Status.COMPLETED, now - 20, 2),
    ]
    await ledger.record(
        [
            StatusChange("stripe", "evt_9", status, at, service="billing", attempt=attempt)
            for status, at, attempt in steps
        ]
        + [StatusChange("stripe", "evt_9", Status.FAILED, now, service="audit", attempt=1)]
    )
    async with client_for(ledger) as client:
        response = await client.get("/api/services", headers=AUTH)
    assert response.status_code == 200
    billing, audit = response.json()["services"]
    assert billing["name"] == "billing"
    assert billing["queues"]["work"] == "billing"  # announced: its queues too
    assert billing["outcomes_last_hour"] == {
        "completed": 1,
        "retrying": 1,
        "failed": 0,  # its failure of 2023 is older than the hour
        "cancelled": 0,
    }
    assert sum(billing["per_minute"]) == 1
    # Seen, never announced: no queues to name, its outcomes all the same.
    assert audit == {
        "name": "audit",
        "outcomes_last_hour": {"completed": 0, "retrying": 0, "failed": 1, "cancelled": 0},
        "per_minute": [0] * 60,
    }


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"{", "body:"),
        (b"[]", "body:"),
        (b'{"service": 5}', "service:"),
        (b'{"service": "a\\u0000b"}', "service:"),
        (b'{"service": "billing", "all": true}', "body:"),
        (b"x" * 5000, "body:"),
    ],
)
async def test_replay_refuses_a_bad_body(
    client: httpx.AsyncClient, body: bytes, detail: str
) -> None:
    response = await client.post("/api/events/stripe/evt_1/replay", headers=AUTH, content=body)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(detail)


async def test_replay_with_the_broker_down_is_503_without_the_password(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/api/events/stripe/evt_1/replay", headers=AUTH)
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert "broker-pw" not in response.text


async def test_replay_with_no_service_to_ask_is_404_and_says_archive_replay_is_not_built() -> None:
    async with client_for(MemoryLedger()) as client:
        response = await client.post("/api/events/stripe/evt_9/replay", headers=AUTH)
    assert response.status_code == 404
    body = response.json()
    assert body["status"] == "not_in_dead_letter_queue"
    assert "archive" in body["detail"]


@pytest.mark.anyio
async def test_the_recorders_metrics_are_served_behind_the_token() -> None:
    from prometheus_client import CollectorRegistry

    from admin.recorder_metrics import RecorderMetrics

    registry = CollectorRegistry()
    RecorderMetrics(registry)
    async with client_for(MemoryLedger(), metrics=registry) as client:
        assert (await client.get("/metrics")).status_code == 401
        response = await client.get("/metrics", headers=AUTH)
    assert response.status_code == 200
    assert "hookgate_ledger_status_messages_total" in response.text


@pytest.mark.anyio
async def test_replay_names_only_a_service_that_announced_itself_or_saw_the_event() -> None:
    # A name alone must not let a token holder move any `<name>.dead` queue of the vhost.
    async with client_for(await filled()) as client:
        response = await client.post(
            "/api/events/stripe/evt_1/replay", headers=AUTH, json={"service": "payroll"}
        )
    assert response.status_code == 404
    assert response.json()["status"] == "not_found"
