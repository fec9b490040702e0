"""Ledger objects as the admin API's JSON: every time RFC 3339 in UTC with milliseconds."""

from __future__ import annotations

from typing import Any

from admin.ledger import EventDetail, EventSummary
from hookgate.envelope import rfc3339_ms
from hookgate.status import StatusChange


def time_text(unix_time: float | None) -> str | None:
    return None if unix_time is None else rfc3339_ms(unix_time)


def summary_json(summary: EventSummary) -> dict[str, Any]:
    return {
        "source": summary.source,
        "event_id": summary.event_id,
        "type": summary.type,
        "received_at": time_text(summary.received_at),
        "status": summary.status.value,
    }


def detail_json(detail: EventDetail) -> dict[str, Any]:
    return {
        **summary_json(detail.summary),
        "services": {
            name: {
                "status": state.status.value,
                "attempts": state.attempts,
                "last_error": state.last_error,
                "next_attempt_at": time_text(state.next_attempt_at),
            }
            for name, state in sorted(detail.services.items())
        },
        "timeline": [_step(change) for change in detail.timeline],
        "duplicates": detail.duplicates,
    }


def _step(change: StatusChange) -> dict[str, Any]:
    return {
        "at": rfc3339_ms(change.at),
        "service": change.service,
        "status": change.status.value,
        "attempt": change.attempt,
        "detail": change.detail,
    }
