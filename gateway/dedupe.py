"""De-duplication by provider event ID: claim before publishing, commit after the confirm.

A key moves through three states. `claim` takes a free (or expired) key and answers NEW; a key
someone else holds answers IN_PROGRESS; a committed key answers DUPLICATE until its TTL ends.
`commit` marks a claimed key seen once the event is durable; `release` frees it when the publish
failed, so that the provider's retry is not mistaken for a duplicate. A claim also expires (the
lease), so a worker that dies mid-publish cannot block an event ID for the whole TTL.

Every call is a coroutine and none blocks the event loop. The backends: `MemoryDedupeStore`
here, `gateway.dedupe_sqlite` (one host's workers) and `gateway.dedupe_redis` (several hosts),
chosen by name through `gateway.dedupe_registry`; tests/unit/gateway/test_gateway_dedupe_contract.py
is the contract each passes.
"""

from __future__ import annotations

import enum
from typing import Protocol

from gateway.config import DedupeSettings
from gateway.dedupe_registry import DedupeBackend, dedupe_backend


class Claim(enum.Enum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    DUPLICATE = "duplicate"


class DedupeStore(Protocol):
    """Claim/commit/release by key, without blocking the loop. Failures: `DedupeUnavailable`."""

    async def claim(self, key: str, now: float) -> Claim: ...
    async def commit(self, key: str, now: float) -> None: ...
    async def release(self, key: str) -> None: ...
    async def purge(self, now: float) -> int: ...
    async def close(self) -> None: ...


_CLAIMED, _COMMITTED = 0, 1


class MemoryDedupeStore:
    """One process's memory: for tests and single-worker setups that accept loss on restart."""

    def __init__(self, ttl_seconds: float, lease_seconds: float) -> None:
        self._ttl = ttl_seconds
        self._lease = lease_seconds
        self._entries: dict[str, tuple[int, float]] = {}

    async def claim(self, key: str, now: float) -> Claim:
        entry = self._entries.get(key)
        if entry is not None and entry[1] > now:
            return Claim.DUPLICATE if entry[0] == _COMMITTED else Claim.IN_PROGRESS
        self._entries[key] = (_CLAIMED, now + self._lease)
        return Claim.NEW

    async def commit(self, key: str, now: float) -> None:
        self._entries[key] = (_COMMITTED, now + self._ttl)

    async def release(self, key: str) -> None:
        entry = self._entries.get(key)
        if entry is not None and entry[0] == _CLAIMED:
            del self._entries[key]

    async def purge(self, now: float) -> int:
        expired = [key for key, (_, expires) in self._entries.items() if expires <= now]
        for key in expired:
            del self._entries[key]
        return len(expired)

    async def close(self) -> None:
        self._entries.clear()


def open_dedupe_store(settings: DedupeSettings, lease_seconds: float) -> DedupeStore:
    """Open the store `settings.backend` names (see `gateway.dedupe_registry`)."""
    return dedupe_backend(settings.backend).open(settings, lease_seconds)


def check_dedupe_store(settings: DedupeSettings) -> None:
    """Open and close the configured store once: raise `ConfigError` if it is unusable."""
    dedupe_backend(settings.backend).check(settings)


MEMORY = DedupeBackend(
    open=lambda settings, lease: MemoryDedupeStore(settings.ttl_seconds, lease),
    check=lambda settings: None,
)
