"""hookgate.status_publisher without a broker: emit never waits, the buffer is bounded, drops
are counted, and close gives up quickly when nothing can be sent."""

from __future__ import annotations

import asyncio
import time

import pytest

from hookgate.status import Status, StatusChange
from hookgate.status_publisher import StatusPublisher

pytestmark = pytest.mark.anyio
NOWHERE = "amqp://guest:guest@127.0.0.1:1/"  # nothing listens on port 1


def _change(n: int) -> StatusChange:
    return StatusChange("shop", f"evt_{n}", Status.ACCEPTED, 1000.0 + n)


def test_emit_buffers_without_a_loop_or_a_connection() -> None:
    publisher = StatusPublisher(NOWHERE, "webhooks", buffer=3)
    for n in range(5):
        publisher.emit(_change(n))
    assert (publisher.emitted, publisher.dropped, publisher.pending) == (3, 2, 3)


def test_a_full_buffer_drops_the_newest_and_keeps_the_oldest() -> None:
    publisher = StatusPublisher(NOWHERE, "webhooks", buffer=2)
    for n in range(4):
        publisher.emit(_change(n))
    assert [c.event_id for c in publisher._buffer] == ["evt_0", "evt_1"]  # type: ignore[union-attr]


def test_emit_is_cheap() -> None:
    publisher = StatusPublisher(NOWHERE, "webhooks", buffer=200_000)
    change = _change(1)
    started = time.perf_counter()
    for _ in range(100_000):
        publisher.emit(change)
    assert time.perf_counter() - started < 1.0  # ~0.1 µs each on this box; generous bound


async def test_without_a_broker_messages_wait_and_close_returns_promptly() -> None:
    publisher = StatusPublisher(NOWHERE, "webhooks", buffer=10)
    await publisher.start()
    publisher.emit(_change(1))
    await asyncio.sleep(0.3)
    assert (publisher.connected, publisher.pending, publisher.published) == (False, 1, 0)
    started = time.monotonic()
    await publisher.close()
    assert time.monotonic() - started < 1.0
    publisher.emit(_change(2))  # after close: dropped, never an error
    assert publisher.dropped == 1


async def test_the_counts_reach_the_metrics_from_the_background_task() -> None:
    heard: list[tuple[int, int]] = []
    publisher = StatusPublisher(NOWHERE, "webhooks", buffer=2)
    publisher.counts = lambda emitted, dropped: heard.append((emitted, dropped))
    for n in range(3):
        publisher.emit(_change(n))
    assert heard == []  # never from emit
    await publisher.start()
    await asyncio.sleep(0.1)  # the first failed connection attempt reports
    await publisher.close()
    assert heard == [(2, 1)]
