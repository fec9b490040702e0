"""The consumer service chaos tests run with `hookgate consume`, configured by environment.

HG_CHAOS_SERVICE (name), HG_CHAOS_RECORD (file to append `start|done EVENT_ID PID` lines to),
HG_CHAOS_CONCURRENCY, HG_CHAOS_DELIVERY_LIMIT. The event body's `behaviour` picks what the
handler does: `slow` (sleep `seconds`), `fail` (raise: retried once after 1 s, then
dead-lettered with the error), anything else returns at once. `done` is written only when the
handler succeeds, so a `done` line is a success and a missing one is a failure or a kill.
"""

from __future__ import annotations

import asyncio
import os

from consumers import Event, Service

_RECORD = os.environ.get("HG_CHAOS_RECORD", os.devnull)


class ChaosFailure(RuntimeError):
    """What a `fail` event raises, so its dead letter names it."""


service = Service(
    os.environ.get("HG_CHAOS_SERVICE", "hgc-unset"),
    retry_delays=(1,),
    handler_timeout=30,
    concurrency=int(os.environ.get("HG_CHAOS_CONCURRENCY", "16")),
    delivery_limit=int(os.environ.get("HG_CHAOS_DELIVERY_LIMIT", "10")),
)


def _record(what: str, event: Event) -> None:
    # One short append per line: a kill -9 leaves at most one torn last line.
    with open(_RECORD, "a") as record:
        record.write(f"{what} {event.id} {os.getpid()}\n")


@service.handler("#")
async def handle(event: Event) -> None:
    _record("start", event)
    data = event.json()
    behaviour = data.get("behaviour") if isinstance(data, dict) else None
    if behaviour == "fail":
        raise ChaosFailure(f"event {event.id} is meant to fail")
    if behaviour == "slow":
        await asyncio.sleep(float(data.get("seconds", 1)))
    _record("done", event)
