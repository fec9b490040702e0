"""gateway.dedupe_redis: what only the Redis backend does (the rest is the contract suite).

An unreachable Redis is `DedupeUnavailable` within the timeouts, and a `ConfigError` at
startup; the URL's password never appears in an error or a repr; a release frees only the claim
this store made, never one another host took over.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from pathlib import Path

import pytest

from gateway.config import DedupeSettings
from gateway.dedupe import Claim, check_dedupe_store, open_dedupe_store
from gateway.errors import ConfigError, DedupeUnavailable
from providers import Secret
from tests.redis_kit import REDIS_URL, private_redis, shared_redis

pytestmark = pytest.mark.anyio
PASSWORD = "s3cret-pa55word"


@pytest.fixture
def prefix(redis_prefix: str) -> str:
    return redis_prefix


def _settings(url: str, prefix: str = "hookgate-test:", ttl: float = 60.0) -> DedupeSettings:
    return DedupeSettings(backend="redis", url=Secret(url), key_prefix=prefix, ttl_seconds=ttl)


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://:{PASSWORD}@127.0.0.1:{port}/0"  # nothing listens there any more


async def test_unreachable_redis_is_unavailable_never_a_claim(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = open_dedupe_store(_settings(_closed_port_url()), 30.0)
    try:
        started = time.monotonic()
        with pytest.raises(DedupeUnavailable) as caught:
            await store.claim("stripe:evt_1", time.time())
        assert PASSWORD not in str(caught.value)
        assert "127.0.0.1" in str(caught.value)
        # A commit never holds the (already durable) request up: its failure is logged.
        with caplog.at_level(logging.ERROR, logger="hookgate.dedupe"):
            await store.commit("stripe:evt_1", time.time())
            await store.flush()  # type: ignore[attr-defined]
        [failed] = [r for r in caplog.records if r.getMessage() == "dedupe commit failed"]
        error = failed.fields["error"]  # type: ignore[attr-defined]
        assert "127.0.0.1" in error
        assert PASSWORD not in error
        assert time.monotonic() - started < 10  # the timeouts bound it
    finally:
        await store.close()


async def test_repr_never_shows_the_password() -> None:
    store = open_dedupe_store(_settings(f"redis://:{PASSWORD}@127.0.0.1:6379/0"), 30.0)
    try:
        assert PASSWORD not in repr(store)
        assert PASSWORD not in repr(_settings(f"redis://user:{PASSWORD}@h:6379/0"))
        assert ":***@127.0.0.1:6379" in repr(store)
    finally:
        await store.close()


def test_startup_check_fails_closed_with_one_line_naming_dedupe_url() -> None:
    with pytest.raises(ConfigError) as caught:
        check_dedupe_store(_settings(_closed_port_url()))
    message = str(caught.value)
    assert message.startswith("dedupe.url: Redis at redis://:***@127.0.0.1:")
    assert PASSWORD not in message
    assert "\n" not in message


def test_startup_check_passes_when_redis_answers() -> None:
    check_dedupe_store(_settings(REDIS_URL))


async def test_keys_live_under_the_prefix_with_the_configured_expiry(prefix: str) -> None:
    store = open_dedupe_store(_settings(REDIS_URL, prefix, ttl=60.0), 30.0)
    client = shared_redis()
    try:
        await store.claim("stripe:evt_1", time.time())
        assert 29_000 < client.pttl(f"{prefix}stripe:evt_1") <= 30_000  # the lease
        await store.commit("stripe:evt_1", time.time())
        await store.flush()  # type: ignore[attr-defined]
        assert client.get(f"{prefix}stripe:evt_1") == b"1"
        assert 59_000 < client.pttl(f"{prefix}stripe:evt_1") <= 60_000  # the TTL
    finally:
        client.close()
        await store.close()


async def test_release_after_a_takeover_leaves_the_new_claim(prefix: str) -> None:
    # Host A's lease ran out mid-publish and host B claimed the event: A's failed publish must
    # not free B's claim, or a third copy would be published beside B's.
    a = open_dedupe_store(_settings(REDIS_URL, prefix), 0.2)
    b = open_dedupe_store(_settings(REDIS_URL, prefix), 30.0)
    try:
        assert await a.claim("stripe:evt_1", time.time()) is Claim.NEW
        await asyncio.sleep(0.4)
        assert await b.claim("stripe:evt_1", time.time()) is Claim.NEW
        await a.release("stripe:evt_1")
        assert await a.claim("stripe:evt_1", time.time()) is Claim.IN_PROGRESS
    finally:
        await a.close()
        await b.close()


async def test_store_answers_again_after_redis_restarts(tmp_path: Path) -> None:
    with private_redis(tmp_path / "redis") as server:
        store = open_dedupe_store(_settings(server.url), 30.0)
        try:
            assert await store.claim("stripe:evt_1", time.time()) is Claim.NEW
            server.kill()
            with pytest.raises(DedupeUnavailable):
                await store.claim("stripe:evt_2", time.time())
            server.start()
            # A fresh server (no persistence), pooled connections dead: reconnects, answers.
            assert await store.claim("stripe:evt_2", time.time()) is Claim.NEW
        finally:
            await store.close()


async def test_calls_after_close_are_refused_not_left_waiting(prefix: str) -> None:
    store = open_dedupe_store(_settings(REDIS_URL, prefix), 30.0)
    await store.claim("stripe:evt_1", time.time())
    await store.close()
    with pytest.raises(DedupeUnavailable, match="closed"):
        await asyncio.wait_for(store.claim("stripe:evt_2", time.time()), 5)


async def test_calls_made_together_each_get_their_own_answer(prefix: str) -> None:
    # They go to Redis as one pipeline: each reply must reach its own caller, in order.
    store = open_dedupe_store(_settings(REDIS_URL, prefix), 30.0)
    try:
        await store.claim("k0", time.time())
        await store.commit("k0", time.time())
        claims = await asyncio.gather(*[store.claim(f"k{i % 10}", time.time()) for i in range(40)])
        assert claims[:10] == [Claim.DUPLICATE] + [Claim.NEW] * 9
        assert claims[10:] == ([Claim.DUPLICATE] + [Claim.IN_PROGRESS] * 9) * 3
    finally:
        await store.close()


async def test_a_claim_repeated_after_a_lost_answer_is_still_this_callers(prefix: str) -> None:
    # redis-py repeats a pipeline after a dropped connection: if the first EVAL had set the
    # key, the repeat must not make the only claimant see IN_PROGRESS (an orphaned claim).
    store = open_dedupe_store(_settings(REDIS_URL, prefix), 30.0)
    client = shared_redis()
    try:
        from gateway.dedupe_redis import _CLAIM

        key = prefix + "stripe:evt_lost"
        assert client.eval(_CLAIM, 1, key, "0:me:1", 30_000) == 1
        assert client.eval(_CLAIM, 1, key, "0:me:1", 30_000) == 1  # the repeat: still ours
        assert client.eval(_CLAIM, 1, key, "0:other:1", 30_000) == 0  # anyone else: taken
    finally:
        client.close()
        await store.close()


async def test_a_cancelled_claim_is_freed_not_left_for_the_lease(prefix: str) -> None:
    store = open_dedupe_store(_settings(REDIS_URL, prefix), 30.0)
    try:
        pending = asyncio.ensure_future(store.claim("stripe:evt_cancel", time.time()))
        await asyncio.sleep(0)  # queued for the next pipeline
        pending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pending
        # The claim went out for nobody; its release follows it: the retry is NEW at once.
        for _ in range(50):
            if await store.claim("stripe:evt_cancel", time.time()) is Claim.NEW:
                break
            await asyncio.sleep(0.02)
        else:
            pytest.fail("the cancelled claim still held the key")
    finally:
        await store.close()
