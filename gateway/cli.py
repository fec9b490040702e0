"""`hookgate`: the command line. Every error is one line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from gateway.errors import GatewayError, redact

if TYPE_CHECKING:
    from consumers import Service
    from gateway.config import BrokerSettings, Config

T = TypeVar("T")

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
    except BrokenPipeError:  # `hookgate providers | head`: the reader left; not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


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
    declare.add_argument(
        "--service",
        action="append",
        default=[],
        metavar="MODULE:SERVICE",
        help="also declare this consumer service's queues and bindings (repeatable)",
    )
    declare.set_defaults(run=_topology_declare)
    _topology_tools_parsers(topology_commands)
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

    _consume_parser(commands)
    _dlq_parser(commands)
    _peek_parser(commands)
    from gateway.spool_cli import add_spool_commands

    add_spool_commands(commands, config_arg=_config_arg, config_path=_config_path)
    return parser


def _consume_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    consume = commands.add_parser(
        "consume",
        help="run a consumer service",
        description="Run the consumer service MODULE:SERVICE (a consumers.Service object): "
        "declare its queues, consume its events, retry failures along its tiers and "
        "dead-letter what never succeeds. SIGTERM/SIGINT drain gracefully; a second one stops "
        "at once. The broker comes from the config file's [broker] table (or "
        "$HOOKGATE_BROKER_URL); no sources or secrets are needed.",
    )
    _config_arg(consume)
    consume.add_argument("service", metavar="MODULE:SERVICE", help="e.g. myapp.billing:billing")
    consume.add_argument(
        "--concurrency",
        type=_positive_int,
        help="events processed at once, the AMQP prefetch (default: the service's, 32)",
    )
    consume.add_argument(
        "--metrics-port",
        type=_port,
        default=9300,
        help="serve Prometheus metrics on this port (default: 9300; 0 turns them off)",
    )
    consume.add_argument(
        "--metrics-host", default="127.0.0.1", help="metrics listen address (default: 127.0.0.1)"
    )
    consume.add_argument(
        "--drain-timeout",
        type=_positive_float,
        default=30.0,
        help="seconds in-flight handlers may take to finish on SIGTERM (default: 30)",
    )
    consume.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        default="info",
        help="log level (default: info)",
    )
    consume.set_defaults(run=_consume)


def _dlq_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dlq = commands.add_parser(
        "dlq",
        help="inspect, replay or purge a service's dead-letter queue",
        description="Work with SERVICE.dead, the dead-letter queue of consumer service "
        "SERVICE (its name, or MODULE:SERVICE).",
    )
    dlq_commands = dlq.add_subparsers(title="commands", metavar="COMMAND")
    dlq.set_defaults(run=lambda _: _usage(dlq))

    listing = dlq_commands.add_parser(
        "list",
        help="list dead-lettered events (they stay in the queue)",
        description="List dead-lettered events: event ID, type, attempts, error, failed-at. "
        "Nothing is removed.",
    )
    _dlq_common(listing)
    listing.add_argument("--limit", type=_positive_int, default=100, help="at most (100)")
    listing.set_defaults(run=_dlq_list)

    show = dlq_commands.add_parser(
        "show",
        help="show one dead-lettered event in full",
        description="Show one dead-lettered event: error, traceback, headers and body.",
    )
    _dlq_common(show)
    show.add_argument("event_id", metavar="EVENT_ID")
    show.set_defaults(run=_dlq_show)

    replay = dlq_commands.add_parser(
        "replay",
        help="send dead-lettered events back to the work queue",
        description="Publish dead-lettered events back to the service's work queue with the "
        "attempt count reset; each leaves the dead-letter queue only after the broker "
        "confirmed its copy.",
    )
    _dlq_common(replay)
    replay.add_argument(
        "--event-id", action="append", default=[], metavar="ID", help="replay this event"
    )
    replay.add_argument("--all", action="store_true", help="replay every dead-lettered event")
    replay.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        help="with [broker] message_key set, replay messages whose signature does not verify "
        "too (by default they are refused and stay in the dead-letter queue); a consumer "
        "that checks signatures dead-letters them again, so this is for services without a key",
    )
    replay.set_defaults(run=_dlq_replay)

    purge = dlq_commands.add_parser(
        "purge",
        help="delete every dead-lettered event",
        description="Delete every message in the dead-letter queue. Needs --yes.",
    )
    _dlq_common(purge)
    purge.add_argument("--yes", action="store_true", help="really delete them")
    purge.set_defaults(run=_dlq_purge)


def _topology_tools_parsers(
    topology_commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    show = topology_commands.add_parser(
        "show",
        help="show the exchanges, services' bindings and queue depths",
        description="Show whether the ingress exchange and its alternate exchange exist, the "
        "depth of the unrouted queue, and for each --service its bindings (as its handlers "
        "declare them) and the ready messages and consumers of its work, retry and dead-letter "
        "queues. Uses AMQP only (no management plugin), which answers only about names it is "
        "given: other queues, the bindings that really exist and unacked messages need "
        "rabbitmqctl list_queues / list_bindings.",
    )
    _config_arg(show)
    show.add_argument(
        "--service",
        action="append",
        default=[],
        metavar="MODULE:SERVICE",
        help="also show this consumer service (repeatable)",
    )
    show.set_defaults(run=_topology_show)

    delete = topology_commands.add_parser(
        "delete",
        help="delete a consumer service's queues",
        description="Delete the work queue (and its bindings), retry queues and dead-letter "
        "queue of MODULE:SERVICE, printing each. Refuses, deleting nothing, while any of them "
        "holds events or the work queue has consumers, unless --force. Stop the service first.",
    )
    _config_arg(delete)
    delete.add_argument(
        "--service", required=True, metavar="MODULE:SERVICE", help="the service to remove"
    )
    delete.add_argument(
        "--force",
        action="store_true",
        help="delete even queues that hold events (they are lost) or have consumers",
    )
    delete.set_defaults(run=_topology_delete)


def _peek_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    peek = commands.add_parser(
        "peek",
        help="print a queue's messages without consuming them",
        description="Print up to --limit messages of QUEUE (headers, event ID, type, attempt, "
        "a body preview; control characters escaped) and leave them in the queue, in order. "
        "RabbitMQ counts each peek as a delivery of the messages shown, so a queue with a "
        "delivery limit (a service's work queue) needs --force: enough peeks would "
        "dead-letter them. Dead-letter, retry and unrouted queues have no limit.",
    )
    _config_arg(peek)
    peek.add_argument("queue", metavar="QUEUE", help="e.g. billing.dead, webhooks.unrouted")
    peek.add_argument("--limit", type=_positive_int, default=10, help="at most (10)")
    peek.add_argument(
        "--body-bytes",
        type=_non_negative_int,
        default=300,
        metavar="N",
        help="bytes of each body to show (300; 0 shows none)",
    )
    peek.add_argument(
        "--force",
        action="store_true",
        help="peek a queue that may have a delivery limit (counts as a delivery)",
    )
    peek.set_defaults(run=_peek)


def _dlq_common(parser: argparse.ArgumentParser) -> None:
    _config_arg(parser)
    parser.add_argument("service", metavar="SERVICE", help="service name (or MODULE:SERVICE)")


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


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be 0 to 65535")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be a positive number")
    return value


def _config_path(args: argparse.Namespace) -> str:
    return str(args.config or os.environ.get("HOOKGATE_CONFIG") or DEFAULT_CONFIG)


def _load(args: argparse.Namespace) -> Config:
    from gateway.config import load_config

    return load_config(_config_path(args))


def _check_config(args: argparse.Namespace) -> int:
    from gateway.sources import build_sources, replay_warnings

    config = _load(args)
    sources = build_sources(config.sources)
    print(f"config OK: {_config_path(args)}")
    print(f"  broker   {config.broker.display_url()} exchange={config.broker.exchange}")
    print(f"  dedupe   {config.dedupe.backend}")
    for source in sources.values():
        print(f"  source   {config.gateway.path_prefix}/{source.name} -> {source.provider_name}")
    for warning in replay_warnings(sources):
        print(f"  warning  {warning}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from gateway.serve import serve

    return serve(_config_path(args), host=args.host, port=args.port, workers=args.workers)


def _topology_declare(args: argparse.Namespace) -> int:
    from gateway.topology import declare_all

    config = _load(args)
    services = [_service(reference) for reference in args.service]
    declared = asyncio.run(declare_all(config.broker.url, config.broker.exchange, services))
    for line in declared:
        print(line)
    return 0


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


def _broker(args: argparse.Namespace) -> BrokerSettings:
    """The `[broker]` settings for consumers: the file is optional unless named."""
    from gateway.config import load_broker_settings

    named = args.config or os.environ.get("HOOKGATE_CONFIG")
    path = named or (DEFAULT_CONFIG if os.path.exists(DEFAULT_CONFIG) else None)
    return load_broker_settings(path)


def _service(reference: str) -> Service:
    from consumers import ConsumerError
    from consumers.run import load_service

    try:
        return load_service(reference)
    except ConsumerError as err:
        raise GatewayError(str(err)) from err


def _consume(args: argparse.Namespace) -> int:
    from consumers import ConsumerError
    from consumers.run import log_handlers_too, run_service
    from gateway.logs import configure_logging

    service = _service(args.service)
    broker = _broker(args)
    configure_logging(args.log_level)
    log_handlers_too(args.log_level)
    try:
        return run_service(
            service,
            url=broker.url.reveal(),
            exchange=broker.exchange,
            concurrency=args.concurrency,
            metrics_host=args.metrics_host,
            metrics_port=args.metrics_port,
            drain_timeout=args.drain_timeout,
            message_keys=[key.reveal() for key in broker.message_keys],
        )
    except ConsumerError as err:
        raise GatewayError(redact(str(err), broker.url.reveal())) from err


def _dlq_call(
    args: argparse.Namespace, call: Callable[[str, str, str], Coroutine[Any, Any, T]]
) -> T:
    """Run `call(url, dead_queue, work_queue)` with one-line errors."""
    from consumers import ConsumerError

    name = _service_name(args)
    broker = _broker(args)
    url = broker.url.reveal()
    try:
        return asyncio.run(call(url, f"{name}.dead", name))
    except ConsumerError as err:
        raise GatewayError(redact(str(err), url)) from err


def _dlq_list(args: argparse.Namespace) -> int:
    from consumers import dlq
    from consumers.terminal import safe

    total, letters = _dlq_call(args, lambda url, dead, _: dlq.peek(url, dead, args.limit))
    print(
        f"{total} event(s) in {_dead_name(args)}" + (f", first {len(letters)}:" if letters else "")
    )
    if letters:
        print(f"{'EVENT ID':<36} {'TYPE':<28} {'ATTEMPTS':>8}  {'FAILED AT':<24} ERROR")
    for letter in letters:  # every field may hold bytes from the internet: escaped
        error = safe(f"{letter.error_type}: {letter.error_message}".replace("\n", " "))
        print(
            f"{safe(letter.event_id):<36} {safe(letter.source + '.' + letter.type):<28} "
            f"{letter.attempt:>8}  {safe(letter.failed_at):<24} {error[:100]}"
        )
    return 0


def _dlq_show(args: argparse.Namespace) -> int:
    from consumers import dlq
    from consumers.terminal import safe

    letter = _dlq_call(args, lambda url, dead, _: dlq.find(url, dead, args.event_id))
    if letter is None:
        raise GatewayError(f"no event {safe(args.event_id)!r} in {_dead_name(args)}")
    # Everything below but the attempt count came with the message: escaped.
    print(f"event     {safe(letter.event_id)}")
    print(f"source    {safe(letter.source)}")
    print(f"type      {safe(letter.type)}")
    print(f"attempts  {letter.attempt}")
    print(f"handler   {safe(letter.handler or '-')}")
    print(f"reason    {safe(letter.reason)}")
    print(f"failed at {safe(letter.failed_at)}")
    error = f"{letter.error_type}: {letter.error_message}"
    print(f"error     {safe(error)}")
    if letter.traceback:
        print("traceback:")
        print(safe(letter.traceback.rstrip(), multiline=True))
    print("message headers:")
    for key, value in sorted(letter.headers.items()):
        if key != "hookgate-error-traceback":
            print(f"  {safe(key)}: {safe(value)}")
    print(f"body ({len(letter.body)} bytes, {safe(letter.content_type or 'no content type')}):")
    print(safe(letter.body, multiline=True))
    return 0


def _dlq_replay(args: argparse.Namespace) -> int:
    from consumers import dlq
    from consumers.terminal import safe

    if bool(args.all) == bool(args.event_id):
        raise GatewayError("say which events to replay: --event-id ID (repeatable) or --all")
    wanted = None if args.all else set(args.event_id)
    keys = [] if args.allow_unauthenticated else [k.reveal() for k in _broker(args).message_keys]
    replayed: set[str] = set()
    refused: set[str] = set()

    def progress(letter: dlq.DeadLetter) -> None:
        replayed.add(letter.event_id)
        print(f"replayed {safe(letter.event_id)} ({safe(letter.source + '.' + letter.type)})")

    def refuse(letter: dlq.DeadLetter, why: str) -> None:
        refused.add(letter.event_id)
        print(f"hookgate: refused {safe(letter.event_id)}: {why}", file=sys.stderr)

    moved = _dlq_call(
        args,
        lambda url, dead, work: dlq.replay(
            url, dead, work, wanted, progress, message_keys=keys, refused=refuse
        ),
    )
    print(f"{moved} event(s) sent back to {_service_name(args)}")
    status = 0
    if refused:
        print(
            f"hookgate: error: {len(refused)} event(s) not replayed: their signature does not "
            "verify (left in the dead-letter queue; --allow-unauthenticated replays them)",
            file=sys.stderr,
        )
        status = 1
    missing = sorted((wanted or set()) - replayed - refused)
    if missing:
        shown = ", ".join(safe(m) for m in missing)
        print(f"hookgate: error: not in {_dead_name(args)}: {shown}", file=sys.stderr)
        status = 1
    return status


def _dlq_purge(args: argparse.Namespace) -> int:
    from consumers import dlq

    if not args.yes:
        count = _dlq_call(args, lambda url, dead, _: dlq.depth(url, dead))
        raise GatewayError(
            f"this would delete {count} event(s) from {_dead_name(args)}; add --yes to do it"
        )
    purged = _dlq_call(args, lambda url, dead, _: dlq.purge(url, dead))
    print(f"purged {purged} event(s) from {_dead_name(args)}")
    return 0


def _consumer_call(args: argparse.Namespace, call: Callable[[str], Coroutine[Any, Any, T]]) -> T:
    """Run `call(url)` against the `[broker]` settings, with one-line errors."""
    from consumers import ConsumerError

    url = _broker(args).url.reveal()
    try:
        return asyncio.run(call(url))
    except ConsumerError as err:
        raise GatewayError(redact(str(err), url)) from err


def _topology_show(args: argparse.Namespace) -> int:
    from consumers.inventory import show

    services = [(reference, _service(reference)) for reference in args.service]
    exchange = _broker(args).exchange
    for line in _consumer_call(args, lambda url: show(url, exchange, services)):
        print(line)
    return 0


def _topology_delete(args: argparse.Namespace) -> int:
    from consumers.teardown import delete_service_queues

    service = _service(args.service)
    deleted = _consumer_call(
        args, lambda url: delete_service_queues(url, service, force=args.force)
    )
    for line in deleted:
        print(line)
    return 0


def _peek(args: argparse.Namespace) -> int:
    from consumers.peek import report

    lines = _consumer_call(
        args, lambda url: report(url, args.queue, args.limit, args.body_bytes, args.force)
    )
    for line in lines:
        print(line)
    return 0


def _service_name(args: argparse.Namespace) -> str:
    reference: str = args.service
    return _service(reference).name if ":" in reference else reference


def _dead_name(args: argparse.Namespace) -> str:
    return f"{_service_name(args)}.dead"
