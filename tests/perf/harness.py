"""hookgate's speed harness (issue 12): every contender side by side in one run, then cost curves.

    .venv/bin/python -m tests.perf.harness [--quick] [--out DIR] [--only PART ...]

Table: wrk (1 thread, 32 connections, --latency) with pre-signed ~1 KB Stripe events, each with
an ID of its own, against one-worker uvicorn contenders (uvloop, httptools, no access log):
bare (HTTP ceiling), lean (the least a correct gateway must do), fastapi (stripe SDK + aio-pika,
what a user would write by hand), hookgate's default config (`python -m gateway serve`: SQLite
dedupe, spool, metrics, request log at info into a file), hookgate-memory, hookgate-redis (the
shared Redis, under a key prefix of the run's own, deleted after), hookgate-ledger (the default
with an [admin] table and a real `hookgate admin` beside it); and broker: 32 concurrent
confirmed publishers, no HTTP (broker ceiling). Every message is persistent and lands in the
run's quorum queue (hg-perf-<random>.unrouted), counted against wrk's 2xx. Rounds interleave
contenders so machine drift hits all alike; the median round is reported.

Open loop: `tests.perf.load` at a fixed 500 and 1,000 requests/s against lean and hookgate,
latency from each request's due time (coordinated omission counted).

Curves: body-size, sources, dedupe-keys, workers, consumer, memory (see tests/perf/curves.py).

Writes results.json and PNG plots to --out. Needs wrk, the local RabbitMQ (rabbitmqctl) and
Redis (redis-server, redis-cli), and the perf extra: pip install -e '.[perf]'. Everything the
run declares on the broker is deleted at the end, also after Ctrl-C or an error.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.perf import curves, table
from tests.perf.broker import delete_everything, purge, run_exchange
from tests.perf.contenders import CONTENDERS, Run, running
from tests.perf.load import run_load
from tests.perf.report import format_targets, machine, targets, write_json
from tests.perf.servers import REPO
from tests.perf.sizes import FULL, QUICK, Sizes
from tests.perf.workload import new_secret
from tests.redis_kit import delete_prefix, shared_redis

PARTS = (
    "table",
    "open-loop",
    "body-size",
    "sources",
    "dedupe-keys",
    "workers",
    "consumer",
    "memory",
)
_RATES = (500, 1000)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tests.perf.harness",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"small sizes (3 s runs, 1 round, 100k keys, 20k requests for memory): about "
        f"{estimate_seconds(list(PARTS), list(CONTENDERS), QUICK) / 60:.0f} min in all, against "
        f"{estimate_seconds(list(PARTS), list(CONTENDERS), FULL) / 60:.0f} min for the full run",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO / "tests/perf/results",
        help="where results.json and the PNGs go (default: tests/perf/results/)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=PARTS,
        metavar="PART",
        help=f"run only these parts: {', '.join(PARTS)}",
    )
    parser.add_argument("--contenders", help="table contenders, comma-separated (default: all)")
    parser.add_argument(
        "--seconds", type=float, help="seconds per measured run (overrides the size)"
    )
    parser.add_argument("--rounds", type=int, help="interleaved rounds (overrides the size)")
    return parser


def _check_tools() -> None:
    for module in ("matplotlib", "fastapi", "stripe", "aio_pika"):
        try:
            importlib.import_module(module)
        except ImportError:
            raise SystemExit(f"{module} is not installed: pip install -e '.[perf]'") from None
    for tool, package in (
        ("wrk", "wrk"),
        ("redis-server", "redis-server"),
        ("redis-cli", "redis-tools"),
    ):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed: apt-get install {package}")


def estimate_seconds(parts: list[str], contenders: list[str], sizes: Sizes) -> float:
    """Rough: each measured run costs its seconds, its warm-up and ~4 s of start, stop, files."""
    one = sizes.seconds + sizes.warmup + 4
    cost = {
        "table": sizes.rounds * len(contenders) * one,
        "open-loop": len(_RATES) * 2 * (sizes.open_seconds + sizes.warmup + 5),
        "body-size": sizes.rounds * 2 * len(sizes.body_sizes) * one,
        "sources": sizes.rounds * 2 * one,
        "dedupe-keys": sizes.rounds * 4 * one + sizes.dedupe_keys / 200_000,
        "workers": sizes.rounds * 2 * one,
        "consumer": sizes.rounds
        * 3
        * len(sizes.consumer_levels.split(","))
        * (sizes.consumer_events / 1500 + 2),
        "memory": sizes.memory_checkpoints[-1] / 1200 + 10,
    }
    return sum(cost[part] for part in parts)


def main() -> None:
    args = _parser().parse_args()
    _check_tools()
    # A stop from outside (timeout, systemd) unwinds like Ctrl-C: servers stopped, the run's
    # queues and exchanges deleted.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    from tests.perf.plots import write_plots  # matplotlib: only once _check_tools found it

    base = QUICK if args.quick else FULL
    sizes = dataclasses.replace(
        base, seconds=args.seconds or base.seconds, rounds=args.rounds or base.rounds
    )
    parts = list(args.only or PARTS)
    contenders = args.contenders.split(",") if args.contenders else list(CONTENDERS)
    unknown = set(contenders) - set(CONTENDERS)
    if unknown:
        raise SystemExit(
            f"--contenders: unknown {', '.join(sorted(unknown))}; known: {', '.join(CONTENDERS)}"
        )
    estimate = estimate_seconds(parts, contenders, sizes)
    print(f"hookgate speed harness: {', '.join(parts)}; about {estimate / 60:.0f} min", flush=True)

    run = Run(run_exchange(), new_secret(), Path(tempfile.mkdtemp(prefix="hg-perf-")))
    results: dict[str, Any] = {
        "machine": machine(),
        "sizes": dataclasses.asdict(sizes),
        "exchange": run.exchange,
    }
    started = time.monotonic()
    try:
        purge(run.exchange)
        if "table" in parts:
            print(f"\ntable: wrk -c32, {sizes.seconds:g} s x {sizes.rounds} rounds", flush=True)
            results["table"] = table.measure(run, sizes, contenders)
        if "open-loop" in parts:
            print(f"\nopen loop: {sizes.open_seconds:g} s at each fixed rate", flush=True)
            results["open_loop"] = _open_loop(run, sizes)
        results["curves"] = {}
        for name in curves.CURVES:
            if name in parts:
                print(f"\ncurve {name}:", flush=True)
                results["curves"][name] = getattr(curves, name.replace("-", "_"))(run, sizes)
    finally:
        deleted = delete_everything(run.exchange)
        _delete_redis_keys(run.redis_prefix)
        shutil.rmtree(run.workdir, ignore_errors=True)
        print(f"\ncleaned up: deleted {', '.join(sorted(set(deleted)))}", flush=True)

    results["seconds"] = round(time.monotonic() - started)
    results["targets"] = targets(results)
    if "table" in results:
        print("\n" + "\n".join(table.format_table(results["table"])))
    for point in results.get("open_loop", []):
        print(f"open loop {_open_line(point)}")
    print("\ntargets:\n" + "\n".join(format_targets(results["targets"])))
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(results, args.out / "results.json")
    written = write_plots(results, args.out)
    print(f"\nwrote results.json and {len(written)} plots to {args.out} in {results['seconds']} s")


def _open_loop(run: Run, sizes: Sizes) -> list[dict[str, Any]]:
    points = []
    for rate in _RATES:
        for name in ("lean", "hookgate"):
            with running(run, name) as server:
                run_load("closed", server.port, run.secret, "--seconds", str(sizes.warmup))
                purge(run.exchange)
                arguments = ("--rate", str(rate), "--seconds", str(sizes.open_seconds))
                result = run_load("open", server.port, run.secret, *arguments)
            point = {"contender": name, **result, "published": purge(run.exchange)}
            points.append(point)
            print(f"  {_open_line(point)}", flush=True)
    return points


def _open_line(point: dict[str, Any]) -> str:
    return (
        f"{point['contender']:<9} {point['target_rate']:>5.0f}/s: p50 {point['p50_ms']:.1f} ms, "
        f"p99 {point['p99_ms']:.1f} ms, max {point['max_ms']:.1f} ms; {point['ok']} 2xx, "
        f"{point['non_2xx']} non-2xx, {point['published']} landed"
    )


def _delete_redis_keys(prefix: str) -> None:
    try:
        client = shared_redis()
    except AssertionError:
        return  # no shared Redis answered: the run cannot have left keys in it
    try:
        delete_prefix(client, prefix)  # the run's keys only: the server is shared
    finally:
        client.close()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        raise SystemExit(
            "interrupted: the run's servers, queues, exchanges and keys are gone"
        ) from None
