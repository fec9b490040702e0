"""hookgate.sqlite: the one SQLite setup every data file shares, and the store thread.

Each file keeps the durability it promises: the spool `FULL` (fsynced before the provider is
answered), the dedupe and idempotency stores `NORMAL`; all WAL, private, with a busy timeout.
"""

from __future__ import annotations

import asyncio
import sqlite3
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from consumers import SqliteIdempotencyStore
from gateway import spool_file
from gateway.dedupe_sqlite import SqliteDedupeStore
from hookgate.sqlite import LoopFirst, StoreThread, open_sqlite

pytestmark = pytest.mark.anyio
_SCHEMA = "CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v INTEGER NOT NULL);"


class Failed(Exception):
    pass


def _settings(db: sqlite3.Connection) -> tuple[str, int, int]:
    (journal,) = db.execute("PRAGMA journal_mode").fetchone()
    (synchronous,) = db.execute("PRAGMA synchronous").fetchone()
    (busy,) = db.execute("PRAGMA busy_timeout").fetchone()
    return journal, synchronous, busy


def test_open_sqlite_sets_wal_synchronous_busy_timeout_and_schema(tmp_path: Path) -> None:
    path = tmp_path / "new" / "data.sqlite3"
    db = open_sqlite(str(path), synchronous="FULL", busy_timeout=2.5, schema=_SCHEMA)
    try:
        assert _settings(db) == ("wal", 2, 2500)  # 2: FULL
        db.execute("INSERT INTO t VALUES ('a', 1)")  # autocommit: no transaction left open
        assert not db.in_transaction
    finally:
        db.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_a_failing_migration_closes_the_connection_and_raises(tmp_path: Path) -> None:
    opened: list[sqlite3.Connection] = []

    def migrate(db: sqlite3.Connection) -> None:
        opened.append(db)
        raise sqlite3.OperationalError("no such column")

    path = str(tmp_path / "x.sqlite3")
    with pytest.raises(sqlite3.OperationalError):
        open_sqlite(path, synchronous="NORMAL", busy_timeout=1, schema="", migrate=migrate)
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        opened[0].execute("SELECT 1")


def test_many_connections_creating_one_file_at_once_all_open_it(tmp_path: Path) -> None:
    # The workers of a service starting together on a fresh file: none may fail the WAL switch.
    path = str(tmp_path / "fresh.sqlite3")
    start = threading.Barrier(8)

    def open_it(_: int) -> str:
        start.wait()
        db = open_sqlite(path, synchronous="NORMAL", busy_timeout=5, schema=_SCHEMA)
        try:
            return str(db.execute("PRAGMA journal_mode").fetchone()[0])
        finally:
            db.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(open_it, range(8))) == ["wal"] * 8


async def test_each_data_file_keeps_its_durability(tmp_path: Path) -> None:
    spool = spool_file.connect(str(tmp_path / "spool.sqlite3"))
    try:
        assert _settings(spool) == ("wal", 2, 5000)  # FULL: the spool is never weakened
    finally:
        spool.close()
    dedupe = SqliteDedupeStore(str(tmp_path / "dedupe.sqlite3"), 60, 30)
    try:
        assert await dedupe._store.thread.run(_settings) == ("wal", 1, 5000)  # 1: NORMAL
    finally:
        await dedupe.close()
    done = SqliteIdempotencyStore(str(tmp_path / "done.sqlite3"))
    try:
        assert await done._store.thread.run(_settings) == ("wal", 1, 1000)
    finally:
        await done.close()


def _thread(tmp_path: Path, calls: list[str] | None = None) -> StoreThread:
    def connect() -> sqlite3.Connection:
        if calls is not None:
            calls.append("connect")
        return open_sqlite(
            str(tmp_path / "t.sqlite3"), synchronous="NORMAL", busy_timeout=1, schema=_SCHEMA
        )

    return StoreThread("hookgate-test", connect, Failed)


async def test_writes_queued_together_are_one_transaction(tmp_path: Path) -> None:
    thread = _thread(tmp_path)
    try:
        await thread.run(lambda db: None)  # connected
        seen: list[bool] = []

        def insert(key: str) -> object:
            def call(db: sqlite3.Connection) -> object:
                seen.append(db.in_transaction)
                return db.execute("INSERT INTO t VALUES (?, 1)", (key,)).rowcount

            return call

        results = await asyncio.gather(*[thread.write(insert(f"k{i}")) for i in range(20)])
        assert results == [1] * 20
        assert seen == [True] * 20  # every write inside the group's transaction
        assert await thread.run(lambda db: db.execute("SELECT count(*) FROM t").fetchone()) == (20,)
    finally:
        await thread.close()


async def test_a_failing_write_rolls_back_its_group_and_each_caller_hears(tmp_path: Path) -> None:
    thread = _thread(tmp_path)
    try:
        await thread.run(lambda db: None)
        good = thread.write(lambda db: db.execute("INSERT INTO t VALUES ('a', 1)"))
        bad = thread.write(lambda db: db.execute("INSERT INTO t VALUES ('a', 2)"))  # same key
        read = thread.run(lambda db: db.execute("SELECT 7").fetchone())
        answers = await asyncio.gather(good, bad, read, return_exceptions=True)
        assert isinstance(answers[0], Failed)
        assert "UNIQUE" in str(answers[0])
        assert isinstance(answers[1], Failed)
        assert answers[2] == (7,)  # a read of the same turn is not part of the transaction
        assert await thread.run(lambda db: db.execute("SELECT count(*) FROM t").fetchone()) == (0,)
        assert not await thread.run(lambda db: db.in_transaction)
    finally:
        await thread.close()


async def test_connect_runs_on_first_use_and_again_after_it_failed(tmp_path: Path) -> None:
    calls: list[str] = []
    blocker = tmp_path / "t.sqlite3"
    blocker.mkdir()  # a directory where the file should be: cannot open
    thread = _thread(tmp_path, calls)
    try:
        assert calls == []
        with pytest.raises(Failed):
            await thread.run(lambda db: None)
        blocker.rmdir()
        assert await thread.run(lambda db: db.execute("SELECT 1").fetchone()) == (1,)
        assert calls == ["connect", "connect"]
    finally:
        await thread.close()


async def test_calls_after_close_are_refused_not_left_waiting(tmp_path: Path) -> None:
    thread = _thread(tmp_path)
    await thread.run(lambda db: None)
    await thread.close()
    with pytest.raises(Failed, match="closed"):
        await asyncio.wait_for(thread.run(lambda db: None), 5)
    await thread.close()  # twice is harmless


async def test_loop_first_a_call_that_raises_fails_its_turn_and_leaves_no_caller_waiting(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "loop-first.sqlite3")
    schema = "CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY);"

    def connect() -> sqlite3.Connection:
        return open_sqlite(path, synchronous="NORMAL", busy_timeout=1.0, schema=schema)

    store = LoopFirst(StoreThread("test", connect, RuntimeError), connect, here=connect())

    def broken(_: sqlite3.Connection) -> None:
        raise ValueError("a bug in a call")

    try:
        results = await asyncio.wait_for(
            asyncio.gather(
                store.write(lambda db: db.execute("INSERT INTO t VALUES ('a')").close()),
                store.write(broken),
                return_exceptions=True,
            ),
            5,
        )
        assert [type(result) for result in results] == [ValueError, ValueError]
        # The turn was rolled back as a whole, and the store goes on.
        assert await store.read(lambda db: db.execute("SELECT count(*) FROM t").fetchone()) == (0,)
        await store.write(lambda db: db.execute("INSERT INTO t VALUES ('b')").close())
        assert await store.read(lambda db: db.execute("SELECT k FROM t").fetchall()) == [("b",)]
    finally:
        await store.close()
