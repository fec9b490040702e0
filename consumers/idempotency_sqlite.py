"""The SQLite idempotency store: one file shared by every worker of a service on one host.

Statements run on the store's own thread (`hookgate.sqlite.StoreThread`), never on the event
loop. The checks (and the marks) made while a batch is under way go to that thread together
(`consumers.batches`), as one call and one statement (a JSON array of keys, read with
`json_each`); the marks in one transaction (group commit). A worker at concurrency 256 so pays
a thread hop and a statement per batch, not per event. A mark returns once its transaction is
committed: the key is in the file before the event is acked, so a worker killed between the two
(`kill -9`) leaves a redelivery that is skipped. WAL with `synchronous = NORMAL`: a power cut
may lose the last marks, which only lets a handler run twice, as at-least-once delivery allows.
"""

from __future__ import annotations

import json
import sqlite3

from consumers.batches import Batches
from consumers.errors import IdempotencyUnavailable, ServiceDefinitionError
from consumers.idempotency import DEFAULT_TTL
from consumers.idempotency_registry import IdempotencyBackend
from hookgate.sqlite import StoreThread, open_sqlite

_SCHEMA = """
CREATE TABLE IF NOT EXISTS done (
    key TEXT PRIMARY KEY,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS done_expires_at ON done (expires_at);
"""
# A batch in one statement (one step: each step lets the GIL go and takes it back, and the event
# loop's thread is the busy one): `?1` is a JSON array of keys, or of [key, expires_at] pairs.
_FIND = "SELECT d.key, d.expires_at FROM json_each(?1) AS k JOIN done AS d ON d.key = k.value"
_MARK = """
INSERT INTO done (key, expires_at)
SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?1) WHERE true
ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
"""
# One key (a call made while no other is under way), or a batch where SQLite lacks JSON.
_FIND_ONE = "SELECT key, expires_at FROM done WHERE key = ?"
_MARK_ONE = """
INSERT INTO done (key, expires_at) VALUES (?1, ?2)
ON CONFLICT (key) DO UPDATE SET expires_at = ?2
"""
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
        self._json = True  # whether this SQLite has json_each: found out when it is opened
        self._thread = self._new_thread()
        self._finds: Batches[str, float | None] = Batches(self._find, self._find_one)
        self._marks: Batches[tuple[str, float], None] = Batches(self._mark, self._mark_one)

    def __repr__(self) -> str:
        return f"SqliteIdempotencyStore({self.path!r})"

    async def is_done(self, key: str, now: float) -> bool:
        expires = await self._finds.call(key)
        return expires is not None and expires > now

    async def mark_done(self, key: str, now: float) -> None:
        await self._marks.call((key, now + self._ttl))

    async def purge(self, now: float, batch: int = 5000) -> int:
        """Delete up to `batch` expired keys; call repeatedly (it keeps each write short)."""
        return await self._thread.run(lambda db: db.execute(_PURGE, (now, batch)).rowcount)

    async def close(self) -> None:
        await self._finds.idle()
        await self._marks.idle()
        thread, self._thread = self._thread, self._new_thread()
        await thread.close()

    async def _find(self, keys: list[str]) -> list[float | None]:
        """Each key's expiry, or `None`: one call to the thread for the batch."""
        found = dict(await self._thread.run(lambda db: self._find_rows(db, keys)))
        return [found.get(key) for key in keys]

    async def _mark(self, marks: list[tuple[str, float]]) -> list[None]:
        """Write the batch, in the thread's group commit."""
        await self._thread.write(lambda db: self._mark_rows(db, marks))
        return [None] * len(marks)

    async def _find_one(self, key: str) -> float | None:
        row = await self._thread.run(lambda db: db.execute(_FIND_ONE, (key,)).fetchone())
        return None if row is None else float(row[1])

    async def _mark_one(self, mark: tuple[str, float]) -> None:
        await self._thread.write(lambda db: db.execute(_MARK_ONE, mark))

    def _find_rows(self, db: sqlite3.Connection, keys: list[str]) -> list[tuple[str, float]]:
        if self._json:
            return db.execute(_FIND, (_json(keys),)).fetchall()
        return [row for key in keys for row in db.execute(_FIND_ONE, (key,))]

    def _mark_rows(self, db: sqlite3.Connection, marks: list[tuple[str, float]]) -> None:
        if self._json:
            db.execute(_MARK, (_json(marks),))
        else:
            db.executemany(_MARK_ONE, marks)

    def _new_thread(self) -> StoreThread:
        return StoreThread("hookgate-idempotency", self._open, self._unavailable)

    def _open(self) -> sqlite3.Connection:
        try:
            db = open_sqlite(self.path, synchronous="NORMAL", busy_timeout=1.0, schema=_SCHEMA)
        except (OSError, sqlite3.Error) as err:
            raise self._unavailable(f"cannot open: {err}") from err
        try:
            db.execute("SELECT json_each.value FROM json_each('[]')")
        except sqlite3.OperationalError:  # compiled without JSON (SQLITE_OMIT_JSON)
            self._json = False
        return db

    def _unavailable(self, detail: str) -> IdempotencyUnavailable:
        return IdempotencyUnavailable(f"idempotency store {self.path!r}: {detail}")


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _open(path: str, service: str, ttl_seconds: float) -> SqliteIdempotencyStore:
    if not path:
        raise ServiceDefinitionError(
            f'service {service!r}: idempotency "sqlite:" needs a path after it, '
            f'e.g. "sqlite:var/{service}-done.sqlite3"'
        )
    return SqliteIdempotencyStore(path, ttl_seconds)


SQLITE = IdempotencyBackend(open=_open)
