"""What a harness run reports beyond the table: the machine, the targets of issue 12, the JSON."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

from tests.perf.broker import rabbitmq_version


def machine() -> dict[str, Any]:
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    memory = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory = int(line.split()[1]) * 1024
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "ram_gib": round(memory / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "rabbitmq": rabbitmq_version(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _target(name: str, value: float | None, limit: float, higher_is_better: bool) -> dict[str, Any]:
    met = None
    if value is not None and value == value:  # not NaN
        met = value >= limit if higher_is_better else value <= limit
    return {"target": name, "value": value, "limit": limit, "met": met}


def _median(table: dict[str, Any], name: str, key: str) -> float | None:
    entry = table.get(name)
    return float(entry["median"][key]) if entry else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 12's targets, each met (True), missed (False) or not measured (None)."""
    table = results.get("table", {})
    rate, p99 = (_median(table, "hookgate", key) for key in ("rate", "p99_ms"))
    found = [
        _target(
            "hookgate req/s >= 0.85x lean", _ratio(rate, _median(table, "lean", "rate")), 0.85, True
        ),
        _target(
            "hookgate req/s >= 2x fastapi",
            _ratio(rate, _median(table, "fastapi", "rate")),
            2.0,
            True,
        ),
        _target(
            "hookgate p99 <= 1.5x lean p99",
            _ratio(p99, _median(table, "lean", "p99_ms")),
            1.5,
            False,
        ),
    ]
    at_500 = [
        p["p99_ms"]
        for p in results.get("open_loop", [])
        if p["contender"] == "hookgate" and p["target_rate"] == 500
    ]
    found.append(
        _target("hookgate p99 <= 10 ms at 500/s", at_500[0] if at_500 else None, 10.0, False)
    )
    curves = results.get("curves", {})
    for backend in ("sqlite", "redis"):
        points = [p for p in curves.get("dedupe-keys", []) if p["series"] == f"hookgate-{backend}"]
        ratio = _ratio(points[1]["value"], points[0]["value"]) if len(points) == 2 else None
        found.append(_target(f"{backend}: full store >= 0.9x empty", ratio, 0.9, True))
    memory = curves.get("memory", [])
    ratio = _ratio(memory[-1]["value"], memory[-2]["value"]) if len(memory) >= 3 else None
    found.append(_target("RSS at last checkpoint <= 1.1x the one before", ratio, 1.1, False))
    return found


def format_targets(found: list[dict[str, Any]]) -> list[str]:
    lines = []
    for t in found:
        verdict = {True: "met", False: "MISSED", None: "not measured"}[t["met"]]
        value = f"{t['value']:.2f}" if t["value"] is not None else "-"
        lines.append(f"  {t['target']:<48} {value:>7}  {verdict}")
    return lines


def write_json(results: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
