"""Cancel end to end, as `tests/integration/test_status_timelines.py` runs a timeline: the real
gateway, real workers reading the real cancel stream, the admin API cancelling, the recorder
writing into each ledger (memory, SQLite, PostgreSQL). The handler never runs again, and
each transition is recorded once and in order."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiormq
import httpx
import pytest

from admin.app import create_admin_app
from admin.cancel import CancelSender
from admin.ledger import LedgerStore
from admin.recorder import Recorder
from consumers import Event, Service
from consumers.cancellations import CancelReader, CancelSet
from hookgate.cancel import Cancellation
from hookgate.status import ServiceAnnouncement
from hookgate.status_publisher import StatusPublisher
from hookgate.topology import all_queues, cancel_stream, declare_service_topology
from tests.integration.broker import AMQP_URL
from tests.integration.conftest import make_config
from tests.integration.consumer_kit import (
    ConsumerProcess,
    delete_queues,
    eventually,
    publish_event,
    read_records,
    service_name,
)
from tests.integration.status_kit import (
    delete_status_topology,
    emitting_worker,
    settled,
    steps,
    timeline,
)
from tests.integration.test_status_timelines import CASE, _gateway, _send, recorded

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
__all__ = ["recorded"]  # the fixture: every test runs on each ledger
TOKEN = "cancel-test-token-0123456789abcdef"
ADMIN = '\n[admin]\ntoken = "${HOOKGATE_ADMIN_TOKEN}"\n'
TIER = 3.0  # long enough to cancel while the event waits in it


@pytest.fixture
async def stream(exchange: str) -> AsyncIterator[str]:
    yield cancel_stream(exchange)
    connection = await aiormq.connect(AMQP_URL)
    try:
        await (await connection.channel()).queue_delete(cancel_stream(exchange))
    finally:
        await connection.close()


@contextlib.asynccontextmanager
async def _reading(exchange: str) -> AsyncIterator[CancelReader]:
    """A cancel reader caught up with the stream, as `hookgate consume` starts one."""
    reader = CancelReader(AMQP_URL, exchange, CancelSet())
    task = asyncio.create_task(reader.run())
    try:
        await reader.wait_caught_up()
        yield reader
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def _admin(
    exchange: str, recorded: tuple[Recorder, LedgerStore]
) -> AsyncIterator[httpx.AsyncClient]:
    recorder, ledger = recorded
    app = create_admin_app(
        ledger,
        token=TOKEN,
        broker_url=AMQP_URL,
        exchange=exchange,
        record=recorder.record,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://admin",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as client:
        yield client


def _failing(service: Service, calls: list[int]) -> None:
    @service.handler("stripe.#")
    async def handle(event: Event) -> None:
        calls.append(event.attempt)
        raise RuntimeError("not yet")


async def _status(ledger: LedgerStore, event_id: str, service: str) -> str | None:
    detail = await ledger.event("stripe", event_id)
    state = detail.services.get(service) if detail else None
    return state.status.value if state else None


async def test_cancelled_while_it_waits_in_a_retry_tier_never_runs_again(
    exchange: str,
    stream: str,
    make_service: Callable[..., Service],
    recorded: tuple[Recorder, LedgerStore],
) -> None:
    _, ledger = recorded
    calls: list[int] = []
    service = make_service(retry_delays=(TIER, TIER))
    _failing(service, calls)
    name = service.name
    config = make_config(exchange, {"stripe": CASE.source_table()})
    async with (
        _gateway(config) as gw,
        _reading(exchange) as reader,
        emitting_worker(service, exchange, ledger, cancellations=reader.cancels) as (worker, _),
        _admin(exchange, recorded) as admin,
    ):
        event_id = await _send(gw)

        async def waiting() -> bool:
            return await _status(ledger, event_id, name) == "retrying"

        await eventually(waiting, 15, "the event to wait in its retry tier")
        answer = await admin.post(f"/api/events/stripe/{event_id}/cancel")
        assert (answer.status_code, answer.json()) == (202, {"cancelled": [name]})
        again = await admin.post(f"/api/events/stripe/{event_id}/cancel", json={"service": name})
        assert again.status_code == 202  # cancelling twice is harmless

        # The tier returns it to the work queue; the worker acks it without running it.
        await eventually(lambda: worker.count("handle", "cancelled") == 1, TIER + 15, "the skip")
        await settled(ledger, "stripe", event_id, ["cancelled"])
        await asyncio.sleep(0.5)

    assert calls == [1]  # the first attempt only: its handler never runs again
    assert worker.count("handle", "retry") == 1
    changes = await timeline(ledger, "stripe", event_id)
    assert steps(changes) == [("accepted", None)]
    assert steps(changes, name) == [
        ("queued", None),
        ("running", 1),
        ("retrying", 1),
        ("cancelled", None),
    ]
    assert [c.status.value for c in changes] == [
        "accepted",
        "queued",
        "running",
        "retrying",
        "cancelled",
    ]
    assert changes[-1].detail == "cancelled by api"
    detail = await ledger.event("stripe", event_id)
    assert detail is not None
    assert detail.summary.status.value == "cancelled"
    assert detail.services[name].next_attempt_at is None


async def test_a_worker_started_after_the_cancel_still_skips_the_event(
    exchange: str,
    stream: str,
    make_service: Callable[..., Service],
    recorded: tuple[Recorder, LedgerStore],
) -> None:
    _, ledger = recorded
    calls: list[int] = []
    service = make_service(retry_delays=(TIER,))
    _failing(service, calls)
    name = service.name
    connection = await aiormq.connect(AMQP_URL)
    try:
        await declare_service_topology(connection, service, exchange)
    finally:
        await connection.close()
    announcer = StatusPublisher(AMQP_URL, exchange, name="hookgate-status-announce")
    await announcer.start()
    try:
        announcer.emit(ServiceAnnouncement(name, ("stripe.#",), time.time(), (TIER,), 10))

        async def announced() -> bool:
            return name in {a.service for a in await ledger.services()}

        await eventually(announced, 15, "the service announced")
    finally:
        await announcer.close()
    config = make_config(exchange, {"stripe": CASE.source_table()})
    async with _gateway(config) as gw, _admin(exchange, recorded) as admin:
        event_id = await _send(gw)  # waits in the work queue: no worker runs yet

        async def queued() -> bool:
            return await _status(ledger, event_id, name) == "queued"

        await eventually(queued, 15, "the event queued for the service")
        answer = await admin.post(f"/api/events/stripe/{event_id}/cancel")
        assert (answer.status_code, answer.json()) == (202, {"cancelled": [name]})

    async with (
        _reading(exchange) as reader,
        emitting_worker(service, exchange, ledger, cancellations=reader.cancels) as (worker, _),
    ):
        assert reader.read == 1  # caught up before consuming
        await eventually(lambda: worker.count("handle", "cancelled") == 1, 15, "the skip")
        await settled(ledger, "stripe", event_id, ["cancelled"])

    assert calls == []
    changes = await timeline(ledger, "stripe", event_id)
    assert [(c.status.value, c.attempt) for c in changes] == [
        ("accepted", None),
        ("queued", None),
        ("cancelled", None),
    ]


async def test_a_completed_event_cannot_be_cancelled(
    exchange: str,
    stream: str,
    make_service: Callable[..., Service],
    recorded: tuple[Recorder, LedgerStore],
) -> None:
    _, ledger = recorded
    service = make_service(retry_delays=(TIER,))

    @service.handler("stripe.#")
    async def handle(event: Event) -> None:
        pass

    config = make_config(exchange, {"stripe": CASE.source_table()})
    async with (
        _gateway(config) as gw,
        emitting_worker(service, exchange, ledger),
        _admin(exchange, recorded) as admin,
    ):
        event_id = await _send(gw)
        await settled(ledger, "stripe", event_id, ["completed"])
        answer = await admin.post(f"/api/events/stripe/{event_id}/cancel")
    assert answer.status_code == 409
    assert answer.json()["status"] == "already_finished"


async def test_hookgate_consume_with_admin_reads_the_stream_before_it_consumes(
    tmp_path: Path, exchange: str, stream: str, confirm_channel: aiormq.abc.AbstractChannel
) -> None:
    # The real process: `[admin]` in the config turns the reader on (`consumers.run`).
    name = service_name()
    records = tmp_path / "records.txt"
    service = Service(name, retry_delays=(1,))  # the process's, for its queues and binding
    service.handler("#")(lambda event: None)
    try:
        connection = await aiormq.connect(AMQP_URL)
        try:
            await declare_service_topology(connection, service, exchange)
        finally:
            await connection.close()
        event_id = await publish_event(confirm_channel, exchange, source="shop")
        await CancelSender(AMQP_URL, exchange).send(
            Cancellation("shop", event_id, {name: 0}, time.time(), "test")
        )
        env = {"HG_TEST_SERVICE": name, "HG_TEST_RECORD": str(records)}
        process = ConsumerProcess(tmp_path, exchange, env, broker_toml=ADMIN)
        try:
            await process.wait_consuming()
            await eventually(
                lambda: b"cancelled by an operator; skipped" in process.log.read_bytes(),
                15,
                "the skip's log line",
            )
            other = await publish_event(confirm_channel, exchange, source="shop")
            await eventually(
                lambda: ("done", other) in {r[:2] for r in read_records(records)},
                15,
                "another event to run",
            )
        finally:
            process.stop()
        assert event_id not in {r[1] for r in read_records(records)}
    finally:
        await delete_queues(all_queues(service))
        await delete_status_topology(exchange)


async def test_the_reader_reads_a_stream_deleted_and_declared_again(
    exchange: str, stream: str
) -> None:
    sender = CancelSender(AMQP_URL, exchange)
    await sender.send(Cancellation("shop", "evt_1", {"svc": 0}, time.time(), "test"))
    async with _reading(exchange) as reader:
        assert reader.cancels.covers("shop", "evt_1", "svc", 0)
        connection = await aiormq.connect(AMQP_URL)
        try:
            await (await connection.channel()).queue_delete(stream)
        finally:
            await connection.close()
        await sender.send(Cancellation("shop", "evt_2", {"svc": 0}, time.time(), "test"))
        await eventually(lambda: reader.cancels.covers("shop", "evt_2", "svc", 0), 15, "evt_2")
