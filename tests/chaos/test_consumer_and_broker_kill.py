"""Scenario B: a consumer killed -9 mid-handler, then the broker killed -9 and restarted while
events are being consumed: every accepted event reaches success or the service's DLQ.

Most events succeed after a short sleep; every 25th raises, is retried once through the 1 s
tier and is then dead-lettered with its error. The test kills the first consumer while its
handlers are running, starts a second one, and kills the broker under the second one, which
must reconnect on its own.

Every wait is bounded by a lack of progress, not by wall time (`while_progressing`): on a
loaded 2-core machine a consumer may take long to start or to get through its events, and
that is slowness, not a failure. A wait fails only when nothing moved for its `stall` seconds.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import signal
import time
from collections.abc import Awaitable, Callable

import aiormq
import httpx
import pytest

from consumers import Service
from consumers.dlq import depth, peek
from hookgate.topology import declare_service_topology
from tests.chaos.conftest import ChaosProcesses
from tests.chaos.figures import Figures, count_delivery
from tests.chaos.load import Load, github_events
from tests.chaos.node import RabbitNode
from tests.chaos.processes import GatewayProcess, read_records
from tests.integration.consumer_kit import cpu_ticks, while_progressing

pytestmark = [pytest.mark.anyio, pytest.mark.chaos]

EVENTS = 1200
FAIL_EVERY = 25
HANDLER_SECONDS = 0.1
CONCURRENCY = 8  # at most ~80 events/s: both kills come while most events are still queued
STALL = 60.0  # seconds without any progress before a wait gives up
QUIET_SECONDS = 1.0  # unchanged queues for this long: nothing is in transit any more


def _body(i: int) -> dict[str, object]:
    if i % FAIL_EVERY == 0:
        return {"behaviour": "fail"}
    return {"behaviour": "slow", "seconds": HANDLER_SECONDS}


async def test_consumer_and_broker_kill_9_every_event_reaches_success_or_dlq(
    rabbit_node: RabbitNode,
    chaos_processes: ChaosProcesses,
    record_property: Callable[[str, object], None],
) -> None:
    service = chaos_processes.service
    # The service's queues exist before any event is accepted (else events would go to the
    # unrouted queue), but its first consumer starts only after the load: however slow the
    # machine makes the load, at least 1,000 events are left to consume when the kills come.
    await _declare_recording_service(rabbit_node.url, service, chaos_processes.exchange)
    gateway = chaos_processes.gateway()
    await while_progressing(
        lambda: _ready(gateway),
        lambda: (cpu_ticks(gateway.process.pid), gateway.log.stat().st_size),
        stall=STALL,
        what="the gateway to be ready",
    )

    events = github_events(EVENTS, body=_body)
    meant_to_fail = {e.event_id for i, e in enumerate(events) if i % FAIL_EVERY == 0}
    # The count bounds the load; max_seconds is only a ceiling for a machine that is stuck.
    result = await Load(gateway.base_url, events, concurrency=32, max_seconds=600).run()
    accepted = result.ok_ids()
    assert result.statuses() == {200: EVENTS}, result.statuses()  # no fault during the load
    gateway.stop()  # its work is done; the CPU goes to the consumers

    def done() -> set[str]:
        return {e for k, e, _ in read_records(chaos_processes.records) if k == "done"}

    first = chaos_processes.consumer(concurrency=CONCURRENCY)
    await first.wait_consuming()

    # 1. kill -9 the first consumer while its handlers run.
    done_after_load = len(done())

    def mid_handler() -> int:
        """Handlers of the first consumer started and not finished (failing ones aside)."""
        rows = collections.Counter(
            (k, e) for k, e, pid in read_records(chaos_processes.records) if pid == first.pid
        )
        return sum(
            1
            for (k, e) in rows
            if k == "start" and ("done", e) not in rows and e not in meant_to_fail
        )

    # Killed while handlers run: under way, and with some in flight at the moment it is checked
    # (a starved machine can leave a consumer between deliveries for a moment).
    await while_progressing(
        lambda: len(done()) >= done_after_load + 100 and mid_handler() > 0,
        lambda: (len(done()), cpu_ticks(first.pid)),
        stall=STALL,
        what="the first consumer to be under way, with handlers running",
    )
    first.kill(signal.SIGKILL)
    assert await first.wait_exit() == -signal.SIGKILL
    rows = read_records(chaos_processes.records)
    mine = collections.Counter((k, e) for k, e, pid in rows if pid == first.pid)
    cut_mid_handler = sum(
        1 for (k, e) in mine if k == "start" and ("done", e) not in mine and e not in meant_to_fail
    )
    done_by_first = sum(1 for (k, _) in mine if k == "done")

    # 2. a second consumer; kill -9 the broker and restart it under it.
    second = chaos_processes.consumer(concurrency=CONCURRENCY)
    await second.wait_consuming()
    done_at_second = len(done())
    await while_progressing(
        lambda: len(done()) >= done_at_second + 250,
        lambda: (len(done()), cpu_ticks(second.pid)),
        stall=STALL,
        what="the second consumer to be under way",
    )
    killed = await asyncio.to_thread(rabbit_node.kill9)
    done_at_kill = len(done())
    await asyncio.to_thread(rabbit_node.restart)

    # 3. everything ends in success or the DLQ, without restarting the second consumer.
    dead_queue = f"{service}.dead"
    should_succeed = accepted - meant_to_fail
    quiet: list[tuple[float, object]] = []

    async def state() -> tuple[int, int, int, int]:
        """What moves while the second consumer works: events done, and the depths of the
        work, retry and dead-letter queues (all -1 while the broker restarts)."""
        queues = (service, f"{service}.retry.1s", dead_queue)
        return (len(done()), *[await _depth_or(rabbit_node.url, queue) for queue in queues])

    with contextlib.suppress(AssertionError):  # a shortfall is reported below, as figures
        await while_progressing(
            lambda: should_succeed <= done(),
            state,
            stall=STALL,
            what="every succeeding event to be handled",
        )
        await while_progressing(
            lambda: _at_least(rabbit_node.url, dead_queue, len(meant_to_fail)),
            state,
            stall=STALL,
            what="every failing event to be dead-lettered",
        )
        # Redeliveries still in transit must land before duplicates are counted: wait until
        # the work and retry queues are empty and nothing has changed for a while.
        await while_progressing(
            lambda: _quiet(state, quiet),
            state,
            stall=STALL,
            what="the queues to drain",
        )
    dlq_total, letters = await peek(rabbit_node.url, dead_queue, 10 * len(meant_to_fail))
    dead_ids = [letter.event_id for letter in letters]
    work_left = await depth(rabbit_node.url, service)
    retry_left = await depth(rabbit_node.url, f"{service}.retry.1s")

    statuses = result.statuses()
    figures = Figures(
        "B-consumer-and-broker-kill-9",
        sent=len(events),
        ok=len(accepted),
        unavailable=statuses[503],
        other=sum(n for status, n in statuses.items() if status not in (200, 503)),
        dlq=dlq_total,
        extra={
            "succeeded": len(done() & accepted),
            "meant_to_fail": len(meant_to_fail),
            "dlq_duplicates": len(dead_ids) - len(set(dead_ids)),
            "cut_mid_handler": cut_mid_handler,
            "done_after_load": done_after_load,
            "done_by_first_consumer": done_by_first,
            "done_at_broker_kill": done_at_kill,
            "killed_broker_pid": killed,
            "left_in_work_queue": work_left,
            "left_in_retry_queue": retry_left,
        },
    )
    count_delivery(figures, accepted, read_records(chaos_processes.records), dead=dead_ids)
    figures.report(record_property)

    assert figures.lost == 0, f"accepted but neither handled nor dead-lettered: {figures.lost_ids}"
    assert set(dead_ids) == meant_to_fail, "the DLQ holds exactly the failing events"
    failure = "tests.integration.consumer_services.MeantToFail"
    assert all(letter.error_type == failure for letter in letters), {d.error_type for d in letters}
    assert should_succeed <= done()
    assert cut_mid_handler > 0, "the first consumer was not killed mid-handler"
    assert second.process.poll() is None, "the second consumer did not survive the broker restart"
    assert done_at_kill < len(should_succeed), "the broker was killed after all the work"
    assert (work_left, retry_left) == (0, 0)


async def _declare_recording_service(url: str, name: str, exchange: str) -> None:
    """Declare the queues of tests.integration.consumer_services:service named `name`, with
    the arguments it declares them with itself (retry tier 1 s, delivery limit 10)."""
    service = Service(name, retry_delays=(1,), delivery_limit=10)
    service.handler("#")(lambda event: None)
    connection = await aiormq.connect(url)
    try:
        await declare_service_topology(connection, service, exchange)
    finally:
        await connection.close()


async def _ready(gateway: GatewayProcess) -> bool:
    assert gateway.process.poll() is None, f"the gateway exited:\n{gateway.output()}"
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            return (await client.get(f"{gateway.base_url}/readyz")).status_code == 200
    except httpx.TransportError:
        return False


async def _at_least(url: str, queue: str, count: int) -> bool:
    return await _depth_or(url, queue) >= count


async def _depth_or(url: str, queue: str) -> int:
    try:
        return await depth(url, queue)
    except Exception:  # the broker may still be restarting
        return -1


async def _quiet(
    state: Callable[[], Awaitable[tuple[int, int, int, int]]], seen: list[tuple[float, object]]
) -> bool:
    """True once the work and retry queues are empty and `state` has not changed for
    QUIET_SECONDS (a redelivery in transit would change it)."""
    now, current = time.monotonic(), await state()
    if current[1:3] != (0, 0):
        seen.clear()
        return False
    if not seen or seen[-1][1] != current:
        seen.append((now, current))
        return False
    return now - seen[-1][0] >= QUIET_SECONDS
