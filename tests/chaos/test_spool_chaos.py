"""The spool under real faults, on a RabbitMQ node the test owns and kills.

D: the broker down for a stretch: every event answered 200 `spooled`, none refused; forwarded
   after recovery, and handled in the order it arrived.
E: the spool full: the rest answered 503 + Retry-After; nothing the spool took is lost, and the
   sender's retries land once the broker is back.
F: the gateway killed (-9) with events in its spool: the next start forwards them.
G: the gateway SIGTERMed mid-load: no 2xx'd event lost, no request it started left unanswered.
H: a broker memory alarm (connection.blocked): events are spooled at once, not after the
   publish timeout, and forwarded when the alarm clears.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import signal
import time
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from consumers.dlq import depth
from tests.chaos.conftest import ChaosProcesses
from tests.chaos.figures import Figures, count_delivery
from tests.chaos.load import NO_ANSWER, Load, LoadResult, github_events
from tests.chaos.node import RabbitNode
from tests.chaos.processes import GatewayProcess, eventually, read_records

pytestmark = [pytest.mark.anyio, pytest.mark.chaos]


def _spool(workdir: Path, max_bytes: int = 1 << 30) -> str:
    return (
        f'[spool]\nenabled = true\npath = "{workdir / "spool.sqlite3"}"\nmax_bytes = {max_bytes}\n'
    )


async def _start(
    chaos: ChaosProcesses, *, consumer_concurrency: int = 16, **gateway: object
) -> GatewayProcess:
    consumer = chaos.consumer(concurrency=consumer_concurrency)
    await consumer.wait_consuming()  # its queue is bound before the first event
    process = chaos.gateway(**gateway)  # type: ignore[arg-type]
    await process.wait_ready()
    await asyncio.sleep(2)  # a quorum queue declared just before a kill -9 can come back empty
    return process


def _done(chaos: ChaosProcesses) -> list[str]:
    return [event_id for kind, event_id, _ in read_records(chaos.records) if kind == "done"]


async def _all_handled(chaos: ChaosProcesses, accepted: set[str], seconds: float) -> None:
    with contextlib.suppress(AssertionError):  # a shortfall shows in the figures, then fails
        await eventually(lambda: accepted <= set(_done(chaos)), seconds, "every 2xx handled")
    await asyncio.sleep(1.0)  # let redeliveries in transit land, so duplicates are counted


async def _spool_rows(chaos: ChaosProcesses) -> int:
    import sqlite3

    def count() -> int:
        with contextlib.closing(sqlite3.connect(chaos.workdir / "spool.sqlite3")) as db:
            return int(db.execute("SELECT count(*) FROM events").fetchone()[0])

    return await asyncio.to_thread(count)


def _report(
    figures: Figures,
    accepted: set[str],
    chaos: ChaosProcesses,
    record_property: Callable[[str, object], None],
) -> None:
    count_delivery(figures, accepted, read_records(chaos.records))
    figures.report(record_property)
    assert figures.lost == 0, f"lost 2xx'd events: {figures.lost_ids}"


async def test_d_broker_down_everything_is_spooled_then_handled_in_arrival_order(
    rabbit_node: RabbitNode,
    chaos_processes: ChaosProcesses,
    record_property: Callable[[str, object], None],
) -> None:
    chaos = chaos_processes
    gateway = await _start(chaos, consumer_concurrency=1, extra_toml=_spool(chaos.workdir))
    await asyncio.to_thread(rabbit_node.kill9)
    events = github_events(400)
    # One at a time, so the arrival order is the sending order.
    down = await Load(gateway.base_url, events, concurrency=1, max_seconds=60).run()
    spooled = {e for e, a in down.answers.items() if a.body_status == "spooled"}
    assert down.statuses() == {200: len(events)}, down.statuses()
    assert len(spooled) == len(events)
    assert (await _spool_rows(chaos)) == len(events)

    await asyncio.to_thread(rabbit_node.restart)
    await gateway.wait_ready(30)
    accepted = down.ok_ids()
    await _all_handled(chaos, accepted, 60)
    handled = _done(chaos)
    first_seen = list(dict.fromkeys(handled))
    figures = Figures(
        "D-broker-down-spooled",
        sent=len(events),
        ok=len(accepted),
        unavailable=down.statuses()[503],
        extra={
            "spooled": len(spooled),
            "in_order": first_seen == [e.event_id for e in events],
            "spool_rows_after": await _spool_rows(chaos),
        },
    )
    _report(figures, accepted, chaos, record_property)
    assert first_seen == [e.event_id for e in events]  # arrival order, end to end
    assert figures.extra["spool_rows_after"] == 0


async def test_e_full_spool_refuses_with_503_and_loses_nothing_it_took(
    rabbit_node: RabbitNode,
    chaos_processes: ChaosProcesses,
    record_property: Callable[[str, object], None],
) -> None:
    chaos = chaos_processes
    room = 60 * 700  # about 60 GitHub deliveries of this size
    gateway = await _start(chaos, extra_toml=_spool(chaos.workdir, max_bytes=room))
    await asyncio.to_thread(rabbit_node.kill9)
    events = github_events(150)
    down = await Load(gateway.base_url, events, concurrency=4, max_seconds=60).run()
    statuses = down.statuses()
    refused = [a for a in down.answers.values() if a.status == 503]
    assert set(statuses) == {200, 503}, statuses
    assert all(a.body_status == "unavailable" and a.retry_after for a in refused)

    await asyncio.to_thread(rabbit_node.restart)
    await gateway.wait_ready(30)
    retry = await Load(gateway.base_url, down.failed_events(events), max_seconds=60).run()
    accepted = down.ok_ids() | retry.ok_ids()
    await _all_handled(chaos, accepted, 60)
    figures = Figures(
        "E-spool-full",
        sent=len(events),
        ok=len(accepted),
        unavailable=statuses[503],
        extra={
            "spooled": len(down.ok_ids()),
            "retried": len(retry.answers),
            "retried_2xx": len(retry.ok_ids()),
        },
    )
    _report(figures, accepted, chaos, record_property)
    assert retry.ok_ids() == down.failed_ids()  # every refused event got in on its retry


async def test_f_gateway_kill_9_with_a_full_spool_the_next_start_forwards_it(
    rabbit_node: RabbitNode,
    chaos_processes: ChaosProcesses,
    record_property: Callable[[str, object], None],
) -> None:
    chaos = chaos_processes
    gateway = await _start(chaos, extra_toml=_spool(chaos.workdir))
    await asyncio.to_thread(rabbit_node.kill9)
    events = github_events(600)
    load = Load(gateway.base_url, events, concurrency=16, max_seconds=60)
    running = asyncio.create_task(load.run())
    await eventually(lambda: load.answered >= 300, 30, "half the events answered")
    gateway.signal(signal.SIGKILL)
    first = await running
    spooled_rows = await _spool_rows(chaos)
    assert len(first.ok_ids()) <= spooled_rows  # every 2xx is in the file

    await asyncio.to_thread(rabbit_node.restart)
    restarted = chaos.restart_gateway(gateway)
    await restarted.wait_ready(30)
    accepted = first.ok_ids()
    await _all_handled(chaos, accepted, 60)
    figures = Figures(
        "F-gateway-kill-9-with-spool",
        sent=len(events),
        ok=len(accepted),
        other=sum(1 for a in first.answers.values() if not a.ok) + len(first.not_sent),
        extra={"spool_rows_at_kill": spooled_rows, "no_answer": _no_answer(first)},
    )
    _report(figures, accepted, chaos, record_property)


async def test_g_gateway_sigterm_mid_load_answers_what_it_started_and_loses_nothing(
    rabbit_node: RabbitNode,
    chaos_processes: ChaosProcesses,
    record_property: Callable[[str, object], None],
) -> None:
    chaos = chaos_processes
    gateway = await _start(chaos, extra_toml=_spool(chaos.workdir), log_level="info")
    events = github_events(2000)
    load = Load(gateway.base_url, events, concurrency=32, rate=250, max_seconds=60)
    running = asyncio.create_task(load.run())
    await eventually(lambda: load.answered >= 400, 30, "the load to be under way")
    signalled = time.monotonic()
    gateway.signal(signal.SIGTERM)
    await eventually(lambda: gateway.process.poll() is not None, 30, "the gateway to exit")
    stopped_after = time.monotonic() - signalled
    result = await running
    # A request the gateway started is answered, then logged: no logged request may be one the
    # client got no answer for (that would be a request cut off mid-way).
    logged = _logged_event_ids(gateway)
    unanswered = {e for e, a in result.answers.items() if a.status == NO_ANSWER}
    accepted = result.ok_ids()
    await _all_handled(chaos, accepted, 60)
    figures = Figures(
        "G-gateway-sigterm-mid-load",
        sent=len(events),
        ok=len(accepted),
        unavailable=result.statuses()[503],
        other=len(unanswered) + len(result.not_sent),
        extra={
            "exit_code": gateway.process.returncode,
            "stopped_after_s": round(stopped_after, 1),
            "refused_after_close": len(unanswered),
            "no_answer_errors": "/".join(
                f"{error}:{n}"
                for error, n in collections.Counter(
                    result.answers[e].error for e in unanswered
                ).most_common()
            ),
            "cut_off_mid_request": len(unanswered & logged),
        },
    )
    _report(figures, accepted, chaos, record_property)
    # uvicorn re-raises the SIGTERM it handled once it is done, so a clean stop exits by it.
    assert gateway.process.returncode in (0, -signal.SIGTERM), gateway.output()
    assert not unanswered & logged
    assert set(result.statuses()) <= {200, NO_ANSWER}, result.statuses()


async def test_h_broker_memory_alarm_spools_at_once_and_forwards_after(
    rabbit_node: RabbitNode,
    chaos_processes: ChaosProcesses,
    record_property: Callable[[str, object], None],
) -> None:
    chaos = chaos_processes
    gateway = await _start(chaos, extra_toml=_spool(chaos.workdir), publish_timeout=5.0)
    warmup = await Load(gateway.base_url, github_events(5), concurrency=1).run()
    assert warmup.statuses() == {200: 5}
    await asyncio.to_thread(rabbit_node.ctl, "set_vm_memory_high_watermark", "absolute", "1")
    try:
        events = github_events(200)
        started = time.monotonic()
        alarm = await Load(gateway.base_url, events, concurrency=8, max_seconds=120).run()
        seconds = time.monotonic() - started
    finally:
        await asyncio.to_thread(rabbit_node.ctl, "set_vm_memory_high_watermark", "0.4")
    spooled = {e for e, a in alarm.answers.items() if a.body_status == "spooled"}
    assert alarm.statuses() == {200: len(events)}, alarm.statuses()
    accepted = alarm.ok_ids() | warmup.ok_ids()
    await _all_handled(chaos, accepted, 60)
    figures = Figures(
        "H-broker-memory-alarm",
        sent=len(events),
        ok=len(alarm.ok_ids()),
        extra={"spooled": len(spooled), "load_seconds": round(seconds, 1)},
    )
    _report(figures, accepted, chaos, record_property)
    # Only the first publish after the alarm waits out the 5 s timeout; the rest see the
    # blocked connection and go straight to the spool.
    assert len(spooled) >= len(events) - 8
    assert seconds < 30
    assert await depth(rabbit_node.url, chaos.service) == 0


def _no_answer(result: LoadResult) -> int:
    return sum(1 for a in result.answers.values() if a.status == NO_ANSWER)


def _logged_event_ids(gateway: GatewayProcess) -> set[str]:
    ids = set()
    for line in gateway.log.read_text(errors="replace").splitlines():
        if '"logger":"hookgate.request"' in line:
            event_id = orjson.loads(line).get("event_id")
            if event_id:
                ids.add(event_id)
    return ids
