"""The SQLite dedupe store: one file shared by the gateway's worker processes on one host.

Two connections to the file, one purpose each:

- **On the event loop, never waiting.** The claims and releases asked for in one turn of the
  loop are run together at its end, in one transaction, on a connection whose busy timeout is
  zero; commits are written every few milliseconds the same way. A claim costs about 15 us
  there, where a hop to a thread cost more than that in CPU and, far worse, milliseconds of
  latency (the thread must win the GIL back from a busy loop). The file is in WAL mode with
  `synchronous = NORMAL`: a commit appends to the WAL in the page cache and never fsyncs, and
  this connection never checkpoints (`wal_autocheckpoint = 0`).
- **On the store's thread, for everything that may wait** (`hookgate.sqlite.StoreThread`): the
  moment the loop's connection meets a lock held elsewhere (another worker, a purge) or any
  other SQLite error, the calls of that turn are handed to the thread, whose connection waits
  up to 5 s for the lock. A lock held by another process therefore delays the requests that
  need the store, never `/healthz` or anything else on the loop. The thread also purges expired
  keys (in batches of 1,000) and checkpoints the WAL into the file every 2,000 rows.

Commits are batched; losing the last ones in a crash only lets a duplicate through, which
at-least-once delivery allows.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from typing import Any

from gateway.config import DedupeSettings
from gateway.dedupe import Claim
from gateway.dedupe_registry import DedupeBackend
from gateway.errors import ConfigError, DedupeUnavailable
from hookgate.sqlite import StoreThread, open_sqlite

_log = logging.getLogger("hookgate.dedupe")
_CLAIMED = 0


_SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (
    key TEXT PRIMARY KEY,
    state INTEGER NOT NULL,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_expires_at ON seen (expires_at);
"""
# One statement takes a free key or an expired one; RETURNING tells us whether it did.
_CLAIM = """
INSERT INTO seen (key, state, expires_at) VALUES (?1, 0, ?2)
ON CONFLICT (key) DO UPDATE SET state = 0, expires_at = excluded.expires_at
WHERE seen.expires_at <= ?3
RETURNING state
"""
_COMMIT = """
INSERT INTO seen (key, state, expires_at) VALUES (?1, 1, ?2)
ON CONFLICT (key) DO UPDATE SET state = 1, expires_at = ?2
"""
_RELEASE = "DELETE FROM seen WHERE key = ? AND state = 0"
_PURGE = "DELETE FROM seen WHERE key IN (SELECT key FROM seen WHERE expires_at <= ? LIMIT ?)"
_COMMIT_BATCH = 256
_COMMIT_DELAY = 0.005
_CHECKPOINT_EVERY = 2000  # rows written on the loop between two checkpoints on the thread
_ELSEWHERE: Any = object()  # the loop's connection could not answer: ask the thread


_Call = Callable[[sqlite3.Connection], Any]


class SqliteDedupeStore:
    """A SQLite file shared by every worker process on one host (WAL mode).

    The connection is used by its store thread only; coroutines hand it work through
    `self._thread`, which groups the calls made while the thread is busy into one hop.
    """

    def __init__(self, path: str, ttl_seconds: float, lease_seconds: float) -> None:
        self._ttl = ttl_seconds
        self._lease = lease_seconds
        self._pending: dict[str, float] = {}  # committed here, not yet handed to the thread
        self._writing: dict[str, float] = {}  # handed to the thread, not yet written
        self._flushes: set[asyncio.Task[None]] = set()
        self._flush_timer: asyncio.TimerHandle | None = None
        self._turn: list[tuple[_Call, asyncio.Future[Any]]] = []  # run at the end of this turn
        self._written = 0  # rows written on the loop since the last checkpoint
        self._checkpoint: asyncio.Task[None] | None = None
        try:
            db = open_sqlite(path, synchronous="NORMAL", busy_timeout=5.0, schema=_SCHEMA)
        except (OSError, sqlite3.Error) as err:
            raise ConfigError(f"dedupe.path: cannot open SQLite database {path!r}: {err}") from err
        try:
            here = open_sqlite(path, synchronous="NORMAL", busy_timeout=0.0, schema="")
            here.execute("PRAGMA wal_autocheckpoint = 0")  # the thread checkpoints
        except (OSError, sqlite3.Error) as err:
            db.close()
            raise ConfigError(f"dedupe.path: cannot open SQLite database {path!r}: {err}") from err
        self._here = here
        self._thread = StoreThread("hookgate-dedupe", lambda: db, _unavailable)

    async def claim(self, key: str, now: float) -> Claim:
        pending = self._pending.get(key, self._writing.get(key))
        if pending is not None:
            if pending > now:
                return Claim.DUPLICATE
            await self.flush()  # expired before it was written: let the file decide
        return await self._write(lambda db: self._claim(db, key, now))  # type: ignore[no-any-return]

    async def _write(self, call: _Call) -> Any:
        """`call(db)` in the transaction of this loop turn's calls, or on the thread."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if not self._turn:
            asyncio.get_running_loop().call_soon(self._run_turn)
        self._turn.append((call, future))
        result = await future
        if result is _ELSEWHERE:
            return await self._thread.write(call)
        return result

    def _run_turn(self) -> None:
        calls, self._turn = self._turn, []
        try:
            results = self._here_in_transaction([call for call, _ in calls], len(calls))
        except sqlite3.Error:
            results = [_ELSEWHERE] * len(calls)  # locked elsewhere, or worse: the thread waits
        for (_, future), result in zip(calls, results, strict=True):
            if not future.done():  # its caller was cancelled
                future.set_result(result)

    def _here_in_transaction(self, calls: list[_Call], rows: int) -> list[Any]:
        """Run `calls` in one transaction on the loop's connection, which never waits for a
        lock: `sqlite3.Error` (SQLITE_BUSY at once, with the file locked) rolls it all back."""
        db = self._here
        db.execute("BEGIN IMMEDIATE")
        try:
            results = [call(db) for call in calls]
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        self._written += rows
        if self._written >= _CHECKPOINT_EVERY and self._checkpoint is None:
            self._written = 0
            self._checkpoint = asyncio.get_running_loop().create_task(self._checkpoint_wal())
        return results

    async def _checkpoint_wal(self) -> None:
        """Copy the WAL into the file, on the thread, and start the WAL over. RESTART, not
        PASSIVE: a passive checkpoint never catches up with a loop that keeps writing, and the
        WAL grew without end (190 MB for 20 thousand keys). Writers wait meanwhile: the loop's
        calls meet the lock and go to the thread, behind the checkpoint (milliseconds)."""
        try:
            # fetchall: a statement left on its result row would block the thread's COMMITs.
            await self._thread.run(
                lambda db: db.execute("PRAGMA wal_checkpoint(RESTART)").fetchall()
            )
        except DedupeUnavailable as err:
            _log.warning("dedupe checkpoint failed", extra={"fields": {"error": str(err)}})
        finally:
            self._checkpoint = None

    def _claim(self, db: sqlite3.Connection, key: str, now: float) -> Claim:
        if db.execute(_CLAIM, (key, now + self._lease, now)).fetchone() is not None:
            return Claim.NEW
        row = db.execute("SELECT state FROM seen WHERE key = ?", (key,)).fetchone()
        # Released between our two statements: someone else was publishing it a moment ago.
        if row is None or row[0] == _CLAIMED:
            return Claim.IN_PROGRESS
        return Claim.DUPLICATE

    async def commit(self, key: str, now: float) -> None:
        """Mark `key` seen. Commits are written in batches (one SQLite transaction per few
        milliseconds instead of one per request); until then this process already answers
        DUPLICATE for the key and other processes IN_PROGRESS (409). Never waits: a request
        that is already durable is not held up by the store (a lock held by another process)."""
        self._pending[key] = now + self._ttl
        if len(self._pending) >= _COMMIT_BATCH:
            self._flush_later()
        elif self._flush_timer is None:
            loop = asyncio.get_running_loop()
            self._flush_timer = loop.call_later(_COMMIT_DELAY, self._flush_later)

    async def flush(self) -> None:
        """Write every pending commit now, in one transaction. Each commit is handed to the
        thread once: a flush takes the pending rows, so flushes that overlap (a lock held
        elsewhere) never write the same rows again."""
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        if not self._pending:
            return
        rows, self._pending = self._pending, {}
        self._writing.update(rows)
        items = list(rows.items())

        def write(db: sqlite3.Connection) -> None:
            self._write_commits(db, items)

        try:
            try:
                self._here_in_transaction([write], len(items))
            except sqlite3.Error:
                await self._thread.write(write)  # locked elsewhere: the thread waits for it
        finally:
            # Written, or failed and logged by the caller: forget these, keep newer ones.
            for key, expires in rows.items():
                if self._writing.get(key) == expires:
                    del self._writing[key]

    def _write_commits(self, db: sqlite3.Connection, rows: list[tuple[str, float]]) -> None:
        # An upsert, not an UPDATE: the lease may have run out and been purged.
        db.executemany(_COMMIT, rows)

    def _flush_later(self) -> None:
        self._flush_timer = None
        task = asyncio.get_running_loop().create_task(self._flush_logged())
        self._flushes.add(task)  # a reference until it ends, so it is not collected midway
        task.add_done_callback(self._flushes.discard)

    async def _flush_logged(self) -> None:
        try:
            await self.flush()
        except DedupeUnavailable as err:
            # The events are durable; a lost commit only lets a redelivery be published again.
            _log.error("dedupe commit failed", extra={"fields": {"error": str(err)}})

    async def release(self, key: str) -> None:
        await self._write(lambda db: db.execute(_RELEASE, (key,)).close())

    async def purge(self, now: float, batch: int = 1000) -> int:
        """Delete up to `batch` expired keys; call repeatedly (it keeps each write short)."""

        def purge(db: sqlite3.Connection) -> int:
            return db.execute(_PURGE, (now, batch)).rowcount

        return await self._thread.run(purge)

    async def close(self) -> None:
        try:
            await self.flush()
            if self._flushes:
                await asyncio.gather(*self._flushes, return_exceptions=True)
            if self._checkpoint is not None:
                await asyncio.gather(self._checkpoint, return_exceptions=True)
        finally:
            self._closed_here()
            await self._thread.close()

    def close_unused(self) -> None:
        """Close a store that never served a request (a startup check), without a loop."""
        self._closed_here()
        self._thread.close_unused()

    def _closed_here(self) -> None:
        self._here.close()
        # Calls made after closing go to the thread, which refuses them ("closed").
        self._here = _Closed()  # type: ignore[assignment]


class _Closed:
    def execute(self, *_: object) -> None:
        raise sqlite3.ProgrammingError("closed")


def _unavailable(detail: str) -> DedupeUnavailable:
    return DedupeUnavailable(f"dedupe store: {detail}")


def _check_sqlite(settings: DedupeSettings) -> None:
    SqliteDedupeStore(settings.path, settings.ttl_seconds, 30.0).close_unused()


SQLITE = DedupeBackend(
    open=lambda settings, lease: SqliteDedupeStore(settings.path, settings.ttl_seconds, lease),
    check=_check_sqlite,
)
