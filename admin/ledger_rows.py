"""The SQL ledgers' rows: how a change, a service's state and an event become columns and back
(in the column orders of `admin.ledger_sql`). Shared by `ledger_sqlite` and `ledger_postgres`,
so both store the same thing the same way, and fold changes with `EventState.apply`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

import orjson

from admin.ledger import Activity, Count, EventDetail, EventSummary
from admin.ledger_memory import sort_key, summary, timeline_order
from admin.model import EventState, ServiceState
from hookgate.status import ServiceAnnouncement, Status, StatusChange


class Row(Protocol):
    """A row as a driver returns it: a tuple (sqlite3), an `asyncpg.Record`."""

    def __getitem__(self, index: int, /) -> Any: ...
    def __iter__(self) -> Iterator[Any]: ...
    def __len__(self) -> int: ...


def by_event(changes: Iterable[StatusChange]) -> list[tuple[str, str, list[StatusChange]]]:
    """`changes` by event, events in (source, ID) order: the order in which a writer takes
    their row locks, so that two writers never wait on each other in a circle."""
    events: dict[tuple[str, str], list[StatusChange]] = {}
    for change in changes:
        events.setdefault((change.source, change.event_id), []).append(change)
    return [(source, event_id, group) for (source, event_id), group in sorted(events.items())]


def applied(
    source: str,
    event_id: str,
    row: Row,
    states: Iterable[Row],
    changes: Iterable[StatusChange],
) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
    """After `changes`, the event's `EVENT_COLUMNS` row and its changed `STATE_COLUMNS` rows,
    from what is stored (`row`, `states`): `EventState.apply`, the fold every ledger shares."""
    before = event_state(source, event_id, row, states)
    after = before
    for change in changes:
        after = after.apply(change)
    changed = [
        state_row(service, state)
        for service, state in after.services.items()
        if before.services.get(service) != state
    ]
    return event_row(after), changed


def timeline_row(change: StatusChange) -> tuple[Any, ...]:
    _, _, service, status, attempt, repeat_at = change.key
    return (
        service,
        status,
        attempt,
        repeat_at,
        change.at,
        change.event_type,
        change.received_at,
        change.detail,
        change.next_attempt_at,
    )


def change_from_row(source: str, event_id: str, row: Row) -> StatusChange:
    service, status, attempt, _, at, event_type, received_at, detail, next_attempt_at = row
    return StatusChange(
        source=source,
        event_id=event_id,
        status=Status(status),
        at=at,
        service=service or None,
        event_type=event_type,
        received_at=received_at,
        attempt=attempt or None,
        detail=detail,
        next_attempt_at=next_attempt_at,
    )


def timeline(source: str, event_id: str, rows: Iterable[Row]) -> list[StatusChange]:
    """The changes of `rows`, in the order every ledger lists them (`timeline_order`)."""
    return sorted((change_from_row(source, event_id, row) for row in rows), key=timeline_order)


def state_row(service: str, state: ServiceState) -> tuple[Any, ...]:
    return (
        service,
        state.status.value,
        state.attempts,
        state.last_error,
        state.next_attempt_at,
        *state.since,
        *state.error_since,
    )


def state_from_row(row: Row) -> tuple[str, ServiceState]:
    service, status, attempts, last_error, next_attempt_at, *order = row
    return service, ServiceState(
        status=Status(status),
        attempts=attempts,
        last_error=last_error,
        next_attempt_at=next_attempt_at,
        since=(order[0], order[1], order[2]),
        error_since=(order[3], order[4], order[5]),
    )


def event_row(state: EventState) -> tuple[Any, ...]:
    return (
        state.type,
        state.received_at,
        state.gateway.value if state.gateway else None,
        state.duplicates,
        state.status.value,
        sort_key(state)[0],
        state.updated_at,
    )


def event_state(source: str, event_id: str, row: Row, states: Iterable[Row]) -> EventState:
    """The state of an event from its `EVENT_COLUMNS` row and its `STATE_COLUMNS` rows."""
    type_, received_at, gateway, duplicates, _, _, updated_at = row
    return EventState(
        source=source,
        event_id=event_id,
        type=type_,
        received_at=received_at,
        gateway=Status(gateway) if gateway else None,
        duplicates=duplicates,
        services=dict(state_from_row(r) for r in states),
        updated_at=updated_at,
    )


def service_row(announcement: ServiceAnnouncement) -> tuple[Any, ...]:
    a = announcement
    patterns, tiers = orjson.dumps(list(a.patterns)), orjson.dumps(list(a.tiers))
    return (a.service, patterns.decode(), a.at, tiers.decode(), a.delivery_limit)


def service_from_row(row: Row) -> ServiceAnnouncement:
    service, patterns, at, tiers, delivery_limit = row
    return ServiceAnnouncement(
        service, tuple(orjson.loads(patterns)), at, tuple(orjson.loads(tiers)), delivery_limit
    )


def page(
    rows: Sequence[Row], limit: int
) -> tuple[list[EventSummary], tuple[float, str, str] | None]:
    """The summaries of a search's rows, and the position of the last one if there are more."""
    shown = rows[:limit]
    summaries = [EventSummary(r[0], r[1], r[2], r[3], Status(r[4])) for r in shown]
    last = shown[-1] if len(rows) > limit else None
    return summaries, (last[5], last[0], last[1]) if last is not None else None


def detail(
    source: str,
    event_id: str,
    row: Row,
    states: Iterable[Row],
    changes: Iterable[Row],
) -> EventDetail:
    """An event as `LedgerStore.event` answers it, from its stored rows."""
    state = event_state(source, event_id, row, states)
    return EventDetail(
        summary(state), dict(state.services), state.duplicates, timeline(source, event_id, changes)
    )


def count_row(count: Count) -> tuple[Any, ...]:
    """A count in `COUNT`'s parameter order."""
    return (count.kind, count.name, count.minute, count.outcome, count.n)


def activity(counts: Iterable[Row], last_events: Iterable[Row]) -> Activity:
    """`LedgerStore.activity` from the rows of `COUNTS` and `LAST_EVENTS`."""
    return Activity(
        [
            Count(kind, name, int(minute), outcome, int(n))
            for kind, name, minute, outcome, n in counts
        ],
        {source: at for source, at in last_events},
    )
