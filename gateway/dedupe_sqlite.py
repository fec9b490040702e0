"""The SQLite dedupe store: one file shared by the gateway's worker processes on one host.

Claims, commits and releases run on the event loop, on a connection that never waits, and go
to the store's thread only when they would (`hookgate.sqlite.LoopFirst`): the claims and
releases asked for in one turn of the loop run together at its end, in one transaction (about
15 us a claim); commits are written every few milliseconds the same way. A lock held by another
worker process therefore delays the requests that need the store, never `/healthz` or anything
else on the loop. The thread also purges expired keys (in batches of 1,000) and checkpoints the
WAL into the file.

Commits are batched; losing the last ones in a crash only lets a duplicate through, which
at-least-once delivery allows.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3

from gateway.config import DedupeSettings
from gateway.dedupe import Claim
from gateway.dedupe_registry import DedupeBackend
from gateway.errors import ConfigError, DedupeUnavailable
from hookgate.sqlite import LoopFirst, StoreThread, open_sqlite

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


class SqliteDedupeStore:
    """A SQLite file shared by every worker process on one host (WAL mode).

    Two connections: the loop's, which never waits, and the store thread's, for whatever
    would (`hookgate.sqlite.LoopFirst`).
    """

    def __init__(self, path: str, ttl_seconds: float, lease_seconds: float) -> None:
        self._ttl = ttl_seconds
        self._lease = lease_seconds
        self._pending: dict[str, float] = {}  # committed here, not yet handed to the thread
        self._writing: dict[str, float] = {}  # handed to the thread, not yet written
        self._flushes: set[asyncio.Task[None]] = set()
        self._flush_timer: asyncio.TimerHandle | None = None
        try:
            db = open_sqlite(path, synchronous="NORMAL", busy_timeout=5.0, schema=_SCHEMA)
        except (OSError, sqlite3.Error) as err:
            raise ConfigError(f"dedupe.path: cannot open SQLite database {path!r}: {err}") from err

        def connect_here() -> sqlite3.Connection:
            return open_sqlite(path, synchronous="NORMAL", busy_timeout=0.0, schema="")

        try:
            here = connect_here()  # now: a file that cannot be used stops startup
        except (OSError, sqlite3.Error) as err:
            db.close()
            raise ConfigError(f"dedupe.path: cannot open SQLite database {path!r}: {err}") from err
        self._store = LoopFirst(
            StoreThread("hookgate-dedupe", lambda: db, _unavailable),
            connect_here,
            here=here,
            warn=lambda problem: _log.warning(f"dedupe store: {problem}"),
        )

    async def claim(self, key: str, now: float) -> Claim:
        pending = self._pending.get(key, self._writing.get(key))
        if pending is not None:
            if pending > now:
                return Claim.DUPLICATE
            await self.flush()  # expired before it was written: let the file decide
        return await self._store.write(lambda db: self._claim(db, key, now))

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
            if not self._store.write_now(write, len(items)):
                await self._store.thread.write(write)  # locked elsewhere: the thread waits
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
        await self._store.write(lambda db: db.execute(_RELEASE, (key,)).close())

    async def purge(self, now: float, batch: int = 1000) -> int:
        """Delete up to `batch` expired keys; call repeatedly (it keeps each write short).

        The purge comes after every commit made before it: the batched ones are written first,
        and it queues on the thread as a write, behind the batches already handed there (a turn
        runs its `run` calls before its writes). Otherwise a commit could land after the purge
        and restore a key it had just deleted, and the next purge count it again."""

        def purge(db: sqlite3.Connection) -> int:
            return db.execute(_PURGE, (now, batch)).rowcount

        await self.flush()
        return await self._store.thread.write(purge)

    async def close(self) -> None:
        try:
            await self.flush()
            if self._flushes:
                await asyncio.gather(*self._flushes, return_exceptions=True)
        finally:
            await self._store.close()

    def close_unused(self) -> None:
        """Close a store that never served a request (a startup check), without a loop."""
        self._store.close_unused()


def _unavailable(detail: str) -> DedupeUnavailable:
    return DedupeUnavailable(f"dedupe store: {detail}")


def _check_sqlite(settings: DedupeSettings) -> None:
    SqliteDedupeStore(settings.path, settings.ttl_seconds, 30.0).close_unused()


SQLITE = DedupeBackend(
    open=lambda settings, lease: SqliteDedupeStore(settings.path, settings.ttl_seconds, lease),
    check=_check_sqlite,
)
