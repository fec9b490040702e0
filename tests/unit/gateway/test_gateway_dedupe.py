"""gateway.dedupe: claim → commit/release, lease and TTL expiry, purge, sharing a SQLite file."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from gateway.config import DedupeSettings
from gateway.dedupe import Claim, DedupeStore, MemoryDedupeStore, open_dedupe_store
from gateway.dedupe_sqlite import SqliteDedupeStore
from gateway.errors import ConfigError, DedupeUnavailable

TTL = 1000.0
LEASE = 30.0
T0 = 1_700_000_000.0

StoreFactory = Callable[..., DedupeStore]
pytestmark = pytest.mark.anyio


@pytest.fixture(params=["memory", "sqlite"])
async def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreFactory]:
    """Build stores of the parametrised backend; every store built is closed afterwards."""
    stores: list[DedupeStore] = []

    def make(ttl: float = TTL, lease: float = LEASE) -> DedupeStore:
        store: DedupeStore
        if request.param == "memory":
            store = MemoryDedupeStore(ttl, lease)
        else:
            store = SqliteDedupeStore(str(tmp_path / "dedupe.sqlite3"), ttl, lease)
        stores.append(store)
        return store

    yield make
    for store in stores:
        await store.close()


@pytest.fixture
def store(make_store: StoreFactory) -> DedupeStore:
    return make_store()


# --- memory and SQLite: exact lease and TTL bounds, purge (the clock is the `now` given) ------
# Every backend's behaviour is in test_gateway_dedupe_contract.py; Redis expires keys on its own
# clock, so these bounds are pinned for the backends that take `now`.


async def test_lease_ends_exactly_at_claim_plus_lease(store: DedupeStore) -> None:
    assert await store.claim("stripe:evt_1", T0) is Claim.NEW
    assert await store.claim("stripe:evt_1", T0 + LEASE - 0.001) is Claim.IN_PROGRESS
    assert await store.claim("stripe:evt_1", T0 + LEASE) is Claim.NEW
    # The takeover is itself a fresh lease.
    assert await store.claim("stripe:evt_1", T0 + LEASE + 1) is Claim.IN_PROGRESS


async def test_ttl_ends_exactly_at_commit_plus_ttl(store: DedupeStore) -> None:
    await store.claim("stripe:evt_1", T0)
    await store.commit("stripe:evt_1", T0 + 10)
    assert await store.claim("stripe:evt_1", T0 + 10 + TTL - 0.001) is Claim.DUPLICATE
    assert await store.claim("stripe:evt_1", T0 + 10 + TTL) is Claim.NEW


async def test_ttl_counts_from_the_commit_time_given(store: DedupeStore) -> None:
    await store.claim("stripe:evt_1", T0)
    await store.commit("stripe:evt_1", T0 + 20)
    assert await store.claim("stripe:evt_1", T0 + TTL + 10) is Claim.DUPLICATE


async def test_commit_without_a_live_claim_still_marks_the_key_seen(store: DedupeStore) -> None:
    # The lease may have run out and been purged while the publish was waiting for its confirm.
    await store.claim("stripe:evt_1", T0)
    assert await store.purge(T0 + LEASE) == 1
    await store.commit("stripe:evt_1", T0 + LEASE + 1)
    assert await store.claim("stripe:evt_1", T0 + LEASE + 2) is Claim.DUPLICATE


async def test_purge_removes_only_expired_keys(store: DedupeStore) -> None:
    await store.claim("expired-claim", T0)
    await store.claim("expired-commit", T0)
    await store.commit("expired-commit", T0)
    await store.claim("live-claim", T0 + TTL)
    await store.claim("live-commit", T0 + TTL)
    await store.commit("live-commit", T0 + TTL)

    assert await store.purge(T0 + TTL + 1) == 2

    assert await store.claim("live-claim", T0 + TTL + 2) is Claim.IN_PROGRESS
    assert await store.claim("live-commit", T0 + TTL + 2) is Claim.DUPLICATE
    assert await store.purge(T0 + TTL + 2) == 0


async def test_purge_of_empty_store_returns_zero(store: DedupeStore) -> None:
    assert await store.purge(T0) == 0


# --- SQLite specifics -------------------------------------------------------------------------


async def test_sqlite_purge_works_in_batches(tmp_path: Path) -> None:
    store = SqliteDedupeStore(str(tmp_path / "d.sqlite3"), TTL, LEASE)
    try:
        for i in range(12):
            await store.claim(f"k{i}", T0)
            await store.commit(f"k{i}", T0)
        await store.flush()
        await store.claim("live", T0 + TTL)
        now = T0 + TTL + 1

        assert [await store.purge(now, batch=5) for _ in range(4)] == [5, 5, 2, 0]
        assert await store.claim("live", now) is Claim.IN_PROGRESS
        assert await store.claim("k0", now) is Claim.NEW
    finally:
        await store.close()


async def test_sqlite_purge_removes_an_expired_commit_not_yet_written(tmp_path: Path) -> None:
    # Commits are batched: when the purge comes, this one is still in memory. The purge must
    # treat it as the commit it is, not leave it to land in the file after it, expired.
    store = SqliteDedupeStore(str(tmp_path / "d.sqlite3"), TTL, LEASE)
    try:
        await store.claim("stripe:evt_1", T0)
        await store.commit("stripe:evt_1", T0)
        assert await store.purge(T0 + TTL) == 1
        await store.flush()  # whatever the purge left behind is written now
        assert await store.purge(T0 + TTL) == 0
        assert await store.claim("stripe:evt_1", T0 + TTL) is Claim.NEW
    finally:
        await store.close()


async def test_sqlite_purge_waits_for_commits_already_handed_to_the_thread(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "d.sqlite3")
    store = SqliteDedupeStore(path, TTL, LEASE)
    await store.claim("stripe:evt_1", T0)
    await store.commit("stripe:evt_1", T0)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # the loop's connection cannot write: the thread will
    try:
        flushing = asyncio.create_task(store.flush())
        purging = asyncio.create_task(store.purge(T0 + TTL))
        await asyncio.sleep(0)  # both are queued for the thread, the commit first
        holder.execute("COMMIT")
        await asyncio.wait_for(flushing, 5)
        assert await asyncio.wait_for(purging, 5) == 1
        assert await store.purge(T0 + TTL) == 0  # nothing expired was written after the purge
    finally:
        holder.close()
        await store.close()


async def test_sqlite_commit_survives_reopening_the_file(tmp_path: Path) -> None:
    path = str(tmp_path / "d.sqlite3")
    first = SqliteDedupeStore(path, TTL, LEASE)
    await first.claim("stripe:evt_1", T0)
    await first.commit("stripe:evt_1", T0)
    await first.close()

    second = SqliteDedupeStore(path, TTL, LEASE)
    try:
        assert await second.claim("stripe:evt_1", T0 + 1) is Claim.DUPLICATE
    finally:
        await second.close()


async def test_sqlite_creates_missing_parent_directories(tmp_path: Path) -> None:
    path = tmp_path / "var" / "deep" / "dedupe.sqlite3"
    store = SqliteDedupeStore(str(path), TTL, LEASE)
    try:
        assert await store.claim("k", T0) is Claim.NEW
    finally:
        await store.close()
    assert path.is_file()


async def test_sqlite_lock_held_by_another_process_never_blocks_the_event_loop(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "locked.sqlite3")
    store = SqliteDedupeStore(path, TTL, LEASE)
    await store.claim("warm-up", T0)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # as another worker mid-write (or a stuck one) would
    gaps: list[float] = []

    async def ticker() -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    ticks = asyncio.create_task(ticker())
    try:
        claim = asyncio.create_task(store.claim("stripe:evt_locked", T0))
        await asyncio.sleep(0.8)  # the claim waits on the lock, on the store's thread
        assert not claim.done()
        holder.execute("COMMIT")
        assert await asyncio.wait_for(claim, 5) is Claim.NEW
    finally:
        ticks.cancel()
        holder.close()
        await store.close()
    assert len(gaps) > 40
    assert max(gaps) < 0.25, f"the loop stalled for {max(gaps):.2f} s"


async def test_sqlite_commits_under_a_held_lock_return_at_once_and_are_written_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(tmp_path / "locked-commits.sqlite3")
    store = SqliteDedupeStore(path, TTL, LEASE)
    written: list[int] = []
    write = store._write_commits

    def counting(db: sqlite3.Connection, rows: list[tuple[str, float]]) -> None:
        written.append(len(rows))
        write(db, rows)

    monkeypatch.setattr(store, "_write_commits", counting)
    keys = [f"stripe:evt_{i}" for i in range(2000)]
    for key in keys:
        assert await store.claim(key, T0) is Claim.NEW
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        for key in keys:
            await store.commit(key, T0)  # batches of 256 go to the thread, which waits
            await asyncio.sleep(0)
        assert time.monotonic() - started < 0.5  # no request waits on the lock to commit
        # Committed here, not yet written: known without touching the locked file.
        claims = [await asyncio.wait_for(store.claim(k, T0), 0.2) for k in keys[:10]]
        assert set(claims) == {Claim.DUPLICATE}
        await asyncio.sleep(0.5)
    finally:
        holder.execute("COMMIT")
        holder.close()
    await store.close()
    assert sum(written) == len(keys)  # every commit written once, however long the lock held
    reopened = SqliteDedupeStore(path, TTL, LEASE)
    try:
        claims = [await reopened.claim(key, T0 + 1) for key in keys]
        assert set(claims) == {Claim.DUPLICATE}
    finally:
        await reopened.close()


async def test_sqlite_calls_after_close_are_refused_not_left_waiting(tmp_path: Path) -> None:
    store = SqliteDedupeStore(str(tmp_path / "closed.sqlite3"), TTL, LEASE)
    await store.claim("k", T0)
    await store.close()
    with pytest.raises(DedupeUnavailable, match="closed"):
        await asyncio.wait_for(store.release("k"), 5)


def test_sqlite_unopenable_path_is_a_config_error_naming_dedupe_path(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigError, match=r"^dedupe\.path: cannot open SQLite database"):
        SqliteDedupeStore(str(blocker / "dedupe.sqlite3"), TTL, LEASE)


def test_sqlite_directory_as_path_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^dedupe\.path:"):
        SqliteDedupeStore(str(tmp_path), TTL, LEASE)


@pytest.fixture
async def two_workers(tmp_path: Path) -> AsyncIterator[tuple[SqliteDedupeStore, SqliteDedupeStore]]:
    """Two separate store objects on one file, as two worker processes would have."""
    path = str(tmp_path / "shared.sqlite3")
    a = SqliteDedupeStore(path, TTL, LEASE)
    b = SqliteDedupeStore(path, TTL, LEASE)
    yield a, b
    await a.close()
    await b.close()


async def test_sqlite_claim_by_one_worker_is_in_progress_for_the_other(
    two_workers: tuple[SqliteDedupeStore, SqliteDedupeStore],
) -> None:
    a, b = two_workers
    assert await a.claim("stripe:evt_1", T0) is Claim.NEW
    assert await b.claim("stripe:evt_1", T0) is Claim.IN_PROGRESS


async def test_sqlite_commit_by_one_worker_is_duplicate_for_the_other(
    two_workers: tuple[SqliteDedupeStore, SqliteDedupeStore],
) -> None:
    a, b = two_workers
    await a.claim("stripe:evt_1", T0)
    await a.commit("stripe:evt_1", T0 + 1)
    await a.flush()  # commits are batched (see the batching test below)
    assert await b.claim("stripe:evt_1", T0 + 2) is Claim.DUPLICATE


async def test_sqlite_release_by_one_worker_frees_the_key_for_the_other(
    two_workers: tuple[SqliteDedupeStore, SqliteDedupeStore],
) -> None:
    a, b = two_workers
    await a.claim("stripe:evt_1", T0)
    await a.release("stripe:evt_1")
    assert await b.claim("stripe:evt_1", T0 + 1) is Claim.NEW
    assert await a.claim("stripe:evt_1", T0 + 1) is Claim.IN_PROGRESS


async def test_sqlite_other_worker_takes_over_an_expired_lease(
    two_workers: tuple[SqliteDedupeStore, SqliteDedupeStore],
) -> None:
    a, b = two_workers
    await a.claim("stripe:evt_1", T0)
    assert await b.claim("stripe:evt_1", T0 + LEASE) is Claim.NEW
    assert await a.claim("stripe:evt_1", T0 + LEASE + 1) is Claim.IN_PROGRESS


async def test_sqlite_purge_by_one_worker_is_seen_by_the_other(
    two_workers: tuple[SqliteDedupeStore, SqliteDedupeStore],
) -> None:
    a, b = two_workers
    await a.claim("k", T0)
    await a.commit("k", T0)
    await a.flush()
    assert await b.purge(T0 + TTL) == 1
    assert await a.claim("k", T0 + TTL) is Claim.NEW


_REPO = Path(__file__).resolve().parents[3]
_WORKER = textwrap.dedent(
    """
    import asyncio, random, sys, time
    from pathlib import Path
    from gateway.dedupe import Claim
    from gateway.dedupe_sqlite import SqliteDedupeStore

    path, ready, go, count = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
    store = SqliteDedupeStore(path, 1000.0, 30.0)
    ready.touch()
    deadline = time.monotonic() + 10
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.0005)
    keys = [f"k{i}" for i in range(count)]
    random.shuffle(keys)  # each worker in its own order: claims interleave all the way through


    async def main():
        won = [key for key in keys if await store.claim(key, time.time()) is Claim.NEW]
        await store.close()
        return won

    print(" ".join(asyncio.run(main())))
    """
)


def test_sqlite_concurrent_processes_each_key_is_new_exactly_once(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.sqlite3")
    # Create the schema first, so the workers race on claims, not on CREATE TABLE.
    SqliteDedupeStore(path, TTL, LEASE).close_unused()
    go = tmp_path / "go"
    count = 2000
    ready = [tmp_path / f"ready-{n}" for n in range(2)]
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, path, str(flag), str(go), str(count)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=_REPO,
        )
        for flag in ready
    ]
    deadline = time.monotonic() + 10
    while not all(flag.exists() for flag in ready) and time.monotonic() < deadline:
        time.sleep(0.001)
    go.touch()  # both workers start claiming the same keys at once

    won: list[list[str]] = []
    for worker in workers:
        out, err = worker.communicate(timeout=30)
        assert worker.returncode == 0, err
        won.append(out.split())

    everything = [key for keys in won for key in keys]
    assert sorted(everything) == sorted(f"k{i}" for i in range(count))  # NEW exactly once


# --- factory ----------------------------------------------------------------------------------


async def test_open_dedupe_store_memory_backend() -> None:
    store = open_dedupe_store(DedupeSettings(backend="memory", ttl_seconds=5.0), 1.0)
    assert isinstance(store, MemoryDedupeStore)
    await store.claim("k", T0)
    await store.commit("k", T0)
    assert await store.claim("k", T0 + 4.9) is Claim.DUPLICATE
    assert await store.claim("k", T0 + 5.0) is Claim.NEW


async def test_open_dedupe_store_sqlite_backend_uses_the_configured_path(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "seen.sqlite3"
    store = open_dedupe_store(DedupeSettings(backend="sqlite", path=str(path)), 2.0)
    try:
        assert isinstance(store, SqliteDedupeStore)
        assert await store.claim("k", T0) is Claim.NEW
        assert await store.claim("k", T0 + 2.0) is Claim.NEW  # the lease passed in is used
    finally:
        await store.close()
    assert path.is_file()


async def test_sqlite_commits_inside_a_loop_are_batched_then_visible_to_other_workers(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "batched.sqlite3")
    worker_a = SqliteDedupeStore(path, ttl_seconds=60, lease_seconds=30)
    worker_b = SqliteDedupeStore(path, ttl_seconds=60, lease_seconds=30)
    try:
        assert await worker_a.claim("s:1", 1000.0) is Claim.NEW
        await worker_a.commit("s:1", 1000.0)
        # Not written yet: this worker knows, the other sees a claim in flight.
        assert await worker_a.claim("s:1", 1000.0) is Claim.DUPLICATE
        assert await worker_b.claim("s:1", 1000.0) is Claim.IN_PROGRESS
        await asyncio.sleep(0.05)  # the batch timer fires
        assert await worker_b.claim("s:1", 1000.0) is Claim.DUPLICATE
    finally:
        await worker_a.close()
        await worker_b.close()


async def test_sqlite_close_writes_pending_commits(tmp_path: Path) -> None:
    path = str(tmp_path / "closing.sqlite3")
    store = SqliteDedupeStore(path, ttl_seconds=60, lease_seconds=30)
    await store.claim("s:1", 1000.0)
    await store.commit("s:1", 1000.0)
    await store.close()
    reopened = SqliteDedupeStore(path, ttl_seconds=60, lease_seconds=30)
    try:
        assert await reopened.claim("s:1", 1000.0) is Claim.DUPLICATE
    finally:
        await reopened.close()


async def test_sqlite_wal_is_checkpointed_and_stays_small_under_steady_writes(
    tmp_path: Path,
) -> None:
    # The loop's connection never checkpoints; the thread does, every 250 transactions. Without it
    # these 10,000 keys (20,000 one-key transactions) leave a WAL of about 100 MB.
    path = tmp_path / "steady.sqlite3"
    store = SqliteDedupeStore(str(path), TTL, LEASE)
    try:
        for i in range(10_000):
            assert await store.claim(f"stripe:evt_{i}", T0) is Claim.NEW
            await store.commit(f"stripe:evt_{i}", T0)
        await store.flush()
        wal = await asyncio.to_thread(os.path.getsize, f"{path}-wal")
        assert wal < 8_000_000, f"WAL of {wal} bytes"
        assert await store.claim("stripe:evt_9999", T0 + 1) is Claim.DUPLICATE
    finally:
        await store.close()


async def test_sqlite_purge_of_many_expired_keys_never_stalls_claims_or_the_loop(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "expired.sqlite3")
    SqliteDedupeStore(path, TTL, LEASE).close_unused()  # the schema
    _fill_expired(path, 100_000)
    store = SqliteDedupeStore(path, TTL, LEASE)
    waits: list[float] = []
    purging = True

    async def purge() -> int:
        purged = total = await store.purge(T0)
        while purged:  # as the gateway's purge loop does: a batch, then a breath
            await asyncio.sleep(0.01)
            purged = await store.purge(T0)
            total += purged
        return total

    async def claims() -> None:
        i = 0
        while purging:
            started = time.monotonic()
            assert await store.claim(f"stripe:evt_{i}", T0) is Claim.NEW
            waits.append(time.monotonic() - started)
            i += 1
            await asyncio.sleep(0.001)

    try:
        claiming = asyncio.create_task(claims())
        assert await purge() == 100_000
        purging = False
        await claiming
    finally:
        await store.close()
    assert len(waits) > 20
    # A claim meets a purge batch (1,000 rows) at worst: milliseconds, never the whole purge.
    assert max(waits) < 0.1, f"a claim waited {max(waits):.3f} s"


def _fill_expired(path: str, count: int) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO seen VALUES (?, 1, ?)", ((f"old:{i}", T0 - 1) for i in range(count))
        )
        db.execute("COMMIT")
    finally:
        db.close()
