"""What every hookgate process exports beside its own metrics: `hookgate_build_info` and the
standard `process_*` and `python_*` families.

Each process (gateway, consumer, admin) builds a registry of its own (`CollectorRegistry()`),
not prometheus_client's default one: so the process, platform and GC collectors that the
default registry carries are absent unless they are added, here. Without them an operator
cannot see a replica's CPU, memory or file descriptors, nor tell which version runs where.

A gateway with several workers (`hookgate serve --workers N`) serves `/metrics` from whichever
worker takes the scrape, through prometheus_client's multiprocess mode, which cannot aggregate
process collectors: `ProcessTree` reports the supervisor and all its workers together instead,
so CPU and memory are the whole gateway's whatever worker answers.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from importlib import metadata
from pathlib import Path

from prometheus_client import (
    CollectorRegistry,
    Gauge,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

#: `hookgate_build_info{component}`: which process exports it.
COMPONENTS = ("gateway", "consumer", "admin")


def version() -> str:
    """The installed distribution's version, or "unknown" when run from a bare checkout."""
    try:
        return metadata.version("hookgate")
    except metadata.PackageNotFoundError:
        return "unknown"


def build_info(registry: CollectorRegistry, component: str) -> None:
    """`hookgate_build_info{version, component, python} 1`: join it on `job`/`instance` to see
    which version every replica runs (a half-finished rollout shows two versions). Under
    multiprocess mode every worker writes the same 1, reported once."""
    if component not in COMPONENTS:
        raise ValueError(f"component {component!r}: expected one of {', '.join(COMPONENTS)}")
    gauge = Gauge(
        "hookgate_build_info",
        "Always 1; the labels say which hookgate version and Python this process runs.",
        ["version", "component", "python"],
        registry=registry,
        multiprocess_mode="livemax",
    )
    python = ".".join(str(part) for part in sys.version_info[:3])
    gauge.labels(version(), component, python).set(1)


def process_collectors(registry: CollectorRegistry) -> None:
    """`process_*` (CPU seconds, resident memory, open file descriptors, start time) and
    `python_info` / `python_gc_*`, for a process that serves its own registry."""
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)


class ProcessTree(Collector):
    """`process_*` summed over a supervisor and its child processes (gateway workers).

    CPU seconds, memory and open descriptors are added up; the start time and the descriptor
    limit are the supervisor's. Children are found by their parent PID in `/proc`, once per
    scrape: the workers a supervisor restarts are counted as soon as they run."""

    _SUMMED = frozenset(
        {
            "process_cpu_seconds",
            "process_virtual_memory_bytes",
            "process_resident_memory_bytes",
            "process_open_fds",
        }
    )

    def __init__(self, parent: int, proc: str = "/proc") -> None:
        self._parent = parent
        self._proc = proc

    def collect(self) -> Iterable[Metric]:
        pids = [self._parent, *_children(self._proc, self._parent)]
        merged: dict[str, Metric] = {}
        for pid in pids:
            collector = ProcessCollector(pid=_fixed(pid), proc=self._proc, registry=None)
            for family in collector.collect():
                if family.name not in merged:
                    merged[family.name] = family
                elif family.name in self._SUMMED and family.samples and merged[family.name].samples:
                    first = merged[family.name]
                    total = first.samples[0].value + family.samples[0].value
                    first.samples[0] = first.samples[0]._replace(value=total)
        return list(merged.values())


def _fixed(pid: int) -> Callable[[], int]:
    return lambda: pid


def _children(proc: str, parent: int) -> Iterator[int]:
    """PIDs whose parent is `parent` (field 4 of `/proc/PID/stat`, after the command's `)`)."""
    for entry in Path(proc).iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # it exited meanwhile
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[1] == str(parent):
            yield int(entry.name)


def supervisor_pid() -> int:
    """The gateway workers' supervisor: this worker's parent."""
    return os.getppid()
