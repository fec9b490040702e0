"""The admin package's commands: `admin` (serve the admin API and run the recorder) and
`events` (list, show, replay through the admin API), registered in the `hookgate.commands`
entry-point group (the root is `hookgate.cli`)."""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from admin.events_cli import add_events_commands
from admin.export_cli import add_export_command
from hookgate.cli import config_arg, config_path, port
from hookgate.errors import ConfigError, HookgateError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from admin.config import AdminConfig
    from admin.ledger import LedgerStore
    from hookgate.cli import Commands
    from hookgate.status import ServiceAnnouncement

#: `gateway.config.GatewaySettings.port`, which admin may not import (a test pins the two).
GATEWAY_DEFAULT_PORT = 8000
_BACKLOG = 128


def register(commands: Commands) -> None:
    admin = commands.add_parser(
        "admin",
        help="serve the admin API and record event status",
        description="Serve the admin API on [admin] host:port (default 127.0.0.1:8081; never "
        "the gateway's public port) and run the status recorder beside it, writing to the "
        "[ledger]. Every API route needs Authorization: Bearer with [admin] token; the web "
        "console at / signs in with that token.",
    )
    config_arg(admin)
    admin.add_argument("--host", help="listen address (default: admin.host)")
    admin.add_argument("--port", type=port, help="listen port (default: admin.port)")
    admin.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        default="info",
        help="log level (default: info)",
    )
    admin.set_defaults(run=_admin)
    add_events_commands(commands)
    add_export_command(commands)


def load(
    path: str,
    environ: Mapping[str, str] | None = None,
    *,
    host: str | None = None,
    port: int | None = None,
) -> AdminConfig:
    """The admin config (`host`, `port`: the command line's, over `[admin]`), refused when it
    would listen on the gateway's public port."""
    from admin.config import parse_admin_config
    from hookgate.settings import read_toml

    raw = read_toml(path)
    config = parse_admin_config(raw, os.environ if environ is None else environ)
    if host is not None or port is not None:
        listen = replace(
            config.admin,
            host=config.admin.host if host is None else host,
            port=config.admin.port if port is None else port,
        )
        config = replace(config, admin=listen)
    gateway_port = _gateway_port(raw)
    if config.admin.port and config.admin.port == gateway_port:
        raise ConfigError(
            f"admin.port: {config.admin.port} is the gateway's public port (gateway.port); "
            "the admin API needs a listener of its own (default 8081)"
        )
    return config


def _gateway_port(raw: Mapping[str, Any]) -> int:
    table = raw.get("gateway")
    port = table.get("port") if isinstance(table, dict) else None
    return port if isinstance(port, int) else GATEWAY_DEFAULT_PORT


def _admin(args: argparse.Namespace) -> int:
    from admin.ledger import LedgerUnavailable
    from hookgate.listen import bind_listener
    from hookgate.logs import configure_logging

    config = load(config_path(args), host=args.host, port=args.port)
    # Bound first: a taken port is one line, before the ledger or the broker is touched.
    listener = bind_listener(config.admin.host, config.admin.port, _BACKLOG)
    configure_logging(args.log_level)
    try:
        return asyncio.run(_run(config, listener))
    except LedgerUnavailable as err:
        raise HookgateError(f"ledger: cannot open it: {err}") from err
    finally:
        listener.close()


async def _run(config: AdminConfig, listener: socket.socket) -> int:
    from prometheus_client import CollectorRegistry

    from admin.ledger_registry import check_ledger, open_ledger
    from admin.recorder import Recorder
    from admin.serve import serve

    await check_ledger(config.ledger)  # a bad path or URL: one ConfigError line, at once
    ledger = open_ledger(config.ledger)
    hook = await _archive(config, ledger) if config.ledger.archive else None
    metrics = CollectorRegistry()
    recorder = Recorder(
        config.broker.url.reveal(),
        config.broker.exchange,
        ledger,
        metrics,
        retention_days=config.ledger.retention_days,
        on_announce=hook,
    )
    if not config.ledger.archive:
        return await serve(config, ledger, recorder, sockets=[listener], metrics=metrics)
    from admin.archiver import Archiver, WithArchiver

    archiver = Archiver(
        config.broker.url.reveal(),
        config.broker.exchange,
        retention_days=config.ledger.retention_days,
        max_bytes=config.ledger.archive_max_bytes,
    )
    both = WithArchiver(recorder, archiver)
    return await serve(config, ledger, both, sockets=[listener], metrics=metrics)


async def _archive(
    config: AdminConfig, ledger: LedgerStore
) -> Callable[[ServiceAnnouncement], Awaitable[None]]:
    """Declare the archive with every announced service's patterns (a broker that is down
    now is logged, and the archive declared on a later start); the hook that binds a newly
    announced service's patterns."""
    import logging

    from admin import archive

    url, exchange = config.broker.url.reveal(), config.broker.exchange
    patterns = sorted({p for a in await ledger.services() for p in a.patterns})
    try:
        await archive.declare(
            url, exchange, config.ledger.retention_days, config.ledger.archive_max_bytes, patterns
        )
    except HookgateError as err:
        logging.getLogger("hookgate.admin").error("archive: not declared: %s", err)

    async def bind(announcement: ServiceAnnouncement) -> None:
        await archive.bind(url, exchange, announcement.patterns)

    return bind
