"""The idempotency contract every backend passes: memory, sqlite and redis (the real server).

Every store here is opened by name, as a service names it (`idempotency_store`), so the registry
is part of the contract; Redis keys live under the service's own default prefix. TTLs are checked
through a clock the backend agrees with (`tests.store_kit`).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from consumers.idempotency import IdempotencyStore, idempotency_store
from tests.redis_kit import REDIS_URL, delete_prefix, shared_redis
from tests.store_kit import REAL_TIME_TTL, clock_for
from tests.store_kit import Backend as StoreBackend

pytestmark = pytest.mark.anyio


Backend = StoreBackend[IdempotencyStore]


@contextlib.asynccontextmanager
async def _backend_for(name: str, tmp_path: Path) -> AsyncIterator[Backend]:
    """Stores of backend `name`, all in one place (file, Redis prefix); closed afterwards."""
    clock = clock_for(name)
    ttl = REAL_TIME_TTL if clock.real else 1000.0
    service = f"contract-{uuid.uuid4().hex[:12]}"  # Redis: keys under this service's prefix
    spec = {
        "memory": "memory",
        "sqlite": f"sqlite:{tmp_path / 'done.sqlite3'}",
        "redis": REDIS_URL,
    }[name]
    stores: list[IdempotencyStore] = []

    def make() -> IdempotencyStore:
        store = idempotency_store(spec, service=service, ttl_seconds=ttl)
        stores.append(store)
        return store

    try:
        yield Backend(name, make, clock, ttl)
    finally:
        for store in stores:
            await store.close()
        if name == "redis":
            client = shared_redis()
            try:
                delete_prefix(client, f"hookgate:idempotency:{service}:")
            finally:
                client.close()


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    async with _backend_for(str(request.param), tmp_path) as built:
        yield built


@pytest.fixture
def store(backend: Backend) -> IdempotencyStore:
    return backend.make()


async def test_an_unmarked_key_is_not_done(store: IdempotencyStore, backend: Backend) -> None:
    assert await store.is_done("stripe:evt_1", backend.now()) is False


async def test_a_marked_key_is_done(store: IdempotencyStore, backend: Backend) -> None:
    await store.mark_done("stripe:evt_1", backend.now())
    assert await store.is_done("stripe:evt_1", backend.now()) is True


async def test_keys_are_independent(store: IdempotencyStore, backend: Backend) -> None:
    await store.mark_done("stripe:evt_1", backend.now())
    for other in ("stripe:evt_2", "github:evt_1", "stripe:evt_1:x", "stripe"):
        assert await store.is_done(other, backend.now()) is False


async def test_a_mark_lasts_until_its_ttl(store: IdempotencyStore, backend: Backend) -> None:
    await store.mark_done("stripe:evt_1", backend.now())
    assert await store.is_done("stripe:evt_1", backend.now())
    await backend.advance(backend.ttl * 1.5)
    assert not await store.is_done("stripe:evt_1", backend.now())


async def test_marking_again_counts_the_ttl_from_the_new_mark(
    store: IdempotencyStore, backend: Backend
) -> None:
    await store.mark_done("stripe:evt_1", backend.now())
    await backend.advance(backend.ttl * 0.6)
    await store.mark_done("stripe:evt_1", backend.now())
    await backend.advance(backend.ttl * 0.6)  # past the first mark's TTL, within the second
    assert await store.is_done("stripe:evt_1", backend.now())


async def test_purge_forgets_expired_keys_and_keeps_live_ones(
    store: IdempotencyStore, backend: Backend
) -> None:
    await store.mark_done("old", backend.now())
    await backend.advance(backend.ttl * 1.5)
    await store.mark_done("live", backend.now())
    purged = await store.purge(backend.now())
    assert purged in (0, 1)  # 0: a backend that expires keys on its own
    assert not await store.is_done("old", backend.now())
    assert await store.is_done("live", backend.now())
    assert await store.purge(backend.now()) == 0


async def test_calls_made_together_each_get_their_own_answer(
    store: IdempotencyStore, backend: Backend
) -> None:
    # SQLite writes them in one transaction and Redis in one pipeline: answers stay apart.
    keys = [f"stripe:evt_{i}" for i in range(60)]
    await asyncio.gather(*[store.mark_done(key, backend.now()) for key in keys[::2]])
    answers = await asyncio.gather(*[store.is_done(key, backend.now()) for key in keys])
    assert answers == [True, False] * 30


async def test_a_closed_store_can_be_used_again(store: IdempotencyStore, backend: Backend) -> None:
    # A worker closes its service's store when it stops; a service run again uses it again.
    await store.mark_done("stripe:evt_1", backend.now())
    await store.close()
    await store.mark_done("stripe:evt_2", backend.now())
    assert await store.is_done("stripe:evt_2", backend.now())


# --- backends the workers of several processes or hosts share -------------------------------


@pytest.fixture(params=["sqlite", "redis"])
async def two_stores(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[IdempotencyStore, IdempotencyStore, Backend]]:
    async with _backend_for(str(request.param), tmp_path) as built:
        yield built.make(), built.make(), built


async def test_a_mark_by_one_worker_is_done_for_the_other(
    two_stores: tuple[IdempotencyStore, IdempotencyStore, Backend],
) -> None:
    a, b, backend = two_stores
    assert not await b.is_done("stripe:evt_1", backend.now())
    await a.mark_done("stripe:evt_1", backend.now())  # returns once it is written
    assert await b.is_done("stripe:evt_1", backend.now())


async def test_marks_from_two_workers_at_once_are_all_kept(
    two_stores: tuple[IdempotencyStore, IdempotencyStore, Backend],
) -> None:
    a, b, backend = two_stores
    keys = [f"stripe:evt_{i}" for i in range(40)]
    await asyncio.gather(
        *[(a if i % 2 else b).mark_done(k, backend.now()) for i, k in enumerate(keys)]
    )
    assert await asyncio.gather(*[a.is_done(k, backend.now()) for k in keys]) == [True] * 40
