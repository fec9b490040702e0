"""The SQLite ledger: the default, one file on the `hookgate admin` host.

Statements run on the store's own thread (`hookgate.sqlite.StoreThread`), never on the event
loop. The `record` calls made while that thread is busy are written together in its next turn,
in one transaction (group commit): for each event, the changes not yet on its timeline are
inserted (unique on the change key), and its state is loaded, folded with `EventState.apply`
and written back. `prune` deletes one small batch of events per transaction, so a recorder's
writes wait for at most one batch. Schema and statements: `admin.ledger_sql`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING

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
from hookgate.errors import ConfigError
from hookgate.sqlite import StoreThread, open_sqlite
from hookgate.status import ServiceAnnouncement, StatusChange

if TYPE_CHECKING:
    from admin.config import LedgerSettings

_SCHEMA = sql.schema(id="INTEGER PRIMARY KEY", text="TEXT", real="REAL", keyed=" WITHOUT ROWID")
_OLD = "SELECT id FROM ledger_events WHERE updated_at < ? ORDER BY updated_at LIMIT ?"


class SqliteLedger:
    """A SQLite file, opened (and created, private) on the first call, on the store's thread;
    a file that cannot be opened fails that call with `LedgerUnavailable`, the next one tries
    again. `close()` answers the calls already made and releases the file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._thread = StoreThread("hookgate-ledger", self._open, self._unavailable)

    def __repr__(self) -> str:
        return f"SqliteLedger({self.path!r})"

    async def record(self, changes: Sequence[StatusChange]) -> int:
        if not changes:
            return 0
        batch = list(changes)
        return await self._thread.write(lambda db: _record(db, batch))

    async def announce(self, announcement: ServiceAnnouncement) -> None:
        await self._thread.write(
            lambda db: db.execute(sql.ANNOUNCE, ledger_rows.service_row(announcement))
        )

    async def services(self) -> list[ServiceAnnouncement]:
        found = await self._thread.run(lambda db: db.execute(sql.SERVICES).fetchall())
        return [ledger_rows.service_from_row(row) for row in found]

    async def count(self, counts: Sequence[Count]) -> None:
        rows = [ledger_rows.count_row(c) for c in counts]
        if rows:
            await self._thread.write(lambda db: db.executemany(sql.COUNT, rows))

    async def activity(self, since: float) -> Activity:
        def read(db: sqlite3.Connection) -> Activity:
            counts = db.execute(sql.COUNTS, (int(since // 60),)).fetchall()
            return ledger_rows.activity(counts, db.execute(sql.LAST_EVENTS).fetchall())

        return await self._thread.run(read)

    async def event(self, source: str, event_id: str) -> EventDetail | None:
        found: EventDetail | None = await self._thread.run(lambda db: _event(db, source, event_id))
        return found

    async def events(self, query: EventQuery) -> tuple[list[EventSummary], str | None]:
        limit = max(1, min(query.limit, MAX_LIMIT))
        text, params = sql.search(query, decode_cursor(query.cursor), limit, lambda _: "?")
        found = await self._thread.run(lambda db: db.execute(text, params).fetchall())
        summaries, last = ledger_rows.page(found, limit)
        return summaries, encode_cursor(last) if last else None

    async def prune(self, before: float, batch: int = 1000) -> int:
        return await self._thread.write(lambda db: _prune(db, before, batch))

    async def close(self) -> None:
        await self._thread.close()

    def _open(self) -> sqlite3.Connection:
        try:
            return open_sqlite(self.path, synchronous="NORMAL", busy_timeout=5.0, schema=_SCHEMA)
        except (OSError, sqlite3.Error) as err:
            raise self._unavailable(f"cannot open: {err}") from err

    def _unavailable(self, detail: str) -> LedgerUnavailable:
        return LedgerUnavailable(f"ledger {self.path!r}: {detail}")


def _record(db: sqlite3.Connection, changes: list[StatusChange]) -> int:
    fresh: list[StatusChange] = []
    for source, event_id, group in ledger_rows.by_event(changes):
        event, *row = db.execute(sql.EVENT, (source, event_id)).fetchone()
        new = [
            c
            for c in group
            if db.execute(sql.CHANGE, (event, *ledger_rows.timeline_row(c))).fetchone()
        ]
        if not new:
            continue
        states = db.execute(sql.STATES, (event,)).fetchall()
        event_columns, state_rows = ledger_rows.applied(source, event_id, row, states, new)
        db.execute(sql.WRITE_EVENT, (*event_columns, event))
        db.executemany(sql.WRITE_STATE, [(event, *r) for r in state_rows])
        fresh.extend(new)
    counts, seen = counts_of(fresh)
    db.executemany(sql.COUNT, [ledger_rows.count_row(c) for c in counts])
    db.executemany(sql.SEEN, list(seen.items()))
    return len(fresh)


def _event(db: sqlite3.Connection, source: str, event_id: str) -> EventDetail | None:
    db.execute("BEGIN")  # one snapshot for the three reads: another process may be writing
    try:
        found = db.execute(sql.FIND_EVENT, (source, event_id)).fetchone()
        if found is None:
            return None
        event, *row = found
        states = db.execute(sql.STATES, (event,)).fetchall()
        changes = db.execute(sql.TIMELINE, (event,)).fetchall()
    finally:
        db.execute("COMMIT")
    return ledger_rows.detail(source, event_id, row, states, changes)


def _prune(db: sqlite3.Connection, before: float, batch: int) -> int:
    ids = [(row[0],) for row in db.execute(_OLD, (before, batch)).fetchall()]
    db.executemany("DELETE FROM ledger_timeline WHERE event = ?", ids)
    db.executemany("DELETE FROM ledger_states WHERE event = ?", ids)
    db.executemany("DELETE FROM ledger_events WHERE id = ?", ids)
    db.execute(sql.PRUNE_COUNTS, (int(before // 60),))
    return len(ids)


async def _check(settings: LedgerSettings) -> None:
    ledger = SqliteLedger(settings.path)
    try:
        await ledger.services()
    except LedgerUnavailable as err:
        raise ConfigError(
            f"ledger.path: cannot use SQLite database {settings.path!r} ({err}); "
            "is its directory writable by this user?"
        ) from err
    finally:
        await ledger.close()


SQLITE = LedgerBackend(open=lambda settings: SqliteLedger(settings.path), check=_check)
