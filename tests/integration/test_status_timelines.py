"""Event timelines end to end: the real gateway app with a real status publisher, real
consumer workers emitting status, the recorder writing into a ledger (memory, SQLite and the
real PostgreSQL server, each test on each), all on the real broker. Each transition is
recorded once and in order."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from admin.config import LedgerSettings
from admin.ledger import EventQuery, LedgerStore
from admin.ledger_registry import BACKEND_NAMES, open_ledger
from admin.recorder import Recorder, replayed_change
from consumers import Event, Reject, Service
from consumers.dlq import replay
from gateway.config import Config
from hookgate.secret import Secret
from hookgate.status_publisher import StatusPublisher
from hookgate.topology import dead_queue, work_queue
from tests.integration.broker import AMQP_URL
from tests.integration.cases import CASES
from tests.integration.conftest import Gateway, make_config, running_gateway
from tests.integration.consumer_kit import eventually
from tests.integration.status_kit import (
    emitting_worker,
    running_recorder,
    settled,
    steps,
    timeline,
)
from tests.integration.tcpproxy import TcpProxy
from tests.postgres_kit import private_schema

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
CASE = CASES["stripe"]
TIERS = (0.2, 0.3)


class Plan:
    """How the handler behaves per event: fail the first N attempts, or while `broken`."""

    def __init__(self) -> None:
        self.failures: dict[str, int] = {}
        self.broken: set[str] = set()

    def handler(self, service: Service) -> None:
        @service.handler("stripe.#")
        async def handle(event: Event) -> None:
            if event.id in self.broken:
                raise RuntimeError(f"{event.id} is broken")
            left = self.failures.get(event.id, 0)
            if left:
                self.failures[event.id] = left - 1
                raise RuntimeError(f"{event.id} fails {left} more time(s)")


async def _send(gw: Gateway) -> str:
    event_id = f"evt_{uuid.uuid4().hex}"
    body = CASE.body(event_id)
    headers = CASE.sign(body, CASE.secrets[0], event_id, int(time.time()))
    answer = await gw.client.post("/webhooks/stripe", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    return event_id


@contextlib.asynccontextmanager
async def _gateway(config: Config, url: str = AMQP_URL) -> AsyncIterator[Gateway]:
    status = StatusPublisher(url, config.broker.exchange, name="hookgate-status-gateway")
    async with running_gateway(config, status=status) as gw:
        await gw.wait_connected()
        yield gw


@pytest.fixture(params=BACKEND_NAMES)
async def recorded(
    request: pytest.FixtureRequest, exchange: str, tmp_path: Path
) -> AsyncIterator[tuple[Recorder, LedgerStore]]:
    async with contextlib.AsyncExitStack() as stack:
        name = str(request.param)
        url = await stack.enter_async_context(private_schema()) if name == "postgres" else None
        settings = LedgerSettings(
            backend=name, path=str(tmp_path / "ledger.sqlite3"), url=Secret(url) if url else None
        )
        ledger = open_ledger(settings)
        stack.push_async_callback(ledger.close)
        async with running_recorder(exchange, ledger) as pair:
            yield pair


async def test_success_and_two_failures_then_success(
    exchange: str,
    make_service: Callable[..., Service],
    recorded: tuple[Recorder, LedgerStore],
) -> None:
    _, ledger = recorded
    plan = Plan()
    service = make_service(retry_delays=TIERS)
    plan.handler(service)
    config = make_config(exchange, {"stripe": CASE.source_table()})
    async with _gateway(config) as gw, emitting_worker(service, exchange, ledger):
        ok = await _send(gw)
        flaky = f"evt_{uuid.uuid4().hex}"
        plan.failures[flaky] = 2
        body = CASE.body(flaky)
        headers = CASE.sign(body, CASE.secrets[0], flaky, int(time.time()))
        assert (await gw.client.post("/webhooks/stripe", content=body, headers=headers)).is_success
        await settled(ledger, "stripe", ok, ["completed"])
        await settled(ledger, "stripe", flaky, ["completed"])

    name = service.name
    first = await timeline(ledger, "stripe", ok)
    assert steps(first) == [("accepted", None)]
    assert steps(first, name) == [("queued", None), ("running", 1), ("completed", 1)]
    second = await timeline(ledger, "stripe", flaky)
    assert steps(second) == [("accepted", None)]
    assert steps(second, name) == [
        ("queued", None),
        ("running", 1),
        ("retrying", 1),
        ("running", 2),
        ("retrying", 2),
        ("running", 3),
        ("completed", 3),
    ]
    retrying = [c for c in second if c.status.value == "retrying"]
    assert all(c.detail and c.detail.startswith("RuntimeError: ") for c in retrying)
    assert all(c.next_attempt_at and c.next_attempt_at > c.at for c in retrying)
    detail = await ledger.event("stripe", flaky)
    assert detail is not None
    assert (detail.summary.status.value, detail.summary.type) == ("completed", "invoice.paid")
    assert detail.services[name].attempts == 3


async def test_dead_lettered_then_replayed_after_the_fix_then_completed(
    exchange: str,
    make_service: Callable[..., Service],
    recorded: tuple[Recorder, LedgerStore],
) -> None:
    recorder, ledger = recorded
    plan = Plan()
    service = make_service(retry_delays=TIERS)
    plan.handler(service)
    config = make_config(exchange, {"stripe": CASE.source_table()})
    async with _gateway(config) as gw, emitting_worker(service, exchange, ledger):
        event_id = f"evt_{uuid.uuid4().hex}"
        plan.broken.add(event_id)
        body = CASE.body(event_id)
        headers = CASE.sign(body, CASE.secrets[0], event_id, int(time.time()))
        assert (await gw.client.post("/webhooks/stripe", content=body, headers=headers)).is_success
        await settled(ledger, "stripe", event_id, ["failed"])

        plan.broken.discard(event_id)  # the handler is fixed
        change = replayed_change(
            "stripe", event_id, by="test", event_type=CASE.event_type, service=service.name
        )
        moved = await replay(AMQP_URL, dead_queue(service), work_queue(service), [event_id])
        assert moved == 1
        await recorder.record([change])
        await settled(ledger, "stripe", event_id, ["completed"])

    name = service.name
    changes = await timeline(ledger, "stripe", event_id)
    assert steps(changes) == [("accepted", None)]
    assert steps(changes, name) == [
        ("queued", None),
        ("running", 1),
        ("retrying", 1),
        ("running", 2),
        ("retrying", 2),
        ("running", 3),
        ("failed", 3),
        ("replayed", None),
        ("queued", None),
        ("running", 1),
        ("completed", 1),
    ]


async def test_two_services_one_completes_one_fails(
    exchange: str,
    make_service: Callable[..., Service],
    recorded: tuple[Recorder, LedgerStore],
) -> None:
    _, ledger = recorded
    good = make_service(retry_delays=TIERS)
    Plan().handler(good)
    bad = make_service(retry_delays=TIERS)

    @bad.handler("stripe.invoice.*")
    async def refuse(event: Event) -> None:
        raise Reject("not for us")

    config = make_config(exchange, {"stripe": CASE.source_table()})
    async with (
        _gateway(config) as gw,
        emitting_worker(good, exchange, ledger),
        emitting_worker(bad, exchange, ledger),
    ):
        event_id = await _send(gw)
        await settled(ledger, "stripe", event_id, ["completed", "failed"])

    changes = await timeline(ledger, "stripe", event_id)
    assert steps(changes) == [("accepted", None)]
    assert steps(changes, good.name) == [("queued", None), ("running", 1), ("completed", 1)]
    assert steps(changes, bad.name) == [("queued", None), ("running", 1), ("failed", 1)]
    [failed] = [c for c in changes if c.status.value == "failed"]
    assert failed.detail == "Reject: not for us"
    detail = await ledger.event("stripe", event_id)
    assert detail is not None
    assert detail.summary.status.value == "failed"


async def test_spooled_during_an_outage_then_forwarded_and_completed(
    exchange: str,
    make_service: Callable[..., Service],
    recorded: tuple[Recorder, LedgerStore],
    tmp_path: Path,
) -> None:
    _, ledger = recorded
    service = make_service(retry_delays=TIERS)
    Plan().handler(service)
    target = urlsplit(AMQP_URL)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5672)
    await proxy.start()
    proxied = AMQP_URL.replace(f":{target.port}", f":{proxy.port}", 1)
    config = make_config(
        exchange,
        {"stripe": CASE.source_table()},
        broker_url=proxied,
        spool={"enabled": True, "path": str(tmp_path / "spool.sqlite3")},
        publish_timeout_seconds=1.0,
    )
    try:
        async with (
            _gateway(config, url=proxied) as gw,
            emitting_worker(service, exchange, ledger),
        ):
            await proxy.cut()  # the gateway's connections, its status publisher's too
            async with asyncio.timeout(10):
                while gw.app.state.publisher.connected:
                    await asyncio.sleep(0.02)
            event_id = f"evt_{uuid.uuid4().hex}"
            body = CASE.body(event_id)
            headers = CASE.sign(body, CASE.secrets[0], event_id, int(time.time()))
            answer = await gw.client.post("/webhooks/stripe", content=body, headers=headers)
            assert answer.json()["status"] == "spooled"
            await asyncio.sleep(0.3)
            assert await ledger.event("stripe", event_id) is None  # its status waits too

            await proxy.restore()
            await settled(ledger, "stripe", event_id, ["completed"])
    finally:
        await proxy.cut()

    changes = await timeline(ledger, "stripe", event_id)
    assert steps(changes) == [("spooled", None), ("forwarded", None)]
    assert steps(changes, service.name) == [
        ("queued", None),
        ("running", 1),
        ("completed", 1),
    ]
    order = [c.status.value for c in changes]
    assert order == ["spooled", "forwarded", "queued", "running", "completed"]


async def test_status_messages_reach_the_recorder_once_each(
    exchange: str, recorded: tuple[Recorder, LedgerStore]
) -> None:
    from hookgate.status import Status, StatusChange

    recorder, ledger = recorded
    publisher = StatusPublisher(AMQP_URL, exchange)
    await publisher.start()
    try:
        for n in range(500):
            publisher.emit(StatusChange("shop", f"evt_{n}", Status.ACCEPTED, 1000.0 + n))
        publisher.emit(StatusChange("shop", "evt_0", Status.ACCEPTED, 1000.0))  # sent twice
        await eventually(lambda: publisher.published == 501, 15, "all published")

        async def all_recorded() -> bool:
            found = await ledger.event("shop", "evt_499")
            return found is not None

        await eventually(all_recorded, 15, "all recorded")
    finally:
        await publisher.close()
    assert publisher.dropped == 0
    page, _ = await ledger.events(EventQuery(limit=500))
    assert len(page) == 500
    assert [s.status.value for s in page] == ["accepted"] * 500
    accepted = recorder.metrics.messages["accepted"]._value.get()  # type: ignore[attr-defined]
    assert accepted == 501


async def test_a_message_that_cannot_travel_is_dropped_alone_and_bad_text_is_cleaned(
    exchange: str, recorded: tuple[Recorder, LedgerStore]
) -> None:
    # A lone surrogate cannot be JSON; a NUL cannot be stored by PostgreSQL. Neither may hold
    # the messages behind it (review finding: one such message stalled the publisher).
    from hookgate.status import Status, StatusChange

    _, ledger = recorded
    publisher = StatusPublisher(AMQP_URL, exchange)
    await publisher.start()
    try:
        publisher.emit(StatusChange("shop", "evt_\ud800", Status.ACCEPTED, 1000.0))
        publisher.emit(
            StatusChange(
                "shop", "evt_ok", Status.FAILED, 1001.0, service="svc", detail="E: a\x00b\ud800"
            )
        )
        await eventually(lambda: publisher.published == 1, 15, "the good one published")

        async def recorded_ok() -> bool:
            return await ledger.event("shop", "evt_ok") is not None

        await eventually(recorded_ok, 15, "the good one recorded")
    finally:
        await publisher.close()
    assert publisher.dropped == 1
    detail = await ledger.event("shop", "evt_ok")
    assert detail is not None
    assert detail.services["svc"].last_error == "E: a\ufffdb?"


async def test_refusals_reach_the_ledger_as_counts_per_source_and_reason(
    exchange: str, recorded: tuple[Recorder, LedgerStore]
) -> None:
    _, ledger = recorded
    config = make_config(exchange, {"stripe": CASE.source_table()})
    async with _gateway(config) as gw:
        await _send(gw)
        body = CASE.body("evt_tampered")
        headers = CASE.sign(body, CASE.secrets[0], "evt_tampered", int(time.time()))
        for _ in range(3):
            answer = await gw.client.post("/webhooks/stripe", content=body + b" ", headers=headers)
            assert answer.status_code == 401
        answer = await gw.client.post("/webhooks/no-such-source", content=body, headers=headers)
        assert answer.status_code == 404
    # Closing the gateway sent what it had counted (otherwise: within TALLY_SECONDS).

    async def counted() -> dict[tuple[str, str], int]:
        activity = await ledger.activity(time.time() - 120)
        found: dict[tuple[str, str], int] = {}
        for c in activity.counts:
            if c.kind == "source":
                found[(c.name, c.outcome)] = found.get((c.name, c.outcome), 0) + c.n
        return found

    expected = {
        ("stripe", "accepted"): 1,
        ("stripe", "invalid_signature"): 3,
        ("_unknown", "unknown_source"): 1,
    }

    async def all_counted() -> bool:
        return await counted() == expected

    await eventually(all_counted, 15, "the refusals counted")
