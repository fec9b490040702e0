"""The consumers' commands: `consume`, `dlq`, `topology` and `peek` (registered in the
`hookgate.commands` entry-point group; the root is `hookgate.cli`). Broker settings come from
the config file's `[broker]` table alone, or `$HOOKGATE_BROKER_URL`."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from consumers.dlq_cli import add_dlq_commands
from consumers.errors import ConsumerError
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
    add_dlq_commands(commands)
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


def _topology_declare(args: argparse.Namespace) -> int:
    from consumers.declare import declare_all

    broker = broker_settings(args)
    services = [load_service(reference) for reference in args.service]
    declared = consumer_call(args, lambda url: declare_all(url, broker.exchange, services))
    for line in declared:
        print(line)
    return 0


def load_service(reference: str) -> Service:
    """The service MODULE:SERVICE names (`ConsumerError` saying what is wrong)."""
    from consumers import run

    return run.load_service(reference)


def _consume(args: argparse.Namespace) -> int:
    from consumers.run import log_handlers_too, run_service
    from hookgate.logs import configure_logging

    service = load_service(args.service)
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
            emit_status=broker.emit_status,
        )
    except ConsumerError as err:
        raise ConsumerError(redact(str(err), broker.url.reveal())) from err


def consumer_call(args: argparse.Namespace, call: Callable[[str], Coroutine[Any, Any, T]]) -> T:
    """Run `call(url)` against the `[broker]` settings, with one-line errors."""
    url = broker_settings(args).url.reveal()
    try:
        return asyncio.run(call(url))
    except ConsumerError as err:
        raise ConsumerError(redact(str(err), url)) from err


def _topology_show(args: argparse.Namespace) -> int:
    from consumers.inventory import show

    services = [(reference, load_service(reference)) for reference in args.service]
    exchange = broker_settings(args).exchange
    for line in consumer_call(args, lambda url: show(url, exchange, services)):
        print(line)
    return 0


def _topology_delete(args: argparse.Namespace) -> int:
    from consumers.teardown import delete_service_queues

    service = load_service(args.service)
    deleted = consumer_call(args, lambda url: delete_service_queues(url, service, force=args.force))
    for line in deleted:
        print(line)
    return 0


def _peek(args: argparse.Namespace) -> int:
    from consumers.peek import report

    lines = consumer_call(
        args, lambda url: report(url, args.queue, args.limit, args.body_bytes, args.force)
    )
    for line in lines:
        print(line)
    return 0
