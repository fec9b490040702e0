"""The one log line per event a worker answers: service, handler, event ID, outcome, attempt,
duration. Successes and skipped duplicates are info; retries warnings; events parked in the
dead-letter queue errors. Never the body (it may hold personal data), never message keys."""

from __future__ import annotations

import logging

from consumers.dispatch import Outcome
from consumers.event import Event

_log = logging.getLogger("hookgate.consumer")

_MESSAGES = {
    "success": "event handled",
    "duplicate": "already completed; skipped",
    "retry": "handler failed",
    "dead_lettered": "handler failed",
    "rejected": "handler rejected the event",
    "unmatched": "no handler matches the event",
    "unauthenticated": "message failed authentication; dead-lettered",
}
_ERROR_TEXT = 200


def log_outcome(service: str, event: Event, outcome: Outcome, seconds: float) -> None:
    if outcome.acked:
        level = logging.INFO
    else:
        level = logging.WARNING if outcome.kind == "retry" else logging.ERROR
    if not _log.isEnabledFor(level):
        return
    # The source, type and ID of an unauthenticated message are only what it claims.
    fields: dict[str, object] = {
        "service": service,
        "handler": outcome.handler,
        "event_id": event.id,
        "source": event.source,
        "event_type": event.type,
        "outcome": outcome.kind,
        "attempt": event.attempt,
        "duration_ms": round(seconds * 1000, 1),
    }
    if outcome.delay is not None:
        fields["retry_in"] = outcome.delay
    if outcome.failure is not None:
        fields["error_type"] = outcome.failure.type
        fields["error"] = outcome.failure.message[:_ERROR_TEXT]
    _log.log(level, _MESSAGES.get(outcome.kind, outcome.kind), extra={"fields": fields})
