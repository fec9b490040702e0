"""Declaring hookgate's topology over AMQP: the steps `hookgate.topology_spec` describes (every
exchange, queue, binding and argument, and their names: read that module's docstring), applied
in their order, with the broker's refusals turned into `TopologyError`s that say what to do.

The names and argument builders are re-exported here, where the rest of the code has always
imported them from.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import aiormq

from hookgate.errors import TopologyError
from hookgate.topology_spec import (
    CANCEL_RETENTION,
    Binding,
    Exchange,
    Queue,
    ServiceShape,
    Step,
    all_queues,
    archive_arguments,
    archive_bindings,
    archive_inbox,
    archive_name,
    archive_topology,
    cancel_stream,
    cancel_stream_arguments,
    cancel_topology,
    dead_queue,
    dead_queue_arguments,
    exchange_arguments,
    ingress_topology,
    ledger_queue,
    retry_queue,
    retry_queue_arguments,
    retry_queues,
    service_topology,
    status_exchange,
    status_topology,
    tier_label,
    unrouted_name,
    unrouted_queue_arguments,
    work_queue,
    work_queue_arguments,
)

__all__ = [
    "CANCEL_RETENTION",
    "ServiceShape",
    "all_queues",
    "apply",
    "archive_arguments",
    "archive_inbox",
    "archive_name",
    "bind_archive",
    "cancel_stream",
    "cancel_stream_arguments",
    "dead_queue",
    "dead_queue_arguments",
    "declare_archive",
    "declare_cancel_stream",
    "declare_gateway_topology",
    "declare_service_topology",
    "declare_status_exchange",
    "declare_status_topology",
    "describe_service_topology",
    "ensure_gateway_topology",
    "exchange_arguments",
    "ledger_queue",
    "retry_queue",
    "retry_queue_arguments",
    "retry_queues",
    "status_exchange",
    "tier_label",
    "unrouted_name",
    "unrouted_queue_arguments",
    "work_queue",
    "work_queue_arguments",
]

_REFUSED = (
    aiormq.exceptions.ChannelPreconditionFailed,
    aiormq.exceptions.ChannelAccessRefused,
)


async def apply(channel: aiormq.abc.AbstractChannel, steps: Iterable[Step]) -> None:
    """Declare each step, in order, as is: the broker's refusal propagates unchanged."""
    for step in steps:
        if isinstance(step, Exchange):
            await channel.exchange_declare(
                step.name, exchange_type=step.type, durable=True, arguments=step.arguments
            )
        elif isinstance(step, Queue):
            await channel.queue_declare(step.name, durable=True, arguments=step.arguments)
        else:
            await channel.queue_bind(step.queue, step.exchange, routing_key=step.routing_key)


async def declare_archive(
    channel: aiormq.abc.AbstractChannel, exchange: str, retention_days: float, max_bytes: int
) -> None:
    """Declare the archive stream and its inbox, bound to the unrouted exchange (the ingress
    topology must exist). `TopologyError` when the stream exists with other arguments: the
    broker keeps the first ones (change retention with a policy, or delete the stream)."""
    stream, *rest = archive_topology(exchange, retention_days, max_bytes)
    try:
        await apply(channel, [stream])
    except aiormq.exceptions.ChannelPreconditionFailed as err:
        name = archive_name(exchange)
        raise TopologyError(
            f"stream {name!r} exists with other retention arguments ({err}); it keeps those: "
            f"change them with a policy (rabbitmqctl set_policy ... '^{name}$' "
            """'{"max-age":"14D"}' --apply-to queues) or delete the stream (losing the archive)"""
        ) from err
    await apply(channel, rest)


async def bind_archive(
    channel: aiormq.abc.AbstractChannel, exchange: str, patterns: Sequence[str]
) -> None:
    """Bind the archive's inbox to the ingress exchange with these consumer patterns."""
    await apply(channel, archive_bindings(exchange, patterns))


async def _archive_too(
    connection: aiormq.abc.AbstractConnection, exchange: str, patterns: Sequence[str]
) -> None:
    """Bind the archive with a service's patterns when it exists and these credentials may;
    else leave it to `hookgate admin`, which binds announced services' patterns."""
    channel = await connection.channel()
    try:
        await channel.queue_declare(archive_inbox(exchange), passive=True)
        await bind_archive(channel, exchange, patterns)
    except (*_REFUSED, aiormq.exceptions.ChannelNotFoundEntity):
        pass
    finally:
        if not channel.is_closed:
            await channel.close()


async def declare_status_exchange(channel: aiormq.abc.AbstractChannel, exchange: str) -> None:
    """Declare (idempotently) the status exchange of the ingress exchange `exchange`."""
    await apply(channel, [s for s in status_topology(exchange) if isinstance(s, Exchange)])


async def declare_status_topology(channel: aiormq.abc.AbstractChannel, exchange: str) -> None:
    """Declare (idempotently) the status exchange and the recorder's queue bound to it."""
    await apply(channel, status_topology(exchange))


async def declare_cancel_stream(channel: aiormq.abc.AbstractChannel, exchange: str) -> None:
    """Declare (idempotently) the cancel stream of the ingress exchange `exchange`."""
    await _apply_checked(channel, cancel_topology(exchange))


async def declare_gateway_topology(channel: aiormq.abc.AbstractChannel, exchange: str) -> None:
    """Declare (idempotently) the ingress exchange, its alternate exchange and unrouted queue."""
    await apply(channel, ingress_topology(exchange))


async def ensure_gateway_topology(connection: aiormq.abc.AbstractConnection, exchange: str) -> bool:
    """Declare the ingress topology, or, with credentials that may not declare it (a gateway
    user that may only publish, a service's own user), check that it exists. True when
    declared, False when only checked. Raises `TopologyError` when it is missing or declared
    with other arguments. Uses channels of its own: a refusal closes the channel it hit."""
    channel = await connection.channel()
    try:
        await declare_gateway_topology(channel, exchange)
        return True
    except aiormq.exceptions.ChannelAccessRefused as err:
        refused = err  # least privilege: fine if someone with the right declared it
    except aiormq.exceptions.ChannelPreconditionFailed as err:
        raise TopologyError(
            f"the broker refused exchange {exchange!r} ({err}): it exists with another type "
            "or arguments; delete it or set broker.exchange to another name"
        ) from err
    finally:
        if not channel.is_closed:
            await channel.close()
    unrouted = unrouted_name(exchange)
    channel = await connection.channel()
    try:
        # Passive declares need no permission: they only say whether the thing exists.
        await channel.exchange_declare(exchange, passive=True)
        await channel.exchange_declare(unrouted, passive=True)
        await channel.queue_declare(unrouted, passive=True)
    except aiormq.exceptions.ChannelNotFoundEntity as err:
        raise TopologyError(
            f"{err}; these credentials may not declare it ({refused}): run "
            "`hookgate topology declare` as a user that may (see deploy/README.md)"
        ) from err
    finally:
        if not channel.is_closed:
            await channel.close()
    return False


async def declare_service_topology(
    connection: aiormq.abc.AbstractConnection, service: ServiceShape, exchange: str
) -> None:
    """Declare the service's queues and bindings (and the ingress exchange, or check it exists
    when these credentials may not declare it), idempotently.

    Uses its own channel: a refused declaration closes the channel it was made on.
    """
    await ensure_gateway_topology(connection, exchange)
    # Before the work queue's bindings: no event reaches the service unarchived.
    await _archive_too(connection, exchange, [h.pattern for h in service.handlers])
    channel = await connection.channel()
    try:
        await _apply_checked(channel, service_topology(service, exchange))
    finally:
        if not channel.is_closed:
            await channel.close()


def describe_service_topology(service: ServiceShape, exchange: str) -> list[str]:
    """What `declare_service_topology` declares, one line each, for the CLI."""
    patterns = ", ".join(h.pattern for h in service.handlers) or "(no handlers: no bindings)"
    lines = [
        f"queue    {work_queue(service)} (quorum, delivery-limit={service.delivery_limit}, "
        f"dead-letters to {dead_queue(service)}) bound to {exchange}: {patterns}"
    ]
    for delay, name in retry_queues(service).items():
        lines.append(
            f"queue    {name} (quorum, ttl={delay:g}s, dead-letters to {work_queue(service)})"
        )
    lines.append(f"queue    {dead_queue(service)} (quorum, parking lot)")
    return lines


async def _apply_checked(channel: aiormq.abc.AbstractChannel, steps: Iterable[Step]) -> None:
    """`apply`, with each refusal a `TopologyError` naming the queue and the way out."""
    for step in steps:
        try:
            await apply(channel, [step])
        except aiormq.exceptions.ChannelPreconditionFailed as err:
            if not isinstance(step, Queue):
                raise TopologyError(f"the broker refused {_what(step)}: {err}") from err
            raise TopologyError(
                f"queue {step.name!r} already exists with other arguments ({err}); set the "
                "service back to what it was declared with, or drain and delete the queue, "
                "then redeclare"
            ) from err
        except aiormq.exceptions.ChannelAccessRefused as err:
            raise TopologyError(f"the broker refused {_what(step)}: {err}") from err


def _what(step: Step) -> str:
    if isinstance(step, Binding):
        return f"to bind {step.queue!r}"
    kind = "exchange" if isinstance(step, Exchange) else "queue"
    return f"to declare {kind} {step.name!r}"
