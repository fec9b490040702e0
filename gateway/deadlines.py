"""Body-read deadlines: one watchdog for every request in flight, not one timer each.

A slow sender (slowloris) must not hold a request open forever, but `asyncio.timeout` per
request costs a timer-heap insert and cancel on the hot path. Instead each read registers its
task and deadline in a dict; a single watchdog task wakes a few times a second and cancels
reads that are past due. A registered task is always suspended in `receive()` when the watchdog
runs (registration ends synchronously when the read ends), so the cancellation lands there.
"""

from __future__ import annotations

import asyncio
import contextlib


class ReadDeadlines:
    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._reading: dict[asyncio.Task[object], float] = {}
        self._expired: set[asyncio.Task[object]] = set()
        self._watchdog: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._watchdog = asyncio.create_task(self._watch(), name="hookgate-read-deadlines")

    async def stop(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
            self._watchdog = None

    def begin(self) -> asyncio.Task[object]:
        loop = self._loop or asyncio.get_running_loop()  # known once started: saves a lookup
        task = asyncio.current_task(loop)
        assert task is not None
        self._reading[task] = loop.time() + self.timeout
        return task

    def end(self, task: asyncio.Task[object]) -> None:
        del self._reading[task]

    def expired(self, task: asyncio.Task[object]) -> bool:
        """After a `CancelledError` in the read: was it ours? If so, undo the cancellation."""
        if task not in self._expired:
            return False
        self._expired.discard(task)
        task.uncancel()
        return True

    async def _watch(self) -> None:
        interval = min(1.0, self.timeout / 4)
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(interval)
            now = loop.time()
            for task, deadline in list(self._reading.items()):
                if deadline <= now and task not in self._expired:
                    self._expired.add(task)
                    task.cancel()
