"""`hookgate`: the command line's root. Every error is one line on stderr and a non-zero exit.

The root knows no command. Each package registers its own through the `hookgate.commands`
entry-point group (pyproject.toml): `gateway.commands` (serve, check-config, providers, send,
spool), `consumers.commands` (consume, dlq, topology, peek) and `admin.commands` (admin,
events). An entry point names a `register(commands)` function that adds subparsers, each with
`set_defaults(run=…)`. So the arrows point one way: this module imports none of them, and a
plugin distribution can add commands through the same door. The helpers below (`config_arg`,
`positive_int`, …) are what every command set shares.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, TypeAlias

from hookgate.errors import HookgateError

if TYPE_CHECKING:
    from hookgate.settings import BrokerSettings

    Commands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

GROUP = "hookgate.commands"
DEFAULT_CONFIG = "hookgate.toml"
_CONFIG_HELP = f"config file (default: $HOOKGATE_CONFIG, else ./{DEFAULT_CONFIG})"
# Built-in command sets first, in this order, in `--help`; any others after, by name.
_BUILT_IN = ("gateway", "consumers", "admin")

Register: TypeAlias = "Callable[[Commands], None]"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.run(args) or 0)
    except HookgateError as err:
        print(f"hookgate: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `hookgate providers | head`: the reader left; not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hookgate",
        description="Webhook ingestion gateway: verify, de-duplicate, publish to RabbitMQ.",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name, register in _command_sets():
        try:
            register(commands)
        except argparse.ArgumentError as err:  # two sets claimed one command name
            print(f"hookgate: warning: command set {name!r}: {err}", file=sys.stderr)
    return parser


def _command_sets() -> list[tuple[str, Register]]:
    found = {point.name: point for point in entry_points(group=GROUP)}
    if not found:
        raise SystemExit(
            "hookgate: error: no commands are registered (entry-point group "
            f"{GROUP!r}): install hookgate (pip install -e . in a checkout)"
        )
    order = [n for n in _BUILT_IN if n in found] + sorted(set(found) - set(_BUILT_IN))
    loaded = []
    for name in order:
        try:
            register = found[name].load()
        except Exception as err:  # a broken plugin must not take the other commands with it
            print(
                f"hookgate: warning: command set {name!r} ({found[name].value}) failed to "
                f"load: {type(err).__name__}: {err}",
                file=sys.stderr,
            )
            continue
        loaded.append((name, register))
    return loaded


def usage(parser: argparse.ArgumentParser) -> int:
    """`run` for a command group called without a subcommand: its help, exit 2."""
    parser.print_help(sys.stderr)
    return 2


def config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c", help=_CONFIG_HELP)


def config_path(args: argparse.Namespace) -> str:
    return str(args.config or os.environ.get("HOOKGATE_CONFIG") or DEFAULT_CONFIG)


def broker_settings(args: argparse.Namespace) -> BrokerSettings:
    """The `[broker]` table alone (consumers and tools need no sources or secrets): the file
    is optional unless named, and `HOOKGATE_BROKER_URL` applies either way."""
    from hookgate.settings import load_broker_settings

    return load_broker_settings(optional_config_path(args))


def optional_config_path(args: argparse.Namespace) -> str | None:
    """The config file named (`--config`, `$HOOKGATE_CONFIG`), else `./hookgate.toml` when it
    exists, else None: tools that need only the broker work without a file."""
    named = args.config or os.environ.get("HOOKGATE_CONFIG")
    return named or (DEFAULT_CONFIG if os.path.exists(DEFAULT_CONFIG) else None)


def subcommands(commands: Commands, name: str) -> Commands | None:
    """The subcommands of the command `name` that another package registered (`topology`),
    so that a package above it can add one there; None when there is no such command."""
    parser = commands.choices.get(name)
    for action in parser._actions if parser is not None else ():
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be 0 to 65535")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be a positive number")
    return value
