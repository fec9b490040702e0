"""Cost curves: how hookgate's throughput and memory move with what it is given.

Each curve is a list of points `{"series", "x", "value", "unit", …figures}`; `plots.py` draws
one PNG per curve. Points of one curve are measured in interleaved rounds like the table.

- `body-size`: requests/s at 1 KB, 64 KB and 1 MB bodies, hookgate default vs lean (the closed
  loop of `load.py`, 32 connections, signing on the fly; max_body_bytes raised to 2 MiB).
- `sources`: requests/s with 1 source vs 1,000 configured, requests spread evenly over all.
- `dedupe-keys`: requests/s with an empty store vs one holding N live keys, sqlite and redis
  (Redis: private servers, one empty and one prefilled, so rounds can alternate).
- `workers`: requests/s of the default config under `--workers 1` vs `--workers 2`.
- `consumer`: consumer throughput vs concurrency, from `tests.perf.bench_consumer --json`.
- `memory`: the default config's RSS (all its processes) after a warm-up, then after each
  checkpoint of fresh unique requests (100k and 1M in the full run).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from tests.perf.broker import purge
from tests.perf.contenders import Options, Run, running
from tests.perf.load import run_load
from tests.perf.prefill import prefill_redis, prefill_sqlite
from tests.perf.servers import REPO
from tests.perf.sizes import Sizes
from tests.perf.table import measure_http
from tests.redis_kit import PrivateRedis

CURVES = ("body-size", "sources", "dedupe-keys", "workers", "consumer", "memory")
_MIB = 2**20


Point = dict[str, Any]
_Measure = Callable[[], dict[str, Any]]


def _rounds(plan: list[tuple[str, str, _Measure]], rounds: int, unit: str) -> list[Point]:
    """Run every (series, x, measure) once per round, in turn; median rate per point."""
    seen: dict[tuple[str, str], list[dict[str, Any]]] = {(s, x): [] for s, x, _ in plan}
    for number in range(1, rounds + 1):
        for series, x, measure in plan:
            figures = measure()
            seen[series, x].append(figures)
            print(
                f"  round {number} {series:<16} {x:<10} {figures['rate']:>8.0f} {unit}  "
                f"p99 {figures.get('p99_ms', float('nan')):.1f} ms  "
                f"{figures.get('non_2xx', 0)} non-2xx",
                flush=True,
            )
    return [
        {
            "series": series,
            "x": x,
            "value": statistics.median(f["rate"] for f in each),
            "unit": unit,
            "p99_ms": statistics.median(f.get("p99_ms", float("nan")) for f in each),
            "rounds": each,
        }
        for (series, x), each in seen.items()
    ]


def body_size(run: Run, sizes: Sizes) -> list[Point]:
    options = Options(max_body_bytes=2 * _MIB)

    def closed(name: str, body_bytes: int) -> _Measure:
        def measure() -> dict[str, Any]:
            with running(run, name, options if name == "hookgate" else None) as server:
                seconds = str(sizes.warmup)
                run_load("closed", server.port, run.secret, "--seconds", seconds)
                purge(run.exchange)
                result = run_load(
                    "closed",
                    server.port,
                    run.secret,
                    *("--seconds", str(sizes.seconds), "--body-bytes", str(body_bytes)),
                )
            return {**result, "published": purge(run.exchange)}

        return measure

    plan = [
        (name, _size_label(size), closed(name, size))
        for size in sizes.body_sizes
        for name in ("lean", "hookgate")
    ]
    return _rounds(plan, sizes.rounds, "req/s")


def _size_label(size: int) -> str:
    return f"{size // _MIB} MB" if size >= _MIB else f"{size // 1024} KB"


def _wrk_point(run: Run, sizes: Sizes, options: Options) -> _Measure:
    return lambda: measure_http(run, "hookgate", sizes.seconds, sizes.warmup, options=options)


def sources(run: Run, sizes: Sizes) -> list[Point]:
    plan = [
        (
            "hookgate",
            f"{count:,} source{'s' * (count > 1)}",
            _wrk_point(run, sizes, Options(sources=count)),
        )
        for count in (1, sizes.sources)
    ]
    return _rounds(plan, sizes.rounds, "req/s")


def workers(run: Run, sizes: Sizes) -> list[Point]:
    plan = [
        (
            "hookgate",
            f"{count} worker{'s' * (count > 1)}",
            _wrk_point(run, sizes, Options(workers=count)),
        )
        for count in (1, 2)
    ]
    return _rounds(plan, sizes.rounds, "req/s")


def dedupe_keys(run: Run, sizes: Sizes) -> list[Point]:
    label = f"{sizes.dedupe_keys:,} keys"
    with _stores(run, sizes.dedupe_keys) as stores:
        plan = [
            (f"hookgate-{backend}", x, _wrk_point(run, sizes, options))
            for backend in ("sqlite", "redis")
            for x, options in (("empty", stores[backend, False]), (label, stores[backend, True]))
        ]
        return _rounds(plan, sizes.rounds, "req/s")


@contextmanager
def _stores(run: Run, keys: int) -> Iterator[dict[tuple[str, bool], Options]]:
    """An empty and a prefilled store of each backend; private Redis servers, killed after."""
    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=run.workdir)))
        stores: dict[tuple[str, bool], Options] = {}
        for full in (False, True):
            path = directory / f"dedupe-{'full' if full else 'empty'}.sqlite3"
            redis = PrivateRedis(directory / f"redis-{'full' if full else 'empty'}")
            try:
                redis.start()
            except AssertionError as err:
                raise SystemExit(str(err)) from err
            stack.callback(redis.kill)
            if full:
                print(f"  prefilling {keys:,} keys into sqlite and a private redis", flush=True)
                prefill_sqlite(path, keys)
                prefill_redis(redis.port, run.redis_prefix, keys)
            stores["sqlite", full] = Options(dedupe="sqlite", dedupe_path=path)
            stores["redis", full] = Options(dedupe="redis", redis_url=redis.url)
        yield stores


def memory(run: Run, sizes: Sizes) -> list[Point]:
    """RSS after the warm-up, then at each checkpoint of answered requests, chunk by chunk:
    each chunk a run of the closed-loop generator with a fresh signing timestamp (a 1M-request
    run outlasts Stripe's 300 s tolerance), each request a new event ID."""
    chunk = min(100_000, sizes.memory_checkpoints[0])
    points: list[Point] = []
    with running(run, "hookgate") as server:
        run_load("closed", server.port, run.secret, "--seconds", str(sizes.warmup))
        points.append(_rss_point(server.rss_bytes(), "warm-up", 0))
        done = 0
        for checkpoint in sizes.memory_checkpoints:
            while done < checkpoint:
                count = min(chunk, checkpoint - done)
                arguments = ("--requests", str(count), "--seconds", "280")
                result = run_load("closed", server.port, run.secret, *arguments)
                done += int(result["requests"])
                if result["ok"] < result["requests"]:
                    raise SystemExit(f"memory: {result['non_2xx']} non-2xx answers in a chunk")
                purge(run.exchange)
            points.append(_rss_point(server.rss_bytes(), f"{checkpoint:,}", done))
            print(f"  after {done:,} requests: RSS {points[-1]['value']:.1f} MiB", flush=True)
    return points


def _rss_point(rss: int, x: str, requests: int) -> Point:
    return {"series": "hookgate", "x": x, "value": rss / _MIB, "unit": "MiB", "requests": requests}


def consumer(run: Run, sizes: Sizes, repo: Path = REPO) -> list[Point]:
    """Consumer throughput vs concurrency: the sweep of `tests.perf.bench_consumer`, run as a
    process of its own, read from its `--json` output."""
    command = [sys.executable, "-m", "tests.perf.bench_consumer"]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    output = run.workdir / "consumer.json"
    arguments = ["--skip-throughput", "--skip-latency", "--json", str(output)]
    arguments += ["--sweep", sizes.consumer_levels, "--sweep-events", str(sizes.consumer_events)]
    arguments += ["--rounds", str(sizes.rounds)]
    done = subprocess.run([*command, *arguments], cwd=repo, check=False, env=env)
    if done.returncode != 0 or not output.exists():
        raise SystemExit(f"tests.perf.bench_consumer failed (exit {done.returncode})")
    sweep = json.loads(output.read_text())["sweep"]
    return [
        {
            "series": point.get("label", point["contender"]),
            "x": str(point["concurrency"]),
            "value": point["median"],
            "unit": "events/s",
            "ratio_to_bare": point.get("ratio"),
        }
        for point in sweep["points"]
    ]
