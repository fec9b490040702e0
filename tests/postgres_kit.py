"""PostgreSQL for tests: the shared server on 127.0.0.1:5432, one schema of its own per test.

`deploy/dev/test.sh` starts the server and creates the role and database when they are missing
(ensure-postgres.sh): a test that finds none fails, it does not skip. Each test's tables live in
a schema of its own (`?search_path=` on the URL), dropped afterwards, so runs never collide.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator

import asyncpg

POSTGRES_URL = os.environ.get(
    "HOOKGATE_TEST_POSTGRES_URL", "postgresql://hookgate:hookgate@127.0.0.1:5432/hookgate_test"
)


async def _connect() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(POSTGRES_URL, timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError) as err:
        raise AssertionError(
            f"no PostgreSQL answers at {POSTGRES_URL} ({type(err).__name__}: {err}); "
            "run deploy/dev/ensure-postgres.sh"
        ) from err


@contextlib.asynccontextmanager
async def private_schema() -> AsyncIterator[str]:
    """The URL of the test database with its tables in a new schema, dropped afterwards."""
    schema = f"hookgate_test_{uuid.uuid4().hex[:12]}"
    db = await _connect()
    try:
        await db.execute(f"CREATE SCHEMA {schema}")
        separator = "&" if "?" in POSTGRES_URL else "?"
        yield f"{POSTGRES_URL}{separator}search_path={schema}"
    finally:
        try:
            await db.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        finally:
            await db.close()
