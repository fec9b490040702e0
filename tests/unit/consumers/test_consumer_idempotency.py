"""consumers.idempotency: completed-event stores (memory and SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest

from consumers import ConsumerError, MemoryIdempotencyStore, SqliteIdempotencyStore
from consumers.idempotency import IdempotencyStore


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> IdempotencyStore:
    if request.param == "memory":
        return MemoryIdempotencyStore(ttl_seconds=100)
    return SqliteIdempotencyStore(str(tmp_path / "var" / "done.sqlite3"), ttl_seconds=100)


def test_marked_keys_are_done_until_their_ttl(store: IdempotencyStore) -> None:
    assert not store.is_done("s:1", now=1000)
    store.mark_done("s:1", now=1000)
    assert store.is_done("s:1", now=1099)
    assert not store.is_done("s:1", now=1100)
    assert not store.is_done("s:2", now=1000)


def test_purge_removes_only_expired_keys(store: IdempotencyStore) -> None:
    store.mark_done("old", now=0)
    store.mark_done("new", now=1000)
    assert store.purge(now=500) == 1
    assert store.is_done("new", now=1001)
    store.close()


def test_sqlite_store_is_shared_through_its_file(tmp_path: Path) -> None:
    path = str(tmp_path / "done.sqlite3")
    first, second = SqliteIdempotencyStore(path), SqliteIdempotencyStore(path)
    first.mark_done("s:1", now=1000)
    assert second.is_done("s:1", now=1001)
    first.close()
    second.close()


def test_sqlite_store_touches_no_disk_until_used(tmp_path: Path) -> None:
    path = tmp_path / "later" / "done.sqlite3"
    store = SqliteIdempotencyStore(str(path))
    assert not path.parent.exists()
    store.mark_done("k", now=1)
    assert path.exists()
    assert repr(store) == f"SqliteIdempotencyStore({str(path)!r})"


def test_unusable_sqlite_path_is_a_consumer_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    store = SqliteIdempotencyStore(str(tmp_path / "file" / "done.sqlite3"))
    with pytest.raises(ConsumerError, match="cannot open"):
        store.is_done("k", now=1)
