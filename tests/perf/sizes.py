"""How big a harness run is: the full run issue 12 asks for, and `--quick`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    seconds: float  # per measured run
    rounds: int  # interleaved; the median is reported
    warmup: float  # seconds of load before each measured run, not counted
    open_seconds: float  # per open-loop rate
    body_sizes: tuple[int, ...]
    sources: int
    dedupe_keys: int
    memory_checkpoints: tuple[int, ...]  # requests served when RSS is read
    consumer_levels: str  # bench_consumer --sweep
    consumer_events: int  # bench_consumer --sweep-events
    connections: int = 32


FULL = Sizes(
    seconds=10,
    rounds=3,
    warmup=2,
    open_seconds=10,
    body_sizes=(1024, 65536, 2**20),
    sources=1000,
    dedupe_keys=10_000_000,
    memory_checkpoints=(100_000, 1_000_000),
    consumer_levels="1,8,32,128,256",
    consumer_events=5000,
)
QUICK = dataclasses.replace(
    FULL,
    seconds=3,
    rounds=1,
    warmup=1,
    open_seconds=3,
    dedupe_keys=100_000,
    memory_checkpoints=(2_000, 20_000),
    consumer_levels="1,32",
    consumer_events=1000,
)
