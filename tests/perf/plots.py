"""PNG plots of a harness run (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

_TITLES = {
    "body-size": "Throughput vs body size",
    "sources": "Throughput vs configured sources (requests spread over all)",
    "dedupe-keys": "Throughput vs live dedupe keys",
    "workers": "Throughput vs uvicorn workers",
    "consumer": "Consumer throughput vs concurrency",
    "memory": "Gateway RSS vs requests served",
}


def _bars(path: Path, title: str, points: list[dict[str, Any]], unit: str) -> None:
    """Grouped bars: one group per x, one bar per series."""
    xs = list(dict.fromkeys(str(p["x"]) for p in points))
    series = list(dict.fromkeys(str(p["series"]) for p in points))
    width = 0.8 / len(series)
    figure, axes = plt.subplots(figsize=(max(6.0, 1.2 * len(xs) * len(series)), 4.0))
    for i, name in enumerate(series):
        values = {str(p["x"]): float(p["value"]) for p in points if p["series"] == name}
        positions = [x + (i - (len(series) - 1) / 2) * width for x in range(len(xs))]
        bars = axes.bar(positions, [values.get(x, 0.0) for x in xs], width, label=name)
        axes.bar_label(bars, fmt="%.0f", fontsize=8)
    axes.set_xticks(range(len(xs)), xs)
    if len(xs) > 4:
        axes.tick_params(axis="x", labelrotation=20)
    axes.set_ylabel(unit)
    axes.set_title(title)
    if len(series) > 1:
        axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_plots(results: dict[str, Any], directory: Path) -> list[Path]:
    written: list[Path] = []
    table = results.get("table")
    if table:
        points = [
            {"series": "req/s", "x": name, "value": e["median"]["rate"]}
            for name, e in table.items()
        ]
        path = directory / "table.png"
        _bars(path, "Requests/s, wrk -c32 (broker: confirmed msg/s)", points, "per second")
        written.append(path)
    open_loop = results.get("open_loop")
    if open_loop:
        points = [
            {"series": f"{p['target_rate']:.0f}/s", "x": p["contender"], "value": p["p99_ms"]}
            for p in open_loop
        ]
        path = directory / "open-loop-p99.png"
        _bars(path, "p99 latency at a fixed rate (open loop)", points, "ms")
        written.append(path)
    for name, points in results.get("curves", {}).items():
        if points:
            path = directory / f"curve-{name}.png"
            _bars(path, _TITLES.get(name, name), points, str(points[0]["unit"]))
            written.append(path)
    return written
