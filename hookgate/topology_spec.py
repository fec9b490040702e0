"""Every exchange, queue, binding and argument hookgate declares, as data (the wire contract).

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

Each part is a pure function returning its declaration steps in the order they must happen
(`Exchange`, `Queue`, `Binding`): `hookgate.topology` applies them over AMQP, and
`hookgate.definitions` writes the same steps as a RabbitMQ definitions file (`hookgate topology
export`). One description, two readers: what is exported is what is declared.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeAlias

from pamqp.common import FieldTable


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


@dataclass(frozen=True)
class Exchange:
    """A durable exchange (`topic`, `fanout`) and its arguments."""

    name: str
    type: str
    arguments: FieldTable = field(default_factory=dict)


@dataclass(frozen=True)
class Queue:
    """A durable queue; its type (quorum, stream) is the `x-queue-type` argument."""

    name: str
    arguments: FieldTable


@dataclass(frozen=True)
class Binding:
    """Queue `queue` bound to exchange `exchange` with `routing_key`."""

    queue: str
    exchange: str
    routing_key: str


Step: TypeAlias = Exchange | Queue | Binding


# At-least-once dead-lettering needs reject-publish overflow (RabbitMQ 3.10+, quorum queues).
_SAFE_DEAD_LETTERING: FieldTable = {
    "x-dead-letter-exchange": "",
    "x-dead-letter-strategy": "at-least-once",
    "x-overflow": "reject-publish",
}
_QUORUM: FieldTable = {"x-queue-type": "quorum"}

#: How long a cancel is kept (the stream's `x-max-age`, and each consumer's memory of it).
CANCEL_RETENTION = 7 * 86400.0
_CANCEL_BYTES = 64 * 1024 * 1024  # a cancel is ~200 bytes: hundreds of thousands fit
_CANCEL_SEGMENT = 1024 * 1024  # small segments: retention drops whole segments


def ingress_topology(exchange: str) -> tuple[Step, ...]:
    """The ingress exchange, its alternate exchange and the unrouted queue. The alternate
    chain comes first: once the ingress exchange exists, an unmatched event has a queue."""
    unrouted = unrouted_name(exchange)
    return (
        Exchange(unrouted, "fanout"),
        Queue(unrouted, unrouted_queue_arguments()),
        Binding(unrouted, unrouted, ""),
        Exchange(exchange, "topic", exchange_arguments(exchange)),
    )


def service_topology(service: ServiceShape, exchange: str) -> tuple[Step, ...]:
    """A service's dead-letter queue, retry tiers and work queue (each exists before anything
    dead-letters into it), then the work queue's bindings."""
    queue = work_queue(service)
    return (
        Queue(dead_queue(service), dead_queue_arguments()),
        *(
            Queue(name, retry_queue_arguments(service, delay))
            for delay, name in retry_queues(service).items()
        ),
        Queue(queue, work_queue_arguments(service)),
        *(Binding(queue, exchange, handler.pattern) for handler in service.handlers),
    )


def status_topology(exchange: str) -> tuple[Step, ...]:
    """The status exchange and `hookgate admin`'s recorder queue, bound with `#`."""
    status, ledger = status_exchange(exchange), ledger_queue(exchange)
    return (Exchange(status, "topic"), Queue(ledger, dict(_QUORUM)), Binding(ledger, status, "#"))


def cancel_topology(exchange: str) -> tuple[Step, ...]:
    """The stream of operators' cancels."""
    return (Queue(cancel_stream(exchange), cancel_stream_arguments()),)


def archive_topology(
    exchange: str, retention_days: float, max_bytes: int, patterns: Iterable[str] = ()
) -> tuple[Step, ...]:
    """The archive stream, its inbox bound to the unrouted exchange, and the inbox's bindings
    to the ingress exchange with consumer `patterns`."""
    inbox = archive_inbox(exchange)
    return (
        Queue(archive_name(exchange), archive_arguments(retention_days, max_bytes)),
        Queue(inbox, dict(_QUORUM)),
        Binding(inbox, unrouted_name(exchange), ""),
        *archive_bindings(exchange, patterns),
    )


def archive_bindings(exchange: str, patterns: Iterable[str]) -> tuple[Binding, ...]:
    """The archive inbox's bindings to the ingress exchange, one per consumer pattern."""
    return tuple(Binding(archive_inbox(exchange), exchange, pattern) for pattern in patterns)


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


def status_exchange(exchange: str) -> str:
    """The topic exchange status changes travel on (`hookgate.status`): named from the ingress
    exchange, so two deployments sharing a broker never mix their statuses."""
    return f"{exchange}.status"


def ledger_queue(exchange: str) -> str:
    """`hookgate admin`'s recorder queue (`webhooks.status.ledger`), bound to the status
    exchange with `#`."""
    return f"{status_exchange(exchange)}.ledger"


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


def exchange_arguments(exchange: str) -> FieldTable:
    return {"alternate-exchange": unrouted_name(exchange)}


def unrouted_queue_arguments() -> FieldTable:
    return dict(_QUORUM)


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
    return dict(_QUORUM)
