"""The Redis idempotency store: the workers of a service on several hosts share one set of keys.

A completed event's key holds "1" under the store's prefix, set with `SET key 1 PX ttl`: Redis
expires it on its own clock (the one clock every host shares), so `purge` has nothing to do and
the `now` arguments are unused. `is_done` is one `EXISTS`. Calls made while a round trip is under
way go together in the next one, as a pipeline (`hookgate.redis_client`).

Any Redis error or timeout (bounded: about 2 s, twice with the one reconnecting retry) is
`IdempotencyUnavailable`. Its caller, the dispatcher, then retries the event along the service's
tiers rather than run it or ack it as a duplicate (see consumers/README.md, "When the store is
down"); a mark that cannot be written is logged, and the event (done) is acked.
"""

from __future__ import annotations

from consumers.errors import IdempotencyUnavailable, ServiceDefinitionError
from consumers.idempotency import DEFAULT_TTL
from consumers.idempotency_registry import IdempotencyBackend
from hookgate.redis_client import RedisPipeline
from hookgate.redis_url import url_problem
from hookgate.settings import display_url

_DONE = b"1"


class RedisIdempotencyStore:
    """Completed-event keys in one Redis (database), under `key_prefix` (one per service:
    services see the same event IDs). `close()` closes the connections; a later call opens
    new ones. Raises `ServiceDefinitionError` for a URL that is not a Redis URL."""

    def __init__(self, url: str, *, key_prefix: str, ttl_seconds: float = DEFAULT_TTL) -> None:
        problem = url_problem(url)
        if problem:
            raise ServiceDefinitionError(f"idempotency URL {display_url(url)}: {problem}")
        if not key_prefix:
            raise ServiceDefinitionError("idempotency key_prefix: one per service, not empty")
        self._url = url  # may hold a password: never shown, see `display_url`
        self._prefix = key_prefix
        self._ttl_ms = max(1, round(ttl_seconds * 1000))
        self._redis = RedisPipeline(url, _unavailable)

    def __repr__(self) -> str:
        return f"RedisIdempotencyStore({self._redis.display_url!r}, key_prefix={self._prefix!r})"

    async def is_done(self, key: str, now: float) -> bool:
        return bool(await self._redis.call("EXISTS", self._prefix + key))

    async def mark_done(self, key: str, now: float) -> None:
        await self._redis.call("SET", self._prefix + key, _DONE, "PX", self._ttl_ms)

    async def purge(self, now: float) -> int:
        return 0  # Redis expires keys on its own

    async def close(self) -> None:
        closing, self._redis = self._redis, RedisPipeline(self._url, _unavailable)
        await closing.close()


def _unavailable(detail: str) -> IdempotencyUnavailable:
    return IdempotencyUnavailable(f"idempotency store: {detail}")


def _open(url: str, service: str, ttl_seconds: float) -> RedisIdempotencyStore:
    try:
        return RedisIdempotencyStore(
            url, key_prefix=f"hookgate:idempotency:{service}:", ttl_seconds=ttl_seconds
        )
    except ServiceDefinitionError as err:
        raise ServiceDefinitionError(f"service {service!r}: {err}") from None


REDIS = IdempotencyBackend(open=_open)
