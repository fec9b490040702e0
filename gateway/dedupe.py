"""De-duplication by provider event ID: claim before publishing, commit after the confirm.

A key moves through three states. `claim` takes a free (or expired) key and answers NEW; a key
someone else holds answers IN_PROGRESS; a committed key answers DUPLICATE until its TTL ends.
`commit` marks a claimed key seen once the event is durable; `release` frees it when the publish
failed, so that the provider's retry is not mistaken for a duplicate. A claim also expires (the
lease), so a worker that dies mid-publish cannot block an event ID for the whole TTL.

The calls are synchronous on purpose: each is one short SQLite statement (WAL, no fsync per
transaction), cheaper than a thread hop; commits are batched. Losing the last commits in a crash
only lets a duplicate through, which at-least-once delivery allows.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from consumers.datafiles import private_sqlite_file
from gateway.config import DedupeSettings
from gateway.errors import ConfigError, DedupeUnavailable

_log = logging.getLogger("hookgate.dedupe")


class Claim(enum.Enum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    DUPLICATE = "duplicate"


class DedupeStore(Protocol):
    """Claim/commit/release by key. Store failures raise `DedupeUnavailable`."""

    def claim(self, key: str, now: float) -> Claim: ...
    def commit(self, key: str, now: float) -> None: ...
    def release(self, key: str) -> None: ...
    def purge(self, now: float) -> int: ...
    def close(self) -> None: ...


_CLAIMED, _COMMITTED = 0, 1


class MemoryDedupeStore:
    """One process's memory: for tests and single-worker setups that accept loss on restart."""

    def __init__(self, ttl_seconds: float, lease_seconds: float) -> None:
        self._ttl = ttl_seconds
        self._lease = lease_seconds
        self._entries: dict[str, tuple[int, float]] = {}

    def claim(self, key: str, now: float) -> Claim:
        entry = self._entries.get(key)
        if entry is not None and entry[1] > now:
            return Claim.DUPLICATE if entry[0] == _COMMITTED else Claim.IN_PROGRESS
        self._entries[key] = (_CLAIMED, now + self._lease)
        return Claim.NEW

    def commit(self, key: str, now: float) -> None:
        self._entries[key] = (_COMMITTED, now + self._ttl)

    def release(self, key: str) -> None:
        entry = self._entries.get(key)
        if entry is not None and entry[0] == _CLAIMED:
            del self._entries[key]

    def purge(self, now: float) -> int:
        expired = [key for key, (_, expires) in self._entries.items() if expires <= now]
        for key in expired:
            del self._entries[key]
        return len(expired)

    def close(self) -> None:
        self._entries.clear()


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
    """A SQLite file shared by every worker process on one host (WAL mode)."""

    def __init__(self, path: str, ttl_seconds: float, lease_seconds: float) -> None:
        self._ttl = ttl_seconds
        self._lease = lease_seconds
        self._pending: dict[str, float] = {}
        self._flush_timer: asyncio.TimerHandle | None = None
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
            raise ConfigError(f"dedupe.path: cannot open SQLite database {path!r}: {err}") from err

    def claim(self, key: str, now: float) -> Claim:
        if key in self._pending:
            return Claim.DUPLICATE
        with _unavailable_on_error():
            if self._db.execute(_CLAIM, (key, now + self._lease, now)).fetchone() is not None:
                return Claim.NEW
            row = self._db.execute("SELECT state FROM seen WHERE key = ?", (key,)).fetchone()
        # Released between our two statements: someone else was publishing it a moment ago.
        if row is None or row[0] == _CLAIMED:
            return Claim.IN_PROGRESS
        return Claim.DUPLICATE

    def commit(self, key: str, now: float) -> None:
        """Mark `key` seen. Inside an event loop, commits are written in batches (one SQLite
        transaction per few milliseconds instead of one per request); until then this process
        already answers DUPLICATE for the key and other processes IN_PROGRESS (409)."""
        self._pending[key] = now + self._ttl
        if len(self._pending) >= _COMMIT_BATCH:
            self.flush()
        elif self._flush_timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no loop: a plain synchronous caller
                self.flush()
                return
            self._flush_timer = loop.call_later(_COMMIT_DELAY, self._flush_later)

    def flush(self) -> None:
        """Write every pending commit now, in one transaction."""
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        if not self._pending:
            return
        rows = list(self._pending.items())
        self._pending.clear()
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
        try:
            self.flush()
        except DedupeUnavailable as err:
            # The events are durable; a lost commit only lets a redelivery be published again.
            _log.error("dedupe commit failed", extra={"fields": {"error": str(err)}})

    def release(self, key: str) -> None:
        with _unavailable_on_error():
            self._db.execute("DELETE FROM seen WHERE key = ? AND state = 0", (key,))

    def purge(self, now: float, batch: int = 5000) -> int:
        """Delete up to `batch` expired keys; call repeatedly (it keeps each write short)."""
        with _unavailable_on_error():
            cursor = self._db.execute(
                "DELETE FROM seen WHERE key IN "
                "(SELECT key FROM seen WHERE expires_at <= ? LIMIT ?)",
                (now, batch),
            )
        return cursor.rowcount

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._db.close()


@contextlib.contextmanager
def _unavailable_on_error() -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as err:
        raise DedupeUnavailable(f"dedupe store: {err}") from err


def open_dedupe_store(settings: DedupeSettings, lease_seconds: float) -> DedupeStore:
    if settings.backend == "memory":
        return MemoryDedupeStore(settings.ttl_seconds, lease_seconds)
    return SqliteDedupeStore(settings.path, settings.ttl_seconds, lease_seconds)
