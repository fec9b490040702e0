"""Ledger backends by name: `[ledger] backend = "…"` picks one of `BACKEND_NAMES`.

Each name points at a `LedgerBackend` as "module:attribute" (`hookgate.registry`), so this
module imports no backend: a backend's module (and its client library: asyncpg for
`postgres`) is imported only when a config names it. A new backend is one line here plus a
module that defines its `LedgerBackend`; the contract suite
(tests/unit/admin/test_admin_ledger_contract.py) runs against every name here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hookgate.errors import ConfigError
from hookgate.registry import Registry

if TYPE_CHECKING:
    from admin.config import LedgerSettings
    from admin.ledger import LedgerStore


@dataclass(frozen=True)
class LedgerBackend:
    """How to open a ledger (touching neither disk nor network: that waits for its first
    call), and how to check once at startup that it can be used: `check` raises `ConfigError`
    naming `ledger.path` or `ledger.url`, never showing a password."""

    open: Callable[[LedgerSettings], LedgerStore]
    check: Callable[[LedgerSettings], Awaitable[None]]


_BACKENDS = Registry(
    LedgerBackend,
    {
        "memory": "admin.ledger_memory:MEMORY",
        "sqlite": "admin.ledger_sqlite:SQLITE",
        "postgres": "admin.ledger_postgres:POSTGRES",
    },
)
BACKEND_NAMES = _BACKENDS.names


def open_ledger(settings: LedgerSettings) -> LedgerStore:
    """The ledger `settings` name, not yet connected."""
    return _backend(settings).open(settings)


async def check_ledger(settings: LedgerSettings) -> None:
    """Open the ledger `settings` name, use it once, close it: `ConfigError` when it cannot
    be used (`hookgate admin` calls this before it starts recording)."""
    await _backend(settings).check(settings)


def _backend(settings: LedgerSettings) -> LedgerBackend:
    if settings.backend not in BACKEND_NAMES:  # admin.config refuses it first
        raise ConfigError(f"ledger.backend: expected one of {', '.join(BACKEND_NAMES)}")
    return _BACKENDS.get(settings.backend)
