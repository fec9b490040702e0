"""`GET /api/events`' query string read into an `EventQuery`; `ApiError` naming the parameter."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime

from admin.answers import ApiError, Refusal
from admin.ledger import DEFAULT_LIMIT, MAX_LIMIT, EventQuery
from hookgate.status import Status

_STATUSES = ", ".join(status.value for status in Status)
_KNOWN = ("source", "status", "type", "service", "since", "limit", "cursor")
_MAX_TEXT = 1000  # characters: no source, type, service or cursor is longer


def event_query(params: Mapping[str, str]) -> EventQuery:
    """The search a query string asks for. An empty value is the same as none."""
    unknown = sorted(set(params) - set(_KNOWN))
    if unknown:
        raise _bad(f"{unknown[0][:40]}: unknown parameter; expected one of {', '.join(_KNOWN)}")
    values = {key: value for key, value in params.items() if value}
    for key, value in values.items():
        if len(value) > _MAX_TEXT:
            raise _bad(f"{key}: longer than {_MAX_TEXT} characters")
    return EventQuery(
        source=values.get("source"),
        status=_status(values.get("status")),
        type=values.get("type"),
        service=values.get("service"),
        since=parse_since(values["since"]) if "since" in values else None,
        limit=_limit(values.get("limit")),
        cursor=values.get("cursor"),
    )


def parse_since(text: str) -> float:
    """RFC 3339 (`2026-12-02T10:00:00Z`, with an offset) or Unix seconds, as Unix seconds."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = _rfc3339(text)
    if not math.isfinite(seconds) or not 0 <= seconds < 1e11:
        raise _bad("since: out of range (1970 to 5138)")
    return seconds


def _rfc3339(text: str) -> float:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _bad(
            "since: expected an RFC 3339 time (2026-12-02T10:00:00Z) or Unix seconds"
        ) from None
    if moment.tzinfo is None:
        raise _bad("since: an RFC 3339 time needs its offset (Z or +HH:MM)")
    try:
        return moment.timestamp()
    except (OverflowError, ValueError):
        raise _bad("since: out of range (1970 to 5138)") from None


def _status(text: str | None) -> Status | None:
    if text is None:
        return None
    try:
        return Status(text)
    except ValueError:
        raise _bad(f"status: expected one of {_STATUSES}") from None


def _limit(text: str | None) -> int:
    if text is None:
        return DEFAULT_LIMIT
    try:
        limit = int(text)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        raise _bad(f"limit: expected a whole number from 1 to {MAX_LIMIT}")
    return limit


def _bad(detail: str) -> ApiError:
    return ApiError(Refusal.BAD_REQUEST, detail)
