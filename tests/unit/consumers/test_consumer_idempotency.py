"""consumers.idempotency: naming a backend, refusing what is not an async store, and what only
SQLite or Redis does (the rest is the contract suite, test_consumer_idempotency_contract.py)."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from consumers import (
    ConsumerError,
    IdempotencyUnavailable,
    MemoryIdempotencyStore,
    Service,
    ServiceDefinitionError,
    SqliteIdempotencyStore,
    idempotency_store,
)
from consumers.dispatch import ConsumeOutcome
from consumers.idempotency_redis import RedisIdempotencyStore
from consumers.idempotency_registry import BACKEND_NAMES, IdempotencyBackend, idempotency_backend
from consumers.testing import deliver, make_event
from tests.redis_kit import REDIS_URL, private_redis, shared_redis

pytestmark = pytest.mark.anyio
PASSWORD = "s3cret-pa55word"


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://:{PASSWORD}@127.0.0.1:{port}/0"  # nothing listens there any more


# --- naming a backend ----------------------------------------------------------------------------


def test_every_registered_name_resolves_to_a_backend() -> None:
    assert BACKEND_NAMES == ("memory", "sqlite", "redis")
    for name in BACKEND_NAMES:
        assert isinstance(idempotency_backend(name), IdempotencyBackend)


def test_a_service_names_its_store(tmp_path: Path) -> None:
    path = tmp_path / "var" / "billing.sqlite3"
    assert isinstance(Service("billing", idempotency="memory").idempotency, MemoryIdempotencyStore)
    sqlite_store = Service("billing", idempotency=f"sqlite:{path}").idempotency
    assert repr(sqlite_store) == f"SqliteIdempotencyStore({str(path)!r})"
    assert not path.parent.exists()  # defining a service touches no disk
    for url in (f"redis://:{PASSWORD}@127.0.0.1:6379/0", "rediss://h:6380/1", "unix:///r.sock"):
        store = Service("billing", idempotency=url).idempotency
        assert isinstance(store, RedisIdempotencyStore)
        assert PASSWORD not in repr(store)
        assert "key_prefix='hookgate:idempotency:billing:'" in repr(store)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("postgres://db/x", "idempotency backend 'postgres' is not one of memory, sqlite, redis"),
        ("SqliteIdempotencyStore", "backend 'SqliteIdempotencyStore' is not one of"),
        ("sqlite:", '"sqlite:" needs a path after it, e.g. "sqlite:var/billing-done.sqlite3"'),
        ("memory:x", '"memory" takes nothing after it'),
        ("redis", "idempotency URL redis: expected a redis://, rediss:// or unix:// URL"),
        ("redis:host", "idempotency URL redis:host: expected a redis://, rediss:// or unix://"),
        (f"rediss:u:{PASSWORD}@h", "idempotency URL ***: expected a redis://"),
    ],
)
def test_a_bad_name_is_a_definition_error_with_the_fix(spec: str, message: str) -> None:
    with pytest.raises(ServiceDefinitionError, match=r"^service 'billing': ") as caught:
        Service("billing", idempotency=spec)
    assert message in str(caught.value)
    assert PASSWORD not in str(caught.value)


def test_a_bad_redis_url_is_refused_without_showing_its_password() -> None:
    for url in (f"redis://user:{PASSWORD}@host:99999/0", f"redis://:{PASSWORD}@[::1/0"):
        with pytest.raises(ServiceDefinitionError) as caught:
            Service("billing", idempotency=url)
        assert PASSWORD not in str(caught.value)
        assert "not a valid URL" in str(caught.value)
    with pytest.raises(ServiceDefinitionError) as caught:
        Service("billing", idempotency=f"mysql://root:{PASSWORD}@db/x")
    assert PASSWORD not in str(caught.value)


def test_a_service_without_redis_never_imports_the_redis_client(tmp_path: Path) -> None:
    code = (
        "import sys, consumers, consumers.testing, consumers.worker\n"
        f"consumers.Service('a', idempotency='sqlite:{tmp_path}/a.sqlite3')\n"
        "consumers.Service('b', idempotency='memory')\n"
        "assert 'redis' not in sys.modules, 'redis imported'\n"
        "consumers.Service('c', idempotency='redis://127.0.0.1:6379/0')\n"
        "assert 'redis' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- what is not an async store ------------------------------------------------------------------


class _SyncStore:
    """A store written for the synchronous protocol of earlier versions."""

    def is_done(self, key: str, now: float) -> bool:
        return False

    def mark_done(self, key: str, now: float) -> None:
        pass

    def purge(self, now: float) -> int:
        return 0

    def close(self) -> None:
        pass


def test_a_store_written_for_the_sync_protocol_is_refused_with_the_fix() -> None:
    with pytest.raises(ServiceDefinitionError) as caught:
        Service("billing", idempotency=_SyncStore())
    assert str(caught.value).startswith(
        "service 'billing': idempotency store _SyncStore: is_done, mark_done, purge, close "
        "not async;"
    )
    assert "make is_done, mark_done, purge, close async def" in str(caught.value)
    service = Service("billing")
    service.handler("#")(lambda event: None)
    with pytest.raises(ServiceDefinitionError, match="_SyncStore: is_done"):
        deliver(service, make_event(b"{}", type="x"), idempotency=_SyncStore())


def test_an_object_that_is_not_a_store_is_refused() -> None:
    with pytest.raises(ServiceDefinitionError, match=r"a dict is not an idempotency store \(it"):
        Service("billing", idempotency={"path": "x"})


# --- SQLite ---------------------------------------------------------------------------------------


async def test_sqlite_a_mark_is_in_the_file_when_it_returns(tmp_path: Path) -> None:
    # The worker acks right after: a kill -9 then must leave the key for the redelivery.
    path = tmp_path / "done.sqlite3"
    store = SqliteIdempotencyStore(str(path))
    try:
        await store.mark_done("stripe:evt_1", 1000.0)
        with sqlite3.connect(path) as reader:
            assert reader.execute("SELECT key FROM done").fetchall() == [("stripe:evt_1",)]
    finally:
        await store.close()


async def test_sqlite_purge_works_in_batches(tmp_path: Path) -> None:
    store = SqliteIdempotencyStore(str(tmp_path / "done.sqlite3"), ttl_seconds=10)
    try:
        for i in range(12):
            await store.mark_done(f"k{i}", 0)
        await store.mark_done("live", 100)
        assert [await store.purge(50, batch=5) for _ in range(4)] == [5, 5, 2, 0]
        assert await store.is_done("live", 100)
    finally:
        await store.close()


async def test_sqlite_unusable_path_is_unavailable_and_tried_again(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    store = SqliteIdempotencyStore(str(blocker / "done.sqlite3"))
    try:
        with pytest.raises(IdempotencyUnavailable, match="cannot open") as caught:
            await store.is_done("k", 1)
        assert isinstance(caught.value, ConsumerError)
        blocker.unlink()
        assert await store.is_done("k", 1) is False  # the next call opens it
    finally:
        await store.close()


async def test_sqlite_keys_of_any_text_are_kept_apart(tmp_path: Path) -> None:
    store = SqliteIdempotencyStore(str(tmp_path / "done.sqlite3"))
    marked = ['a:"quoted"', "a:back\\slash", "a:new\nline", "a:ünïcødé 🎉", "a:[1,2]", "a:"]
    others = ["a:quoted", "a:back\\\\slash", "A:ünïcødé 🎉", "a:[1, 2]", "a: ", "a"]
    try:
        await asyncio.gather(*(store.mark_done(key, 1000.0) for key in marked))
        assert await asyncio.gather(*(store.is_done(k, 1000.0) for k in marked)) == [True] * 6
        assert await asyncio.gather(*(store.is_done(k, 1000.0) for k in others)) == [False] * 6
    finally:
        await store.close()


async def test_sqlite_every_waiting_caller_hears_the_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    store = SqliteIdempotencyStore(str(blocker / "done.sqlite3"))
    try:
        checks = [store.is_done(f"k{i}", 1) for i in range(20)]
        marks = [store.mark_done(f"k{i}", 1) for i in range(20)]
        answers = await asyncio.gather(*checks, *marks, return_exceptions=True)
        assert all(isinstance(answer, IdempotencyUnavailable) for answer in answers), answers
    finally:
        await store.close()


async def test_sqlite_a_cancelled_check_leaves_the_others_answered(tmp_path: Path) -> None:
    store = SqliteIdempotencyStore(str(tmp_path / "done.sqlite3"))
    try:
        await store.mark_done("k1", 1)
        first = asyncio.ensure_future(store.is_done("k0", 1))
        second = asyncio.ensure_future(store.is_done("k1", 1))
        await asyncio.sleep(0)
        first.cancel()
        assert await second is True
        assert await store.is_done("k0", 1) is False
    finally:
        await store.close()


# --- Redis ----------------------------------------------------------------------------------------


async def test_redis_keys_live_under_the_prefix_with_the_ttl(redis_prefix: str) -> None:
    store = RedisIdempotencyStore(REDIS_URL, key_prefix=redis_prefix, ttl_seconds=60)
    client = shared_redis()
    try:
        await store.mark_done("stripe:evt_1", time.time())
        assert client.get(f"{redis_prefix}stripe:evt_1") == b"1"
        assert 59_000 < client.pttl(f"{redis_prefix}stripe:evt_1") <= 60_000
    finally:
        client.close()
        await store.close()


async def test_redis_unreachable_is_unavailable_within_the_timeouts() -> None:
    store = idempotency_store(_closed_port_url(), service="billing")
    try:
        started = time.monotonic()
        for call in (store.is_done("stripe:evt_1", 0), store.mark_done("stripe:evt_1", 0)):
            with pytest.raises(IdempotencyUnavailable) as caught:
                await call
            assert PASSWORD not in str(caught.value)
            assert "idempotency store: Redis at redis://:***@127.0.0.1:" in str(caught.value)
        assert time.monotonic() - started < 10
    finally:
        await store.close()


async def test_redis_store_answers_again_after_redis_restarts(tmp_path: Path) -> None:
    with private_redis(tmp_path / "redis") as server:
        store = idempotency_store(server.url, service="billing")
        try:
            await store.mark_done("stripe:evt_1", 0)
            server.kill()
            with pytest.raises(IdempotencyUnavailable):
                await store.is_done("stripe:evt_1", 0)
            server.start()
            # A fresh server (no persistence), pooled connections dead: reconnects, answers.
            assert await asyncio.wait_for(store.is_done("stripe:evt_1", 0), 10) is False
        finally:
            await store.close()


def test_an_operators_replay_of_a_completed_event_runs_once_more() -> None:
    runs: list[int] = []
    service = Service("billing", idempotency="memory")

    @service.handler("test.#")
    def handle(event: object) -> None:
        runs.append(getattr(event, "replays", 0))

    store = service.idempotency
    event = make_event({"n": 1}, type="invoice.paid", id="evt_1")
    replayed = replace(event, replays=1)  # `hookgate-replays` 1 on the copy
    outcomes = [
        deliver(service, e, idempotency=store).kind for e in (event, event, replayed, replayed)
    ]
    assert outcomes == [
        ConsumeOutcome.SUCCESS,
        ConsumeOutcome.DUPLICATE,
        ConsumeOutcome.SUCCESS,
        ConsumeOutcome.DUPLICATE,
    ]
    assert runs == [0, 1]
