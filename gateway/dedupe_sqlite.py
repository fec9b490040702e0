"""The SQLite dedupe store: one file shared by the gateway's worker processes on one host.

The store runs its statements on one dedicated thread, and the calls that arrive while that
thread is busy are run together in its next turn (one thread hop for a group, not one per
request). A lock held by another process (busy timeout 5 s) therefore delays the requests that
need the store, never `/healthz` or anything else on the loop. Commits are batched; losing the
last ones in a crash only lets a duplicate through, which at-least-once delivery allows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from gateway.config import DedupeSettings
from gateway.dedupe import Claim
from gateway.dedupe_registry import DedupeBackend
from gateway.errors import ConfigError, DedupeUnavailable
from hookgate.datafiles import private_sqlite_file

_log = logging.getLogger("hookgate.dedupe")
_T = TypeVar("_T")
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
_COMMIT_BATCH = 256
_COMMIT_DELAY = 0.005


class SqliteDedupeStore:
    """A SQLite file shared by every worker process on one host (WAL mode).

    The connection is used by one thread only (`_thread`); coroutines hand it work through
    `_run`, which groups the calls made while the thread is busy into one hop.
    """

    def __init__(self, path: str, ttl_seconds: float, lease_seconds: float) -> None:
        self._ttl = ttl_seconds
        self._lease = lease_seconds
        self._pending: dict[str, float] = {}  # committed here, not yet handed to the thread
        self._writing: dict[str, float] = {}  # handed to the thread, not yet written
        self._flushes: set[asyncio.Task[None]] = set()
        self._flush_timer: asyncio.TimerHandle | None = None
        self._closed = False
        self._queue: list[tuple[Callable[[], Any], asyncio.Future[Any]]] = []
        self._turn: asyncio.Task[None] | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hookgate-dedupe")
        try:
            private_sqlite_file(path)  # 0600 in a 0700 directory: bodies and signatures
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=5.0
            )
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as err:
            self._thread.shutdown(wait=False)
            raise ConfigError(f"dedupe.path: cannot open SQLite database {path!r}: {err}") from err

    async def claim(self, key: str, now: float) -> Claim:
        pending = self._pending.get(key, self._writing.get(key))
        if pending is not None:
            if pending > now:
                return Claim.DUPLICATE
            await self.flush()  # expired before it was written: let the file decide
        return await self._run(lambda: self._claim(key, now))

    def _claim(self, key: str, now: float) -> Claim:
        with _unavailable_on_error():
            if self._db.execute(_CLAIM, (key, now + self._lease, now)).fetchone() is not None:
                return Claim.NEW
            row = self._db.execute("SELECT state FROM seen WHERE key = ?", (key,)).fetchone()
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
        try:
            await self._run(lambda: self._write_commits(list(rows.items())))
        finally:
            # Written, or failed and logged by the caller: forget these, keep newer ones.
            for key, expires in rows.items():
                if self._writing.get(key) == expires:
                    del self._writing[key]

    def _write_commits(self, rows: list[tuple[str, float]]) -> None:
        with _unavailable_on_error():
            self._db.execute("BEGIN")
            try:
                # An upsert, not an UPDATE: the lease may have run out and been purged.
                self._db.executemany(_COMMIT, rows)
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:  # never leave the connection inside a transaction
                    self._db.execute("ROLLBACK")
                raise

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
        def release() -> None:
            with _unavailable_on_error():
                self._db.execute("DELETE FROM seen WHERE key = ? AND state = 0", (key,))

        await self._run(release)

    async def purge(self, now: float, batch: int = 5000) -> int:
        """Delete up to `batch` expired keys; call repeatedly (it keeps each write short)."""

        def purge() -> int:
            with _unavailable_on_error():
                cursor = self._db.execute(
                    "DELETE FROM seen WHERE key IN "
                    "(SELECT key FROM seen WHERE expires_at <= ? LIMIT ?)",
                    (now, batch),
                )
            return cursor.rowcount

        return await self._run(purge)

    async def close(self) -> None:
        try:
            await self.flush()
            if self._flushes:
                await asyncio.gather(*self._flushes, return_exceptions=True)
        finally:
            await self._run(self._db.close)
            self._closed = True
            self._thread.shutdown(wait=True)

    def close_unused(self) -> None:
        """Close a store that never served a request (a startup check), without a loop."""
        self._db.close()
        self._thread.shutdown(wait=True)

    async def _run(self, call: Callable[[], _T]) -> _T:
        """Run `call` on the store's thread, in the next group of calls."""
        if self._closed:
            # A request that outlived the shutdown: its claim's lease runs out on its own.
            raise DedupeUnavailable("dedupe store: closed")
        future: asyncio.Future[_T] = asyncio.get_running_loop().create_future()
        self._queue.append((call, future))
        if self._turn is None:
            self._turn = asyncio.create_task(self._turns())
        return await future

    async def _turns(self) -> None:
        loop = asyncio.get_running_loop()
        group: list[tuple[Callable[[], Any], asyncio.Future[Any]]] = []
        try:
            while self._queue:
                group, self._queue = self._queue, []
                outcomes = await loop.run_in_executor(
                    self._thread, _run_group, [call for call, _ in group]
                )
                for (_, future), (ok, value) in zip(group, outcomes, strict=True):
                    if future.done():  # its caller was cancelled
                        continue
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)
                group = []
        except BaseException as err:
            # The thread could not take the group (shut down, or this task cancelled): no
            # caller may wait forever, so every unresolved one hears of it.
            for _, future in [*group, *self._queue]:
                if not future.done():
                    future.set_exception(DedupeUnavailable(f"dedupe store: {err!r}"))
            self._queue = []
            if not isinstance(err, Exception):
                raise
        finally:
            self._turn = None


def _run_group(calls: list[Callable[[], Any]]) -> list[tuple[bool, Any]]:
    outcomes: list[tuple[bool, Any]] = []
    for call in calls:
        try:
            outcomes.append((True, call()))
        except Exception as err:  # handed to the caller's future
            outcomes.append((False, err))
    return outcomes


@contextlib.contextmanager
def _unavailable_on_error() -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as err:
        raise DedupeUnavailable(f"dedupe store: {err}") from err


def _check_sqlite(settings: DedupeSettings) -> None:
    SqliteDedupeStore(settings.path, settings.ttl_seconds, 30.0).close_unused()


SQLITE = DedupeBackend(
    open=lambda settings, lease: SqliteDedupeStore(settings.path, settings.ttl_seconds, lease),
    check=_check_sqlite,
)
