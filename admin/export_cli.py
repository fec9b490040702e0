"""`hookgate topology export`, registered beside `consumers`' `topology declare|show|delete`:
it lives here because it reads the `[ledger]` table (the archive), which is `hookgate admin`'s.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from hookgate.cli import config_arg, optional_config_path, subcommands
from hookgate.errors import ConfigError
from hookgate.settings import get_table

if TYPE_CHECKING:
    from hookgate.cli import Commands

_DESCRIPTION = (
    "Write a RabbitMQ definitions file (JSON: rabbitmqctl import_definitions, the "
    "load_definitions config key, or the management API's POST /api/definitions) describing "
    "exactly what hookgate declares for this config: the ingress exchange, its alternate "
    "exchange and unrouted queue, each --service's work, retry and dead-letter queues and "
    "bindings, and, with an [admin] table, the status exchange, the recorder's queue and the "
    "cancellations stream (and the archive with [ledger] archive = true). Sorted and stable: "
    "the same topology gives the same file. Reads only the config's [broker], [admin] (whether "
    "there is one) and [ledger] tables; needs no broker."
)


def add_export_command(commands: Commands) -> None:
    topology = subcommands(commands, "topology")
    if topology is None:  # the consumers' command set did not load: it says why
        return
    export = topology.add_parser(
        "export",
        help="write the topology as a RabbitMQ definitions file",
        description=_DESCRIPTION,
    )
    config_arg(export)
    export.add_argument(
        "--service",
        action="append",
        default=[],
        metavar="MODULE:SERVICE",
        help="include this consumer service's queues and bindings (repeatable)",
    )
    export.add_argument(
        "--vhost", default="/", type=_vhost, help="the vhost of every object (default: /)"
    )
    export.add_argument(
        "--users",
        action="store_true",
        help="include the least-privilege users (hookgate-gateway, hookgate-SERVICE, "
        "hookgate-admin, hookgate-deploy) and their permissions; without --password-env a "
        "user has no password and cannot log in until `rabbitmqctl change_password`",
    )
    export.add_argument(
        "--password-env",
        action="append",
        default=[],
        metavar="USER=VAR",
        help="give USER the password in environment variable VAR (stored as RabbitMQ's salted "
        "SHA-256 hash; the password itself is never written) (repeatable; needs --users)",
    )
    export.add_argument(
        "--output", "-o", metavar="FILE", help="write to FILE (mode 0600) instead of stdout"
    )
    export.set_defaults(run=_export)


def _export(args: argparse.Namespace) -> int:
    from admin.config import parse_ledger
    from admin.export import Deployment, topology_steps, users
    from consumers.commands import load_service
    from hookgate.cli import broker_settings
    from hookgate.definitions import definitions, render
    from hookgate.settings import read_toml, status_enabled

    if args.password_env and not args.users:
        raise ConfigError("--password-env needs --users")
    passwords = _passwords(args.password_env)
    path = optional_config_path(args)
    raw = {} if path is None else read_toml(path)
    deployment = Deployment(
        exchange=broker_settings(args).exchange,
        services=[load_service(reference) for reference in args.service],
        status=status_enabled(raw),
        ledger=parse_ledger({"ledger": _archive_keys(raw)}, os.environ),
    )
    text = render(
        definitions(
            topology_steps(deployment),
            args.vhost,
            users(deployment, passwords) if args.users else (),
        )
    )
    if args.output is None:
        sys.stdout.write(text)
    else:
        _write(args.output, text)
    return 0


def _archive_keys(raw: dict[str, Any]) -> dict[str, Any]:
    """The `[ledger]` keys the archive's declaration uses: the backend's (its URL, a secret)
    are not needed, so an export needs no `$HOOKGATE_LEDGER_URL`."""
    table = get_table(raw, "ledger")
    return {
        k: v for k, v in table.items() if k in {"archive", "retention_days", "archive_max_bytes"}
    }


def _passwords(pairs: list[str]) -> dict[str, str]:
    passwords = {}
    for pair in pairs:
        user, sep, var = pair.partition("=")
        if not sep or not user or not var:
            raise ConfigError(f"--password-env {pair!r}: expected USER=VAR")
        value = os.environ.get(var)
        if not value:
            raise ConfigError(f"--password-env {user}: environment variable {var} is not set")
        passwords[user] = value
    return passwords


def _write(path: str, text: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_CREAT: tighten it
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
    except OSError as err:
        raise ConfigError(f"--output {path!r}: {err.strerror}") from err


def _vhost(text: str) -> str:
    if not text or len(text) > 255:
        raise argparse.ArgumentTypeError("must be 1 to 255 characters")
    return text
