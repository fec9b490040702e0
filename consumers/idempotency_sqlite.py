"""The SQLite idempotency store: one file shared by every worker of a service on one host.

Statements run on the event loop, on a connection that never waits, and on the store's own
thread whenever they would (`hookgate.sqlite.LoopFirst`): a check is one read at once; the marks
made in one turn of the loop are written together at its end, in one transaction (group
commit). A file locked by another worker delays the calls that need it, never the loop. A mark
returns once its transaction is committed: the key is in the file before the event is acked, so
a worker killed between the two (`kill -9`) leaves a redelivery that is skipped. WAL with
`synchronous = NORMAL`: a power cut may lose the last marks, which only lets a handler run
twice, as at-least-once delivery allows.
"""

from __future__ import annotations

import logging
import sqlite3

from consumers.errors import IdempotencyUnavailable, ServiceDefinitionError
from consumers.idempotency import DEFAULT_TTL
from consumers.idempotency_registry import IdempotencyBackend
from hookgate.sqlite import LoopFirst, StoreThread, open_sqlite

_log = logging.getLogger("hookgate.consumer")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS done (
    key TEXT PRIMARY KEY,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS done_expires_at ON done (expires_at);
"""
_MARK = """
INSERT INTO done (key, expires_at) VALUES (?1, ?2)
ON CONFLICT (key) DO UPDATE SET expires_at = ?2
"""
_CHECK = "SELECT expires_at FROM done WHERE key = ?"
_PURGE = "DELETE FROM done WHERE key IN (SELECT key FROM done WHERE expires_at <= ? LIMIT ?)"


class SqliteIdempotencyStore:
    """A SQLite file shared by every worker of the service on one host (WAL mode).

    The file is opened on first use (on the store's thread), so defining a service does not
    touch the disk; a file that cannot be opened fails that call, and the next one tries again.
    `close()` releases the file and the thread; a later call opens them again.
    """

    def __init__(self, path: str, ttl_seconds: float = DEFAULT_TTL) -> None:
        self.path = path
        self._ttl = ttl_seconds
        self._store = self._new_store()

    def __repr__(self) -> str:
        return f"SqliteIdempotencyStore({self.path!r})"

    async def is_done(self, key: str, now: float) -> bool:
        row = await self._store.read(lambda db: db.execute(_CHECK, (key,)).fetchone())
        return row is not None and row[0] > now

    async def mark_done(self, key: str, now: float) -> None:
        await self._store.write(lambda db: db.execute(_MARK, (key, now + self._ttl)).close())

    async def purge(self, now: float, batch: int = 1000) -> int:
        """Delete up to `batch` expired keys; call repeatedly (it keeps each write short)."""
        return await self._store.thread.run(lambda db: db.execute(_PURGE, (now, batch)).rowcount)

    async def close(self) -> None:
        store, self._store = self._store, self._new_store()
        await store.close()

    def _new_store(self) -> LoopFirst:
        return LoopFirst(
            StoreThread("hookgate-idempotency", self._open, self._unavailable),
            lambda: open_sqlite(self.path, synchronous="NORMAL", busy_timeout=0.0, schema=""),
            warn=lambda problem: _log.warning(f"idempotency store {self.path!r}: {problem}"),
        )

    def _open(self) -> sqlite3.Connection:
        try:
            return open_sqlite(self.path, synchronous="NORMAL", busy_timeout=1.0, schema=_SCHEMA)
        except (OSError, sqlite3.Error) as err:
            raise self._unavailable(f"cannot open: {err}") from err

    def _unavailable(self, detail: str) -> IdempotencyUnavailable:
        return IdempotencyUnavailable(f"idempotency store {self.path!r}: {detail}")


def _open(path: str, service: str, ttl_seconds: float) -> SqliteIdempotencyStore:
    if not path:
        raise ServiceDefinitionError(
            f'service {service!r}: idempotency "sqlite:" needs a path after it, '
            f'e.g. "sqlite:var/{service}-done.sqlite3"'
        )
    return SqliteIdempotencyStore(path, ttl_seconds)


SQLITE = IdempotencyBackend(open=_open)
