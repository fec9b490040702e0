"""Dedupe backends by name: `[dedupe] backend = "…"` picks one of `BACKEND_NAMES`.

Each name points at a `DedupeBackend` as "module:attribute" (`hookgate.registry`), so this
module imports no backend: the config lists the names without loading a client, and a
backend's module (and its client library) is imported only when a config asks for it. A new
backend is one line here plus a module that defines its `DedupeBackend`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hookgate.registry import Registry

if TYPE_CHECKING:
    from gateway.config import DedupeSettings
    from gateway.dedupe import DedupeStore


@dataclass(frozen=True)
class DedupeBackend:
    """How to open a store (in a worker, lease in seconds) and how to check its settings once at
    startup, before any worker starts (raise `ConfigError`, without needing an event loop)."""

    open: Callable[[DedupeSettings, float], DedupeStore]
    check: Callable[[DedupeSettings], None]


_BACKENDS = Registry(
    DedupeBackend,
    {
        "memory": "gateway.dedupe:MEMORY",
        "sqlite": "gateway.dedupe_sqlite:SQLITE",
        "redis": "gateway.dedupe_redis:REDIS",
    },
)
BACKEND_NAMES = _BACKENDS.names


def dedupe_backend(name: str) -> DedupeBackend:
    """The backend registered as `name` (the config has already refused any other name)."""
    return _BACKENDS.get(name)
