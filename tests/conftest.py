"""Shared by every test: async tests run on asyncio (the gateway's loop); a Redis key prefix."""

from collections.abc import Iterator

import pytest

from tests.redis_kit import delete_prefix, shared_redis, unique_prefix


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own on the shared Redis, its keys deleted afterwards."""
    prefix = unique_prefix()
    client = shared_redis()
    try:
        yield prefix
    finally:
        delete_prefix(client, prefix)
        client.close()
