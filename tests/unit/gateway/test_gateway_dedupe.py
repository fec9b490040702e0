"""gateway.dedupe: claim → commit/release, lease and TTL expiry, purge, sharing a SQLite file."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gateway.config import DedupeSettings
from gateway.dedupe import (
    Claim,
    DedupeStore,
    MemoryDedupeStore,
    SqliteDedupeStore,
    open_dedupe_store,
)
from gateway.errors import ConfigError

TTL = 1000.0
LEASE = 30.0
T0 = 1_700_000_000.0

StoreFactory = Callable[..., DedupeStore]


@pytest.fixture(params=["memory", "sqlite"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
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
        store.close()


@pytest.fixture
def store(make_store: StoreFactory) -> DedupeStore:
    return make_store()


# --- both backends ----------------------------------------------------------------------------


def test_first_claim_is_new(store: DedupeStore) -> None:
    assert store.claim("stripe:evt_1", T0) is Claim.NEW


def test_second_claim_while_first_is_publishing_is_in_progress(store: DedupeStore) -> None:
    store.claim("stripe:evt_1", T0)
    assert store.claim("stripe:evt_1", T0 + 1) is Claim.IN_PROGRESS


def test_claim_after_commit_is_duplicate(store: DedupeStore) -> None:
    assert store.claim("stripe:evt_1", T0) is Claim.NEW
    store.commit("stripe:evt_1", T0 + 1)
    assert store.claim("stripe:evt_1", T0 + 2) is Claim.DUPLICATE
    assert store.claim("stripe:evt_1", T0 + 3) is Claim.DUPLICATE


def test_keys_are_independent(store: DedupeStore) -> None:
    store.claim("stripe:evt_1", T0)
    store.commit("stripe:evt_1", T0)
    assert store.claim("stripe:evt_2", T0) is Claim.NEW
    assert store.claim("github:evt_1", T0) is Claim.NEW


def test_release_frees_a_claim_for_the_retry(store: DedupeStore) -> None:
    store.claim("stripe:evt_1", T0)
    store.release("stripe:evt_1")
    assert store.claim("stripe:evt_1", T0 + 1) is Claim.NEW


def test_release_never_frees_a_committed_key(store: DedupeStore) -> None:
    store.claim("stripe:evt_1", T0)
    store.commit("stripe:evt_1", T0)
    store.release("stripe:evt_1")
    assert store.claim("stripe:evt_1", T0 + 1) is Claim.DUPLICATE


def test_release_of_unknown_key_is_harmless(store: DedupeStore) -> None:
    store.release("never-claimed")
    assert store.claim("never-claimed", T0) is Claim.NEW


def test_lease_expiry_lets_a_new_claim_take_over(store: DedupeStore) -> None:
    assert store.claim("stripe:evt_1", T0) is Claim.NEW
    assert store.claim("stripe:evt_1", T0 + LEASE - 0.001) is Claim.IN_PROGRESS
    assert store.claim("stripe:evt_1", T0 + LEASE) is Claim.NEW
    # The takeover is itself a fresh lease.
    assert store.claim("stripe:evt_1", T0 + LEASE + 1) is Claim.IN_PROGRESS


def test_commit_outlives_the_lease(store: DedupeStore) -> None:
    store.claim("stripe:evt_1", T0)
    store.commit("stripe:evt_1", T0)
    assert store.claim("stripe:evt_1", T0 + LEASE * 10) is Claim.DUPLICATE


def test_ttl_expiry_makes_a_committed_key_new_again(store: DedupeStore) -> None:
    store.claim("stripe:evt_1", T0)
    store.commit("stripe:evt_1", T0 + 10)
    assert store.claim("stripe:evt_1", T0 + 10 + TTL - 0.001) is Claim.DUPLICATE
    assert store.claim("stripe:evt_1", T0 + 10 + TTL) is Claim.NEW


def test_ttl_counts_from_commit_not_from_claim(store: DedupeStore) -> None:
    store.claim("stripe:evt_1", T0)
    store.commit("stripe:evt_1", T0 + 20)
    assert store.claim("stripe:evt_1", T0 + TTL + 10) is Claim.DUPLICATE


def test_commit_without_a_live_claim_still_marks_the_key_seen(store: DedupeStore) -> None:
    # The lease may have run out and been purged while the publish was waiting for its confirm.
    store.claim("stripe:evt_1", T0)
    assert store.purge(T0 + LEASE) == 1
    store.commit("stripe:evt_1", T0 + LEASE + 1)
    assert store.claim("stripe:evt_1", T0 + LEASE + 2) is Claim.DUPLICATE


def test_purge_removes_only_expired_keys(store: DedupeStore) -> None:
    store.claim("expired-claim", T0)
    store.claim("expired-commit", T0)
    store.commit("expired-commit", T0)
    store.claim("live-claim", T0 + TTL)
    store.claim("live-commit", T0 + TTL)
    store.commit("live-commit", T0 + TTL)

    assert store.purge(T0 + TTL + 1) == 2

    assert store.claim("live-claim", T0 + TTL + 2) is Claim.IN_PROGRESS
    assert store.claim("live-commit", T0 + TTL + 2) is Claim.DUPLICATE
    assert store.purge(T0 + TTL + 2) == 0


def test_purge_of_empty_store_returns_zero(store: DedupeStore) -> None:
    assert store.purge(T0) == 0


# --- SQLite specifics -------------------------------------------------------------------------


def test_sqlite_purge_works_in_batches(tmp_path: Path) -> None:
    store = SqliteDedupeStore(str(tmp_path / "d.sqlite3"), TTL, LEASE)
    try:
        for i in range(12):
            store.claim(f"k{i}", T0)
            store.commit(f"k{i}", T0)
        store.claim("live", T0 + TTL)
        now = T0 + TTL + 1

        assert [store.purge(now, batch=5) for _ in range(4)] == [5, 5, 2, 0]
        assert store.claim("live", now) is Claim.IN_PROGRESS
        assert store.claim("k0", now) is Claim.NEW
    finally:
        store.close()


def test_sqlite_commit_survives_reopening_the_file(tmp_path: Path) -> None:
    path = str(tmp_path / "d.sqlite3")
    first = SqliteDedupeStore(path, TTL, LEASE)
    first.claim("stripe:evt_1", T0)
    first.commit("stripe:evt_1", T0)
    first.close()

    second = SqliteDedupeStore(path, TTL, LEASE)
    try:
        assert second.claim("stripe:evt_1", T0 + 1) is Claim.DUPLICATE
    finally:
        second.close()


def test_sqlite_creates_missing_parent_directories(tmp_path: Path) -> None:
    path = tmp_path / "var" / "deep" / "dedupe.sqlite3"
    store = SqliteDedupeStore(str(path), TTL, LEASE)
    try:
        assert store.claim("k", T0) is Claim.NEW
    finally:
        store.close()
    assert path.is_file()


def test_sqlite_unopenable_path_is_a_config_error_naming_dedupe_path(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigError, match=r"^dedupe\.path: cannot open SQLite database"):
        SqliteDedupeStore(str(blocker / "dedupe.sqlite3"), TTL, LEASE)


def test_sqlite_directory_as_path_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^dedupe\.path:"):
        SqliteDedupeStore(str(tmp_path), TTL, LEASE)


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[tuple[SqliteDedupeStore, SqliteDedupeStore]]:
    """Two separate store objects on one file, as two worker processes would have."""
    path = str(tmp_path / "shared.sqlite3")
    a = SqliteDedupeStore(path, TTL, LEASE)
    b = SqliteDedupeStore(path, TTL, LEASE)
    yield a, b
    a.close()
    b.close()


def test_sqlite_claim_by_one_worker_is_in_progress_for_the_other(
    two_workers: tuple[SqliteDedupeStore, SqliteDedupeStore],
) -> None:
    a, b = two_workers
    assert a.claim("stripe:evt_1", T0) is Claim.NEW
    assert b.claim("stripe:evt_1", T0) is Claim.IN_PROGRESS


def test_sqlite_commit_by_one_worker_is_duplicate_for_the_other(
    two_workers: tuple[SqliteDedupeStore, SqliteDedupeStore],
) -> None:
    a, b = two_workers
    a.claim("stripe:evt_1", T0)
    a.commit("stripe:evt_1", T0 + 1)
    assert b.claim("stripe:evt_1", T0 + 2) is Claim.DUPLICATE


def test_sqlite_release_by_one_worker_frees_the_key_for_the_other(
    two_workers: tuple[SqliteDedupeStore, SqliteDedupeStore],
) -> None:
    a, b = two_workers
    a.claim("stripe:evt_1", T0)
    a.release("stripe:evt_1")
    assert b.claim("stripe:evt_1", T0 + 1) is Claim.NEW
    assert a.claim("stripe:evt_1", T0 + 1) is Claim.IN_PROGRESS


def test_sqlite_other_worker_takes_over_an_expired_lease(
    two_workers: tuple[SqliteDedupeStore, SqliteDedupeStore],
) -> None:
    a, b = two_workers
    a.claim("stripe:evt_1", T0)
    assert b.claim("stripe:evt_1", T0 + LEASE) is Claim.NEW
    assert a.claim("stripe:evt_1", T0 + LEASE + 1) is Claim.IN_PROGRESS


def test_sqlite_purge_by_one_worker_is_seen_by_the_other(
    two_workers: tuple[SqliteDedupeStore, SqliteDedupeStore],
) -> None:
    a, b = two_workers
    a.claim("k", T0)
    a.commit("k", T0)
    assert b.purge(T0 + TTL) == 1
    assert a.claim("k", T0 + TTL) is Claim.NEW


_REPO = Path(__file__).resolve().parents[3]
_WORKER = textwrap.dedent(
    """
    import random, sys, time
    from pathlib import Path
    from gateway.dedupe import Claim, SqliteDedupeStore

    path, ready, go, count = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
    store = SqliteDedupeStore(path, 1000.0, 30.0)
    ready.touch()
    deadline = time.monotonic() + 10
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.0005)
    keys = [f"k{i}" for i in range(count)]
    random.shuffle(keys)  # each worker in its own order: claims interleave all the way through
    won = [key for key in keys if store.claim(key, time.time()) is Claim.NEW]
    store.close()
    print(" ".join(won))
    """
)


def test_sqlite_concurrent_processes_each_key_is_new_exactly_once(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.sqlite3")
    # Create the schema first, so the workers race on claims, not on CREATE TABLE.
    SqliteDedupeStore(path, TTL, LEASE).close()
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


def test_open_dedupe_store_memory_backend() -> None:
    store = open_dedupe_store(DedupeSettings(backend="memory", ttl_seconds=5.0), 1.0)
    assert isinstance(store, MemoryDedupeStore)
    store.claim("k", T0)
    store.commit("k", T0)
    assert store.claim("k", T0 + 4.9) is Claim.DUPLICATE
    assert store.claim("k", T0 + 5.0) is Claim.NEW


def test_open_dedupe_store_sqlite_backend_uses_the_configured_path(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "seen.sqlite3"
    store = open_dedupe_store(DedupeSettings(backend="sqlite", path=str(path)), 2.0)
    try:
        assert isinstance(store, SqliteDedupeStore)
        assert store.claim("k", T0) is Claim.NEW
        assert store.claim("k", T0 + 2.0) is Claim.NEW  # the lease passed in is used
    finally:
        store.close()
    assert path.is_file()


@pytest.mark.anyio
async def test_sqlite_commits_inside_a_loop_are_batched_then_visible_to_other_workers(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "batched.sqlite3")
    worker_a = SqliteDedupeStore(path, ttl_seconds=60, lease_seconds=30)
    worker_b = SqliteDedupeStore(path, ttl_seconds=60, lease_seconds=30)
    try:
        assert worker_a.claim("s:1", 1000.0) is Claim.NEW
        worker_a.commit("s:1", 1000.0)
        # Not written yet: this worker knows, the other sees a claim in flight.
        assert worker_a.claim("s:1", 1000.0) is Claim.DUPLICATE
        assert worker_b.claim("s:1", 1000.0) is Claim.IN_PROGRESS
        await asyncio.sleep(0.05)  # the batch timer fires
        assert worker_b.claim("s:1", 1000.0) is Claim.DUPLICATE
    finally:
        worker_a.close()
        worker_b.close()


@pytest.mark.anyio
async def test_sqlite_close_writes_pending_commits(tmp_path: Path) -> None:
    path = str(tmp_path / "closing.sqlite3")
    store = SqliteDedupeStore(path, ttl_seconds=60, lease_seconds=30)
    store.claim("s:1", 1000.0)
    store.commit("s:1", 1000.0)
    store.close()
    reopened = SqliteDedupeStore(path, ttl_seconds=60, lease_seconds=30)
    try:
        assert reopened.claim("s:1", 1000.0) is Claim.DUPLICATE
    finally:
        reopened.close()
