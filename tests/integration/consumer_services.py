"""A consumer service for process-level tests, configured by environment variables.

HG_TEST_SERVICE (name), HG_TEST_RECORD (file to append `start|done EVENT_ID PID` lines to),
HG_TEST_DELIVERY_LIMIT, HG_TEST_IDEMPOTENCY (SQLite path), HG_TEST_KILL_AFTER_MARK (1: the
process SIGKILLs itself right after marking an event done, before the ack: the worst moment).
The event body's `behaviour` picks what the handler does: `slow` (sleep `seconds`), `crash`
(SIGKILL its own process), `fail` (raise `MeantToFail`: retried once after 1 s, then
dead-lettered with that error), `log` (log a line on the application's own logger
`hgtest.app`, as a user's handler would), anything else returns at once. `done` is written
only when the handler succeeds. The chaos suite runs this service too.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time

from consumers import Event, Service, SqliteIdempotencyStore
from consumers.idempotency import IdempotencyStore

_RECORD = os.environ.get("HG_TEST_RECORD", os.devnull)


class _KillAfterMark:
    def __init__(self, inner: IdempotencyStore) -> None:
        self._inner = inner

    async def is_done(self, key: str, now: float) -> bool:
        return await self._inner.is_done(key, now)

    async def mark_done(self, key: str, now: float) -> None:
        await self._inner.mark_done(key, now)
        os.kill(os.getpid(), signal.SIGKILL)

    async def purge(self, now: float) -> int:
        return await self._inner.purge(now)

    async def close(self) -> None:
        await self._inner.close()


def _store() -> IdempotencyStore | None:
    path = os.environ.get("HG_TEST_IDEMPOTENCY")
    if not path:
        return None
    store = SqliteIdempotencyStore(path)
    return _KillAfterMark(store) if os.environ.get("HG_TEST_KILL_AFTER_MARK") == "1" else store


service = Service(
    os.environ.get("HG_TEST_SERVICE", "hgt-unset"),
    retry_delays=(1,),
    handler_timeout=30,
    concurrency=int(os.environ.get("HG_TEST_CONCURRENCY", "8")),
    delivery_limit=int(os.environ.get("HG_TEST_DELIVERY_LIMIT", "10")),
    idempotency=_store(),
)


class MeantToFail(RuntimeError):
    """What a `fail` event raises, so its dead letter names it."""


def _record(what: str, event: Event) -> None:
    # One short append per line: a kill -9 leaves at most one torn last line.
    with open(_RECORD, "a") as record:
        record.write(f"{what} {event.id} {os.getpid()}\n")


@service.handler("#")
async def handle(event: Event) -> None:
    _record("start", event)
    data = event.json()
    behaviour = data.get("behaviour") if isinstance(data, dict) else None
    if behaviour == "crash":
        os.kill(os.getpid(), signal.SIGKILL)
    if behaviour == "fail":
        raise MeantToFail(f"event {event.id} is meant to fail")
    if behaviour == "slow":
        await asyncio.sleep(float(data.get("seconds", 1)))
    if behaviour == "log":
        logging.getLogger("hgtest.app").info("the handler's own line", extra={"x": 1})
    _record("done", event)


sync_service = Service(
    os.environ.get("HG_TEST_SERVICE", "hgt-unset"),
    retry_delays=(1,),
    handler_timeout=300,
    concurrency=2,
)


@sync_service.handler("#")
def handle_sync(event: Event) -> None:
    """A sync handler that outlives any drain: Python cannot stop its thread."""
    _record("start", event)
    time.sleep(float(event.json().get("seconds", 120)))
    _record("done", event)
