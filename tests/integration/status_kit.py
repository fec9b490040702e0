"""Integration helpers for event status: a recorder into a memory ledger, consumers that emit
status, and the status exchange, ledger queue and cancel stream deleted after each test."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiormq
from prometheus_client import CollectorRegistry

from admin.ledger import LedgerStore
from admin.ledger_memory import MemoryLedger
from admin.recorder import Recorder, ledger_queue
from consumers import Service
from consumers.status_observer import ConsumerStatus
from hookgate.status import StatusChange
from hookgate.status_publisher import StatusPublisher
from hookgate.topology import cancel_stream, status_exchange
from tests.integration.broker import AMQP_URL
from tests.integration.consumer_kit import RunningWorker, eventually, running_worker


async def delete_status_topology(exchange: str) -> None:
    connection = await aiormq.connect(AMQP_URL)
    try:
        channel = await connection.channel()
        await channel.queue_delete(ledger_queue(exchange))
        await channel.queue_delete(cancel_stream(exchange))  # a consumer may have declared it
        await channel.exchange_delete(status_exchange(exchange))
    finally:
        await connection.close()


@contextlib.asynccontextmanager
async def running_recorder(
    exchange: str, ledger: LedgerStore | None = None
) -> AsyncIterator[tuple[Recorder, LedgerStore]]:
    ledger = ledger or MemoryLedger()
    recorder = Recorder(AMQP_URL, exchange, ledger, CollectorRegistry(), linger=0.02)
    task = asyncio.create_task(recorder.run())
    try:
        async with asyncio.timeout(15):
            await recorder.consuming.wait()
        yield recorder, ledger
    finally:
        recorder.stop()
        async with asyncio.timeout(15):
            await task
        await delete_status_topology(exchange)


@contextlib.asynccontextmanager
async def emitting_worker(
    service: Service, exchange: str, ledger: LedgerStore, **options: Any
) -> AsyncIterator[tuple[RunningWorker, StatusPublisher]]:
    """A real worker whose status goes through its own publisher; announced (and the
    announcement recorded) before it is yielded, as `hookgate consume` does on start."""
    publisher = StatusPublisher(AMQP_URL, exchange, name=f"hookgate-status-{service.name}")
    status = ConsumerStatus(publisher, service)
    await publisher.start()
    try:
        async with running_worker(service, exchange, observers=[status], **options) as worker:
            publisher.emit(status.announcement())

            async def announced() -> bool:
                return service.name in {a.service for a in await ledger.services()}

            await eventually(announced, 15, f"{service.name} announced")
            yield worker, publisher
    finally:
        await publisher.close()


async def timeline(ledger: LedgerStore, source: str, event_id: str) -> list[StatusChange]:
    detail = await ledger.event(source, event_id)
    return [] if detail is None else detail.timeline


def steps(changes: list[StatusChange], service: str | None = None) -> list[tuple[str, int | None]]:
    """(status, attempt) of one service's changes (None: the gateway's and operators')."""
    return [(c.status.value, c.attempt) for c in changes if c.service == service]


async def settled(ledger: LedgerStore, source: str, event_id: str, final: list[str]) -> None:
    """Until the event's services have reached `final` statuses (sorted) and nothing moves."""

    async def done() -> bool:
        detail = await ledger.event(source, event_id)
        if detail is None:
            return False
        return sorted(s.status.value for s in detail.services.values()) == sorted(final)

    await eventually(done, 20, f"{event_id} to settle as {final}")
    await asyncio.sleep(0.3)  # anything late (a duplicate) would show now
