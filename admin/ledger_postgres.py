"""The PostgreSQL ledger: one ledger that several `hookgate admin` hosts share.

asyncpg (the `postgres` extra), imported by this module only: `admin.ledger_registry` loads it
when a config names the backend. The schema and statements are the SQLite ledger's
(`admin.ledger_sql`), with text compared byte by byte (`COLLATE "C"`), so that paging orders
events as the memory ledger does.

Two recorders (two `hookgate admin` processes) may write the same event at once. A `record`
call is one transaction of a few statements, each for the whole batch (arrays through
`unnest`): upsert the batch's events in (source, ID) order, which takes their row locks until
the commit (the other writer waits; one order, so two writers never deadlock); insert the
changes (`ON CONFLICT DO NOTHING`: each change once, whoever wrote it, and `RETURNING` says
which are new); read the states of those events under the locks; fold the new changes in
(`EventState.apply`) and write them back. `prune` skips the rows a writer holds (`SKIP LOCKED`).

Every call is bounded: connecting (5 s), waiting for a pooled connection and each statement
(10 s). An outage, a timeout or any database error is `LedgerUnavailable`, never a hang.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from admin import ledger_rows
from admin import ledger_sql as sql
from admin.ledger import (
    MAX_LIMIT,
    Activity,
    Count,
    EventDetail,
    EventQuery,
    EventSummary,
    LedgerUnavailable,
    counts_of,
)
from admin.ledger_memory import decode_cursor, encode_cursor
from admin.ledger_registry import LedgerBackend
from hookgate.errors import ConfigError, describe
from hookgate.settings import display_url
from hookgate.status import ServiceAnnouncement, StatusChange

if TYPE_CHECKING:
    from admin.config import LedgerSettings

_SCHEMA = sql.schema(
    id="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    text='TEXT COLLATE "C"',
    real="DOUBLE PRECISION",
)
_SCHEMA_LOCK = 0x686F6F6B6C6564  # "hookled": one process creates the tables at a time
_FIND_EVENT = sql.numbered(sql.FIND_EVENT)
_STATES = sql.numbered(sql.STATES)
_WRITE_EVENT = sql.numbered(sql.WRITE_EVENT)
_WRITE_STATE = sql.numbered(sql.WRITE_STATE)
_TIMELINE = sql.numbered(sql.TIMELINE)
_ANNOUNCE = sql.numbered(sql.ANNOUNCE)
_COUNT = sql.numbered(sql.COUNT)
_SEEN = sql.numbered(sql.SEEN)
_COUNTS = sql.numbered(sql.COUNTS)
_PRUNE_COUNTS = sql.numbered(sql.PRUNE_COUNTS)
_PRUNE = """
WITH old AS (
    SELECT id FROM ledger_events WHERE updated_at < $1 ORDER BY updated_at LIMIT $2
    FOR UPDATE SKIP LOCKED
), timeline AS (
    DELETE FROM ledger_timeline WHERE event IN (SELECT id FROM old)
), states AS (
    DELETE FROM ledger_states WHERE event IN (SELECT id FROM old)
), gone AS (
    DELETE FROM ledger_events WHERE id IN (SELECT id FROM old) RETURNING id
)
SELECT count(*) FROM gone
"""
_OUTAGE = (
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,  # e.g. a connection the server ended mid-call
)
CONNECT_TIMEOUT = 5.0
COMMAND_TIMEOUT = 10.0


class PostgresLedger:
    """The ledger in the database at `url` (`postgresql://user:password@host:5432/db`; a
    `?search_path=SCHEMA` puts its tables in that schema). A small pool of connections is
    opened at the first call, and the tables created if missing; a call that cannot connect
    fails with `LedgerUnavailable` and the next one tries again. `close()` closes the pool; a
    later call opens a new one."""

    def __init__(
        self,
        url: str,
        *,
        max_connections: int = 4,
        connect_timeout: float = CONNECT_TIMEOUT,
        command_timeout: float = COMMAND_TIMEOUT,
    ) -> None:
        self._url = url  # holds a password: never shown, see `display_url`
        self._max = max_connections
        self._connect_timeout = connect_timeout
        self._command_timeout = command_timeout
        self._pool: asyncpg.Pool[asyncpg.Record] | None = None
        self._opening = asyncio.Lock()

    def __repr__(self) -> str:
        return f"PostgresLedger({display_url(self._url)!r})"

    async def record(self, changes: Sequence[StatusChange]) -> int:
        if not changes:
            return 0
        events = ledger_rows.by_event(changes)  # in lock order
        async with self._connection() as db, db.transaction():
            stored = {
                (row["source"], row["event_id"]): tuple(row)
                for row in await db.fetch(
                    sql.UPSERT_EVENTS, [e[0] for e in events], [e[1] for e in events]
                )
            }
            timeline = [
                (stored[(source, event_id)][0], *ledger_rows.timeline_row(c))
                for source, event_id, group in events
                for c in group
            ]
            columns = [list(column) for column in zip(*timeline, strict=True)]
            new = {tuple(row) for row in await db.fetch(sql.INSERT_CHANGES, *columns)}
            if not new:
                return 0
            states: dict[int, list[tuple[Any, ...]]] = {}
            for row in await db.fetch(sql.STATES_OF_EVENTS, list({key[0] for key in new})):
                states.setdefault(row[0], []).append(tuple(row)[1:])
            event_rows, state_rows, applied = _fold(events, stored, new, states)
            await db.executemany(_WRITE_EVENT, event_rows)
            if state_rows:
                await db.executemany(_WRITE_STATE, state_rows)
            counts, seen = counts_of(applied)
            await db.executemany(_COUNT, [ledger_rows.count_row(c) for c in counts])
            if seen:
                await db.executemany(_SEEN, sorted(seen.items()))
        return len(new)  # each change inserted, once

    async def announce(self, announcement: ServiceAnnouncement) -> None:
        async with self._connection() as db:
            await db.execute(_ANNOUNCE, *ledger_rows.service_row(announcement))

    async def services(self) -> list[ServiceAnnouncement]:
        async with self._connection() as db:
            found = await db.fetch(sql.SERVICES)
        return [ledger_rows.service_from_row(row) for row in found]

    async def count(self, counts: Sequence[Count]) -> None:
        rows = [ledger_rows.count_row(c) for c in sorted(counts, key=lambda c: c.order)]
        if rows:
            async with self._connection() as db:
                await db.executemany(_COUNT, rows)

    async def activity(self, since: float) -> Activity:
        async with self._connection() as db:
            counts = await db.fetch(_COUNTS, int(since // 60))
            last_events = await db.fetch(sql.LAST_EVENTS)
        return ledger_rows.activity(counts, last_events)

    async def event(self, source: str, event_id: str) -> EventDetail | None:
        async with (
            self._connection() as db,
            db.transaction(isolation="repeatable_read", readonly=True),
        ):
            found = await db.fetchrow(_FIND_EVENT, source, event_id)
            if found is None:
                return None
            event, *row = found
            states = await db.fetch(_STATES, event)
            changes = await db.fetch(_TIMELINE, event)
        return ledger_rows.detail(source, event_id, row, states, changes)

    async def events(self, query: EventQuery) -> tuple[list[EventSummary], str | None]:
        limit = max(1, min(query.limit, MAX_LIMIT))
        text, params = sql.search(query, decode_cursor(query.cursor), limit, lambda n: f"${n}")
        async with self._connection() as db:
            found = await db.fetch(text, *params)
        summaries, last = ledger_rows.page(found, limit)
        return summaries, encode_cursor(last) if last else None

    async def prune(self, before: float, batch: int = 1000) -> int:
        async with self._connection() as db:
            pruned: int = await db.fetchval(_PRUNE, before, batch)
            await db.execute(_PRUNE_COUNTS, int(before // 60))
        return pruned

    async def close(self) -> None:
        async with self._opening:
            pool, self._pool = self._pool, None
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), self._command_timeout)
            except _OUTAGE:
                pool.terminate()

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[PoolConnectionProxy[asyncpg.Record]]:
        try:
            pool = await self._open()
            async with pool.acquire(timeout=self._command_timeout) as db:
                yield db
        except asyncpg.DataError as err:
            # What was asked cannot be stored or matched (a value the column refuses): the
            # caller's data, not an outage. A ValueError, so no one waits for it to pass.
            raise ValueError(f"the ledger refused a value: {type(err).__name__}") from err
        except _OUTAGE as err:
            detail = describe(err, self._url)
            raise LedgerUnavailable(f"ledger {display_url(self._url)}: {detail}") from err

    async def _open(self) -> asyncpg.Pool[asyncpg.Record]:
        async with self._opening:
            if self._pool is None:
                pool = await asyncpg.create_pool(
                    self._url,
                    min_size=0,
                    max_size=self._max,
                    timeout=self._connect_timeout,
                    command_timeout=self._command_timeout,
                )
                try:
                    timeout = self._command_timeout
                    async with pool.acquire(timeout=timeout) as db, db.transaction():
                        await db.execute("SELECT pg_advisory_xact_lock($1)", _SCHEMA_LOCK)
                        await db.execute(_SCHEMA)
                except BaseException:
                    pool.terminate()
                    raise
                self._pool = pool
            return self._pool


def _fold(
    events: list[tuple[str, str, list[StatusChange]]],
    stored: dict[tuple[str, str], tuple[Any, ...]],
    new: set[tuple[Any, ...]],
    states: dict[int, list[tuple[Any, ...]]],
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[StatusChange]]:
    """The events' rows and changed state rows after their `new` changes (by timeline key),
    and those changes."""
    event_rows: list[tuple[Any, ...]] = []
    state_rows: list[tuple[Any, ...]] = []
    every: list[StatusChange] = []
    for source, event_id, group in events:
        event, _, _, *row = stored[(source, event_id)]
        applied, seen = [], set()
        for change in group:
            key = (event, *ledger_rows.timeline_row(change)[:4])
            if key in new and key not in seen:  # sent twice in the batch: applied once
                seen.add(key)
                applied.append(change)
        if not applied:
            continue
        columns, changed = ledger_rows.applied(
            source, event_id, row, states.get(event, []), applied
        )
        event_rows.append((*columns, event))
        state_rows.extend((event, *r) for r in changed)
        every.extend(applied)
    return event_rows, state_rows, every


def _open(settings: LedgerSettings) -> PostgresLedger:
    if settings.url is None:  # admin.config requires it for this backend
        raise ConfigError("ledger.url: required for the postgres backend")
    return PostgresLedger(settings.url.reveal())


async def _check(settings: LedgerSettings) -> None:
    ledger = _open(settings)
    try:
        await ledger.services()
    except LedgerUnavailable as err:
        # The error shows the URL with its password masked (`display_url`, `describe`).
        raise ConfigError(
            f"ledger.url: cannot use the PostgreSQL ledger ({err}); is the server up, and may "
            "this role log in and create tables in that database?"
        ) from err
    finally:
        await ledger.close()


POSTGRES = LedgerBackend(open=_open, check=_check)
