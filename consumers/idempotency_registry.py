"""Idempotency backends by name: `Service(idempotency="…")` picks one of `BACKEND_NAMES`.

A name is written as `"memory"`, `"sqlite:PATH"`, or a Redis URL (`redis://`, `rediss://`,
`unix://`), which names the `redis` backend. Each name points at an `IdempotencyBackend` as
"module:attribute" (`hookgate.registry`), so this module imports no backend: a service
that does not use Redis never loads the Redis client, and a backend's module is imported only
when a service names it. A new backend is one line here plus a module that defines its
`IdempotencyBackend`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from consumers.errors import ServiceDefinitionError
from hookgate.redis_url import SCHEMES as REDIS_SCHEMES
from hookgate.registry import Registry

if TYPE_CHECKING:
    from consumers.idempotency import IdempotencyStore


@dataclass(frozen=True)
class IdempotencyBackend:
    """How to open a store from what follows the name (a path, a URL; `""` when nothing does),
    for a service (its name), with a TTL in seconds. `open` raises `ServiceDefinitionError` for
    a location it cannot use, and touches neither the disk nor the network: a service is
    defined when its module is imported."""

    open: Callable[[str, str, float], IdempotencyStore]


_BACKENDS = Registry(
    IdempotencyBackend,
    {
        "memory": "consumers.idempotency:MEMORY",
        "sqlite": "consumers.idempotency_sqlite:SQLITE",
        "redis": "consumers.idempotency_redis:REDIS",
    },
)
BACKEND_NAMES = _BACKENDS.names


def parse_spec(spec: str, service: str) -> tuple[str, str]:
    """`(backend name, location)` of `spec`. An unknown name is an error that quotes the name
    only: a mistyped URL may hold a password."""
    name, _, rest = spec.partition(":")
    if name.lower() in REDIS_SCHEMES:  # the whole URL is the redis backend's location
        return "redis", spec
    if name not in BACKEND_NAMES:
        raise ServiceDefinitionError(
            f"service {service!r}: idempotency backend {name[:40]!r} is not one of "
            f'{", ".join(BACKEND_NAMES)}; write "memory", "sqlite:PATH" or a Redis URL '
            '"redis://HOST:PORT/DB"'
        )
    return name, rest


def idempotency_backend(name: str) -> IdempotencyBackend:
    """The backend registered as `name` (`parse_spec` has already refused any other name)."""
    return _BACKENDS.get(name)
