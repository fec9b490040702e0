"""What the store contract suites share (dedupe, idempotency): a clock each backend agrees with.

Memory and SQLite stores take the `now` they are given, so their clock is a number the test
moves; Redis expires keys on its own clock, so its clock is real time, and its TTLs and leases
must be a few hundred milliseconds. A check "before expiry" is made at once, a check "after
expiry" half a period past it, so a slow machine cannot turn either answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

_S = TypeVar("_S")

# Periods (seconds) a real-time clock can check within a test's patience.
REAL_TIME_TTL = 0.8
REAL_TIME_LEASE = 0.3


@dataclass(frozen=True)
class Clock:
    now: Callable[[], float]
    advance: Callable[[float], Awaitable[None]]
    real: bool


class _FakeClock:
    def __init__(self) -> None:
        self.t = 1_700_000_000.0

    def now(self) -> float:
        return self.t

    async def advance(self, seconds: float) -> None:
        self.t += seconds


def clock_for(backend: str) -> Clock:
    """Real time for a backend that expires keys itself (redis), else a clock the test moves."""
    if backend == "redis":
        return Clock(time.time, asyncio.sleep, real=True)
    fake = _FakeClock()
    return Clock(fake.now, fake.advance, real=False)


@dataclass
class Backend(Generic[_S]):
    """Stores of one backend (all sharing one place where the backend can share: a file, a
    Redis prefix), their TTL (and lease) in seconds, and the clock the backend agrees with."""

    name: str
    make: Callable[[], _S]
    clock: Clock
    ttl: float
    lease: float = 0.0

    def now(self) -> float:
        return self.clock.now()

    async def advance(self, seconds: float) -> None:
        await self.clock.advance(seconds)
