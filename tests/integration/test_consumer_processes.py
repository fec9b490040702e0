"""Real `hookgate consume` processes, killed and stopped mid-work: nothing is lost.

Each test counts, by event ID, what handlers started and finished (records appended by
tests.integration.consumer_services) and what is left in the queues.
"""

from __future__ import annotations

import asyncio
import collections
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiormq
import orjson
import pytest

from consumers import Service
from consumers.dlq import peek
from hookgate.topology import all_queues
from tests.integration.broker import AMQP_URL
from tests.integration.consumer_kit import (
    ConsumerProcess,
    delete_queues,
    depth_is,
    eventually,
    publish_event,
    queue_depth,
    read_records,
    service_name,
)

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


class Harness:
    def __init__(self, workdir: Path, exchange: str) -> None:
        self.workdir = workdir
        self.exchange = exchange
        self.name = service_name()
        self.records = workdir / "records.txt"
        self.processes: list[ConsumerProcess] = []

    def start(
        self, service: str | None = None, drain: str = "10", broker_toml: str = "", **env: str
    ) -> ConsumerProcess:
        process = ConsumerProcess(
            self.workdir,
            self.exchange,
            {"HG_TEST_SERVICE": self.name, "HG_TEST_RECORD": str(self.records), **env},
            "--drain-timeout",
            drain,
            broker_toml=broker_toml,
            **({"service": service} if service else {}),
        )
        self.processes.append(process)
        return process

    def rows(self) -> list[tuple[str, str, int]]:
        return read_records(self.records)

    def count(self, what: str) -> collections.Counter[str]:
        return collections.Counter(event_id for kind, event_id, _ in self.rows() if kind == what)


@pytest.fixture
async def harness(tmp_path: Path, exchange: str) -> AsyncIterator[Harness]:
    h = Harness(tmp_path, exchange)
    yield h
    for process in h.processes:
        process.stop()
    await delete_queues(all_queues(Service(h.name, retry_delays=(1,))))


async def test_kill_9_mid_handler_redelivers_to_the_next_consumer(
    harness: Harness, confirm_channel: aiormq.abc.AbstractChannel
) -> None:
    first = harness.start()
    await first.wait_consuming()
    event_id = await publish_event(
        confirm_channel, harness.exchange, body={"behaviour": "slow", "seconds": 30}
    )
    await eventually(lambda: harness.count("start")[event_id] == 1, 10, "the handler to start")
    first.kill(signal.SIGKILL)
    assert await first.wait_exit() == -signal.SIGKILL

    second = harness.start()
    await second.wait_consuming()
    # The redelivery is the same slow event; let it run, then check it finished once.
    await eventually(lambda: harness.count("start")[event_id] == 2, 15, "the redelivery")
    starts = [pid for kind, eid, pid in harness.rows() if kind == "start" and eid == event_id]
    assert starts == [first.process.pid, second.process.pid]
    assert harness.count("done")[event_id] == 0  # still in its 30 s sleep
    second.kill(signal.SIGKILL)
    await second.wait_exit()
    await eventually(  # back in the queue once the broker sees the connection gone: not lost
        lambda: depth_is(confirm_channel, harness.name, 1), 10, "the event back in the queue"
    )


async def test_completed_event_is_not_run_twice_after_kill_9_before_the_ack(
    harness: Harness, confirm_channel: aiormq.abc.AbstractChannel, tmp_path: Path
) -> None:
    store = str(tmp_path / "done.sqlite3")
    # This process kills itself right after marking the event done, before acking it.
    first = harness.start(HG_TEST_IDEMPOTENCY=store, HG_TEST_KILL_AFTER_MARK="1")
    await first.wait_consuming()
    event_id = await publish_event(confirm_channel, harness.exchange)
    assert await first.wait_exit() == -signal.SIGKILL
    assert harness.count("done")[event_id] == 1

    second = harness.start(HG_TEST_IDEMPOTENCY=store)
    await second.wait_consuming()
    await eventually(
        lambda: b"already completed; skipped" in second.log.read_bytes(), 15, "the duplicate"
    )
    second.kill(signal.SIGTERM)
    assert await second.wait_exit() == 0
    assert harness.count("start")[event_id] == 1  # the handler did not run again
    await _settle()
    assert await queue_depth(confirm_channel, harness.name) == 0  # and the redelivery was acked


async def test_sigterm_under_load_loses_nothing_and_runs_nothing_twice(
    harness: Harness, confirm_channel: aiormq.abc.AbstractChannel
) -> None:
    first = harness.start(HG_TEST_CONCURRENCY="8")
    await first.wait_consuming()
    sent = [
        await publish_event(
            confirm_channel, harness.exchange, body={"behaviour": "slow", "seconds": 0.05}
        )
        for _ in range(300)
    ]
    await eventually(lambda: len(harness.count("done")) >= 40, 20, "some events to finish")
    first.kill(signal.SIGTERM)
    assert await first.wait_exit(20) == 0, first.output()
    stopped_at = len(harness.count("done"))
    assert stopped_at < len(sent), "the first consumer finished everything: no test"
    assert "stopping" in first.output()

    second = harness.start(HG_TEST_CONCURRENCY="32")
    await second.wait_consuming()
    await eventually(lambda: len(harness.count("done")) == len(sent), 60, "every event")
    second.kill(signal.SIGTERM)
    assert await second.wait_exit(20) == 0

    done, started = harness.count("done"), harness.count("start")
    assert set(done) == set(sent)  # nothing lost
    assert max(done.values()) == 1  # nothing processed twice
    assert max(started.values()) == 1  # nothing even started twice: the drain finished it
    await _settle()
    assert await queue_depth(confirm_channel, harness.name) == 0


async def test_a_stuck_sync_handler_does_not_keep_a_stopped_worker_alive(
    harness: Harness, confirm_channel: aiormq.abc.AbstractChannel
) -> None:
    process = harness.start("tests.integration.consumer_services:sync_service", drain="1")
    await process.wait_consuming()
    event_id = await publish_event(confirm_channel, harness.exchange, body={"seconds": 120})
    await eventually(lambda: harness.count("start")[event_id] == 1, 10, "the handler to start")
    started = time.monotonic()
    process.kill(signal.SIGTERM)
    assert await process.wait_exit(15) == 0, process.output()
    assert time.monotonic() - started < 10
    assert "sync handlers still running" in process.output()
    await eventually(  # not acked: back in the queue for another worker
        lambda: depth_is(confirm_channel, harness.name, 1), 10, "the event back in the queue"
    )


async def test_a_stop_with_no_handler_running_neither_warns_nor_forces_the_exit(
    harness: Harness, confirm_channel: aiormq.abc.AbstractChannel
) -> None:
    process = harness.start("tests.integration.consumer_services:sync_service", drain="5")
    await process.wait_consuming()
    # Two quick events leave idle threads in the sync handlers' pool.
    ids = [
        await publish_event(confirm_channel, harness.exchange, body={"seconds": 0}) for _ in "ab"
    ]
    await eventually(lambda: set(harness.count("done")) == set(ids), 10, "both handlers")
    process.kill(signal.SIGTERM)
    assert await process.wait_exit(15) == 0, process.output()
    assert "sync handlers still running" not in process.output()


async def test_handler_loggers_and_every_outcome_print_as_json_lines(
    harness: Harness, confirm_channel: aiormq.abc.AbstractChannel
) -> None:
    process = harness.start()
    await process.wait_consuming()
    event_id = await publish_event(confirm_channel, harness.exchange, body={"behaviour": "log"})
    await eventually(lambda: harness.count("done")[event_id] == 1, 10, "the handler")
    process.kill(signal.SIGTERM)
    assert await process.wait_exit(15) == 0
    lines = [orjson.loads(line) for line in process.log.read_bytes().splitlines()]
    [consuming] = [line for line in lines if line["msg"] == "consuming"]
    assert consuming["message_authentication"] is False  # no [broker] message_key
    [own] = [line for line in lines if line["logger"] == "hgtest.app"]
    assert (own["level"], own["msg"]) == ("info", "the handler's own line")
    [outcome] = [line for line in lines if line.get("outcome")]
    assert outcome["msg"] == "event handled"
    assert outcome["level"] == "info"
    assert outcome["service"] == harness.name
    assert (outcome["handler"], outcome["event_id"]) == ("handle", event_id)
    assert (outcome["outcome"], outcome["attempt"]) == ("success", 1)
    assert isinstance(outcome["duration_ms"], float)
    assert "body" not in outcome


async def test_consume_with_a_message_key_handles_only_signed_events(
    harness: Harness, confirm_channel: aiormq.abc.AbstractChannel
) -> None:
    key = "process-test-key-0123456789"
    process = harness.start(broker_toml=f'message_key = ["{key}", "an-older-key-0123456789"]\n')
    await process.wait_consuming()
    signed = await publish_event(confirm_channel, harness.exchange, key="an-older-key-0123456789")
    unsigned = await publish_event(confirm_channel, harness.exchange)
    await eventually(lambda: _dead(confirm_channel, harness.name), 10, "the dead letter")
    await eventually(lambda: harness.count("done")[signed] == 1, 10, "the signed event")
    process.kill(signal.SIGTERM)
    assert await process.wait_exit() == 0
    assert harness.count("start")[unsigned] == 0
    total, [letter] = await peek(AMQP_URL, f"{harness.name}.dead", 10)
    assert (total, letter.event_id, letter.error_type) == (1, unsigned, "Unauthenticated")
    output = process.output()
    assert '"message_authentication":true' in output
    assert key not in output


async def test_poison_message_is_dead_lettered_by_the_delivery_limit(
    harness: Harness, confirm_channel: aiormq.abc.AbstractChannel
) -> None:
    process = harness.start(HG_TEST_DELIVERY_LIMIT="2")
    await process.wait_consuming()
    event_id = await publish_event(confirm_channel, harness.exchange, body={"behaviour": "crash"})
    crashes = 0
    for _ in range(6):  # bounded: a limit of 2 dead-letters after the third delivery
        await eventually(
            lambda p=process: p.process.poll() is not None or _dead(confirm_channel, harness.name),
            20,
            "a crash or the dead-letter",
        )
        if process.process.poll() is None:
            break  # dead-lettered: this consumer has nothing to crash on
        crashes += 1
        process = harness.start(HG_TEST_DELIVERY_LIMIT="2")
    await process.wait_consuming()
    process.kill(signal.SIGTERM)
    assert await process.wait_exit() == 0

    total, [letter] = await peek(AMQP_URL, f"{harness.name}.dead", 10)
    assert total == 1
    assert letter.event_id == event_id
    assert letter.reason == "delivery_limit"
    assert letter.error_type == "DeliveryLimitExceeded"
    assert crashes == 3
    assert harness.count("start")[event_id] == 3
    await _settle()
    assert await queue_depth(confirm_channel, harness.name) == 0


async def _settle() -> None:
    """Give the broker time to requeue whatever a closed connection left unacked, so that an
    empty queue below means acked, not in transit."""
    await asyncio.sleep(1.0)


async def _dead(channel: aiormq.abc.AbstractChannel, name: str) -> bool:
    return await queue_depth(channel, f"{name}.dead") > 0
