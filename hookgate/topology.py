"""Every exchange, queue and argument hookgate declares, in one place (part of the wire contract).

Ingress (declared by the gateway, and by every consumer before it binds):
- `webhooks` (topic, durable) with `alternate-exchange = webhooks.unrouted`;
- `webhooks.unrouted` (fanout, durable) → quorum queue `webhooks.unrouted`: events no
  binding matches wait there instead of vanishing.

Per consumer service `billing`:
- `billing`: quorum work queue bound to the exchange with each handler's pattern. A delivery
  that is never answered (worker crash, kill, lost connection) more than `delivery_limit` times
  is dead-lettered to `billing.dead` by the broker, at-least-once.
- `billing.retry.<tier>` (`billing.retry.5s`, `billing.retry.2m`): one quorum queue per
  backoff tier, no consumers, `x-message-ttl` = the tier, dead-lettering (at-least-once) back
  to `billing` through the default exchange. One queue per delay, so no message waits behind a
  longer one.
- `billing.dead`: quorum queue, the parking lot that `hookgate dlq` inspects and replays.

The archive of accepted events (declared by `hookgate admin` when `[ledger] archive` is on):
- `webhooks.archive`: a stream (`x-max-age` = `[ledger] retention_days`, a byte cap, small
  segments so retention drops little at a time) that `hookgate admin` replays from.
- `webhooks.archive.inbox`: a quorum queue that feeds it. RabbitMQ 3.10 stores a stream's
  messages as AMQP 1.0 and drops header values that are tables (the forwarded
  `hookgate-http-headers`), so an event bound straight to the stream could neither be
  replayed whole nor verified: `hookgate admin` moves each inbox message into the stream
  with that table as one JSON string, and restores it when it reads the stream back.
- The inbox is bound to `webhooks.unrouted` (so what no service binds is archived too) and to
  `webhooks` with each consumer binding's pattern, never with `#`: an alternate exchange only
  receives what *no* binding matched, so a `#` binding would route every event and the
  unrouted queue would never hear of one again. Mirroring the services' patterns archives
  each event exactly once (a queue takes one copy per publish however many of its bindings
  match) and leaves the unrouted signal as it was. The cost: the archive's bindings must
  follow the services'. `declare_service_topology` binds them (when the archive exists and
  the credentials may), and `hookgate admin` binds every announced service's at startup and
  on each announcement. A pattern left bound after its service is deleted keeps its events
  out of the unrouted queue (they are archived, not lost): unbind it from the inbox too.

All declarations are idempotent. Changing a queue's arguments later (e.g. `delivery_limit`)
makes the broker refuse the redeclaration: `TopologyError` says which queue and what to do.

Event status (`hookgate.status`, declared by `hookgate admin`): `webhooks.status`, a topic
exchange the gateway and consumers publish status to, and `webhooks.status.ledger`, the
recorder's quorum queue, bound to it with `#`.

Cancellations (`hookgate.cancel`): `webhooks.cancellations`, a stream (RabbitMQ 3.9+) the admin
API appends an operator's cancel to and every consumer process reads from its start: a worker
started after the cancel, or one whose event waits an hour in a retry tier, still learns of it.
Kept `CANCEL_RETENTION` (7 days, and at most `_CANCEL_BYTES`).

A service is anything shaped like `consumers.Service` (`ServiceShape`): this module knows the
names and arguments, not the consumer runtime.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import aiormq
from pamqp.common import FieldTable

from hookgate.errors import TopologyError


class _Binding(Protocol):
    @property
    def pattern(self) -> str: ...


class ServiceShape(Protocol):
    """What the topology needs of a consumer service (`consumers.Service` has it)."""

    @property
    def name(self) -> str: ...
    @property
    def tiers(self) -> tuple[float, ...]: ...
    @property
    def delivery_limit(self) -> int: ...
    @property
    def handlers(self) -> Sequence[_Binding]: ...


# At-least-once dead-lettering needs reject-publish overflow (RabbitMQ 3.10+, quorum queues).
_SAFE_DEAD_LETTERING: FieldTable = {
    "x-dead-letter-exchange": "",
    "x-dead-letter-strategy": "at-least-once",
    "x-overflow": "reject-publish",
}


_REFUSED = (
    aiormq.exceptions.ChannelPreconditionFailed,
    aiormq.exceptions.ChannelAccessRefused,
)


def unrouted_name(exchange: str) -> str:
    """The alternate exchange and the queue that keeps unmatched events."""
    return f"{exchange}.unrouted"


def archive_name(exchange: str) -> str:
    """The stream that keeps accepted events for replay (`webhooks.archive`)."""
    return f"{exchange}.archive"


def archive_inbox(exchange: str) -> str:
    """The queue bound where the archive should be (`webhooks.archive.inbox`)."""
    return f"{archive_name(exchange)}.inbox"


def archive_arguments(retention_days: float, max_bytes: int) -> FieldTable:
    """A stream kept `retention_days` and at most `max_bytes`. Retention drops whole
    segments: one is a twentieth of the cap (1 MiB to 64 MiB), so little is dropped early."""
    segment = max(2**20, min(64 * 2**20, max_bytes // 20))
    return {
        "x-queue-type": "stream",
        "x-max-age": f"{math.ceil(retention_days * 86400)}s",
        "x-max-length-bytes": max_bytes,
        "x-stream-max-segment-size-bytes": segment,
    }


async def declare_archive(
    channel: aiormq.abc.AbstractChannel, exchange: str, retention_days: float, max_bytes: int
) -> None:
    """Declare the archive stream and its inbox, bound to the unrouted exchange (the ingress
    topology must exist). `TopologyError` when the stream exists with other arguments: the
    broker keeps the first ones (change retention with a policy, or delete the stream)."""
    name = archive_name(exchange)
    try:
        await channel.queue_declare(
            name, durable=True, arguments=archive_arguments(retention_days, max_bytes)
        )
    except aiormq.exceptions.ChannelPreconditionFailed as err:
        raise TopologyError(
            f"stream {name!r} exists with other retention arguments ({err}); it keeps those: "
            f"change them with a policy (rabbitmqctl set_policy ... '^{name}$' "
            """'{"max-age":"14D"}' --apply-to queues) or delete the stream (losing the archive)"""
        ) from err
    inbox = archive_inbox(exchange)
    await channel.queue_declare(inbox, durable=True, arguments={"x-queue-type": "quorum"})
    await channel.queue_bind(inbox, unrouted_name(exchange), routing_key="")


async def bind_archive(
    channel: aiormq.abc.AbstractChannel, exchange: str, patterns: Sequence[str]
) -> None:
    """Bind the archive's inbox to the ingress exchange with these consumer patterns."""
    for pattern in patterns:
        await channel.queue_bind(archive_inbox(exchange), exchange, routing_key=pattern)


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


def status_exchange(exchange: str) -> str:
    """The topic exchange status changes travel on (`hookgate.status`): named from the ingress
    exchange, so two deployments sharing a broker never mix their statuses."""
    return f"{exchange}.status"


def ledger_queue(exchange: str) -> str:
    """`hookgate admin`'s recorder queue (`webhooks.status.ledger`), bound to the status
    exchange with `#`."""
    return f"{status_exchange(exchange)}.ledger"


async def declare_status_exchange(channel: aiormq.abc.AbstractChannel, exchange: str) -> None:
    """Declare (idempotently) the status exchange of the ingress exchange `exchange`."""
    await channel.exchange_declare(status_exchange(exchange), exchange_type="topic", durable=True)


#: How long a cancel is kept (the stream's `x-max-age`, and each consumer's memory of it).
CANCEL_RETENTION = 7 * 86400.0
_CANCEL_BYTES = 64 * 1024 * 1024  # a cancel is ~200 bytes: hundreds of thousands fit
_CANCEL_SEGMENT = 1024 * 1024  # small segments: retention drops whole segments


def cancel_stream(exchange: str) -> str:
    """The stream of operators' cancels (`webhooks.cancellations`), named from the ingress
    exchange like the status exchange."""
    return f"{exchange}.cancellations"


def cancel_stream_arguments() -> FieldTable:
    return {
        "x-queue-type": "stream",
        "x-max-age": f"{round(CANCEL_RETENTION / 86400)}D",
        "x-max-length-bytes": _CANCEL_BYTES,
        "x-stream-max-segment-size-bytes": _CANCEL_SEGMENT,
    }


async def declare_cancel_stream(channel: aiormq.abc.AbstractChannel, exchange: str) -> None:
    """Declare (idempotently) the cancel stream of the ingress exchange `exchange`."""
    await _declare(channel, cancel_stream(exchange), cancel_stream_arguments())


def exchange_arguments(exchange: str) -> FieldTable:
    return {"alternate-exchange": unrouted_name(exchange)}


def unrouted_queue_arguments() -> FieldTable:
    return {"x-queue-type": "quorum"}


def work_queue(service: ServiceShape) -> str:
    return service.name


def dead_queue(service: ServiceShape) -> str:
    return f"{service.name}.dead"


def retry_queue(service: ServiceShape, delay: float) -> str:
    return f"{service.name}.retry.{tier_label(delay)}"


def retry_queues(service: ServiceShape) -> dict[float, str]:
    return {delay: retry_queue(service, delay) for delay in service.tiers}


def all_queues(service: ServiceShape) -> list[str]:
    return [work_queue(service), *retry_queues(service).values(), dead_queue(service)]


def tier_label(delay: float) -> str:
    """`5s`, `90s`, `2m`, `1h`, `250ms`: whole hours, then minutes, then seconds."""
    milliseconds = round(delay * 1000)
    if milliseconds % 1000:
        return f"{milliseconds}ms"
    seconds = milliseconds // 1000
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0 and seconds >= 60:
        return f"{seconds // 60}m"
    return f"{seconds}s"


def work_queue_arguments(service: ServiceShape) -> FieldTable:
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": service.delivery_limit,
        "x-dead-letter-routing-key": dead_queue(service),
        **_SAFE_DEAD_LETTERING,
    }


def retry_queue_arguments(service: ServiceShape, delay: float) -> FieldTable:
    return {
        "x-queue-type": "quorum",
        "x-message-ttl": round(delay * 1000),
        "x-dead-letter-routing-key": work_queue(service),
        **_SAFE_DEAD_LETTERING,
    }


def dead_queue_arguments() -> FieldTable:
    return {"x-queue-type": "quorum"}


async def declare_gateway_topology(channel: aiormq.abc.AbstractChannel, exchange: str) -> None:
    """Declare (idempotently) the ingress exchange, its alternate exchange and unrouted queue."""
    unrouted = unrouted_name(exchange)
    await channel.exchange_declare(unrouted, exchange_type="fanout", durable=True)
    await channel.queue_declare(unrouted, durable=True, arguments=unrouted_queue_arguments())
    await channel.queue_bind(unrouted, unrouted, routing_key="")
    await channel.exchange_declare(
        exchange, exchange_type="topic", durable=True, arguments=exchange_arguments(exchange)
    )


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
        queue = work_queue(service)
        await _declare(channel, dead_queue(service), dead_queue_arguments())
        for delay, name in retry_queues(service).items():
            await _declare(channel, name, retry_queue_arguments(service, delay))
        await _declare(channel, queue, work_queue_arguments(service))
        for handler in service.handlers:
            try:
                await channel.queue_bind(queue, exchange, routing_key=handler.pattern)
            except _REFUSED as err:
                raise TopologyError(f"the broker refused to bind {queue!r}: {err}") from err
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


async def _declare(channel: aiormq.abc.AbstractChannel, name: str, arguments: FieldTable) -> None:
    try:
        await channel.queue_declare(name, durable=True, arguments=arguments)
    except aiormq.exceptions.ChannelPreconditionFailed as err:
        raise TopologyError(
            f"queue {name!r} already exists with other arguments ({err}); set the service "
            "back to what it was declared with, or drain and delete the queue, then redeclare"
        ) from err
    except aiormq.exceptions.ChannelAccessRefused as err:
        raise TopologyError(f"the broker refused to declare queue {name!r}: {err}") from err
