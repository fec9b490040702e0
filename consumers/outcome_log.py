"""The one log line per event a worker answers: service, handler, event ID, outcome, attempt,
duration. Successes, skipped duplicates and cancelled events are info; retries warnings;
events parked in the dead-letter queue errors. Never the body (it may hold personal data),
never message keys."""

from __future__ import annotations

import logging

from hookgate.observe import BaseObserver, ConsumeOutcome, ConsumeRecord

_log = logging.getLogger("hookgate.consumer")

#: outcome → (level, message) of its line.
_LINES: dict[ConsumeOutcome, tuple[int, str]] = {
    ConsumeOutcome.SUCCESS: (logging.INFO, "event handled"),
    ConsumeOutcome.DUPLICATE: (logging.INFO, "already completed; skipped"),
    ConsumeOutcome.CANCELLED: (logging.INFO, "cancelled by an operator; skipped"),
    ConsumeOutcome.RETRY: (logging.WARNING, "handler failed"),
    ConsumeOutcome.DEAD_LETTERED: (logging.ERROR, "handler failed"),
    ConsumeOutcome.REJECTED: (logging.ERROR, "handler rejected the event"),
    ConsumeOutcome.UNMATCHED: (logging.ERROR, "no handler matches the event"),
    ConsumeOutcome.UNAUTHENTICATED: (
        logging.ERROR,
        "message failed authentication; dead-lettered",
    ),
}
_ERROR_TEXT = 200


class OutcomeLog(BaseObserver):
    """Writes the line for each answered delivery (an observer, `hookgate.observe`)."""

    def on_consumed(self, record: ConsumeRecord) -> None:
        level, message = _LINES[record.outcome]
        if not _log.isEnabledFor(level):
            return
        # The source, type and ID of an unauthenticated message are only what it claims.
        fields: dict[str, object] = {
            "service": record.service,
            "handler": record.handler,
            "event_id": record.event_id,
            "source": record.source,
            "event_type": record.event_type,
            "outcome": record.outcome,
            "attempt": record.attempt,
            "duration_ms": round(record.duration * 1000, 1),
        }
        if record.retry_delay is not None:
            fields["retry_in"] = record.retry_delay
        if record.failure_type is not None:
            fields["error_type"] = record.failure_type
            fields["error"] = (record.failure_message or "")[:_ERROR_TEXT]
        _log.log(level, message, extra={"fields": fields})
