"""Consumer throughput beside a bare aio-pika loop, against concurrency, and end-to-end latency.

    .venv/bin/python -m tests.perf.bench_consumer [--events 20000] [--rounds 3]
        [--sweep 1,8,32,128,256] [--sweep-events 5000] [--rate 200] [--seconds 15]
        [--json PATH] [--skip-throughput] [--skip-sweep] [--skip-latency]

Throughput: a quorum queue is filled with N gateway-shaped events (1 KB bodies, persistent),
then drained by each contender, all on uvloop in this process:

    bare            a bare aio-pika consume-and-ack loop, prefetch 256 (the baseline)
    worker          hookgate's worker, a no-op async handler, concurrency 256
    worker+status   the same, emitting event status (`running` and `completed` per event
                    through a `StatusPublisher`, into a queue bound like the recorder's)
    worker+sqlite   the same with the idempotency store a service names with
                    "sqlite:PATH" (a fresh file each round): a check and a mark per event
    worker+redis    the same with the Redis store (the shared Redis, a key prefix of the run's
                    own, deleted after)

Rounds interleave the contenders (every contender once per round, the queue refilled before
each). Reported per contender: the median rate; the median of the per-round ratios to bare
(each run set against the bare run of its own round, so drift on a shared machine cancels)
and their range; and the median CPU time this process spent per event, all threads (what
the consumer itself costs; steadier than rates when other work shares the cores).

Sweep (the cost curve "consumer throughput against concurrency"): at each level, bare at that
prefetch, the worker at that concurrency, and the worker with the SQLite store; `--sweep-events`
events per run, rounds interleaved the same way.

Latency: a real `hookgate serve` and a real `hookgate consume` process; signed GitHub
deliveries are POSTed at a steady rate; for each event, the time from the gateway's 200
reaching the client, and from the request being sent, to the handler's start.

`--json PATH` writes every figure (per-round rates, medians, ratios, sweep points, latency
percentiles, the machine) for the perf harness. Needs the local RabbitMQ (HOOKGATE_TEST_AMQP_URL)
and, for worker+redis, Redis (HOOKGATE_TEST_REDIS_URL). Queues, exchanges, files and Redis keys
are named per run and deleted after it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aio_pika
import aiormq
import httpx
import redis.asyncio
import uvloop
from pamqp.commands import Basic
from prometheus_client import CollectorRegistry

from consumers import Event, Service
from consumers.idempotency import IdempotencyStore
from consumers.idempotency_redis import RedisIdempotencyStore
from consumers.idempotency_sqlite import SqliteIdempotencyStore
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
    unrouted_name,
)
from providers import VerifiedEvent
from providers.testing import sign_request

AMQP_URL = os.environ.get("HOOKGATE_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
REDIS_URL = os.environ.get("HOOKGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REPO = Path(__file__).resolve().parents[2]
BASELINE = "bare"


@dataclass
class Run:
    """What one run of the benchmark shares: its names, its scratch directory."""

    exchange: str
    queue: str
    tmp: Path
    redis_prefix: str


@dataclass(frozen=True)
class Result:
    """One drain: events/s, and this process's CPU time per event (all its threads), in µs:
    steadier than the rate on a shared machine, though it leaves out the broker's share."""

    rate: float
    cpu_us: float


class _Stopwatch:
    def __init__(self) -> None:
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def result(self, count: int) -> Result:
        wall, cpu = time.perf_counter() - self._wall, time.process_time() - self._cpu
        return Result(count / wall, cpu / count * 1e6)


Drain = Callable[[Run, int, int], Awaitable[Result]]  # (run, events, concurrency)


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


async def _bare(run: Run, count: int, prefetch: int) -> Result:
    connection = await aio_pika.connect(AMQP_URL)
    channel = await connection.channel()
    await channel.set_qos(prefetch_count=prefetch)
    q = await channel.get_queue(run.queue, ensure=False)
    done = asyncio.Event()
    seen = 0

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        nonlocal seen
        await message.ack()
        seen += 1
        if seen >= count:
            done.set()

    clock = _Stopwatch()
    await q.consume(on_message)
    await done.wait()
    result = clock.result(count)
    await connection.close()
    return result


async def _worker(
    run: Run,
    count: int,
    concurrency: int,
    *,
    status: bool = False,
    store: IdempotencyStore | None = None,
) -> Result:
    done = asyncio.Event()
    seen = 0
    service = Service(run.queue, concurrency=concurrency, idempotency=store)

    @service.handler("#")
    async def nothing(event: Event) -> None:
        nonlocal seen
        seen += 1
        if seen >= count:
            done.set()

    publisher = StatusPublisher(AMQP_URL, run.exchange) if status else None
    worker = Worker(
        service,
        url=AMQP_URL,
        exchange=run.exchange,
        metrics=ConsumerMetrics(CollectorRegistry(), service),
        observers=[ConsumerStatus(publisher, service)] if publisher else [],
    )
    if publisher is not None:
        await publisher.start()
    task = asyncio.create_task(worker.run())
    await worker.consuming.wait()
    clock = _Stopwatch()
    await done.wait()
    result = clock.result(count)
    worker.stop()
    await task  # drains: every in-flight mark is written, every delivery acked
    if publisher is not None:
        await publisher.close()
        assert publisher.dropped == 0, f"{publisher.dropped} status messages dropped"
    return result


async def _worker_sqlite(run: Run, count: int, concurrency: int) -> Result:
    path = run.tmp / f"done-{uuid.uuid4().hex[:8]}.sqlite3"
    result = await _worker(run, count, concurrency, store=SqliteIdempotencyStore(str(path)))
    with sqlite3.connect(path) as db:  # the store did its work: a mark per event
        (marked,) = db.execute("SELECT count(*) FROM done").fetchone()
    assert marked >= count, f"{marked} of {count} events marked done"
    return result


async def _worker_redis(run: Run, count: int, concurrency: int) -> Result:
    prefix = f"{run.redis_prefix}{uuid.uuid4().hex[:8]}:"
    store = RedisIdempotencyStore(REDIS_URL, key_prefix=prefix, ttl_seconds=3600)
    result = await _worker(run, count, concurrency, store=store)
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=1000)]
        assert len(keys) >= count, f"{len(keys)} of {count} events marked done"
        for i in range(0, len(keys), 1000):
            await client.delete(*keys[i : i + 1000])
    finally:
        await client.aclose()
    return result


CONTENDERS: dict[str, tuple[str, Drain]] = {
    "bare": ("bare aio-pika consume+ack", _bare),
    "worker": ("hookgate worker, no-op", _worker),
    "worker+status": (
        "  + event status (ledger on)",
        lambda r, n, c: _worker(r, n, c, status=True),
    ),
    "worker+sqlite": ("  + idempotency store, sqlite", _worker_sqlite),
    "worker+redis": ("  + idempotency store, redis", _worker_redis),
}
SWEPT = ("bare", "worker", "worker+sqlite")


async def _status_queue(channel: aiormq.abc.AbstractChannel, exchange: str) -> str:
    """A queue that takes the status messages, as the recorder's does (emptied each round)."""
    await declare_status_exchange(channel, exchange)
    queue = f"{status_exchange(exchange)}.bench"
    await channel.queue_declare(queue, durable=True, arguments={"x-queue-type": "quorum"})
    await channel.queue_bind(queue, status_exchange(exchange), "#")
    return queue


async def _rounds(
    run: Run, plan: list[tuple[str, int]], events: int, rounds: int, status_queue: str
) -> dict[tuple[str, int], list[Result]]:
    """Each (contender, concurrency) of `plan` once per round, in order; results per pair."""
    channel_conn = await aiormq.connect(AMQP_URL)
    channel = await channel_conn.channel()
    results: dict[tuple[str, int], list[Result]] = {point: [] for point in plan}
    try:
        for number in range(1, rounds + 1):
            for key, concurrency in plan:
                await _fill(run.queue, events)
                await channel.queue_purge(status_queue)
                result = await CONTENDERS[key][1](run, events, concurrency)
                results[key, concurrency].append(result)
                label = f"{CONTENDERS[key][0].strip()} @{concurrency}"
                print(
                    f"  round {number}  {label:<40} {result.rate:9,.0f} events/s  "
                    f"{result.cpu_us:6.0f} us CPU/event",
                    flush=True,
                )
    finally:
        await channel_conn.close()
    return results


def _summary(
    results: dict[tuple[str, int], list[Result]], key: str, concurrency: int
) -> dict[str, Any]:
    own = [r.rate for r in results[key, concurrency]]
    bare = [r.rate for r in results[BASELINE, concurrency]]
    cpu = statistics.median(r.cpu_us for r in results[key, concurrency])
    bare_cpu = statistics.median(r.cpu_us for r in results[BASELINE, concurrency])
    median = statistics.median(own)
    return {
        "contender": key,
        "label": CONTENDERS[key][0].strip(),
        "concurrency": concurrency,
        "rounds": [round(rate, 1) for rate in own],
        "median": round(median, 1),
        "ratio": round(median / statistics.median(bare), 3),
        # Each round's rate over the bare run of the same round: drift on a shared box cancels.
        "round_ratios": [round(a / b, 3) for a, b in zip(own, bare, strict=True)],
        "median_round_ratio": round(
            statistics.median(a / b for a, b in zip(own, bare, strict=True)), 3
        ),
        "cpu_us_per_event": [round(r.cpu_us, 1) for r in results[key, concurrency]],
        "median_cpu_us_per_event": round(cpu, 1),
        "cpu_ratio": round(cpu / bare_cpu, 3),
    }


async def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:6]
    run = Run(
        exchange=f"hg-bench-consumer-{tag}",
        queue=f"hg-bench-{tag}",
        tmp=Path(tempfile.mkdtemp(prefix="hg-bench-consumer-")),
        redis_prefix=f"hg-bench-consumer:{tag}:",
    )
    service = Service(run.queue)
    service.handler("#")(lambda event: None)
    connection = await aiormq.connect(AMQP_URL)
    await declare_service_topology(connection, service, run.exchange)
    channel = await connection.channel()
    status_queue = await _status_queue(channel, run.exchange)
    report: dict[str, Any] = {}
    try:
        if not args.skip_throughput:
            plan = [(key, 256) for key in CONTENDERS]
            print(f"throughput, {args.events} events per run, concurrency/prefetch 256:")
            results = await _rounds(run, plan, args.events, args.rounds, status_queue)
            report["throughput"] = {
                "events": args.events,
                "rounds": args.rounds,
                "baseline": BASELINE,
                "contenders": [_summary(results, key, 256) for key in CONTENDERS],
            }
            _print_throughput(report["throughput"])
        if not args.skip_sweep:
            plan = [(key, level) for level in args.sweep for key in SWEPT]
            print(f"\nconcurrency sweep, {args.sweep_events} events per run:")
            results = await _rounds(run, plan, args.sweep_events, args.rounds, status_queue)
            report["sweep"] = {
                "events": args.sweep_events,
                "rounds": args.rounds,
                "baseline": BASELINE,
                "levels": args.sweep,
                "points": [_summary(results, key, level) for key, level in plan],
            }
            _print_sweep(report["sweep"])
    finally:
        for queue in [*all_queues(service), status_queue, unrouted_name(run.exchange)]:
            await channel.queue_delete(queue)
        for exchange in (status_exchange(run.exchange), run.exchange, unrouted_name(run.exchange)):
            await channel.exchange_delete(exchange)
        await connection.close()
        shutil.rmtree(run.tmp, ignore_errors=True)
    return report


def _print_throughput(result: dict[str, Any]) -> None:
    print(f"\nthroughput, {result['events']} events x {result['rounds']} rounds (median):")
    print(f"  {'':<30} {'events/s':>9}  {'x bare':>6}  {'per round':>11}  {'CPU us/event':>12}")
    for row in result["contenders"]:
        ratios = row["round_ratios"]
        print(
            f"  {CONTENDERS[row['contender']][0]:<30} {row['median']:9,.0f}  "
            f"{row['median_round_ratio']:5.2f}x  {min(ratios):.2f}-{max(ratios):.2f}x  "
            f"{row['median_cpu_us_per_event']:6.0f} ({row['cpu_ratio']:.2f}x)"
        )


def _print_sweep(result: dict[str, Any]) -> None:
    print(
        f"\nthroughput against concurrency, median of {result['rounds']}: events/s "
        "(median per-round ratio to bare) CPU us/event"
    )
    print(f"  {'concurrency':>11}" + "".join(f"  {key:>27}" for key in SWEPT))
    for level in result["levels"]:
        cells = [
            f"{row['median']:,.0f} ({row['median_round_ratio']:.2f}x) "
            f"{row['median_cpu_us_per_event']:4.0f}"
            for row in result["points"]
            if row["concurrency"] == level
        ]
        print(f"  {level:>11}" + "".join(f"  {cell:>27}" for cell in cells))


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


def _percentiles(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    return {
        "p50_ms": round(statistics.median(values) * 1000, 2),
        "p99_ms": round(values[max(0, int(len(values) * 0.99) - 1)] * 1000, 2),
    }


async def latency(rate: float, seconds: float) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="hg-bench-"))
    secret = secrets.token_hex(16)
    tag = uuid.uuid4().hex[:6]
    name, exchange = f"hg-bench-{tag}", f"hg-bench-consumer-{tag}"
    port = _free_port()
    config = tmp / "hookgate.toml"
    config.write_text(
        f'[broker]\nurl = "{AMQP_URL}"\nexchange = "{exchange}"\n'
        f'[dedupe]\nbackend = "sqlite"\npath = "{tmp / "dedupe.sqlite3"}"\n'
        f'[spool]\npath = "{tmp / "spool.sqlite3"}"\n'
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
                # Unique bodies: GitHub signs only the body, so the gateway also claims a
                # digest of it (its replay key); equal bodies would be duplicates.
                pad = event_id + "x" * (900 - len(event_id))
                body = b'{"action": "opened", "number": 1, "pad": "' + pad.encode() + b'"}'
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
        for queue in [*all_queues(Service(name)), unrouted_name(exchange)]:
            await channel.queue_delete(queue)
        for name_ in (exchange, unrouted_name(exchange)):
            await channel.exchange_delete(name_)
        await connection.close()
    started: dict[str, float] = {}
    for line in stamps.read_text().splitlines():
        event_id, when = line.split()
        started.setdefault(event_id, float(when))
    shutil.rmtree(tmp, ignore_errors=True)
    after_200 = [started[e] - done for e, (_, done) in sent.items() if e in started]
    after_send = [started[e] - before for e, (before, _) in sent.items() if e in started]
    result: dict[str, Any] = {
        "rate": rate,
        "seconds": seconds,
        "answered_200": len(sent),
        "reached_handler": len(started),
        "missing": len(set(sent) - set(started)),
    }
    print(
        f"\nend to end at {rate:g} requests/s for {seconds:g}s: {len(sent)} answered 200, "
        f"{len(started)} reached the handler, {result['missing']} missing"
    )
    for key, label, values in (
        ("after_200", "200 at client -> handler start", after_200),
        ("after_send", "request sent -> handler start", after_send),
    ):
        if values:
            result[key] = _percentiles(values)
            print(
                f"  {label:<32} p50 {result[key]['p50_ms']:7.1f} ms   "
                f"p99 {result[key]['p99_ms']:7.1f} ms"
            )
    return result


def _levels(text: str) -> list[int]:
    levels = [int(word) for word in text.split(",") if word.strip()]
    if not levels or min(levels) < 1:
        raise argparse.ArgumentTypeError("a comma-separated list of concurrencies, 1 or more")
    return levels


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tests.perf.bench_consumer",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--events", type=int, default=20_000, help="events per throughput run")
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved rounds (throughput, sweep)"
    )
    parser.add_argument(
        "--sweep",
        type=_levels,
        default=[1, 8, 32, 128, 256],
        help="concurrency levels of the sweep (default 1,8,32,128,256)",
    )
    parser.add_argument("--sweep-events", type=int, default=5_000, help="events per sweep run")
    parser.add_argument("--rate", type=float, default=200.0, help="latency: requests/s")
    parser.add_argument("--seconds", type=float, default=15.0, help="latency: how long")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write every figure here")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-sweep", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    return parser


def main() -> None:
    args = _parser().parse_args()
    report: dict[str, Any] = {
        "benchmark": "consumer",
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        report.update(runner.run(benchmark(args)))
        if not args.skip_latency:
            report["latency"] = runner.run(latency(args.rate, args.seconds))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
