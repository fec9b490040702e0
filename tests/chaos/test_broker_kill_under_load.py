"""Scenario A: kill -9 the broker in the middle of a load of signed events, restart it.

Every event the gateway answered 2xx reaches the consumer (at least once); every other answer
is 503 + Retry-After (never a 500, never a 2xx without a confirm); the sender's retry of each
refused event, once the broker is back, is accepted. Duplicates are counted and reported.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import pytest

from consumers.dlq import depth
from tests.chaos.conftest import ChaosProcesses
from tests.chaos.figures import Figures, count_delivery
from tests.chaos.load import Load, github_events
from tests.chaos.node import RabbitNode
from tests.chaos.processes import eventually, read_records

pytestmark = [pytest.mark.anyio, pytest.mark.chaos]

EVENTS = 3000
CONCURRENCY = 32
RATE = 200  # events/s: the load spans ~15 s, so the kill and the restart fall inside it
KILL_AFTER = 600  # answers before the broker is killed


async def test_broker_kill_9_mid_load_loses_no_2xx_event(
    rabbit_node: RabbitNode,
    chaos_processes: ChaosProcesses,
    record_property: Callable[[str, object], None],
) -> None:
    # A slow consumer (one event at a time, 10 ms each: slower than the load), so that at the
    # kill some accepted events are queued, some in a handler, some handled.
    slow = chaos_processes.consumer(concurrency=1)
    await slow.wait_consuming()  # its queue is bound before the first event
    gateway = chaos_processes.gateway()
    await gateway.wait_ready()
    await asyncio.sleep(2)  # a quorum queue declared just before a kill -9 can come back empty

    events = github_events(EVENTS, body=lambda _: {"behaviour": "slow", "seconds": 0.01})
    load = Load(gateway.base_url, events, concurrency=CONCURRENCY, rate=RATE, max_seconds=90)
    running = asyncio.create_task(load.run())
    await eventually(lambda: load.answered >= KILL_AFTER, 30, "the load to be under way")
    queued_at_kill = await depth(rabbit_node.url, chaos_processes.service)
    ok_before_kill = len(load.result.ok_ids())
    killed = await asyncio.to_thread(rabbit_node.kill9)
    await asyncio.to_thread(rabbit_node.restart)
    first = await running
    fast = chaos_processes.consumer(concurrency=64)  # beside the slow one, to finish in time
    await fast.wait_consuming()

    # The sender's retry (Stripe's), once the gateway is connected again.
    await gateway.wait_ready(30)
    retry = await Load(gateway.base_url, first.failed_events(events), max_seconds=60).run()

    accepted = first.ok_ids() | retry.ok_ids()
    with contextlib.suppress(AssertionError):  # a shortfall is reported below, as figures
        await eventually(
            lambda: (
                accepted <= {e for k, e, _ in read_records(chaos_processes.records) if k == "done"}
            ),
            60,
            "every accepted event to be handled",
        )
    await asyncio.sleep(1.0)  # let redeliveries in transit land, so duplicates are counted
    statuses = first.statuses()
    figures = Figures(
        "A-broker-kill-9-under-load",
        sent=len(events),
        ok=len(accepted),
        unavailable=statuses[503],
        other=sum(n for status, n in statuses.items() if status != 503 and not 200 <= status < 300)
        + len(first.not_sent),
        dlq=await depth(rabbit_node.url, f"{chaos_processes.service}.dead"),
        extra={
            "first_pass_2xx": len(first.ok_ids()),
            "2xx_before_kill": ok_before_kill,
            "queued_at_kill": queued_at_kill,
            "retried": len(retry.answers),
            "retried_2xx": len(retry.ok_ids()),
            "retried_duplicate": sum(a.body_status == "duplicate" for a in retry.answers.values()),
            "killed_pid": killed,
            "load_seconds": round(first.seconds, 1),
        },
    )
    count_delivery(figures, accepted, read_records(chaos_processes.records))
    figures.report(record_property)

    assert figures.lost == 0, f"accepted but never delivered: {figures.lost_ids}"
    refused = [a for a in first.answers.values() if not a.ok]
    assert refused, "no request was refused: the kill did not land inside the load"
    assert all(a.status == 503 for a in refused), {a.status for a in refused}
    assert all(a.body_status == "unavailable" for a in refused)
    assert all(a.retry_after and int(a.retry_after) > 0 for a in refused)
    assert not first.not_sent
    assert retry.statuses() == {200: len(retry.answers)}, retry.statuses()
    assert ok_before_kill > 0
    assert queued_at_kill > 0, "no accepted event was waiting in the queue at the kill"
    assert figures.dlq == 0
