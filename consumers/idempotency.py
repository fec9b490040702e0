"""Idempotency stores: remember which events a service has completed.

With a store, a redelivered event that a handler already completed (the worker died between the
handler's return and the ack, or the sender's duplicate slipped past the gateway's dedupe
window) is acked without running the handler again, and counted as `duplicate`. The key is
`{source}:{event_id}`; one store per service.

An event is marked done after its handler returns and before the ack. A store is not a lock:
two workers running the same event at the same moment (possible only after a redelivery) can
both run it. Handlers with side effects that must happen once still need their own guard.

Every call is a coroutine and none blocks the event loop. The backends: `MemoryIdempotencyStore`
here, `consumers.idempotency_sqlite` (the workers of one host) and `consumers.idempotency_redis`
(several hosts), chosen by name through `consumers.idempotency_registry`;
tests/unit/consumers/test_consumer_idempotency_contract.py is the contract each passes.
"""

from __future__ import annotations

import inspect
from typing import Protocol

from consumers.errors import ServiceDefinitionError
from consumers.idempotency_registry import IdempotencyBackend, idempotency_backend, parse_spec

DEFAULT_TTL = 7 * 86_400.0
_METHODS = ("is_done", "mark_done", "purge", "close")


class IdempotencyStore(Protocol):
    """Completed-event keys, without blocking the loop. Failures: `IdempotencyUnavailable`."""

    async def is_done(self, key: str, now: float) -> bool: ...
    async def mark_done(self, key: str, now: float) -> None: ...
    async def purge(self, now: float) -> int:
        """Delete expired keys, a batch at most; the number deleted (call again while a whole
        batch goes)."""
        ...

    async def close(self) -> None: ...


class MemoryIdempotencyStore:
    """One process's memory: for tests, and services that run a single worker."""

    def __init__(self, ttl_seconds: float = DEFAULT_TTL) -> None:
        self._ttl = ttl_seconds
        self._done: dict[str, float] = {}

    async def is_done(self, key: str, now: float) -> bool:
        expires = self._done.get(key)
        return expires is not None and expires > now

    async def mark_done(self, key: str, now: float) -> None:
        self._done[key] = now + self._ttl

    async def purge(self, now: float) -> int:
        expired = [key for key, expires in self._done.items() if expires <= now]
        for key in expired:
            del self._done[key]
        return len(expired)

    async def close(self) -> None:
        self._done.clear()


def idempotency_store(
    spec: str, *, service: str, ttl_seconds: float = DEFAULT_TTL
) -> IdempotencyStore:
    """The store `spec` names, for the service named `service`: `"memory"`, `"sqlite:PATH"`,
    or a `redis://`, `rediss://` or `unix://` URL (keys under `hookgate:idempotency:SERVICE:`).
    Opening touches neither the disk nor the network. Raises `ServiceDefinitionError`."""
    name, location = parse_spec(spec, service)
    return idempotency_backend(name).open(location, service, ttl_seconds)


def as_idempotency_store(value: object, service: str) -> IdempotencyStore | None:
    """`Service(idempotency=…)`: `None`, a name (`idempotency_store`), or a store object.

    A store written for the synchronous protocol of earlier versions is refused here, with the
    fix, rather than run: its answers would not be awaitable, and every event would fail."""
    if value is None:
        return None
    if isinstance(value, str):
        return idempotency_store(value, service=service)
    kind = type(value).__name__
    missing = [name for name in _METHODS if not callable(getattr(value, name, None))]
    if missing:
        raise ServiceDefinitionError(
            f"service {service!r}: idempotency: a {kind} is not an idempotency store (it has no "
            f"{', '.join(missing)}); pass a store such as SqliteIdempotencyStore(path), or a "
            'name: "memory", "sqlite:PATH" or "redis://HOST:PORT/DB"'
        )
    blocking = [name for name in _METHODS if not inspect.iscoroutinefunction(getattr(value, name))]
    if blocking:
        names = ", ".join(blocking)
        raise ServiceDefinitionError(
            f"service {service!r}: idempotency store {kind}: {names} not async; every method "
            "of an idempotency store is a coroutine, so that none blocks the event loop "
            f"(consumers.IdempotencyStore): make {names} async def, running any blocking "
            "I/O in them with asyncio.to_thread"
        )
    return value  # type: ignore[return-value]  # checked: it has the protocol's coroutines


def idempotency_key(source: str, event_id: str, replay: int = 0) -> str:
    """The store's key for an event; an operator's replay (`hookgate-replays` = `replay`) has
    its own, so a completed event that is replayed on purpose runs again, once."""
    return f"{source}:{event_id}" + (f":replay-{replay}" if replay else "")


def _open_memory(location: str, service: str, ttl_seconds: float) -> MemoryIdempotencyStore:
    if location:
        raise ServiceDefinitionError(
            f'service {service!r}: idempotency "memory" takes nothing after it: write "memory"'
        )
    return MemoryIdempotencyStore(ttl_seconds)


MEMORY = IdempotencyBackend(open=_open_memory)
