"""Idempotency stores: remember which events a service has completed.

With a store, a redelivered event that a handler already completed (the worker died between the
handler's return and the ack, or the sender's duplicate slipped past the gateway's dedupe
window) is acked without running the handler again, and counted as `duplicate`. The key is
`{source}:{event_id}`; one store per service.

An event is marked done after its handler returns and before the ack. A store is not a lock:
two workers running the same event at the same moment (possible only after a redelivery) can
both run it. Handlers with side effects that must happen once still need their own guard.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Protocol

from consumers.errors import ConsumerError
from hookgate.datafiles import private_sqlite_file

DEFAULT_TTL = 7 * 86_400.0


class IdempotencyStore(Protocol):
    """Completed-event keys. Errors raise `ConsumerError`."""

    def is_done(self, key: str, now: float) -> bool: ...
    def mark_done(self, key: str, now: float) -> None: ...
    def purge(self, now: float) -> int: ...
    def close(self) -> None: ...


class MemoryIdempotencyStore:
    """One process's memory: for tests, and services that run a single worker."""

    def __init__(self, ttl_seconds: float = DEFAULT_TTL) -> None:
        self._ttl = ttl_seconds
        self._done: dict[str, float] = {}

    def is_done(self, key: str, now: float) -> bool:
        expires = self._done.get(key)
        return expires is not None and expires > now

    def mark_done(self, key: str, now: float) -> None:
        self._done[key] = now + self._ttl

    def purge(self, now: float) -> int:
        expired = [key for key, expires in self._done.items() if expires <= now]
        for key in expired:
            del self._done[key]
        return len(expired)

    def close(self) -> None:
        self._done.clear()


_SCHEMA = """
CREATE TABLE IF NOT EXISTS done (
    key TEXT PRIMARY KEY,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS done_expires_at ON done (expires_at);
"""


class SqliteIdempotencyStore:
    """A SQLite file shared by every worker of the service on one host (WAL mode).

    The file is opened on first use, so defining a service does not touch the disk. A write
    survives the process being killed (WAL); a power cut may lose the last ones, which only
    lets a handler run twice, as at-least-once delivery allows.
    """

    def __init__(self, path: str, ttl_seconds: float = DEFAULT_TTL) -> None:
        self.path = path
        self._ttl = ttl_seconds
        self._db: sqlite3.Connection | None = None

    def __repr__(self) -> str:
        return f"SqliteIdempotencyStore({self.path!r})"

    def is_done(self, key: str, now: float) -> bool:
        row = self._execute("SELECT expires_at FROM done WHERE key = ?", (key,)).fetchone()
        return row is not None and row[0] > now

    def mark_done(self, key: str, now: float) -> None:
        self._execute(
            "INSERT INTO done (key, expires_at) VALUES (?1, ?2) "
            "ON CONFLICT (key) DO UPDATE SET expires_at = ?2",
            (key, now + self._ttl),
        )

    def purge(self, now: float, batch: int = 5000) -> int:
        cursor = self._execute(
            "DELETE FROM done WHERE key IN (SELECT key FROM done WHERE expires_at <= ? LIMIT ?)",
            (now, batch),
        )
        return cursor.rowcount

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _execute(self, sql: str, parameters: tuple[object, ...]) -> sqlite3.Cursor:
        try:
            return self._connection().execute(sql, parameters)
        except sqlite3.Error as err:
            raise ConsumerError(f"idempotency store {self.path!r}: {err}") from err

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            try:
                private_sqlite_file(self.path)  # 0600 in a 0700 directory
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(
                    self.path, isolation_level=None, check_same_thread=False, timeout=1.0
                )
                db.execute("PRAGMA journal_mode = WAL")
                db.execute("PRAGMA synchronous = NORMAL")
                db.executescript(_SCHEMA)
            except (OSError, sqlite3.Error) as err:
                raise ConsumerError(f"idempotency store {self.path!r}: cannot open: {err}") from err
            self._db = db
        return self._db


def idempotency_key(source: str, event_id: str) -> str:
    return f"{source}:{event_id}"
