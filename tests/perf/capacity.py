"""The figures behind deploy/README.md's capacity model: what one CPU core of each part does.

    .venv/bin/python -m tests.perf.capacity [--seconds 10] [--out tests/perf/results/capacity.json]

Throughput on a 2-core box where the load generator, the broker, Redis and the gateway share
the cores says little about a host of their own; CPU time per event does. So each part is run
under load and the CPU time it spent (user + system, all threads, from /proc) is divided by the
events it handled:

- gateway: hookgate's default config (SQLite dedupe) and Redis dedupe under wrk (32
  connections, Stripe-signed 1 KB events, an ID of its own each): the gateway process, the
  broker node (the shared one, a single node) and redis-server, per accepted event;
- broker: 32 confirmed persistent publishers into one quorum queue on the shared node, and into
  a quorum queue of a three-node cluster of private nodes started here (all three on this one
  machine: the replication's CPU cost is summed over the three);
- consumer: `bench_consumer`'s throughput contenders (bare aio-pika, hookgate's worker, with the
  SQLite and Redis idempotency stores), CPU time per event of the consumer process.

Writes one JSON file; deploy/README.md's table is built from it. Needs what the harness needs
(wrk, the perf extra) and root for the cluster's nodes (the Debian wrapper drops to `rabbitmq`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiormq

from hookgate.topology import declare_gateway_topology
from tests.chaos.cluster import RabbitCluster
from tests.perf.broker import broker_ceiling, delete_everything, purge, run_exchange
from tests.perf.contenders import Run, running
from tests.perf.report import machine
from tests.perf.servers import REPO, _descendants
from tests.perf.table import LINES_PER_SECOND
from tests.perf.workload import new_secret, write_wrk_requests
from tests.perf.wrk import run_wrk
from tests.redis_kit import delete_prefix, shared_redis

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of `pids` (each with all its threads), in seconds."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / _TICKS


def _broker_pid() -> int:
    text = subprocess.run(
        ["rabbitmqctl", "eval", "os:getpid()."], capture_output=True, text=True, check=True
    ).stdout
    return int(text.strip().strip('"'))


def _redis_pid() -> int:
    client = shared_redis()
    try:
        return int(client.info("server")["process_id"])
    finally:
        client.close()


def gateway(run: Run, name: str, seconds: float) -> dict[str, Any]:
    """One contender under wrk: its rate and each part's CPU time per accepted event."""
    requests = run.workdir / "requests.tsv"
    broker, redis = _broker_pid(), _redis_pid()
    with running(run, name) as server:
        url = f"http://127.0.0.1:{server.port}"
        write_wrk_requests(requests, run.secret, LINES_PER_SECOND * 2, ["/webhooks/stripe"])
        run_wrk(url, requests, seconds=2, connections=32)  # warm-up
        time.sleep(1.0)
        purge(run.exchange)
        write_wrk_requests(
            requests, run.secret, round(LINES_PER_SECOND * seconds), ["/webhooks/stripe"]
        )
        pids = [server.pid, *_descendants(server.pid)]
        before = [cpu_seconds(pids), cpu_seconds([broker]), cpu_seconds([redis])]
        result = run_wrk(url, requests, seconds=seconds, connections=32)
        after = [cpu_seconds(pids), cpu_seconds([broker]), cpu_seconds([redis])]
    landed = purge(run.exchange)
    spent = [b - a for a, b in zip(before, after, strict=True)]
    return {
        "rate": round(result.rate, 1),
        "accepted": result.ok,
        "landed": landed,
        "non_2xx": result.non_2xx,
        "p99_ms": result.p99_ms,
        **_per_event("gateway", spent[0], result.ok),
        **_per_event("broker", spent[1], result.ok),
        **_per_event("redis", spent[2], result.ok),
    }


def _per_event(part: str, cpu: float, events: int) -> dict[str, float]:
    us = cpu / max(events, 1) * 1e6
    return {f"{part}_cpu_us": round(us, 1), f"{part}_events_per_core": round(1e6 / us) if us else 0}


def single_node_ceiling(run: Run, seconds: float) -> dict[str, Any]:
    broker = _broker_pid()
    purge(run.exchange)
    before = cpu_seconds([broker])
    rate, confirmed = broker_ceiling(run.exchange, seconds)
    spent = cpu_seconds([broker]) - before
    purge(run.exchange)
    figures = {"rate": round(rate, 1), "confirmed": confirmed}
    return {**figures, **_per_event("broker", spent, confirmed)}


def cluster_ceiling(seconds: float) -> dict[str, Any]:
    """The same publishers into a quorum queue replicated over three private nodes."""
    base = Path(tempfile.mkdtemp(prefix="hg-capacity-cluster-"))
    cluster = RabbitCluster.create(base, size=3)
    exchange = run_exchange()
    try:
        cluster.start()
        url = cluster.urls[0]

        async def declare() -> None:
            connection = await aiormq.connect(url)
            try:
                await declare_gateway_topology(await connection.channel(), exchange)
            finally:
                await connection.close()

        asyncio.run(declare())
        pids = [node.pid for node in cluster.nodes if node.pid is not None]
        before = cpu_seconds(pids)
        rate, confirmed = broker_ceiling(exchange, seconds, url=url)
        spent = cpu_seconds(pids) - before
        members = cluster.queues()[f"{exchange}.unrouted"]["members"]
        return {
            "rate": round(rate, 1),
            "confirmed": confirmed,
            "replicas": len(members) if isinstance(members, list) else 0,
            **_per_event("cluster", spent, confirmed),
        }
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)


def consumer(events: int, rounds: int = 2) -> dict[str, Any]:
    """bench_consumer's contenders; and the broker's CPU time over the whole benchmark, per
    event that went through it (each run publishes its events, then consumes and acks them)."""
    broker = _broker_pid()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "consumer.json"
        command = [sys.executable, "-m", "tests.perf.bench_consumer", "--events", str(events)]
        command += ["--rounds", str(rounds), "--skip-sweep", "--skip-latency", "--json", str(out)]
        before = cpu_seconds([broker])
        subprocess.run(command, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
        spent = cpu_seconds([broker]) - before
        report = json.loads(out.read_text())
    rows = report["throughput"]["contenders"]
    figures: dict[str, Any] = {
        row["contender"]: {
            "rate": row["median"],
            "cpu_us": row["median_cpu_us_per_event"],
            "events_per_core": round(1e6 / row["median_cpu_us_per_event"]),
        }
        for row in rows
    }
    # Publish, deliver and ack: the broker's whole cost of one event for one service.
    figures["broker_round_trip"] = _per_event("broker", spent, events * rounds * len(rows))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.perf.capacity", description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="per measured run")
    parser.add_argument("--consumer-events", type=int, default=20_000)
    parser.add_argument(
        "--out", type=Path, default=REPO / "tests/perf/results/capacity.json", help="JSON file"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    run = Run(run_exchange(), new_secret(), Path(tempfile.mkdtemp(prefix="hg-capacity-")))
    results: dict[str, Any] = {"machine": machine(), "seconds": args.seconds}
    try:
        for name in ("hookgate", "hookgate-redis"):
            results[name] = gateway(run, name, args.seconds)
            print(name, results[name], flush=True)
        results["broker"] = single_node_ceiling(run, args.seconds)
        print("broker", results["broker"], flush=True)
    finally:
        delete_everything(run.exchange)
        client = shared_redis()
        delete_prefix(client, run.redis_prefix)
        client.close()
        shutil.rmtree(run.workdir, ignore_errors=True)
    results["cluster"] = cluster_ceiling(args.seconds)
    print("cluster", results["cluster"], flush=True)
    results["consumer"] = consumer(args.consumer_events)
    print("consumer", results["consumer"], flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
