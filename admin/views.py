"""Ledger objects as the admin API's JSON: every time RFC 3339 in UTC with milliseconds."""

from __future__ import annotations

from typing import Any

from admin.ledger import Activity, EventDetail, EventSummary
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


#: The window of the rates `GET /api/sources` and `GET /api/services` show.
WINDOW_MINUTES = 60
SOURCE_ACCEPTED = ("accepted", "spooled")  # both answered 2xx: the event is durable
SERVICE_OUTCOMES = ("completed", "retrying", "failed", "cancelled")


def sources_json(activity: Activity, now: float) -> list[dict[str, Any]]:
    """Per source, over the last `WINDOW_MINUTES`: events accepted (spooled included),
    duplicates absorbed, refusals by reason, accepted per minute (oldest first); and its
    latest event, however old. Sources with neither are not listed."""
    first = int(now // 60) - WINDOW_MINUTES + 1
    rows: dict[str, dict[str, Any]] = {
        source: _source_row(source, at) for source, at in activity.last_event_at.items()
    }
    for count in activity.counts:
        if count.kind != "source" or count.minute < first:
            continue
        row = rows.setdefault(count.name, _source_row(count.name, None))
        if count.outcome in SOURCE_ACCEPTED:
            row["accepted"] += count.n
            if count.minute - first < WINDOW_MINUTES:
                row["per_minute"][count.minute - first] += count.n
        elif count.outcome == "duplicate":
            row["duplicates"] += count.n
        else:
            row["refused"][count.outcome] = row["refused"].get(count.outcome, 0) + count.n
    return [rows[name] for name in sorted(rows)]


def outcomes_json(activity: Activity, now: float) -> dict[str, dict[str, Any]]:
    """Per service, over the last `WINDOW_MINUTES`: its handlers' outcomes, and completions
    per minute (oldest first)."""
    first = int(now // 60) - WINDOW_MINUTES + 1
    rows: dict[str, dict[str, Any]] = {}
    for count in activity.counts:
        if count.kind != "service" or count.minute < first:
            continue
        row = rows.setdefault(
            count.name,
            {
                "outcomes_last_hour": dict.fromkeys(SERVICE_OUTCOMES, 0),
                "per_minute": [0] * WINDOW_MINUTES,
            },
        )
        outcomes = row["outcomes_last_hour"]
        outcomes[count.outcome] = outcomes.get(count.outcome, 0) + count.n
        if count.outcome == "completed" and count.minute - first < WINDOW_MINUTES:
            row["per_minute"][count.minute - first] += count.n
    return rows


def _source_row(source: str, last_event_at: float | None) -> dict[str, Any]:
    return {
        "source": source,
        "accepted": 0,
        "duplicates": 0,
        "refused": {},
        "last_event_at": time_text(last_event_at),
        "per_minute": [0] * WINDOW_MINUTES,
    }
