"""The ledger in one process's memory: for tests, demos and a single `hookgate admin` that may
forget on restart. It is also the reference the other backends are held to."""

from __future__ import annotations

import base64
from collections.abc import Sequence

import orjson

from admin.ledger import (
    MAX_LIMIT,
    Activity,
    Count,
    CountKey,
    EventDetail,
    EventQuery,
    EventSummary,
    counts_of,
)
from admin.ledger_registry import LedgerBackend
from admin.model import EventState
from hookgate.status import ServiceAnnouncement, StatusChange


class MemoryLedger:
    def __init__(self) -> None:
        self._states: dict[tuple[str, str], EventState] = {}
        self._timelines: dict[tuple[str, str], dict[tuple[object, ...], StatusChange]] = {}
        self._services: dict[str, ServiceAnnouncement] = {}
        self._counts: dict[CountKey, int] = {}
        self._last_event_at: dict[str, float] = {}

    async def record(self, changes: Sequence[StatusChange]) -> int:
        new: list[StatusChange] = []
        for change in changes:
            event = (change.source, change.event_id)
            timeline = self._timelines.setdefault(event, {})
            if change.key in timeline:
                continue
            timeline[change.key] = change
            state = self._states.get(event) or EventState(change.source, change.event_id)
            self._states[event] = state.apply(change)
            new.append(change)
        counts, seen = counts_of(new)
        await self.count(counts)
        for source, at in seen.items():
            self._last_event_at[source] = max(at, self._last_event_at.get(source, 0.0))
        return len(new)

    async def announce(self, announcement: ServiceAnnouncement) -> None:
        known = self._services.get(announcement.service)
        if known is None or announcement.at >= known.at:  # an older one arriving late: kept out
            self._services[announcement.service] = announcement

    async def services(self) -> list[ServiceAnnouncement]:
        return sorted(self._services.values(), key=lambda a: a.service)

    async def count(self, counts: Sequence[Count]) -> None:
        for c in counts:
            key = (c.kind, c.name, c.minute, c.outcome)
            self._counts[key] = self._counts.get(key, 0) + c.n

    async def activity(self, since: float) -> Activity:
        first = int(since // 60)
        return Activity(
            [Count(*key, n) for key, n in sorted(self._counts.items()) if key[2] >= first],
            dict(self._last_event_at),
        )

    async def event(self, source: str, event_id: str) -> EventDetail | None:
        state = self._states.get((source, event_id))
        if state is None:
            return None
        timeline = sorted(self._timelines[(source, event_id)].values(), key=timeline_order)
        return EventDetail(summary(state), dict(state.services), state.duplicates, timeline)

    async def events(self, query: EventQuery) -> tuple[list[EventSummary], str | None]:
        limit = max(1, min(query.limit, MAX_LIMIT))
        after = decode_cursor(query.cursor)
        rows = sorted(
            (s for s in self._states.values() if _matches(s, query)),
            key=sort_key,
            reverse=True,
        )
        if after is not None:
            rows = [s for s in rows if sort_key(s) < after]
        page = rows[: limit + 1]
        more = len(page) > limit
        page = page[:limit]
        return [summary(s) for s in page], encode_cursor(sort_key(page[-1])) if more else None

    async def prune(self, before: float, batch: int = 1000) -> int:
        old = [key for key, state in self._states.items() if state.updated_at < before][:batch]
        for key in old:
            del self._states[key]
            del self._timelines[key]
        first = int(before // 60)
        self._counts = {k: n for k, n in self._counts.items() if k[2] >= first}
        return len(old)

    async def close(self) -> None:
        """Nothing to close; the contents stay until the object goes."""


async def _usable(settings: object) -> None:
    """Memory is always there."""


MEMORY = LedgerBackend(open=lambda settings: MemoryLedger(), check=_usable)


def summary(state: EventState) -> EventSummary:
    return EventSummary(state.source, state.event_id, state.type, state.received_at, state.status)


def timeline_order(change: StatusChange) -> tuple[object, ...]:
    """A timeline's order: `StatusChange.order`, ties (two services queued at once) broken by
    the change's key, so that every ledger lists a timeline alike."""
    return (change.order, change.key)


def sort_key(state: EventState) -> tuple[float, str, str]:
    """Newest first: by receipt time (else the first change seen), then source and ID."""
    return (state.received_at or state.updated_at, state.source, state.event_id)


def encode_cursor(key: tuple[float, str, str]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[float, str, str] | None:
    """The position a cursor names; `ValueError` for one this ledger did not hand out."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, source, event_id = orjson.loads(raw)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise ValueError("not a cursor from this ledger") from None
    if (
        not isinstance(at, int | float)
        or not isinstance(source, str)
        or not isinstance(event_id, str)
    ):
        raise ValueError("not a cursor from this ledger")
    return (float(at), source, event_id)


def _matches(state: EventState, query: EventQuery) -> bool:
    return (
        (query.source is None or state.source == query.source)
        and (query.status is None or state.status is query.status)
        and (query.type is None or state.type == query.type)
        and (query.service is None or query.service in state.services)
        and (query.since is None or (state.received_at or state.updated_at) >= query.since)
    )
