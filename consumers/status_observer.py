"""A consumer service's side of event status: each handler start and each answered delivery
becomes one `hookgate.status.StatusChange`, handed to a `StatusPublisher` that never waits;
and the service announces itself (`ServiceAnnouncement`) when it starts and every minute
after, so a recorder that starts later still learns which events are queued for it.

Nothing is emitted for an `unauthenticated` message: its source and ID are only claims.
A `duplicate` (the idempotency store says the event completed already) is emitted as
`completed`: the usual way to get one is a worker that died between marking the event done
and acking it, and then the first `completed` was never emitted (the ledger records a
repeated one once).

A `cancelled` skip is emitted without an attempt: the same change (`StatusChange.key`) as the
one the admin API recorded when the operator cancelled, so the timeline shows one `cancelled`
(and the skip still records it when the API's write was lost).
"""

from __future__ import annotations

import asyncio
import time

from consumers.service import Service
from hookgate.observe import BaseObserver, ConsumeOutcome, ConsumeRecord, StartRecord
from hookgate.status import ServiceAnnouncement, Status, StatusChange
from hookgate.status_publisher import StatusPublisher

ANNOUNCE_INTERVAL = 60.0

_STATUS = {
    ConsumeOutcome.SUCCESS: Status.COMPLETED,
    ConsumeOutcome.DUPLICATE: Status.COMPLETED,
    ConsumeOutcome.RETRY: Status.RETRYING,
    ConsumeOutcome.DEAD_LETTERED: Status.FAILED,
    ConsumeOutcome.REJECTED: Status.FAILED,
    ConsumeOutcome.UNMATCHED: Status.FAILED,
    ConsumeOutcome.CANCELLED: Status.CANCELLED,
}


class ConsumerStatus(BaseObserver):
    """running, completed, retrying (with the error and the next attempt's time), failed."""

    def __init__(self, publisher: StatusPublisher, service: Service) -> None:
        self._publisher = publisher
        self._emit = publisher.emit
        self._service = service

    def announcement(self) -> ServiceAnnouncement:
        service = self._service
        return ServiceAnnouncement(
            service=service.name,
            patterns=tuple(h.pattern for h in service.handlers),
            at=time.time(),
            tiers=service.tiers,
            delivery_limit=service.delivery_limit,
        )

    async def announce_forever(self, interval: float = ANNOUNCE_INTERVAL) -> None:
        """Announce now, then every `interval` seconds (cancel to stop)."""
        while True:
            self._emit(self.announcement())
            await asyncio.sleep(interval)

    def on_started(self, record: StartRecord) -> None:
        self._emit(
            StatusChange(
                source=record.source,
                event_id=record.event_id,
                status=Status.RUNNING,
                at=time.time(),
                service=record.service,
                event_type=record.event_type,
                received_at=record.received_at,
                attempt=record.attempt,
                replay=record.replays,
            )
        )

    def on_consumed(self, record: ConsumeRecord) -> None:
        status = _STATUS.get(record.outcome)
        if status is None:
            return
        now = time.time()
        failed = record.failure_type is not None
        cancelled = status is Status.CANCELLED
        self._emit(
            StatusChange(
                source=record.source,
                event_id=record.event_id,
                status=status,
                at=now,
                service=record.service,
                event_type=record.event_type,
                received_at=record.received_at,
                attempt=None if cancelled else record.attempt,
                detail=f"{record.failure_type}: {record.failure_message}"
                if failed
                else ("skipped: cancelled by an operator" if cancelled else None),
                next_attempt_at=now + record.retry_delay
                if status is Status.RETRYING and record.retry_delay is not None
                else None,
                replay=record.replays,
            )
        )
