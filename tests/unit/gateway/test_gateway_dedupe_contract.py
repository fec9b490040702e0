"""The dedupe contract every backend passes: memory, sqlite and redis (the real server).

Leases and TTLs are checked through a clock the backend agrees with (`tests.store_kit`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol, runtime_checkable

import pytest

from gateway.config import DedupeSettings
from gateway.dedupe import Claim, DedupeStore, open_dedupe_store
from providers import Secret
from tests.redis_kit import REDIS_URL
from tests.store_kit import REAL_TIME_LEASE, REAL_TIME_TTL, clock_for
from tests.store_kit import Backend as StoreBackend

pytestmark = pytest.mark.anyio


Backend = StoreBackend[DedupeStore]


@pytest.fixture(params=["memory", "sqlite", "redis"])
def backend_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def backend(
    backend_name: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Backend]:
    async with _backend_for(backend_name, tmp_path, request) as built:
        yield built


@pytest.fixture
def store(backend: Backend) -> DedupeStore:
    return backend.make()


async def test_first_claim_is_new(store: DedupeStore, backend: Backend) -> None:
    assert await store.claim("stripe:evt_1", backend.now()) is Claim.NEW


async def test_second_claim_while_first_is_publishing_is_in_progress(
    store: DedupeStore, backend: Backend
) -> None:
    assert await store.claim("stripe:evt_1", backend.now()) is Claim.NEW
    assert await store.claim("stripe:evt_1", backend.now()) is Claim.IN_PROGRESS


async def test_claim_after_commit_is_duplicate(store: DedupeStore, backend: Backend) -> None:
    assert await store.claim("stripe:evt_1", backend.now()) is Claim.NEW
    await store.commit("stripe:evt_1", backend.now())
    assert await store.claim("stripe:evt_1", backend.now()) is Claim.DUPLICATE
    assert await store.claim("stripe:evt_1", backend.now()) is Claim.DUPLICATE


async def test_keys_are_independent(store: DedupeStore, backend: Backend) -> None:
    await store.claim("stripe:evt_1", backend.now())
    await store.commit("stripe:evt_1", backend.now())
    assert await store.claim("stripe:evt_2", backend.now()) is Claim.NEW
    assert await store.claim("github:evt_1", backend.now()) is Claim.NEW
    assert await store.claim("stripe/replay", backend.now()) is Claim.NEW


async def test_release_frees_a_claim_for_the_retry(store: DedupeStore, backend: Backend) -> None:
    await store.claim("stripe:evt_1", backend.now())
    await store.release("stripe:evt_1")
    assert await store.claim("stripe:evt_1", backend.now()) is Claim.NEW


async def test_release_never_frees_a_committed_key(store: DedupeStore, backend: Backend) -> None:
    await store.claim("stripe:evt_1", backend.now())
    await store.commit("stripe:evt_1", backend.now())
    await store.release("stripe:evt_1")
    assert await store.claim("stripe:evt_1", backend.now()) is Claim.DUPLICATE


async def test_release_of_unknown_key_is_harmless(store: DedupeStore, backend: Backend) -> None:
    await store.release("never-claimed")
    assert await store.claim("never-claimed", backend.now()) is Claim.NEW


async def test_lease_expiry_lets_a_new_claim_take_over(
    store: DedupeStore, backend: Backend
) -> None:
    assert await store.claim("stripe:evt_1", backend.now()) is Claim.NEW
    assert await store.claim("stripe:evt_1", backend.now()) is Claim.IN_PROGRESS
    await backend.advance(backend.lease * 1.5)
    assert await store.claim("stripe:evt_1", backend.now()) is Claim.NEW
    # The takeover is itself a fresh lease.
    assert await store.claim("stripe:evt_1", backend.now()) is Claim.IN_PROGRESS


async def test_commit_outlives_the_lease(store: DedupeStore, backend: Backend) -> None:
    await store.claim("stripe:evt_1", backend.now())
    await store.commit("stripe:evt_1", backend.now())
    await backend.advance(backend.lease * 1.5)
    assert await store.claim("stripe:evt_1", backend.now()) is Claim.DUPLICATE


async def test_ttl_expiry_makes_a_committed_key_new_again(
    store: DedupeStore, backend: Backend
) -> None:
    await store.claim("stripe:evt_1", backend.now())
    await store.commit("stripe:evt_1", backend.now())
    assert await store.claim("stripe:evt_1", backend.now()) is Claim.DUPLICATE
    await backend.advance(backend.ttl * 1.5)
    assert await store.claim("stripe:evt_1", backend.now()) is Claim.NEW


async def test_ttl_counts_from_commit_not_from_claim(store: DedupeStore, backend: Backend) -> None:
    await store.claim("stripe:evt_1", backend.now())
    await backend.advance(backend.ttl * 0.6)
    await store.commit("stripe:evt_1", backend.now())
    await backend.advance(backend.ttl * 0.6)  # past claim + TTL, within commit + TTL
    assert await store.claim("stripe:evt_1", backend.now()) is Claim.DUPLICATE


async def test_commit_after_the_lease_ran_out_still_marks_the_key_seen(
    store: DedupeStore, backend: Backend
) -> None:
    # The publish may wait for its confirm longer than the lease.
    await store.claim("stripe:evt_1", backend.now())
    await backend.advance(backend.lease * 1.5)
    await store.purge(backend.now())
    await store.commit("stripe:evt_1", backend.now())
    assert await store.claim("stripe:evt_1", backend.now()) is Claim.DUPLICATE


async def test_purge_never_removes_a_live_key(store: DedupeStore, backend: Backend) -> None:
    await store.claim("live-claim", backend.now())
    await store.claim("live-commit", backend.now())
    await store.commit("live-commit", backend.now())
    await store.purge(backend.now())
    assert await store.claim("live-claim", backend.now()) is Claim.IN_PROGRESS
    assert await store.claim("live-commit", backend.now()) is Claim.DUPLICATE


# --- backends several workers or hosts share ---------------------------------------------------


@pytest.fixture(params=["sqlite", "redis"])
def shared_backend_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def two_stores(
    shared_backend_name: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[DedupeStore, DedupeStore, Backend]]:
    async with _backend_for(shared_backend_name, tmp_path, request) as built:
        yield built.make(), built.make(), built


@runtime_checkable
class _Flushable(Protocol):
    async def flush(self) -> None: ...


@contextlib.asynccontextmanager
async def _backend_for(
    name: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Backend]:
    """Stores of backend `name`, all in one place (file, Redis prefix); closed afterwards."""
    stores: list[DedupeStore] = []
    clock = clock_for(name)
    if clock.real:
        prefix = str(request.getfixturevalue("redis_prefix"))
        lease, ttl = REAL_TIME_LEASE, REAL_TIME_TTL
    else:
        prefix = "unused:"
        lease, ttl = 30.0, 1000.0
    settings = DedupeSettings(
        backend=name,
        path=str(tmp_path / "dedupe.sqlite3"),
        url=Secret(REDIS_URL),
        key_prefix=prefix,
        ttl_seconds=ttl,
    )

    def make() -> DedupeStore:
        store = open_dedupe_store(settings, lease)
        stores.append(store)
        return store

    try:
        yield Backend(name, make, clock, ttl, lease)
    finally:
        for store in stores:
            await store.close()


async def test_claim_by_one_is_in_progress_for_the_other(
    two_stores: tuple[DedupeStore, DedupeStore, Backend],
) -> None:
    a, b, backend = two_stores
    assert await a.claim("stripe:evt_1", backend.now()) is Claim.NEW
    assert await b.claim("stripe:evt_1", backend.now()) is Claim.IN_PROGRESS


async def test_commit_by_one_is_duplicate_for_the_other(
    two_stores: tuple[DedupeStore, DedupeStore, Backend],
) -> None:
    a, b, backend = two_stores
    await a.claim("stripe:evt_1", backend.now())
    await a.commit("stripe:evt_1", backend.now())
    if isinstance(a, _Flushable):
        await a.flush()  # SQLite batches commits; Redis writes each before returning
    assert await b.claim("stripe:evt_1", backend.now()) is Claim.DUPLICATE


async def test_release_by_one_frees_the_key_for_the_other(
    two_stores: tuple[DedupeStore, DedupeStore, Backend],
) -> None:
    a, b, backend = two_stores
    await a.claim("stripe:evt_1", backend.now())
    await a.release("stripe:evt_1")
    assert await b.claim("stripe:evt_1", backend.now()) is Claim.NEW


async def test_other_takes_over_an_expired_lease(
    two_stores: tuple[DedupeStore, DedupeStore, Backend],
) -> None:
    a, b, backend = two_stores
    await a.claim("stripe:evt_1", backend.now())
    await backend.advance(backend.lease * 1.5)
    assert await b.claim("stripe:evt_1", backend.now()) is Claim.NEW
    assert await a.claim("stripe:evt_1", backend.now()) is Claim.IN_PROGRESS


async def test_concurrent_claims_over_two_stores_are_new_exactly_once(
    two_stores: tuple[DedupeStore, DedupeStore, Backend],
) -> None:
    a, b, backend = two_stores
    claims = await asyncio.gather(
        *[(a if i % 2 else b).claim("stripe:evt_race", backend.now()) for i in range(50)]
    )
    assert claims.count(Claim.NEW) == 1
    assert claims.count(Claim.IN_PROGRESS) == 49
