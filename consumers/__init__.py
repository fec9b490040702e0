"""Consumer services: handlers for webhook events, with tiered retries and a dead-letter queue.

    from consumers import Service, Event, Retry, Reject

    billing = Service("billing", retry_delays=(5, 30, 120, 600, 3600))

    @billing.handler("stripe.invoice.*")
    async def invoice(event: Event) -> None:
        ...   # return: ack. raise Retry(delay=…): retry. raise Reject(…): dead-letter now.

Run it with `hookgate consume module:billing`; test it with `consumers.testing`.
"""

from consumers.dispatch import Failure, Outcome
from consumers.errors import (
    ConsumerError,
    HandlerOutcome,
    IdempotencyUnavailable,
    Reject,
    Retry,
    ServiceDefinitionError,
    TopologyError,
)
from consumers.event import Event
from consumers.idempotency import IdempotencyStore, MemoryIdempotencyStore, idempotency_store
from consumers.idempotency_sqlite import SqliteIdempotencyStore
from consumers.service import Handler, Service

__all__ = [
    "ConsumerError",
    "Event",
    "Failure",
    "Handler",
    "HandlerOutcome",
    "IdempotencyStore",
    "IdempotencyUnavailable",
    "MemoryIdempotencyStore",
    "Outcome",
    "Reject",
    "Retry",
    "Service",
    "ServiceDefinitionError",
    "SqliteIdempotencyStore",
    "TopologyError",
    "idempotency_store",
]
