"""Redis for hookgate's stores: the URL check, the client settings, and pipelined turns.

The gateway's dedupe store and a service's idempotency store talk to Redis the same way: a
redis-py asyncio client with bounded waits (a Redis that stopped answering costs a call ~2 s, x2
with the one retry, which reconnects a pooled connection to a restarted Redis), and every call
made while a round trip is under way sent together in the next one, as a pipeline
(`hookgate.turns`): one round trip and one connection for a group, not one per call. Any Redis
error or timeout reaches the caller as the store's own "unavailable" error, with the URL's
password masked. A URL may hold a password: no message here ever quotes one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import redis
import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from hookgate.errors import describe
from hookgate.settings import display_url
from hookgate.turns import Answer, Turns

_TIMEOUT_SECONDS = 2.0
_RETRIES = 1


def ping(url: str) -> None:
    """Ask Redis at `url` once, synchronously (a startup check, without an event loop).
    Raises `redis.RedisError`, `OSError` or `ValueError`."""
    client = redis.Redis.from_url(
        url, socket_timeout=_TIMEOUT_SECONDS, socket_connect_timeout=_TIMEOUT_SECONDS
    )
    try:
        client.ping()
    finally:
        client.close()


class RedisPipeline:
    """One Redis client whose calls go in pipelined turns.

    `error(detail)` builds the store's "unavailable" exception: for a Redis error or timeout
    (`detail` names the masked URL and the error) and for a call after `close()` ("closed").
    """

    def __init__(self, url: str, error: Callable[[str], Exception]) -> None:
        self._url = url
        self.display_url = display_url(url)
        self._error = error
        self._redis: redis.asyncio.Redis = redis.asyncio.Redis.from_url(
            url,
            socket_timeout=_TIMEOUT_SECONDS,
            socket_connect_timeout=_TIMEOUT_SECONDS,
            retry=Retry(NoBackoff(), _RETRIES),
        )
        self._turns: Turns[tuple[Any, ...]] = Turns(self._run_group, self._unavailable)
        self._closed = False

    async def call(self, *command: Any) -> Any:
        """Send `command` in the next pipeline and return its reply."""
        if self._closed:
            # A call that outlived the shutdown.
            raise self._error("closed")
        return await self._turns.submit(command)

    def send(self, *command: Any) -> asyncio.Future[Any]:
        """Send `command` in the next pipeline without waiting for its reply: the future gets
        it (or the "unavailable" error), for whoever wants to know."""
        if self._closed:
            failed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            failed.set_exception(self._error("closed"))
            failed.exception()  # retrieved: nobody need look
            return failed
        return self._turns.submit(command)

    async def idle(self) -> None:
        """Return once every command sent so far has its reply."""
        await self._turns.idle()

    async def close(self) -> None:
        self._closed = True
        try:
            await self._turns.idle()
        finally:
            await self._redis.aclose()

    async def _run_group(self, commands: list[tuple[Any, ...]]) -> list[Answer]:
        pipe = self._redis.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        try:
            replies = await pipe.execute(raise_on_error=False)
        except (redis.RedisError, OSError) as err:
            replies = [err] * len(commands)
        return [
            (False, self._unavailable(reply)) if isinstance(reply, BaseException) else (True, reply)
            for reply in replies
        ]

    def _unavailable(self, err: BaseException) -> Exception:
        return self._error(f"Redis at {self.display_url}: {describe(err, self._url)}")
