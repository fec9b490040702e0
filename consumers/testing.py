"""Test a service's handlers without RabbitMQ.

    from consumers.testing import deliver, make_event

    def test_paid_invoice_is_recorded():
        outcome = deliver(billing, make_event({"id": "evt_1", "type": "invoice.paid"},
                                              source="stripe", type="invoice.paid"))
        assert outcome.kind == "success"

`deliver` runs the same dispatch code as `hookgate consume` (handler choice, timeouts, sync
handlers in threads, retry tiers) and returns the `Outcome`: `acked`, `kind` (`success`,
`retry`, `dead_lettered`, `rejected`, `duplicate`, `unmatched`), `delay` (the retry tier) and
`failure` (the error that would be stored in the dead-letter queue).

It never touches the service's own idempotency store (a file your tests should not depend on):
pass `idempotency=MemoryIdempotencyStore()` to several `deliver` calls to see duplicates (each
`deliver` runs an event loop of its own: a Redis store, whose connections belong to one loop,
goes with `deliver_async` calls in one test's loop instead).
`deliver_until_settled` follows the retries, attempt after attempt, without waiting.
`deliver` also takes a message: `published(event)` below, or `gateway.testing.message_for(…)`,
the message the gateway publishes for a signed request, verified by the real provider.

Message authentication (`[broker] message_key`): `published(event, key=…)` is the message the
gateway would publish, signed with `key` (or unsigned without one); `deliver(service, message,
message_keys=[…])` checks it as `hookgate consume` does, so an unsigned or wrongly signed one
comes back `unauthenticated` without reaching a handler. An `Event` delivered with
`message_keys` set counts as unsigned.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

from consumers.cancellations import CancelSet
from consumers.dispatch import Dispatcher, Outcome
from consumers.event import Event, event_from_message, event_headers
from consumers.idempotency import IdempotencyStore
from consumers.service import Service
from hookgate import message_auth
from hookgate.observe import ConsumeOutcome, Observer, Observers

__all__ = [
    "BrokerMessage",
    "Message",
    "Outcome",
    "deliver",
    "deliver_async",
    "deliver_until_settled",
    "make_event",
    "published",
]


class BrokerMessage(Protocol):
    """A message as it travels on the broker (`Message`, `gateway.testing.PublishedMessage`)."""

    @property
    def body(self) -> bytes: ...
    @property
    def headers(self) -> Mapping[str, Any]: ...
    @property
    def content_type(self) -> str | None: ...
    @property
    def message_id(self) -> str | None: ...


@dataclass(frozen=True)
class Message:
    """An event as it travels on the broker: the raw body and the AMQP headers."""

    body: bytes
    headers: Mapping[str, Any]
    content_type: str | None = None
    message_id: str | None = None

    def event(self) -> Event:
        """The event a handler would get from this message (the worker's own decoding)."""
        return _decoded(self)


def published(event: Event, *, key: str | bytes | None = None) -> Message:
    """The message the gateway publishes for `event`; signed with `key` when one is given,
    as a gateway with `[broker] message_key = key` signs it."""
    headers = event_headers(event)
    if key is not None:
        raw = key.encode("utf-8") if isinstance(key, str) else key
        headers[message_auth.HEADER] = message_auth.sign(raw, event.body, headers)
    return Message(event.body, headers, event.content_type, event.id)


def make_event(
    body: bytes | Mapping[str, Any] | list[Any],
    *,
    type: str,
    source: str = "test",
    id: str | None = None,
    provider: str = "",
    headers: Mapping[str, str] | None = None,
    attempt: int = 1,
    content_type: str = "application/json",
    received_at: datetime | None = None,
) -> Event:
    """An `Event` as a handler would receive it. A dict or list body is JSON-encoded."""
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return Event(
        id=id or f"evt_{uuid.uuid4().hex}",
        source=source,
        type=type,
        body=raw,
        provider=provider,
        received_at=received_at or datetime.now(UTC),
        content_type=content_type,
        headers=dict(headers or {}),
        attempt=attempt,
    )


async def deliver_async(
    service: Service,
    event: Event | BrokerMessage,
    *,
    idempotency: IdempotencyStore | None = None,
    message_keys: Iterable[str | bytes] = (),
    observers: Iterable[Observer] = (),
    cancellations: CancelSet | None = None,
) -> Outcome:
    """Deliver `event` (or a message) to `service` once, in memory; return what would happen.

    With `message_keys`, the message must be signed with one of them (`published(…, key=…)`),
    as `hookgate consume` requires with `[broker] message_key` set. `observers` hear the
    outcome as `hookgate consume`'s do (`hookgate.observe`). `cancellations`: what an operator
    cancelled (`CancelSet`; a cancelled event's outcome is `cancelled`, its handler not run)."""
    started = time.perf_counter()
    hearing = Observers(observers)
    dispatcher = Dispatcher(
        service,
        idempotency=idempotency,
        message_keys=message_keys,
        on_started=hearing.on_started,
        cancellations=cancellations,
    )
    message = published(event) if isinstance(event, Event) else event
    delivered = event if isinstance(event, Event) else _decoded(event)
    outcome = dispatcher.authenticate(message.body, message.headers)
    if outcome is None:
        outcome = await dispatcher.process(delivered)
    record = outcome.record(service.name, delivered, time.perf_counter() - started)
    hearing.on_consumed(record)
    return outcome


def deliver(
    service: Service,
    event: Event | BrokerMessage,
    *,
    idempotency: IdempotencyStore | None = None,
    message_keys: Iterable[str | bytes] = (),
    observers: Iterable[Observer] = (),
    cancellations: CancelSet | None = None,
) -> Outcome:
    """`deliver_async` for synchronous tests (runs its own event loop)."""
    return asyncio.run(
        deliver_async(
            service,
            event,
            idempotency=idempotency,
            message_keys=message_keys,
            observers=observers,
            cancellations=cancellations,
        )
    )


def deliver_until_settled(
    service: Service, event: Event, *, idempotency: IdempotencyStore | None = None
) -> list[Outcome]:
    """Deliver, then redeliver each retry at the next attempt (without waiting), until the
    event is acked or dead-lettered. Returns every outcome, in order."""

    async def run() -> list[Outcome]:
        dispatcher = Dispatcher(service, idempotency=idempotency)
        outcomes = [await dispatcher.process(event)]
        current = event
        while outcomes[-1].kind is ConsumeOutcome.RETRY:
            current = current.next_attempt()
            outcomes.append(await dispatcher.process(current))
        return outcomes

    return asyncio.run(run())


def _decoded(message: BrokerMessage) -> Event:
    """The event a worker would decode from `message`."""
    return event_from_message(
        message.body,
        message.headers,
        routing_key="",
        message_id=message.message_id,
        content_type=message.content_type,
    )
