"""The ledger: every event's timeline, each service's state, searchable. One async protocol;
backends by name (`memory`, `sqlite`, `postgres`) through `admin.ledger_registry`.

Stores keep what `admin.model` computes, so every backend answers alike; the contract suite
(tests/unit/admin/test_admin_ledger_contract.py) runs against each. A store is never in the
path of an event: it records what status messages say, and losing one loses no event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

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

    async def event(self, source: str, event_id: str) -> EventDetail | None: ...

    async def events(self, query: EventQuery) -> tuple[list[EventSummary], str | None]:
        """A page of summaries, newest first, and the cursor of the next page (None: last)."""
        ...

    async def prune(self, before: float, batch: int = 1000) -> int:
        """Delete up to `batch` events last changed before `before` (with their timelines);
        the number deleted. Called repeatedly, never in one long transaction."""
        ...

    async def close(self) -> None: ...
