"""The disk spool: events RabbitMQ could not confirm, kept on local disk until it can.

When a publish fails (broker unreachable, blocked, no confirm in time), the gateway appends the
event here and answers `200 spooled` only once the row is fsynced: SQLite in WAL mode with
`synchronous = FULL`, so a commit returns after the write-ahead log reached the disk. Appends
from concurrent requests are group-committed: one transaction (one fsync) per batch, written by
one thread, so the event loop never waits on the disk. `gateway.forwarder` drains the spool to
RabbitMQ in arrival order and deletes each row only after its confirm.

Every worker process on a host shares one spool file; a lease row lets only one of them
forward at a time. The size bound is checked against the totals last read from the file plus
this process's own appends since, so with several workers it may be overshot by a little.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import orjson

from gateway.config import SpoolSettings
from gateway.errors import ConfigError, GatewayError

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
SELECT 1, count(*), coalesce(sum(size), 0) FROM events;
CREATE TABLE IF NOT EXISTS forwarder (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    owner TEXT NOT NULL,
    expires_at REAL NOT NULL
);
"""
_INSERT = """
INSERT INTO events (source, provider, event_id, event_type, routing_key, headers, body,
                    received_at, size)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
_LEASE = """
INSERT INTO forwarder (id, owner, expires_at) VALUES (1, ?1, ?2)
ON CONFLICT (id) DO UPDATE SET owner = ?1, expires_at = ?2
WHERE forwarder.owner = ?1 OR forwarder.expires_at < ?3
RETURNING owner
"""
_ROW_OVERHEAD = 128  # bytes counted per row beyond body and headers
T = TypeVar("T")


class SpoolFull(GatewayError):
    """The spool holds `spool.max_bytes` already."""


class SpoolUnavailable(GatewayError):
    """The spool file cannot be written (disk full, I/O error, locked too long)."""


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

    def size(self) -> int:
        return (
            len(self.body) + sum(len(k) + len(v) for k, v in self.headers.items()) + _ROW_OVERHEAD
        )


@dataclass(frozen=True, slots=True)
class SpoolTotals:
    events: int
    bytes: int
    oldest_received_at: float | None


class Spool:
    """The spool file of one host. `open()` before use, `close()` after."""

    def __init__(self, settings: SpoolSettings) -> None:
        self.path = settings.path
        self.max_bytes = settings.max_bytes
        self._db: sqlite3.Connection | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hookgate-spool")
        self._pending: list[tuple[SpooledEvent, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.totals = SpoolTotals(0, 0, None)
        self._reserved = 0  # bytes of this process's appends not yet committed
        self._commits = 0  # this process's committed batches, so a stale refresh is dropped
        self._refusing = False
        self._failing = False

    def check(self) -> None:
        """Open and close the file: `ConfigError` if it cannot be used."""
        self.open()
        if self._db is not None:
            self._db.close()
            self._db = None
        self._executor.shutdown(wait=False)

    def open(self) -> None:
        """Open (and create) the file; raise `ConfigError` naming `spool.path` if impossible."""
        try:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")  # a commit returns after the fsync
            db.execute("PRAGMA busy_timeout = 5000")
            db.executescript(_SCHEMA)
            self._db = db
            self.totals = self._read_totals()
        except (OSError, sqlite3.Error) as err:
            raise ConfigError(f"spool.path: cannot open SQLite spool {self.path!r}: {err}") from err

    @property
    def backlog(self) -> bool:
        """Events are waiting: new ones must queue behind them to keep arrival order."""
        return self.totals.events > 0 or bool(self._pending)

    @property
    def full(self) -> bool:
        """No room (the last event offered did not fit, and nothing has left the spool since),
        or the last write failed (disk full, I/O error) and none has succeeded since."""
        return (
            self._refusing or self._failing or self.totals.bytes + self._reserved >= self.max_bytes
        )

    async def append(self, event: SpooledEvent) -> None:
        """Return once `event` is fsynced. Raises `SpoolFull` or `SpoolUnavailable`."""
        size = event.size()
        if self.totals.bytes + self._reserved + size > self.max_bytes:
            self._refusing = True
            raise SpoolFull(f"the spool holds {self.totals.bytes + self._reserved} bytes")
        self._reserved += size
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((event, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_pending(), name="hookgate-spool-writer")
        # Shielded: a client that hangs up must not cancel a write others share.
        await asyncio.shield(done)

    async def _write_pending(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            batch, self._pending = self._pending, []
            size = sum(e.size() for e, _ in batch)
            try:
                await loop.run_in_executor(self._executor, self._insert, [e for e, _ in batch])
            except Exception as err:
                self._reserved -= size
                self._failing = True
                failure = SpoolUnavailable(f"spool write failed: {err}")
                for _, done in batch:
                    if not done.done():
                        done.set_exception(failure)
            else:
                self._reserved -= size
                self._failing = False
                self._commits += 1
                self.totals = SpoolTotals(
                    self.totals.events + len(batch),
                    self.totals.bytes + size,
                    self.totals.oldest_received_at or batch[0][0].received_at,
                )
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)

    async def refresh(self) -> SpoolTotals:
        """Re-read the totals from the file (other workers append to it too)."""
        commits = self._commits
        totals = await self._run(lambda _: self._read_totals())
        if commits == self._commits:  # else an append landed meanwhile: keep the newer count
            if totals.bytes < self.totals.bytes:
                self._refusing = False
            self.totals = totals
        return self.totals

    async def release_lease(self) -> None:
        """Hand the forwarding on at once (at shutdown), instead of when the lease runs out."""
        await self._run(
            lambda db: db.execute("DELETE FROM forwarder WHERE owner = ?", (self._owner,))
        )

    async def take_lease(self, seconds: float) -> bool:
        """Become (or stay) the one forwarder of this file for `seconds`."""
        now = time.time()
        row = await self._run(
            lambda db: db.execute(_LEASE, (self._owner, now + seconds, now)).fetchone()
        )
        return row is not None

    async def oldest(self, limit: int) -> list[SpooledEvent]:
        rows = await self._run(
            lambda db: db.execute(
                "SELECT seq, source, provider, event_id, event_type, routing_key, headers, body,"
                " received_at FROM events ORDER BY seq LIMIT ?",
                (limit,),
            ).fetchall()
        )
        return [_row_to_event(row) for row in rows]

    async def delete(self, seqs: Sequence[int]) -> None:
        def delete(db: sqlite3.Connection) -> None:
            db.execute("BEGIN IMMEDIATE")
            try:
                marks = ",".join("?" * len(seqs))
                events, size = db.execute(
                    f"SELECT count(*), coalesce(sum(size), 0) FROM events WHERE seq IN ({marks})",  # noqa: S608 - only placeholders
                    list(seqs),
                ).fetchone()
                db.executemany("DELETE FROM events WHERE seq = ?", [(s,) for s in seqs])
                db.execute(
                    "UPDATE totals SET events = events - ?, bytes = bytes - ? WHERE id = 1",
                    (events, size),
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

        await self._run(delete)
        self._refusing = False

    async def close(self) -> None:
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)
        if self._db is not None:
            db, self._db = self._db, None
            await asyncio.get_running_loop().run_in_executor(self._executor, db.close)
        self._executor.shutdown(wait=False)

    async def _run(self, call: Callable[[sqlite3.Connection], T]) -> T:
        """Run `call` on the spool's own thread; SQLite errors become `SpoolUnavailable`."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, lambda: call(self._connection()))
        except sqlite3.Error as err:
            raise SpoolUnavailable(f"spool: {err}") from err

    def _insert(self, events: list[SpooledEvent]) -> None:
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
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
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _read_totals(self) -> SpoolTotals:
        row = (
            self._connection()
            .execute("SELECT count(*), coalesce(sum(size), 0), min(received_at) FROM events")
            .fetchone()
        )
        return SpoolTotals(int(row[0]), int(row[1]), row[2])

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            raise SpoolUnavailable("the spool is closed")
        return self._db


def _row_to_event(row: tuple[object, ...]) -> SpooledEvent:
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
    )
