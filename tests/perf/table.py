"""The side-by-side table: every contender under wrk at 32 connections, rounds interleaved.

A round runs each contender once, in turn, each in a fresh process and directory: warm-up,
purge, the measured wrk run, stop, then count what landed in the quorum queue. Drift on a
noisy machine thus hits every contender alike; the median of the rounds is reported.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from typing import Any

from tests.perf.broker import broker_ceiling, purge
from tests.perf.contenders import Options, Run, running, source_paths
from tests.perf.sizes import Sizes
from tests.perf.workload import write_wrk_requests
from tests.perf.wrk import run_wrk

#: Request lines written per second of wrk: above any rate one worker reaches here, so no
#: request repeats (a repeat is a duplicate: answered, not published). Should one repeat all
#: the same, `landed_verdict` says so rather than count the repeats as lost.
LINES_PER_SECOND = 16_000
_BARE_LINES = 20_000  # bare neither verifies nor de-duplicates: repeats cost it nothing


def measure_http(
    run: Run,
    name: str,
    seconds: float,
    warmup: float,
    connections: int = 32,
    options: Options | None = None,
) -> dict[str, Any]:
    """One measured wrk run against a fresh `name`; its figures and what reached the broker.
    With several sources (`options.sources`), the requests go to each in turn."""
    requests = run.workdir / "requests.tsv"
    paths = source_paths(options.sources if options else 1)
    with running(run, name, options) as server:
        url = f"http://127.0.0.1:{server.port}"
        if warmup > 0:
            write_wrk_requests(requests, run.secret, round(LINES_PER_SECOND * warmup), paths)
            run_wrk(url, requests, seconds=warmup, connections=connections)
            time.sleep(1.0)  # the warm-up's last requests (in flight at wrk's stop) land
        purge(run.exchange)
        lines = _BARE_LINES if name == "bare" else round(LINES_PER_SECOND * seconds)
        write_wrk_requests(requests, run.secret, lines, paths)
        result = run_wrk(url, requests, seconds=seconds, connections=connections)
    figures = {**result.as_dict(), "connections": connections, "unique": lines}
    return {**figures, "published": purge(run.exchange)}


def measure_broker(run: Run, seconds: float) -> dict[str, Any]:
    purge(run.exchange)
    rate, confirmed = broker_ceiling(run.exchange, seconds)
    return {"rate": rate, "requests": confirmed, "published": purge(run.exchange)}


def measure(run: Run, sizes: Sizes, contenders: Sequence[str]) -> dict[str, Any]:
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in contenders}
    for number in range(1, sizes.rounds + 1):
        for name in contenders:
            if name == "broker":
                figures = measure_broker(run, sizes.seconds)
            else:
                figures = measure_http(run, name, sizes.seconds, sizes.warmup, sizes.connections)
            rounds[name].append(figures)
            print(f"  round {number} {name:<16} {_round_line(name, figures)}", flush=True)
    return {name: {"median": _median(each), "rounds": each} for name, each in rounds.items()}


def _round_line(name: str, figures: dict[str, Any]) -> str:
    if name == "broker":
        return f"{figures['rate']:>8.0f} msg/s  {figures['published']} confirmed and landed"
    landed = "-"
    if name != "bare":
        verdict = landed_verdict(
            figures["published"], figures["ok"], figures["connections"], figures.get("unique")
        )
        landed = f"{figures['published']} landed for {figures['ok']} 2xx: {verdict}"
    return (
        f"{figures['rate']:>8.0f} req/s  p50 {figures['p50_ms']:.1f} ms  "
        f"p99 {figures['p99_ms']:.1f} ms  {figures['non_2xx']} non-2xx, {landed}"
    )


def _median(rounds: list[dict[str, Any]]) -> dict[str, float]:
    keys = [key for key, value in rounds[0].items() if isinstance(value, int | float)]
    return {key: statistics.median(r[key] for r in rounds) for key in keys}


def format_table(table: dict[str, Any]) -> list[str]:
    lean = table.get("lean", {}).get("median", {})
    lines = [
        f"{'contender':<16} {'req/s':>8} {'x lean':>7} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'p99 x lean':>10} {'non-2xx':>8}  landed/2xx"
    ]
    for name, entry in table.items():
        m = entry["median"]
        ratio = f"{m['rate'] / lean['rate']:.2f}" if lean.get("rate") else "-"
        if name == "broker":
            lines.append(f"{name:<16} {m['rate']:>8.0f} {ratio:>7}  (msg/s, no HTTP)")
            continue
        p99_ratio = f"{m['p99_ms'] / lean['p99_ms']:.2f}" if lean.get("p99_ms") else "-"
        landed = _landed(name, entry["rounds"])
        lines.append(
            f"{name:<16} {m['rate']:>8.0f} {ratio:>7} {m['p50_ms']:>7.1f} {m['p99_ms']:>7.1f} "
            f"{p99_ratio:>10} {m['non_2xx']:>8.0f}  {landed}"
        )
    return lines


def _landed(name: str, rounds: list[dict[str, Any]]) -> str:
    if name == "bare":
        return "- (publishes nothing)"
    verdicts = [
        landed_verdict(r["published"], r["ok"], r["connections"], r.get("unique")) for r in rounds
    ]
    wrong = [verdict for verdict in verdicts if verdict.startswith(("LOST", "EXTRA"))]
    published = sum(r["published"] for r in rounds)
    ok = sum(r["ok"] for r in rounds)
    return f"{published}/{ok} {wrong[0] if wrong else 'nothing lost, nothing extra'}"


def landed_verdict(published: int, ok: int, in_flight: int, unique: int | None = None) -> str:
    """wrk stops counting at its deadline: the answers still on their way (at most one per
    connection) are published but not counted as 2xx. Past the end of its `unique` requests
    wrk sends them again: those repeats are answered `duplicate` and rightly not published.
    Anything else is a real mismatch."""
    if unique is not None and ok > unique:
        if published < unique:
            return f"LOST {unique - published} (of {unique} unique requests)"
        return f"all {unique} unique requests landed; {ok - unique} repeats answered duplicate"
    if published < ok:
        return f"LOST {ok - published}"
    if published - ok > in_flight:
        return f"EXTRA {published - ok}"
    extra = f" (+{published - ok} in flight at wrk's stop)" if published > ok else ""
    return f"nothing lost, nothing extra{extra}"
