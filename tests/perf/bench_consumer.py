"""Consumer throughput beside a bare aio-pika loop, and end-to-end latency, in one run.

    .venv/bin/python -m tests.perf.bench_consumer [--events 20000] [--rounds 3]
                                                  [--rate 200] [--seconds 15]

Throughput: the same quorum queue is filled with N gateway-shaped events, then drained by
(a) a bare aio-pika consume-and-ack loop (prefetch 256), (b) hookgate's worker running a
no-op async handler (concurrency 256) and (c) the same worker emitting event status (the
ledger on: `running` and `completed` per event through a `StatusPublisher`, into a queue
bound like the recorder's), all on uvloop in this process; rounds interleave and the median
is reported as a ratio of bare.

Latency: a real `hookgate serve` and a real `hookgate consume` process; signed GitHub
deliveries are POSTed at a steady rate; for each event, the time from the gateway's 200
reaching the client, and from the request being sent, to the handler's start. Needs the local
RabbitMQ.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import aio_pika
import aiormq
import httpx
import uvloop
from pamqp.commands import Basic
from prometheus_client import CollectorRegistry

from consumers import Event, Service
from consumers.metrics import ConsumerMetrics
from consumers.status_observer import ConsumerStatus
from consumers.worker import Worker
from gateway.message import build_properties
from hookgate.status_publisher import StatusPublisher
from hookgate.topology import (
    all_queues,
    declare_service_topology,
    declare_status_exchange,
    status_exchange,
)
from providers import VerifiedEvent
from providers.testing import sign_request

AMQP_URL = os.environ.get("HOOKGATE_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
EXCHANGE = "hg-bench-consumer"
REPO = Path(__file__).resolve().parents[2]


async def _fill(queue: str, count: int) -> None:
    connection = await aiormq.connect(AMQP_URL)
    channel = await connection.channel(publisher_confirms=True)
    body = b'{"id": "evt", "type": "order.created", "data": {"total": 42}}' + b" " * 900
    pending: set[asyncio.Future[object]] = set()
    for _ in range(count):
        event_id = uuid.uuid4().hex
        properties = build_properties(
            source="shop",
            provider="hmac",
            event=VerifiedEvent(id=event_id, type="order.created"),
            headers={"content-type": "application/json", "user-agent": "bench"},
            received_at=time.time(),
        )
        pending.add(
            asyncio.ensure_future(
                channel.basic_publish(body, routing_key=queue, properties=properties)
            )
        )
        if len(pending) >= 512:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for future in done:
                assert isinstance(future.result(), Basic.Ack)
    for future in pending:
        assert isinstance(await future, Basic.Ack)
    await connection.close()


async def _bare(queue: str, count: int) -> float:
    connection = await aio_pika.connect(AMQP_URL)
    channel = await connection.channel()
    await channel.set_qos(prefetch_count=256)
    q = await channel.get_queue(queue, ensure=False)
    done = asyncio.Event()
    seen = 0

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        nonlocal seen
        await message.ack()
        seen += 1
        if seen >= count:
            done.set()

    started = time.perf_counter()
    await q.consume(on_message)
    await done.wait()
    elapsed = time.perf_counter() - started
    await connection.close()
    return count / elapsed


async def _hookgate(service_name: str, count: int, *, status: bool = False) -> float:
    done = asyncio.Event()
    seen = 0
    service = Service(service_name, concurrency=256)

    @service.handler("#")
    async def nothing(event: Event) -> None:
        nonlocal seen
        seen += 1
        if seen >= count:
            done.set()

    publisher = StatusPublisher(AMQP_URL, EXCHANGE) if status else None
    worker = Worker(
        service,
        url=AMQP_URL,
        exchange=EXCHANGE,
        metrics=ConsumerMetrics(CollectorRegistry(), service),
        observers=[ConsumerStatus(publisher, service)] if publisher else [],
    )
    if publisher is not None:
        await publisher.start()
    task = asyncio.create_task(worker.run())
    await worker.consuming.wait()
    started = time.perf_counter()
    await done.wait()
    elapsed = time.perf_counter() - started
    worker.stop()
    await task
    if publisher is not None:
        await publisher.close()
        assert publisher.dropped == 0, f"{publisher.dropped} status messages dropped"
    return count / elapsed


async def _status_queue(channel: aiormq.abc.AbstractChannel) -> str:
    """A queue that takes the status messages, as the recorder's does (emptied each round)."""
    await declare_status_exchange(channel, EXCHANGE)
    queue = f"{status_exchange(EXCHANGE)}.bench"
    await channel.queue_declare(queue, durable=True, arguments={"x-queue-type": "quorum"})
    await channel.queue_bind(queue, status_exchange(EXCHANGE), "#")
    return queue


async def throughput(events: int, rounds: int) -> None:
    name = f"hg-bench-{uuid.uuid4().hex[:6]}"
    service = Service(name)
    service.handler("#")(lambda event: None)
    connection = await aiormq.connect(AMQP_URL)
    await declare_service_topology(connection, service, EXCHANGE)
    channel = await connection.channel()
    status_queue = await _status_queue(channel)
    contenders: dict[str, Callable[[], Awaitable[float]]] = {
        "bare aio-pika consume+ack": lambda: _bare(name, events),
        "hookgate worker, no-op": lambda: _hookgate(name, events),
        "  + event status (ledger on)": lambda: _hookgate(name, events, status=True),
    }
    results: dict[str, list[float]] = {label: [] for label in contenders}
    try:
        for _ in range(rounds):
            for label, run in contenders.items():
                await _fill(name, events)
                await channel.queue_purge(status_queue)
                rate = await run()
                results[label].append(rate)
                print(f"  {label:<30} {rate:9,.0f} events/s", flush=True)
    finally:
        for queue in [*all_queues(service), status_queue]:
            await channel.queue_delete(queue)
        await channel.exchange_delete(status_exchange(EXCHANGE))
        await connection.close()
    medians = {label: statistics.median(rates) for label, rates in results.items()}
    bare = medians["bare aio-pika consume+ack"]
    print(f"\nthroughput, {events} events x {rounds} rounds (median):")
    for label, rate in medians.items():
        print(f"  {label:<30} {rate:9,.0f} events/s  {rate / bare:.2f}x")
    off, on = medians["hookgate worker, no-op"], medians["  + event status (ledger on)"]
    print(f"  event status on vs off: {on / off:.2f}x")


def _start(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "gateway", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=REPO,
        env=env,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def latency(rate: float, seconds: float) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="hg-bench-"))
    secret = secrets.token_hex(16)
    name = f"hg-bench-{uuid.uuid4().hex[:6]}"
    port = _free_port()
    config = tmp / "hookgate.toml"
    config.write_text(
        f'[broker]\nurl = "{AMQP_URL}"\nexchange = "{EXCHANGE}"\n'
        f'[dedupe]\nbackend = "sqlite"\npath = "{tmp / "dedupe.sqlite3"}"\n'
        f'[sources.github]\nprovider = "github"\nsecrets = ["{secret}"]\n'
    )
    stamps = tmp / "stamps.txt"
    env = {**os.environ, "HG_BENCH_SERVICE": name, "HG_BENCH_STAMPS": str(stamps)}
    env.pop("HOOKGATE_BROKER_URL", None)
    gateway = _start(env, "serve", "-c", str(config), "--port", str(port))
    consumer = _start(
        env,
        "consume",
        "-c",
        str(config),
        "tests.perf.bench_services:stamp",
        "--metrics-port",
        "0",
        "--log-level",
        "warning",
    )
    url = f"http://127.0.0.1:{port}/webhooks/github"
    sent: dict[str, tuple[float, float]] = {}
    try:
        async with httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=64)) as client:
            for _ in range(100):
                try:
                    if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            await asyncio.sleep(2)  # the consumer declares its queue and binds

            async def post(event_id: str, body: bytes, headers: dict[str, str]) -> None:
                before = time.time()
                response = await client.post(url, content=body, headers=headers)
                if response.status_code == 200:
                    sent[event_id] = (before, time.time())

            total = int(rate * seconds)
            requests = []
            for _ in range(total):
                event_id = str(uuid.uuid4())
                body = b'{"action": "opened", "number": 1, "pad": "' + b"x" * 900 + b'"}'
                headers = sign_request(
                    "github", body, secret, event_id=event_id, event_type="pull_request"
                )
                requests.append((event_id, body, headers))
            start = time.perf_counter()
            tasks = []
            for i, request in enumerate(requests):
                delay = start + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(post(*request)))
            await asyncio.gather(*tasks)
            await asyncio.sleep(2)
    finally:
        for process in (gateway, consumer):
            process.send_signal(signal.SIGTERM)
        for process in (gateway, consumer):
            process.wait(30)
        connection = await aiormq.connect(AMQP_URL)
        channel = await connection.channel()
        for queue in all_queues(Service(name)):
            await channel.queue_delete(queue)
        await connection.close()
    started: dict[str, float] = {}
    for line in stamps.read_text().splitlines():
        event_id, when = line.split()
        started.setdefault(event_id, float(when))
    after_200 = sorted(started[e] - done for e, (_, done) in sent.items() if e in started)
    after_send = sorted(started[e] - before for e, (before, _) in sent.items() if e in started)
    print(
        f"\nend to end at {rate:g} requests/s for {seconds:g}s: {len(sent)} answered 200, "
        f"{len(started)} reached the handler, {len(set(sent) - set(started))} missing"
    )
    for label, values in (
        ("200 at client -> handler start", after_200),
        ("request sent -> handler start", after_send),
    ):
        if values:
            p50 = statistics.median(values) * 1000
            p99 = values[int(len(values) * 0.99) - 1] * 1000
            print(f"  {label:<32} p50 {p50:7.1f} ms   p99 {p99:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args()
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        if not args.skip_throughput:
            runner.run(throughput(args.events, args.rounds))
        if not args.skip_latency:
            runner.run(latency(args.rate, args.seconds))


if __name__ == "__main__":
    main()
