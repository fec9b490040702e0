"""The gateway's commands: `serve`, `check-config`, `providers`, `send` and `spool`
(registered in the `hookgate.commands` entry-point group; the root is `hookgate.cli`)."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from hookgate.cli import config_arg, config_path, positive_int

if TYPE_CHECKING:
    from gateway.config import Config
    from hookgate.cli import Commands


def register(commands: Commands) -> None:
    serve = commands.add_parser("serve", help="run the gateway", description="Run the gateway.")
    config_arg(serve)
    serve.add_argument("--host", help="listen address (default: gateway.host)")
    serve.add_argument("--port", type=int, help="listen port (default: gateway.port)")
    serve.add_argument(
        "--workers",
        type=worker_count,
        default=1,
        metavar="N|auto",
        help="worker processes; auto: one per CPU this process may run on (default: 1)",
    )
    serve.set_defaults(run=_serve)

    check = commands.add_parser(
        "check-config",
        help="validate the config and every source's provider, then exit",
        description="Validate the config file and build every source's provider; exit 0 if OK.",
    )
    config_arg(check)
    check.set_defaults(run=_check_config)

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
    config_arg(send)
    send.add_argument("source", help="source name, as in [sources.NAME]")
    send.add_argument("payload", metavar="PAYLOAD_FILE", help="file with the raw body ('-': stdin)")
    send.add_argument("--url", help="gateway URL (default: from gateway.host/port/path_prefix)")
    send.add_argument("--event-id", help="event ID, for providers that send it in a header")
    send.add_argument("--event-type", help="event type, for providers that send it in a header")
    send.set_defaults(run=_send)

    from gateway.spool_cli import add_spool_commands

    add_spool_commands(commands, config_arg=config_arg, config_path=config_path)


def worker_count(text: str) -> int:
    """A positive number, or `auto`: the CPUs this process may run on (its affinity mask, which
    a container's cpuset narrows; `os.cpu_count()` would count the whole host)."""
    if text == "auto":
        return (
            len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else os.cpu_count() or 1
        )
    try:
        return positive_int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a number of 1 or more, or auto") from None


def _load(args: argparse.Namespace) -> Config:
    from gateway.config import load_config

    return load_config(config_path(args))


def _check_config(args: argparse.Namespace) -> int:
    from gateway.sources import build_sources, replay_warnings

    config = _load(args)
    sources = build_sources(config.sources)
    print(f"config OK: {config_path(args)}")
    print(f"  broker   {config.broker.display_url()} exchange={config.broker.exchange}")
    print(f"  dedupe   {config.dedupe.backend}")
    for source in sources.values():
        print(f"  source   {config.gateway.path_prefix}/{source.name} -> {source.provider_name}")
    for warning in replay_warnings(sources):
        print(f"  warning  {warning}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from gateway.serve import serve

    return serve(config_path(args), host=args.host, port=args.port, workers=args.workers)


def _providers(_: argparse.Namespace) -> int:
    from providers import ProviderError, describe, installed, load

    print(
        f"{'NAME':<18} {'FAMILY':<18} {'SIGNED-TS':<9} {'FROM':<10} {'OPTIONS':<44} CLASS"
        "  [UNSIGNED ID/TYPE HEADERS; CREDENTIAL HEADERS]"
    )
    for provider in installed():
        try:
            factory = load(provider.name)
            family = getattr(factory, "family", "?")
            keys = ", ".join(getattr(factory, "source_keys", ())) or "-"
            facts = describe(factory)
            stamped = "yes" if facts.signed_timestamp else "no"
            unsigned = ",".join(sorted(facts.unsigned_headers)) or "-"
            credentials = ",".join(sorted(facts.credential_headers)) or "-"
            headers = f"  [{unsigned}; {credentials}]"
        except ProviderError:
            family, keys, stamped, headers = "(fails to load)", "-", "?", ""
        origin = provider.distribution or "unpackaged"
        print(
            f"{provider.name:<18} {family:<18} {stamped:<9} {origin:<10} {keys:<44} "
            f"{provider.target}{headers}"
        )
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
