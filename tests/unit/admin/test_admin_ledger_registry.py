"""admin.ledger_registry: backends by name, their startup checks, and a PostgreSQL outage that
fails fast (the contract itself: test_admin_ledger_contract.py)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from admin.config import LEDGER_BACKENDS, LedgerSettings
from admin.ledger import LedgerUnavailable
from admin.ledger_memory import MemoryLedger
from admin.ledger_postgres import PostgresLedger
from admin.ledger_registry import BACKEND_NAMES, check_ledger, open_ledger
from admin.ledger_sqlite import SqliteLedger
from hookgate.errors import ConfigError
from hookgate.secret import Secret
from tests.postgres_kit import POSTGRES_URL, private_schema

pytestmark = pytest.mark.anyio


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_config_and_the_registry_name_the_same_backends() -> None:
    assert LEDGER_BACKENDS == BACKEND_NAMES == ("memory", "sqlite", "postgres")


async def test_each_name_opens_its_backend(tmp_path: Path) -> None:
    path = str(tmp_path / "l.sqlite3")
    url = Secret("postgresql://u:pw@127.0.0.1:1/db")
    assert isinstance(open_ledger(LedgerSettings(backend="memory")), MemoryLedger)
    sqlite = open_ledger(LedgerSettings(backend="sqlite", path=path))
    assert isinstance(sqlite, SqliteLedger)
    await sqlite.close()
    assert not (tmp_path / "l.sqlite3").exists()
    postgres = open_ledger(LedgerSettings(backend="postgres", url=url))
    assert isinstance(postgres, PostgresLedger)
    assert "pw" not in repr(postgres)


def test_asyncpg_is_imported_only_when_a_config_names_postgres(tmp_path: Path) -> None:
    code = f"""
import sys
from admin.config import LedgerSettings
from admin.ledger_registry import open_ledger
open_ledger(LedgerSettings(backend="sqlite", path={str(tmp_path / "l.sqlite3")!r}))
open_ledger(LedgerSettings(backend="memory"))
assert "asyncpg" not in sys.modules, "asyncpg imported"
"""
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[3])


async def test_the_check_passes_for_usable_ledgers(tmp_path: Path) -> None:
    await check_ledger(LedgerSettings(backend="memory"))
    await check_ledger(LedgerSettings(backend="sqlite", path=str(tmp_path / "l.sqlite3")))
    async with private_schema() as url:
        await check_ledger(LedgerSettings(backend="postgres", url=Secret(url)))


async def test_an_unusable_sqlite_path_is_a_config_error_naming_ledger_path(
    tmp_path: Path,
) -> None:
    (tmp_path / "file").write_text("not a directory")
    settings = LedgerSettings(backend="sqlite", path=str(tmp_path / "file" / "l.sqlite3"))
    with pytest.raises(ConfigError, match=r"^ledger\.path: cannot use SQLite database"):
        await check_ledger(settings)


@pytest.mark.parametrize(
    "url",
    [
        # a role the server refuses (even where it trusts local connections), and a port where
        # nothing listens
        POSTGRES_URL.replace("hookgate:hookgate@", "no_such_role:wrong-s3cret@"),
        f"postgresql://hookgate:wrong-s3cret@127.0.0.1:{_free_port()}/hookgate_test",
    ],
)
async def test_an_unusable_postgres_url_is_a_config_error_that_hides_the_password(
    url: str,
) -> None:
    with pytest.raises(ConfigError, match=r"^ledger\.url: cannot use the PostgreSQL") as info:
        await check_ledger(LedgerSettings(backend="postgres", url=Secret(url)))
    assert "wrong-s3cret" not in str(info.value)
    assert "***" in str(info.value)


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """A port that accepts connections and never answers (a server that hangs)."""
    held: list[asyncio.StreamWriter] = []

    async def accept(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_server_that_never_answers_is_unavailable_within_the_timeout(
    silent_server: int,
) -> None:
    url = f"postgresql://hookgate:hookgate@127.0.0.1:{silent_server}/hookgate_test"
    ledger = PostgresLedger(url, connect_timeout=0.3, command_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(LedgerUnavailable, match="TimeoutError"):
        await ledger.services()
    assert time.monotonic() - started < 2.0
    await ledger.close()


async def test_a_connection_the_server_ended_is_replaced() -> None:
    async with private_schema() as url:
        ledger = PostgresLedger(url, connect_timeout=1.0, command_timeout=2.0)
        assert await ledger.services() == []
        await _terminate_connections(ledger)  # as a server restart would
        # The call that meets the dead connection may fail (LedgerUnavailable, never a hang
        # nor another error); the one after it has a new connection.
        with contextlib.suppress(LedgerUnavailable):
            await ledger.services()
        assert await ledger.services() == []
        await ledger.close()


async def _terminate_connections(ledger: PostgresLedger) -> None:
    import asyncpg  # test-side: the admin connection that ends the ledger's

    admin = await asyncpg.connect(POSTGRES_URL, timeout=5)
    try:
        pids = await _ledger_pids(ledger)
        await admin.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", pids)
    finally:
        await admin.close()


async def _ledger_pids(ledger: PostgresLedger) -> list[int]:
    pool = await ledger._open()
    async with pool.acquire() as db:
        return [await db.fetchval("SELECT pg_backend_pid()")]
