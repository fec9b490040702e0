"""hookgate.process_metrics: build info and process metrics on a registry of one's own, and a
supervisor's process tree summed."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from hookgate.process_metrics import ProcessTree, build_info, process_collectors, version


def test_build_info_says_the_installed_version_and_component() -> None:
    registry = CollectorRegistry()
    build_info(registry, "consumer")
    python = ".".join(str(part) for part in sys.version_info[:3])
    labels = {"version": version(), "component": "consumer", "python": python}
    assert version() != "unknown"  # the project is installed (editable) in its venv
    assert registry.get_sample_value("hookgate_build_info", labels) == 1


def test_build_info_refuses_an_unknown_component() -> None:
    with pytest.raises(ValueError, match="component 'worker'"):
        build_info(CollectorRegistry(), "worker")


def test_process_collectors_report_this_process() -> None:
    registry = CollectorRegistry()
    process_collectors(registry)
    assert registry.get_sample_value("process_resident_memory_bytes") > 10_000_000
    assert registry.get_sample_value("process_open_fds") >= 3
    assert registry.get_sample_value("python_gc_collections_total", {"generation": "0"}) >= 0
    info = {"implementation": "CPython", "major": "3"}
    assert any(
        s.name == "python_info" and info.items() <= s.labels.items()
        for m in registry.collect()
        for s in m.samples
    )


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[bytes]]]:
    # A Python each, well over 5 MB resident once started: each says so before it is counted
    # (a child still in exec has almost nothing resident yet).
    code = "import sys; print('ready', flush=True); sys.stdin.read()"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        for _ in "ab"
    ]
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"ready\n"
    yield procs
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=10)
        assert proc.stdout is not None
        proc.stdout.close()


def _own(name: str) -> float:
    registry = CollectorRegistry()
    process_collectors(registry)
    value = registry.get_sample_value(name)
    assert value is not None
    return value


def test_process_tree_sums_a_supervisor_and_its_children(
    children: list[subprocess.Popen[bytes]],
) -> None:
    registry = CollectorRegistry()
    registry.register(ProcessTree(os.getpid()))
    # Each child is a Python interpreter: its memory is added to ours.
    total = registry.get_sample_value("process_resident_memory_bytes")
    assert total is not None
    assert total > _own("process_resident_memory_bytes") + 2 * 5_000_000
    fds = registry.get_sample_value("process_open_fds")
    assert fds is not None
    assert fds >= _own("process_open_fds") + 2 * 3
    # The start time is the supervisor's, not a sum.
    start = registry.get_sample_value("process_start_time_seconds")
    assert start == _own("process_start_time_seconds")


def test_process_tree_of_a_childless_process_is_that_process() -> None:
    registry = CollectorRegistry()
    lone = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        registry.register(ProcessTree(lone.pid))
        assert registry.get_sample_value("process_open_fds") >= 3
        assert registry.get_sample_value("process_max_fds")
    finally:
        assert lone.stdin is not None
        lone.stdin.close()
        lone.wait(timeout=10)
