"""The gateway's side of event status: each outcome that puts an event on the broker (or the
spool) becomes one `hookgate.status.StatusChange`, handed to a `StatusPublisher` that never
waits. Emitted only when the deployment runs `hookgate admin` (an `[admin]` table)."""

from __future__ import annotations

import time

from hookgate.observe import (
    BaseObserver,
    ForwardOutcome,
    ForwardRecord,
    IngestOutcome,
    IngestRecord,
)
from hookgate.status import Status, StatusChange
from hookgate.status_publisher import StatusPublisher

_STATUS = {
    IngestOutcome.ACCEPTED: Status.ACCEPTED,
    IngestOutcome.SPOOLED: Status.SPOOLED,
    IngestOutcome.DUPLICATE: Status.DUPLICATE,
}


class GatewayStatus(BaseObserver):
    """accepted, spooled, duplicate (verified events with an ID only), forwarded."""

    def __init__(self, publisher: StatusPublisher) -> None:
        self._emit = publisher.emit

    def on_ingest(self, record: IngestRecord) -> None:
        status = _STATUS.get(record.outcome)
        if status is None or record.event_id is None:
            return
        # Stamped with the request's arrival: always before any consumer could start it.
        self._emit(
            StatusChange(
                source=record.source,
                event_id=record.event_id,
                status=status,
                at=record.received_at or time.time(),
                event_type=record.event_type,
                received_at=record.received_at,
            )
        )

    def on_forwarded(self, record: ForwardRecord) -> None:
        if record.outcome is not ForwardOutcome.FORWARDED:
            return
        self._emit(
            StatusChange(
                source=record.source,
                event_id=record.event_id,
                status=Status.FORWARDED,
                # When its publish began: a consumer may start it before the confirm arrives.
                at=record.sent_at or time.time(),
                event_type=record.event_type,
                received_at=record.received_at,
            )
        )
