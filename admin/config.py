"""`hookgate admin`'s settings: the `[admin]` and `[ledger]` tables, and `[broker]`.

One `hookgate.toml` serves every process: admin reads these three tables and interpolates
only them (the gateway's source secrets need not be set on the admin host); it accepts any
other table without reading it.

    [admin]
    host = "127.0.0.1"                 # never the public webhook listener
    port = 8081
    token = "${HOOKGATE_ADMIN_TOKEN}"  # required: Bearer token for /api/*, the console's sign-in

    [ledger]
    backend = "sqlite"                 # memory | sqlite | postgres
    path = "var/ledger.sqlite3"        # sqlite
    url = "${HOOKGATE_LEDGER_URL}"     # postgres: postgresql://user:password@host:5432/db
    retention_days = 14                # the ledger's events, and the archive's
    archive = false                    # true: keep accepted events in a stream for replay
    archive_max_bytes = 10_000_000_000 # the archive's cap besides its age (>= 64 MiB)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from admin.ledger_registry import BACKEND_NAMES
from hookgate.errors import ConfigError
from hookgate.secret import Secret
from hookgate.settings import (
    BrokerSettings,
    display_url,
    get_int,
    get_number,
    get_str,
    get_table,
    interpolate,
    only_keys,
    parse_broker,
    read_toml,
)

LEDGER_BACKENDS = BACKEND_NAMES  # admin.ledger_registry: one list of names
_MIN_TOKEN = 16  # characters: a shorter bearer token is a placeholder, not a credential
_POSTGRES_SCHEMES = ("postgresql", "postgres")
_MIN_ARCHIVE_BYTES = 64 * 2**20  # a stream keeps at least one segment: a smaller cap is a typo
_MAX_ARCHIVE_BYTES = 2**50


@dataclass(frozen=True)
class AdminSettings:
    token: Secret
    host: str = "127.0.0.1"
    port: int = 8081


@dataclass(frozen=True)
class LedgerSettings:
    backend: str = "sqlite"
    path: str = "var/ledger.sqlite3"
    #: postgres: holds a password, so a `Secret`; `display_url()` for logs and errors.
    url: Secret | None = None
    retention_days: float = 14.0
    #: Keep accepted events in the `{exchange}.archive` stream, for replay beyond the DLQ. Off
    #: by default: it costs two more broker writes and a copy by `hookgate admin` per event
    #: (on one small host, 0.55x the throughput; deploy/README.md, "The archive").
    archive: bool = False
    archive_max_bytes: int = 10_000_000_000

    def display_url(self) -> str:
        return display_url(self.url.reveal()) if self.url is not None else ""


@dataclass(frozen=True)
class AdminConfig:
    admin: AdminSettings
    ledger: LedgerSettings
    broker: BrokerSettings


def load_admin_config(
    path: str | os.PathLike[str], environ: Mapping[str, str] | None = None
) -> AdminConfig:
    """Read the file and check the three tables admin needs; `ConfigError` naming the key."""
    return parse_admin_config(read_toml(path), os.environ if environ is None else environ)


def parse_admin_config(raw: Mapping[str, Any], env: Mapping[str, str]) -> AdminConfig:
    if "admin" not in raw:
        raise ConfigError(
            'admin: no [admin] table; add one with token = "${HOOKGATE_ADMIN_TOKEN}" '
            "(and host, port) to run `hookgate admin`"
        )
    admin = _admin(interpolate(get_table(raw, "admin"), "admin", env))
    ledger = parse_ledger(raw, env)
    broker = parse_broker(interpolate(get_table(raw, "broker"), "broker", env), env)
    return AdminConfig(admin, ledger, broker)


def parse_ledger(raw: Mapping[str, Any], env: Mapping[str, str]) -> LedgerSettings:
    """The `[ledger]` table alone (defaults without one): `hookgate topology export` reads the
    archive's settings from it without needing the admin token."""
    # `url` only matters to postgres: a sqlite ledger needs no $HOOKGATE_LEDGER_URL set.
    table = get_table(raw, "ledger")
    ledger_table = interpolate({k: v for k, v in table.items() if k != "url"}, "ledger", env)
    if "url" in table:
        backend = ledger_table.get("backend")
        ledger_table["url"] = (
            interpolate(table["url"], "ledger.url", env) if backend == "postgres" else ""
        )
    return _ledger(ledger_table)


def _admin(table: dict[str, Any]) -> AdminSettings:
    only_keys(table, {"host", "port", "token"}, "admin")
    token = get_str(table, "token", "admin", None)
    if len(token) < _MIN_TOKEN or token != token.strip():
        # Never echo the value: say what is wrong with it.
        raise ConfigError(
            f"admin.token: shorter than {_MIN_TOKEN} characters or padded with whitespace; "
            "use a long random value (e.g. `openssl rand -hex 32`)"
        )
    d = AdminSettings(Secret(""))
    return AdminSettings(
        token=Secret(token),
        host=get_str(table, "host", "admin", d.host),
        port=get_int(table, "port", "admin", d.port, 0, 65535),
    )


def _ledger(table: dict[str, Any]) -> LedgerSettings:
    only_keys(
        table,
        {"backend", "path", "url", "retention_days", "archive", "archive_max_bytes"},
        "ledger",
    )
    d = LedgerSettings()
    backend = get_str(table, "backend", "ledger", d.backend)
    if backend not in LEDGER_BACKENDS:
        names = ", ".join(repr(name) for name in LEDGER_BACKENDS)
        raise ConfigError(f"ledger.backend: expected one of {names}")
    url = None
    if backend == "postgres":
        text = get_str(table, "url", "ledger", None)
        try:
            parts = urlsplit(text)
            parts.port  # noqa: B018 - urlsplit checks the port only when asked
        except ValueError:
            raise ConfigError("ledger.url: not a valid URL (is the port a number?)") from None
        if parts.scheme not in _POSTGRES_SCHEMES or not parts.hostname:
            raise ConfigError("ledger.url: expected a postgresql:// URL with a host")
        url = Secret(text)
    return LedgerSettings(
        backend=backend,
        path=get_str(table, "path", "ledger", d.path),
        url=url,
        retention_days=get_number(table, "retention_days", "ledger", 14.0, positive=True),
        archive=_get_bool(table, "archive", "ledger", d.archive),
        archive_max_bytes=get_int(
            table,
            "archive_max_bytes",
            "ledger",
            d.archive_max_bytes,
            _MIN_ARCHIVE_BYTES,
            _MAX_ARCHIVE_BYTES,
        ),
    )


def _get_bool(table: dict[str, Any], key: str, path: str, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{path}.{key}: expected true or false (unquoted)")
    return value
