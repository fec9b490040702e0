"""The consumers' commands: `consume`, `dlq`, `topology` and `peek` (registered in the
`hookgate.commands` entry-point group; the root is `hookgate.cli`). Broker settings come from
the config file's `[broker]` table alone, or `$HOOKGATE_BROKER_URL`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from consumers.errors import ConsumerError
from hookgate import envelope
from hookgate.cli import (
    broker_settings,
    config_arg,
    non_negative_int,
    port,
    positive_float,
    positive_int,
    usage,
)
from hookgate.errors import redact

if TYPE_CHECKING:
    from consumers.service import Service
    from hookgate.cli import Commands

T = TypeVar("T")


def register(commands: Commands) -> None:
    _consume_parser(commands)
    _dlq_parser(commands)
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
    config_arg(declare)
    declare.add_argument(
        "--service",
        action="append",
        default=[],
        metavar="MODULE:SERVICE",
        help="also declare this consumer service's queues and bindings (repeatable)",
    )
    declare.set_defaults(run=_topology_declare)
    _topology_tools_parsers(topology_commands)
    topology.set_defaults(run=lambda _: usage(topology))

    _peek_parser(commands)


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
    config_arg(consume)
    consume.add_argument("service", metavar="MODULE:SERVICE", help="e.g. myapp.billing:billing")
    consume.add_argument(
        "--concurrency",
        type=positive_int,
        help="events processed at once, the AMQP prefetch (default: the service's, 32)",
    )
    consume.add_argument(
        "--metrics-port",
        type=port,
        default=9300,
        help="serve Prometheus metrics on this port (default: 9300; 0 turns them off)",
    )
    consume.add_argument(
        "--metrics-host", default="127.0.0.1", help="metrics listen address (default: 127.0.0.1)"
    )
    consume.add_argument(
        "--drain-timeout",
        type=positive_float,
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
    dlq.set_defaults(run=lambda _: usage(dlq))

    listing = dlq_commands.add_parser(
        "list",
        help="list dead-lettered events (they stay in the queue)",
        description="List dead-lettered events: event ID, type, attempts, error, failed-at. "
        "Nothing is removed.",
    )
    _dlq_common(listing)
    listing.add_argument("--limit", type=positive_int, default=100, help="at most (100)")
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
    config_arg(show)
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
    config_arg(delete)
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
    config_arg(peek)
    peek.add_argument("queue", metavar="QUEUE", help="e.g. billing.dead, webhooks.unrouted")
    peek.add_argument("--limit", type=positive_int, default=10, help="at most (10)")
    peek.add_argument(
        "--body-bytes",
        type=non_negative_int,
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
    config_arg(parser)
    parser.add_argument("service", metavar="SERVICE", help="service name (or MODULE:SERVICE)")


def _topology_declare(args: argparse.Namespace) -> int:
    from consumers.declare import declare_all

    broker = broker_settings(args)
    services = [_service(reference) for reference in args.service]
    declared = _consumer_call(args, lambda url: declare_all(url, broker.exchange, services))
    for line in declared:
        print(line)
    return 0


def _service(reference: str) -> Service:
    from consumers.run import load_service

    return load_service(reference)


def _consume(args: argparse.Namespace) -> int:
    from consumers.run import log_handlers_too, run_service
    from hookgate.logs import configure_logging

    service = _service(args.service)
    broker = broker_settings(args)
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
        raise ConsumerError(redact(str(err), broker.url.reveal())) from err


def _dlq_call(
    args: argparse.Namespace, call: Callable[[str, str, str], Coroutine[Any, Any, T]]
) -> T:
    """Run `call(url, dead_queue, work_queue)` with one-line errors."""
    name = _service_name(args)
    broker = broker_settings(args)
    url = broker.url.reveal()
    try:
        return asyncio.run(call(url, f"{name}.dead", name))
    except ConsumerError as err:
        raise ConsumerError(redact(str(err), url)) from err


def _dlq_list(args: argparse.Namespace) -> int:
    from consumers import dlq
    from hookgate.terminal import safe

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
    from hookgate.terminal import safe

    letter = _dlq_call(args, lambda url, dead, _: dlq.find(url, dead, args.event_id))
    if letter is None:
        raise ConsumerError(f"no event {safe(args.event_id)!r} in {_dead_name(args)}")
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
        if key != envelope.ERROR_TRACEBACK:
            print(f"  {safe(key)}: {safe(value)}")
    print(f"body ({len(letter.body)} bytes, {safe(letter.content_type or 'no content type')}):")
    print(safe(letter.body, multiline=True))
    return 0


def _dlq_replay(args: argparse.Namespace) -> int:
    from consumers import dlq
    from hookgate.terminal import safe

    if bool(args.all) == bool(args.event_id):
        raise ConsumerError("say which events to replay: --event-id ID (repeatable) or --all")
    wanted = None if args.all else set(args.event_id)
    keys = (
        []
        if args.allow_unauthenticated
        else [k.reveal() for k in broker_settings(args).message_keys]
    )
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
        raise ConsumerError(
            f"this would delete {count} event(s) from {_dead_name(args)}; add --yes to do it"
        )
    purged = _dlq_call(args, lambda url, dead, _: dlq.purge(url, dead))
    print(f"purged {purged} event(s) from {_dead_name(args)}")
    return 0


def _consumer_call(args: argparse.Namespace, call: Callable[[str], Coroutine[Any, Any, T]]) -> T:
    """Run `call(url)` against the `[broker]` settings, with one-line errors."""
    url = broker_settings(args).url.reveal()
    try:
        return asyncio.run(call(url))
    except ConsumerError as err:
        raise ConsumerError(redact(str(err), url)) from err


def _topology_show(args: argparse.Namespace) -> int:
    from consumers.inventory import show

    services = [(reference, _service(reference)) for reference in args.service]
    exchange = broker_settings(args).exchange
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
