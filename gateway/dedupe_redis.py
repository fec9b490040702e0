"""The Redis dedupe store: several gateway hosts share one set of claimed and committed keys.

A key holds "0:<claim token>" while claimed (expiring after the lease) and "1" once committed
(expiring after the TTL): Redis expires keys itself, so `purge` has nothing to do, and every
lease and TTL runs on the Redis server's clock, the one clock all gateway hosts share. The
`now` arguments are therefore unused here.

Each call is one command, atomic on the server: the claim is one Lua script (SET NX PX, or the
state that is there), so two hosts can never both get NEW. A release deletes the key only
while it still holds this claim's token, never a committed key nor a claim another host took
over after our lease ran out. Any Redis error or timeout is `DedupeUnavailable`: the gateway
then answers 503 and never assumes a claim. A commit that cannot be written leaves the event
durable and answered 2xx; the claim's lease runs out and a redelivery may be published again
(at-least-once, which consumers absorb with their idempotency store).
"""

from __future__ import annotations

import asyncio
import itertools
import os
from typing import Any

import redis
import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from gateway.config import DedupeSettings
from gateway.dedupe import Claim
from gateway.dedupe_registry import DedupeBackend
from gateway.errors import ConfigError, DedupeUnavailable, redact

# Bounded waits: a Redis that stopped answering costs a request ~2 s (x2 with the one retry),
# never the publish timeout. The retry reconnects once, which a pooled connection to a
# restarted Redis needs; every call is safe to repeat (see `claim`).
_TIMEOUT_SECONDS = 2.0
_RETRIES = 1

# 1: NEW (claimed now, or already ours: a repeat after a lost answer); 2: committed
# (DUPLICATE); 0: claimed by someone else (IN_PROGRESS).
_CLAIM = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] then return 1 end
if held == '1' then return 2 end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_COMMITTED = b"1"


class RedisDedupeStore:
    """Claims and commits in one Redis (database), under `key_prefix`.

    The calls made while a round trip is under way go together in the next one, as a pipeline
    (`_turns`): one round trip and one connection for a group, not one per request. Measured
    with 64 concurrent callers: about 3x the claims and commits per second of one command each.
    """

    def __init__(self, settings: DedupeSettings, lease_seconds: float) -> None:
        self._url = settings.url  # a Secret: its password is masked out of every error
        self._display_url = settings.display_url()
        self._prefix = settings.key_prefix
        self._ttl_ms = max(1, round(settings.ttl_seconds * 1000))
        self._lease_ms = max(1, round(lease_seconds * 1000))
        self._redis: redis.asyncio.Redis = _client(settings)
        # This process's live claims: a release deletes the key only if it still holds ours.
        # One token per key: should a claim's lease run out and another request of this
        # process claim the key again (the lease is at least 3x the publish timeout), the
        # first request's commit or release acts on the second's claim.
        self._tokens: dict[str, str] = {}
        self._process = os.urandom(6).hex()
        self._counter = itertools.count()
        self._queue: list[tuple[tuple[Any, ...], asyncio.Future[Any]]] = []
        self._turn: asyncio.Task[None] | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"RedisDedupeStore({self._display_url!r}, key_prefix={self._prefix!r})"

    async def claim(self, key: str, now: float) -> Claim:
        token = f"0:{self._process}:{next(self._counter)}"
        # EVAL, not EVALSHA: Redis caches the compiled script by its hash all the same, and a
        # restarted Redis (empty script cache) needs no NOSCRIPT round trip. Repeating the call
        # after a lost answer finds our own token: NEW again, for this one caller only.
        try:
            state = await self._call("EVAL", _CLAIM, 1, self._prefix + key, token, self._lease_ms)
        except asyncio.CancelledError:
            # The claim may still be (or have been) taken for nobody: free it, in order after it.
            self._send(("EVAL", _RELEASE, 1, self._prefix + key, token))
            raise
        if state == 1:
            self._tokens[key] = token
            return Claim.NEW
        return Claim.DUPLICATE if state == 2 else Claim.IN_PROGRESS

    async def commit(self, key: str, now: float) -> None:
        """Mark `key` seen, waiting for Redis: another host may get this event's redelivery
        the moment the provider has our 2xx."""
        self._tokens.pop(key, None)
        # Unconditional, like SQLite's upsert: the lease may have run out mid-publish.
        await self._call("SET", self._prefix + key, _COMMITTED, "PX", self._ttl_ms)

    async def release(self, key: str) -> None:
        token = self._tokens.pop(key, None)
        if token is None:
            return  # not claimed here (or already committed): nothing of ours to free
        await self._call("EVAL", _RELEASE, 1, self._prefix + key, token)

    async def purge(self, now: float) -> int:
        return 0  # Redis expires keys on its own

    async def close(self) -> None:
        self._closed = True
        try:
            if self._turn is not None:
                await asyncio.gather(self._turn, return_exceptions=True)
        finally:
            self._tokens.clear()
            await self._redis.aclose()

    async def _call(self, *command: Any) -> Any:
        """Send `command` in the next pipeline; its error or a Redis outage is unavailable."""
        if self._closed:
            # A request that outlived the shutdown: its claim's lease runs out on its own.
            raise DedupeUnavailable("dedupe store: closed")
        return await self._send(command)

    def _send(self, command: tuple[Any, ...]) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        # Nobody may await it (a release after a cancelled claim): never "never retrieved".
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._queue.append((command, future))
        if self._turn is None:
            self._turn = asyncio.create_task(self._turns())
        return future

    async def _turns(self) -> None:
        group: list[tuple[tuple[Any, ...], asyncio.Future[Any]]] = []
        try:
            while self._queue:
                group, self._queue = self._queue, []
                pipe = self._redis.pipeline(transaction=False)
                for command, _ in group:
                    pipe.execute_command(*command)
                try:
                    replies = await pipe.execute(raise_on_error=False)
                except (redis.RedisError, OSError) as err:
                    replies = [err] * len(group)
                for (_, future), reply in zip(group, replies, strict=True):
                    if future.done():  # its caller was cancelled
                        continue
                    if isinstance(reply, BaseException):
                        future.set_exception(self._unavailable(reply))
                    else:
                        future.set_result(reply)
                group = []
        except BaseException as err:
            # Cancelled, or anything unforeseen: no caller may wait forever.
            for _, future in [*group, *self._queue]:
                if not future.done():
                    future.set_exception(self._unavailable(err))
            self._queue = []
            if not isinstance(err, Exception):
                raise
        finally:
            self._turn = None

    def _unavailable(self, err: BaseException) -> DedupeUnavailable:
        detail = redact(_describe(err), self._url.reveal())
        return DedupeUnavailable(f"dedupe store: Redis at {self._display_url}: {detail}")


def _client(settings: DedupeSettings) -> redis.asyncio.Redis:
    return redis.asyncio.Redis.from_url(
        settings.url.reveal(),
        socket_timeout=_TIMEOUT_SECONDS,
        socket_connect_timeout=_TIMEOUT_SECONDS,
        retry=Retry(NoBackoff(), _RETRIES),
    )


def _describe(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}".strip(": ")


def _check(settings: DedupeSettings) -> None:
    """Fail closed at startup: a gateway that cannot dedupe must not start accepting events
    (an outage after startup is answered 503 per request instead)."""
    url = settings.url.reveal()
    try:
        client = redis.Redis.from_url(
            url, socket_timeout=_TIMEOUT_SECONDS, socket_connect_timeout=_TIMEOUT_SECONDS
        )
        try:
            client.ping()
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError) as err:
        raise ConfigError(
            f"dedupe.url: Redis at {settings.display_url()} did not answer "
            f"({redact(_describe(err), url)}); start it or fix dedupe.url"
        ) from err


REDIS = DedupeBackend(open=lambda settings, lease: RedisDedupeStore(settings, lease), check=_check)
