"""The ledger: every event's timeline, each service's state, searchable. One async protocol;
backends by name (`memory`, `sqlite`, `postgres`) through `admin.ledger_registry`.

Stores keep what `admin.model` computes, so every backend answers alike; the contract suite
(tests/unit/admin/test_admin_ledger_contract.py) runs against each. A store is never in the
path of an event: it records what status messages say, and losing one loses no event.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from admin.model import ServiceState
from hookgate.status import ServiceAnnouncement, Status, StatusChange

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class LedgerUnavailable(Exception):
    """The ledger store cannot be read or written right now."""


@dataclass(frozen=True, slots=True)
class EventSummary:
    """One row of a search: newest first by `received_at` (else the first change's time)."""

    source: str
    event_id: str
    type: str | None
    received_at: float | None
    status: Status


@dataclass(frozen=True, slots=True)
class EventDetail:
    summary: EventSummary
    services: dict[str, ServiceState]
    duplicates: int
    #: Every change, in `StatusChange.order` (ties: by `StatusChange.key`).
    timeline: list[StatusChange]


@dataclass(frozen=True, slots=True)
class EventQuery:
    """A search. Every filter is optional; `since` is a Unix time (received at or after);
    `cursor` is the `next` of the previous page, opaque to callers."""

    source: str | None = None
    status: Status | None = None
    type: str | None = None
    service: str | None = None
    since: float | None = None
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


Kind = Literal["source", "service"]
#: What a count is of: (kind, name, minute, outcome).
CountKey = tuple[Kind, str, int, str]


@dataclass(frozen=True, slots=True)
class Count:
    """How many times one source or service had one outcome in one minute (`minute`: Unix
    seconds // 60). A source's outcomes are the gateway's answers (`accepted`, `spooled`,
    `duplicate`, and each refusal: `invalid_signature`, ...); a service's are `completed`,
    `retrying`, `failed` and `cancelled`."""

    kind: Kind
    name: str
    minute: int
    outcome: str
    n: int

    @property
    def order(self) -> tuple[int, str, str, str]:
        """The SQL ledgers' primary-key order: every writer takes the rows' locks in it, so
        two writers never wait on each other in a circle."""
        return (self.minute, self.kind, self.name, self.outcome)


@dataclass(frozen=True, slots=True)
class Activity:
    """The counts since some minute, and each source's latest event (Unix time)."""

    counts: list[Count] = field(default_factory=list)
    last_event_at: dict[str, float] = field(default_factory=dict)


#: The changes a ledger counts as it records them (once each, as it records them once).
COUNTED_BY_SOURCE = (Status.ACCEPTED, Status.SPOOLED, Status.DUPLICATE)
COUNTED_BY_SERVICE = (Status.COMPLETED, Status.RETRYING, Status.FAILED, Status.CANCELLED)


def counts_of(changes: Iterable[StatusChange]) -> tuple[list[Count], dict[str, float]]:
    """What newly recorded `changes` add to the counts (one per source or service, minute
    and outcome, in `Count.order`), and the latest event time each source's changes show."""
    added: dict[CountKey, int] = {}
    seen: dict[str, float] = {}
    for change in changes:
        key: CountKey
        if change.service is None and change.status in COUNTED_BY_SOURCE:
            key = ("source", change.source, int(change.at // 60), change.status.value)
            at = change.received_at or change.at
            if at > seen.get(change.source, 0.0):
                seen[change.source] = at
        elif change.service is not None and change.status in COUNTED_BY_SERVICE:
            key = ("service", change.service, int(change.at // 60), change.status.value)
        else:
            continue
        added[key] = added.get(key, 0) + 1
    return sorted((Count(*key, n) for key, n in added.items()), key=lambda c: c.order), seen


class LedgerStore(Protocol):
    """Errors: `LedgerUnavailable`. Every call is a coroutine that never blocks the loop."""

    async def record(self, changes: Sequence[StatusChange]) -> int:
        """Apply each change not seen before (by `key`); the number newly recorded."""
        ...

    async def announce(self, announcement: ServiceAnnouncement) -> None:
        """Remember a service and its patterns: the latest announcement wins, by its `at`
        (on a tie, the one recorded last)."""
        ...

    async def services(self) -> list[ServiceAnnouncement]: ...

    async def count(self, counts: Sequence[Count]) -> None:
        """Add counts that come from elsewhere: the gateway's refusals, which are no event's
        change. (A recorded change is counted by `record`, once, with `counts_of`.)"""
        ...

    async def activity(self, since: float) -> Activity:
        """Every count from the minute of `since` on, and each source's latest event."""
        ...

    async def event(self, source: str, event_id: str) -> EventDetail | None: ...

    async def events(self, query: EventQuery) -> tuple[list[EventSummary], str | None]:
        """A page of summaries, newest first, and the cursor of the next page (None: last)."""
        ...

    async def prune(self, before: float, batch: int = 1000) -> int:
        """Delete up to `batch` events last changed before `before` (with their timelines),
        and the counts of the minutes before it; the number of events deleted. Called
        repeatedly, never in one long transaction."""
        ...

    async def close(self) -> None: ...
