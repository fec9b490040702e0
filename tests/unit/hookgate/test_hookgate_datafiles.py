"""Data files are private: the spool, the dedupe store and a service's idempotency store are
created 0600 (with SQLite's -wal/-shm) in 0700 directories under the usual umask 022, and an
existing world-readable file is tightened when opened."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from consumers import SqliteIdempotencyStore
from gateway.config import SpoolSettings
from gateway.dedupe_sqlite import SqliteDedupeStore
from gateway.spool import Spool, SpooledEvent
from hookgate.datafiles import private_sqlite_file

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _sqlite_files(path: Path) -> list[Path]:
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]


async def test_a_new_spool_file_and_its_directories_are_private(tmp_path: Path) -> None:
    path = tmp_path / "var" / "spool" / "spool.sqlite3"
    spool = Spool(SpoolSettings(path=str(path)))
    spool.open()
    await spool.append(SpooledEvent("github", "github", "e", "push", "github.push", {}, b"{}", 1.0))
    files = _sqlite_files(path)
    assert len(files) == 3  # the WAL and its index exist while the spool is open
    assert {p.name: _mode(p) for p in files} == {p.name: 0o600 for p in files}
    assert _mode(tmp_path / "var") == 0o700
    assert _mode(tmp_path / "var" / "spool") == 0o700
    await spool.close()


def test_a_new_dedupe_store_is_private(tmp_path: Path) -> None:
    path = tmp_path / "state" / "dedupe.sqlite3"
    store = SqliteDedupeStore(str(path), ttl_seconds=60, lease_seconds=30)
    files = _sqlite_files(path)
    assert Path(f"{path}-wal") in files
    assert {p.name: _mode(p) for p in files} == {p.name: 0o600 for p in files}
    assert _mode(path.parent) == 0o700
    store.close_unused()


def test_a_new_idempotency_store_is_private(tmp_path: Path) -> None:
    path = tmp_path / "svc" / "done.sqlite3"
    store = SqliteIdempotencyStore(str(path))
    store.mark_done("github:1", 1.0)
    files = _sqlite_files(path)
    assert Path(f"{path}-wal") in files
    assert {p.name: _mode(p) for p in files} == {p.name: 0o600 for p in files}
    assert _mode(path.parent) == 0o700
    store.close()


def test_an_existing_world_readable_file_and_its_siblings_are_tightened(tmp_path: Path) -> None:
    path = tmp_path / "dedupe.sqlite3"
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        name.write_bytes(b"")
        name.chmod(0o644)
    private_sqlite_file(path)
    assert [_mode(p) for p in _sqlite_files(path)] == [0o600, 0o600, 0o600]


def test_an_existing_directory_is_left_as_it_is(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    private_sqlite_file(shared / "spool.sqlite3")
    assert _mode(shared) == 0o755
    assert _mode(shared / "spool.sqlite3") == 0o600


def test_memory_databases_are_left_alone() -> None:
    with contextlib.chdir("/"):
        private_sqlite_file(":memory:")
        private_sqlite_file("")
