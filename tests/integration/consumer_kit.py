"""Integration helpers for consumer services: publish as the gateway does, run a worker
in-process, run `hookgate consume` as a real process, and clean up queues."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiormq
import orjson
from pamqp.commands import Basic
from prometheus_client import CollectorRegistry

from consumers import Service
from consumers.metrics import ConsumerMetrics
from consumers.worker import Worker
from gateway.message import build_properties
from hookgate import message_auth
from hookgate.routing import routing_key
from hookgate.topology import all_queues
from providers import VerifiedEvent
from tests.integration.broker import AMQP_URL

REPO = Path(__file__).resolve().parents[2]


def service_name() -> str:
    return f"hgt-{uuid.uuid4().hex[:10]}"


async def delete_queues(names: list[str]) -> None:
    connection = await aiormq.connect(AMQP_URL)
    try:
        channel = await connection.channel()
        for name in names:
            await channel.queue_delete(name)
    finally:
        await connection.close()


async def publish_event(
    channel: aiormq.abc.AbstractChannel,
    exchange: str,
    *,
    source: str = "shop",
    event_type: str = "order.created",
    body: dict[str, Any] | None = None,
    event_id: str | None = None,
    key: str | None = None,
) -> str:
    """Publish an event exactly as the gateway would (same properties and headers), signed
    with `key` as with `[broker] message_key = key`."""
    event_id = event_id or f"evt_{uuid.uuid4().hex}"
    raw = orjson.dumps(body if body is not None else {"id": event_id})
    properties = build_properties(
        source=source,
        provider="test",
        event=VerifiedEvent(id=event_id, type=event_type),
        headers={"content-type": "application/json", "x-test": "yes"},
        received_at=time.time(),
    )
    if key is not None:
        headers = dict(properties.headers or {})
        headers[message_auth.HEADER] = message_auth.sign(key.encode(), raw, headers)
        properties.headers = headers
    confirm = await channel.basic_publish(
        raw,
        exchange=exchange,
        routing_key=routing_key(source, event_type),
        properties=properties,
        mandatory=True,
    )
    assert isinstance(confirm, Basic.Ack)
    return event_id


async def queue_depth(channel: aiormq.abc.AbstractChannel, queue: str) -> int:
    declared = await channel.queue_declare(queue, passive=True)
    return int(declared.message_count or 0)


async def depth_is(channel: aiormq.abc.AbstractChannel, queue: str, expected: int) -> bool:
    return await queue_depth(channel, queue) == expected


async def eventually(check: Callable[[], Any], seconds: float, what: str) -> Any:
    """Poll `check` (sync or async) until it returns something truthy."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds}s waiting for {what}")
        await asyncio.sleep(0.05)


async def while_progressing(
    check: Callable[[], Any],
    progress: Callable[[], Any],
    *,
    stall: float,
    what: str,
    ceiling: float = 900.0,
) -> Any:
    """Poll `check` (sync or async) until it returns something truthy. Fail only when
    `progress()` (sync or async) has returned the same value for `stall` seconds, or after
    `ceiling`: on a loaded machine slow is not stuck, so the deadline moves while work is done."""
    started = last_change = time.monotonic()
    seen: Any = None
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        now_seen = progress()
        if asyncio.iscoroutine(now_seen):
            now_seen = await now_seen
        now = time.monotonic()
        if now_seen != seen:
            seen, last_change = now_seen, now
        if now - last_change > stall:
            raise AssertionError(
                f"no progress for {stall}s waiting for {what} (last progress: {seen!r})"
            )
        if now - started > ceiling:
            raise AssertionError(f"still progressing after {ceiling}s waiting for {what}")
        await asyncio.sleep(0.1)


def cpu_ticks(pid: int) -> int:
    """CPU time a process has used, in clock ticks (0 once it is gone): a process starting up
    on a loaded machine shows progress here before it writes a line."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15)


class RunningWorker:
    def __init__(self, worker: Worker, registry: CollectorRegistry, service: Service) -> None:
        self.worker = worker
        self.registry = registry
        self.service = service

    def count(self, handler: str, outcome: str) -> float:
        value = self.registry.get_sample_value(
            "hookgate_consumer_events_total",
            {"service": self.service.name, "handler": handler, "outcome": outcome},
        )
        return value or 0.0


@contextlib.asynccontextmanager
async def running_worker(
    service: Service, exchange: str, url: str = AMQP_URL, **options: Any
) -> AsyncIterator[RunningWorker]:
    """The real worker against the real broker, in this event loop; stopped gracefully."""
    registry = CollectorRegistry()
    worker = Worker(
        service,
        url=url,
        exchange=exchange,
        metrics=ConsumerMetrics(registry, service),
        **options,
    )
    task = asyncio.create_task(worker.run())
    try:
        async with asyncio.timeout(20):
            await worker.consuming.wait()
        yield RunningWorker(worker, registry, service)
    finally:
        worker.stop()
        async with asyncio.timeout(30):
            await task


class ConsumerProcess:
    """`hookgate consume tests.integration.consumer_services:service` as a real process."""

    def __init__(
        self,
        workdir: Path,
        exchange: str,
        env: dict[str, str],
        *args: str,
        service: str = "tests.integration.consumer_services:service",
        broker_url: str = AMQP_URL,
        broker_toml: str = "",
    ) -> None:
        self.log = workdir / f"consumer-{uuid.uuid4().hex[:6]}.log"
        config = workdir / f"broker-{uuid.uuid4().hex[:6]}.toml"
        config.write_text(f'[broker]\nurl = "{broker_url}"\nexchange = "{exchange}"\n{broker_toml}')
        command = [
            sys.executable,
            "-m",
            "gateway",
            "consume",
            "-c",
            str(config),
            service,
            "--metrics-port",
            "0",
            *args,
        ]
        full_env = {**os.environ, **env}
        full_env.pop("HOOKGATE_BROKER_URL", None)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=REPO, env=full_env, stdout=log, stderr=subprocess.STDOUT
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    async def wait_consuming(self, stall: float = 30) -> None:
        """Until it logs `consuming` (its queues declared, its consumer registered). Waits as
        long as the process keeps using CPU or writing its log: start-up on a loaded machine
        is slow, not stuck."""
        await while_progressing(
            lambda: (
                b'"msg":"consuming"' in self.log.read_bytes() or self.process.poll() is not None
            ),
            lambda: (cpu_ticks(self.pid), self.log.stat().st_size),
            stall=stall,
            what=f"the consumer to start (its log: {self.log})",
        )
        assert self.process.poll() is None, self.output()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        self.process.send_signal(sig)

    async def wait_exit(self, seconds: float = 30) -> int:
        await eventually(lambda: self.process.poll() is not None, seconds, "the consumer to exit")
        return self.process.returncode

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        """SIGKILL the consumer if it is still running and reap it. Safe to call twice."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)


def read_records(path: Path) -> list[tuple[str, str, int]]:
    """The `(start|done, event_id, pid)` lines a recording consumer service appended."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3:  # a line cut by kill -9 mid-write is ignored
            rows.append((parts[0], parts[1], int(parts[2])))
    return rows


def queues_of(service: Service) -> list[str]:
    return all_queues(service)


async def publish_raw(
    channel: aiormq.abc.AbstractChannel,
    queue: str,
    body: bytes,
    headers: dict[str, Any],
    *,
    message_id: str | None = None,
) -> None:
    """Publish straight to `queue` (default exchange), as anyone with write access could."""
    confirm = await channel.basic_publish(
        body,
        routing_key=queue,
        properties=Basic.Properties(headers=headers, delivery_mode=2, message_id=message_id),
        mandatory=True,
    )
    assert isinstance(confirm, Basic.Ack)


def broker_config(directory: Path, exchange: str, extra: str = "") -> str:
    """A config file with only a `[broker]` table (plus `extra` lines in it)."""
    path = directory / f"broker-{uuid.uuid4().hex[:6]}.toml"
    path.write_text(f'[broker]\nurl = "{AMQP_URL}"\nexchange = "{exchange}"\n{extra}')
    return str(path)
