"""The spool file: its schema and every statement run on it, synchronous, one short
transaction each.

`gateway.spool` runs these on its own thread for the gateway; `hookgate spool` (the operator's
CLI) runs them directly, while the gateway keeps running: SQLite in WAL mode lets readers
and one writer at a time share the file, and every write here is one `BEGIN IMMEDIATE`
transaction that finishes in milliseconds.

Tables: `events` (waiting for the broker, forwarded in `seq` order), `quarantine` (rows the
forwarder moved aside because they can never be published; see `gateway.forwarder`),
`totals` (the `events` table's count and bytes, kept in the same transactions as the rows,
so reading them never scans the spool; `removed` counts rows that ever left `events`, which
is how every worker sees that the spool drains), and `forwarder` (the lease). A row moves
between `events` and `quarantine` inside one transaction and keeps its `seq`: it is in
exactly one of them at every instant.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import orjson

from hookgate.datafiles import private_sqlite_file

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    provider TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    routing_key TEXT NOT NULL,
    headers BLOB NOT NULL,
    body BLOB NOT NULL,
    received_at REAL NOT NULL,
    size INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS totals (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    events INTEGER NOT NULL,
    bytes INTEGER NOT NULL
);
INSERT OR IGNORE INTO totals (id, events, bytes)
SELECT 1, count(*), coalesce(sum(size), 0) FROM events
WHERE NOT EXISTS (SELECT 1 FROM totals);
CREATE TABLE IF NOT EXISTS forwarder (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    owner TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS quarantine (
    seq INTEGER PRIMARY KEY,
    size INTEGER NOT NULL,
    quarantined_at REAL NOT NULL,
    reason TEXT NOT NULL,
    source TEXT NOT NULL,
    provider TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    routing_key TEXT NOT NULL,
    received_at REAL NOT NULL,
    headers BLOB NOT NULL,
    body BLOB NOT NULL
);
"""
# Columns added after the first release: (table, column, definition). Adding a column with a
# constant default rewrites nothing in SQLite, whatever the spool holds.
_ADDED_COLUMNS = (
    ("events", "strikes", "INTEGER NOT NULL DEFAULT 0"),
    ("totals", "removed", "INTEGER NOT NULL DEFAULT 0"),
)
_INSERT = """
INSERT INTO events (source, provider, event_id, event_type, routing_key, headers, body,
                    received_at, size)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
_COLUMNS = "seq, source, provider, event_id, event_type, routing_key, headers, body, received_at"
_TO_QUARANTINE = """
INSERT INTO quarantine (seq, size, quarantined_at, reason, source, provider, event_id,
                        event_type, routing_key, received_at, headers, body)
SELECT seq, size, ?, ?, source, provider, event_id, event_type, routing_key, received_at,
       headers, body
FROM events WHERE seq = ?
"""
_TO_EVENTS = """
INSERT INTO events (seq, source, provider, event_id, event_type, routing_key, headers, body,
                    received_at, size)
SELECT seq, source, provider, event_id, event_type, routing_key, headers, body, received_at,
       size
FROM quarantine WHERE seq = ?
"""
LEASE = """
INSERT INTO forwarder (id, owner, expires_at) VALUES (1, ?1, ?2)
ON CONFLICT (id) DO UPDATE SET owner = ?1, expires_at = ?2
WHERE forwarder.owner = ?1 OR forwarder.expires_at < ?3
RETURNING owner
"""
ROW_OVERHEAD = 128  # bytes counted per row beyond body and headers


@dataclass(frozen=True, slots=True)
class SpooledEvent:
    """One event waiting for the broker, with everything needed to publish it as it came."""

    source: str
    provider: str
    event_id: str
    event_type: str
    routing_key: str
    headers: Mapping[str, str]
    body: bytes
    received_at: float
    seq: int = 0
    strikes: int = 0  # times the broker closed the connection over this row, published alone

    def size(self) -> int:
        return len(self.body) + sum(len(k) + len(v) for k, v in self.headers.items()) + ROW_OVERHEAD


@dataclass(frozen=True, slots=True)
class SpoolTotals:
    events: int
    bytes: int
    oldest_received_at: float | None
    quarantined: int = 0
    quarantined_bytes: int = 0
    removed: int = 0  # rows that ever left `events` (forwarded, quarantined, dropped)


@dataclass(frozen=True, slots=True)
class SpoolRow:
    """A row as `hookgate spool` shows it: waiting (`queued`) or `quarantined`."""

    event: SpooledEvent
    state: str
    size: int
    reason: str = ""
    quarantined_at: float | None = None


def connect(path: str) -> sqlite3.Connection:
    """Open (creating it 0600 if needed) the spool file, in WAL mode, schema up to date."""
    private_sqlite_file(path)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")  # a commit returns after the fsync
        db.execute("PRAGMA busy_timeout = 5000")
        db.executescript(_SCHEMA)
        _add_columns(db)
    except BaseException:
        db.close()
        raise
    return db


def insert(db: sqlite3.Connection, events: Sequence[SpooledEvent]) -> None:
    with _transaction(db):
        db.executemany(
            _INSERT,
            [
                (
                    e.source,
                    e.provider,
                    e.event_id,
                    e.event_type,
                    e.routing_key,
                    orjson.dumps(dict(e.headers)),
                    e.body,
                    e.received_at,
                    e.size(),
                )
                for e in events
            ],
        )
        db.execute(
            "UPDATE totals SET events = events + ?, bytes = bytes + ? WHERE id = 1",
            (len(events), sum(e.size() for e in events)),
        )


def oldest(db: sqlite3.Connection, limit: int) -> list[SpooledEvent]:
    rows = db.execute(
        f"SELECT {_COLUMNS}, strikes FROM events ORDER BY seq LIMIT ?",  # noqa: S608 - constant
        (limit,),
    ).fetchall()
    return [_event(row[:-1], strikes=int(row[-1])) for row in rows]


def delete(db: sqlite3.Connection, seqs: Sequence[int]) -> None:
    """Delete forwarded rows (the ones still there: another worker may have done it)."""
    with _transaction(db):
        _remove(db, seqs)


def strike(db: sqlite3.Connection, seq: int) -> int:
    """Count one strike against a row; its new count (0 when the row is gone)."""
    row = db.execute(
        "UPDATE events SET strikes = strikes + 1 WHERE seq = ? RETURNING strikes", (seq,)
    ).fetchone()
    return int(row[0]) if row else 0


def quarantine(db: sqlite3.Connection, seq: int, reason: str) -> bool:
    """Move a row from `events` to `quarantine`; False when it is not waiting (any more)."""
    with _transaction(db):
        if db.execute(_TO_QUARANTINE, (time.time(), reason, seq)).rowcount != 1:
            return False
        _remove(db, [seq])
    return True


def requeue(db: sqlite3.Connection, seqs: Sequence[int]) -> list[int]:
    """Move quarantined rows back to `events`, under their own `seq` (so at the head of the
    line, where they arrived) with no strikes; the seqs that were moved."""
    moved = []
    with _transaction(db):
        for seq in seqs:
            if db.execute(_TO_EVENTS, (seq,)).rowcount == 1:
                moved.append(seq)
        events, size = _count(db, "events", moved)
        db.executemany("DELETE FROM quarantine WHERE seq = ?", [(s,) for s in moved])
        db.execute(
            "UPDATE totals SET events = events + ?, bytes = bytes + ? WHERE id = 1", (events, size)
        )
    return moved


def drop(db: sqlite3.Connection, seq: int, *, queued_too: bool = False) -> str | None:
    """Delete a quarantined row (or, with `queued_too`, a waiting one): the state it was in,
    or None when there is no such row."""
    with _transaction(db):
        if db.execute("DELETE FROM quarantine WHERE seq = ?", (seq,)).rowcount == 1:
            return "quarantined"
        if queued_too and _remove(db, [seq]):
            return "queued"
    return None


def quarantined_seqs(db: sqlite3.Connection) -> list[int]:
    return [int(row[0]) for row in db.execute("SELECT seq FROM quarantine ORDER BY seq")]


def rows(db: sqlite3.Connection, limit: int) -> list[SpoolRow]:
    """Quarantined rows first (they need a person), then the oldest waiting ones."""
    quarantined = db.execute(
        f"SELECT {_COLUMNS}, size, reason, quarantined_at FROM quarantine"  # noqa: S608
        " ORDER BY seq LIMIT ?",
        (limit,),
    ).fetchall()
    waiting = db.execute(
        f"SELECT {_COLUMNS}, size, strikes FROM events ORDER BY seq LIMIT ?",  # noqa: S608
        (max(0, limit - len(quarantined)),),
    ).fetchall()
    return [_quarantined_row(row) for row in quarantined] + [_queued_row(row) for row in waiting]


def row(db: sqlite3.Connection, seq: int) -> SpoolRow | None:
    found = db.execute(
        f"SELECT {_COLUMNS}, size, reason, quarantined_at FROM quarantine WHERE seq = ?",  # noqa: S608
        (seq,),
    ).fetchone()
    if found is not None:
        return _quarantined_row(found)
    found = db.execute(
        f"SELECT {_COLUMNS}, size, strikes FROM events WHERE seq = ?",  # noqa: S608
        (seq,),
    ).fetchone()
    return _queued_row(found) if found is not None else None


def read_totals(db: sqlite3.Connection) -> SpoolTotals:
    events, size, removed = db.execute(
        "SELECT events, bytes, removed FROM totals WHERE id = 1"
    ).fetchone()
    # Rows arrive in seq order, so the head row is the oldest (a retried one keeps its age).
    head = db.execute("SELECT received_at FROM events ORDER BY seq LIMIT 1").fetchone()
    quarantined, quarantined_bytes = db.execute(
        "SELECT count(*), coalesce(sum(size), 0) FROM quarantine"
    ).fetchone()
    return SpoolTotals(
        int(events),
        int(size),
        float(head[0]) if head else None,
        int(quarantined),
        int(quarantined_bytes),
        int(removed),
    )


class _transaction:
    """`BEGIN IMMEDIATE` … `COMMIT`, rolled back on any error (SQLite's locks are short)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if kind is None:
            self._db.execute("COMMIT")
        elif self._db.in_transaction:
            self._db.execute("ROLLBACK")


def _remove(db: sqlite3.Connection, seqs: Sequence[int]) -> int:
    """Delete `seqs` from `events` and keep `totals` in step; how many were there."""
    events, size = _count(db, "events", seqs)
    db.executemany("DELETE FROM events WHERE seq = ?", [(s,) for s in seqs])
    db.execute(
        "UPDATE totals SET events = events - ?, bytes = bytes - ?, removed = removed + ?"
        " WHERE id = 1",
        (events, size, events),
    )
    return int(events)


def _count(db: sqlite3.Connection, table: str, seqs: Sequence[int]) -> tuple[int, int]:
    if not seqs:
        return 0, 0
    marks = ",".join("?" * len(seqs))
    events, size = db.execute(
        f"SELECT count(*), coalesce(sum(size), 0) FROM {table} WHERE seq IN ({marks})",  # noqa: S608 - a constant and placeholders
        list(seqs),
    ).fetchone()
    return int(events), int(size)


def _add_columns(db: sqlite3.Connection) -> None:
    with _transaction(db):  # every worker opens the file at once: check and add under the lock
        for table, column, definition in _ADDED_COLUMNS:
            present = {info[1] for info in db.execute(f"PRAGMA table_info({table})")}
            if column not in present:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")


def _event(row: Sequence[object], strikes: int = 0) -> SpooledEvent:
    seq, source, provider, event_id, event_type, routing_key, headers, body, received_at = row
    assert isinstance(body, bytes)
    assert isinstance(headers, bytes | str)
    return SpooledEvent(
        seq=int(seq),  # type: ignore[call-overload]
        source=str(source),
        provider=str(provider),
        event_id=str(event_id),
        event_type=str(event_type),
        routing_key=str(routing_key),
        headers=orjson.loads(headers),
        body=body,
        received_at=float(received_at),  # type: ignore[arg-type]
        strikes=strikes,
    )


def _queued_row(found: Sequence[object]) -> SpoolRow:
    size, strikes = found[-2:]
    event = _event(found[:-2], strikes=int(strikes))  # type: ignore[call-overload]
    return SpoolRow(event, "queued", int(size))  # type: ignore[call-overload]


def _quarantined_row(found: Sequence[object]) -> SpoolRow:
    size, reason, quarantined_at = found[-3:]
    return SpoolRow(
        _event(found[:-3]),
        "quarantined",
        int(size),  # type: ignore[call-overload]
        str(reason),
        float(quarantined_at),  # type: ignore[arg-type]
    )
