"""`hookgate`: the command line. Every error is one line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from gateway.errors import GatewayError

if TYPE_CHECKING:
    from gateway.config import Config

DEFAULT_CONFIG = "hookgate.toml"
_CONFIG_HELP = f"config file (default: $HOOKGATE_CONFIG, else ./{DEFAULT_CONFIG})"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.run(args) or 0)
    except GatewayError as err:
        print(f"hookgate: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hookgate",
        description="Webhook ingestion gateway: verify, de-duplicate, publish to RabbitMQ.",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the gateway", description="Run the gateway.")
    _config_arg(serve)
    serve.add_argument("--host", help="listen address (default: gateway.host)")
    serve.add_argument("--port", type=int, help="listen port (default: gateway.port)")
    serve.add_argument(
        "--workers", type=_positive_int, default=1, help="worker processes (default: 1)"
    )
    serve.set_defaults(run=_serve)

    check = commands.add_parser(
        "check-config",
        help="validate the config and every source's provider, then exit",
        description="Validate the config file and build every source's provider; exit 0 if OK.",
    )
    _config_arg(check)
    check.set_defaults(run=_check_config)

    topology = commands.add_parser(
        "topology", help="manage the RabbitMQ topology", description="RabbitMQ topology."
    )
    topology_commands = topology.add_subparsers(title="commands", metavar="COMMAND")
    declare = topology_commands.add_parser(
        "declare",
        help="declare the exchange, alternate exchange and unrouted queue",
        description="Declare (idempotently) the gateway's exchange, its alternate exchange and "
        "the unrouted queue.",
    )
    _config_arg(declare)
    declare.set_defaults(run=_topology_declare)
    topology.set_defaults(run=lambda _: _usage(topology))

    providers = commands.add_parser(
        "providers",
        help="list installed providers",
        description="List the providers installed in the hookgate.providers entry-point group.",
    )
    providers.set_defaults(run=_providers)

    send = commands.add_parser(
        "send",
        help="sign a payload as the source's provider would and POST it to the gateway",
        description="Sign PAYLOAD_FILE with the source's provider and first secret, POST it to "
        "the gateway, and print the answer: a local stand-in for the real provider.",
    )
    _config_arg(send)
    send.add_argument("source", help="source name, as in [sources.NAME]")
    send.add_argument("payload", metavar="PAYLOAD_FILE", help="file with the raw body ('-': stdin)")
    send.add_argument("--url", help="gateway URL (default: from gateway.host/port/path_prefix)")
    send.add_argument("--event-id", help="event ID, for providers that send it in a header")
    send.add_argument("--event-type", help="event type, for providers that send it in a header")
    send.set_defaults(run=_send)
    return parser


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c", help=_CONFIG_HELP)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _config_path(args: argparse.Namespace) -> str:
    return str(args.config or os.environ.get("HOOKGATE_CONFIG") or DEFAULT_CONFIG)


def _load(args: argparse.Namespace) -> Config:
    from gateway.config import load_config

    return load_config(_config_path(args))


def _check_config(args: argparse.Namespace) -> int:
    from gateway.sources import build_sources

    config = _load(args)
    sources = build_sources(config.sources)
    print(f"config OK: {_config_path(args)}")
    print(f"  broker   {config.broker.display_url()} exchange={config.broker.exchange}")
    print(f"  dedupe   {config.dedupe.backend}")
    for source in sources.values():
        print(f"  source   {config.gateway.path_prefix}/{source.name} -> {source.provider_name}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from gateway.serve import serve

    return serve(_config_path(args), host=args.host, port=args.port, workers=args.workers)


def _topology_declare(args: argparse.Namespace) -> int:
    from gateway.topology import declare_all

    config = _load(args)
    declared = asyncio.run(declare_all(config.broker.url, config.broker.exchange))
    for line in declared:
        print(line)
    return 0


def _providers(_: argparse.Namespace) -> int:
    from providers import ProviderError, installed, load

    print(f"{'NAME':<20} {'FAMILY':<20} {'FROM':<12} CLASS")
    for provider in installed():
        try:
            family = getattr(load(provider.name), "family", "?")
        except ProviderError:
            family = "(fails to load)"
        origin = provider.distribution or "unpackaged"
        print(f"{provider.name:<20} {family:<20} {origin:<12} {provider.target}")
    return 0


def _send(args: argparse.Namespace) -> int:
    from gateway.send import send

    return send(
        _load(args),
        args.source,
        args.payload,
        url=args.url,
        event_id=args.event_id,
        event_type=args.event_type,
    )
