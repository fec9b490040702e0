"""A bulk replay request (`POST /api/replay`), read and checked; nothing here touches the
broker or the ledger.

    {"service": "billing",                  required: an announced service
     "since": "2026-12-01T00:00:00Z",       required: RFC 3339 with an offset
     "until": "2026-12-02T00:00:00Z",       default: now
     "source": "stripe",                    default: every source
     "type": "invoice.*",                   an AMQP topic pattern over the event type
     "limit": 1000}                         default 1000, at most 100000

`since` and `until` bound the event's `received_at` (both included). `type` matches the type
as it is routed (`hookgate.routing`: characters other than `[A-Za-z0-9_.-]` become `_`), word
by word: `*` is one word, `#` any number, anything else the word itself; so an exact type is a
pattern too. Refusals name the key and what it needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from admin.answers import ApiError, Refusal
from hookgate.envelope import Envelope
from hookgate.routing import routing_key, topic_matches

DEFAULT_LIMIT = 1000
MAX_LIMIT = 100_000
MAX_BODY = 4096
_KEYS = {"service", "source", "type", "since", "until", "limit"}
_PATTERN = re.compile(r"[A-Za-z0-9_*#-]+(\.[A-Za-z0-9_*#-]+)*")


@dataclass(frozen=True)
class BulkReplay:
    service: str
    since: float
    until: float
    source: str | None = None
    type: tuple[str, ...] | None = None
    limit: int = DEFAULT_LIMIT

    def matches(self, event: Envelope) -> bool:
        """Whether the archived `event` is one this request replays (its service's own
        bindings aside)."""
        if self.source is not None and event.source != self.source:
            return False
        if not self.since <= event.received_at.timestamp() <= self.until:
            return False
        if self.type is None:
            return True
        routed = routing_key(event.source, event.type)[len(event.source) + 1 :]
        return topic_matches(self.type, tuple(routed.split(".")))


def parse_bulk(body: bytes, now: float) -> BulkReplay:
    """The request in `body`, or `ApiError` (400) naming what is wrong."""
    if len(body) > MAX_BODY:
        raise _bad(f"body: larger than {MAX_BODY} bytes")
    try:
        data = orjson.loads(body) if body.strip() else None
    except orjson.JSONDecodeError:
        raise _bad("body: expected a JSON object") from None
    if not isinstance(data, dict):
        raise _bad('body: expected a JSON object, e.g. {"service": …, "since": …}')
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise _bad(f"{unknown[0]}: unknown key (expected {', '.join(sorted(_KEYS))})")
    service = _name(data, "service", required=True)
    assert service is not None
    since = _time(data, "since")
    until = _time(data, "until") if data.get("until") is not None else now
    if since is None:
        raise _bad("since: required (RFC 3339, e.g. 2026-12-01T00:00:00Z)")
    if until is None or until < since:
        raise _bad("until: earlier than since")
    return BulkReplay(
        service=service,
        since=since,
        until=until,
        source=_name(data, "source", required=False),
        type=_type(data.get("type")),
        limit=_limit(data.get("limit", DEFAULT_LIMIT)),
    )


def _name(data: dict[str, Any], key: str, *, required: bool) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise _bad(f"{key}: required")
        return None
    if not isinstance(value, str) or not value.isprintable() or not 0 < len(value.encode()) < 200:
        raise _bad(f"{key}: expected a name")
    return value


def _time(data: dict[str, Any], key: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    try:
        if not isinstance(value, str):
            raise ValueError
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _bad(f"{key}: expected an RFC 3339 time, e.g. 2026-12-01T00:00:00Z") from None
    if moment.tzinfo is None:
        raise _bad(f"{key}: needs an offset (Z or +hh:mm)")
    return moment.timestamp()


def _type(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 255 or not _PATTERN.fullmatch(value):
        raise _bad("type: expected a type or an AMQP topic pattern (invoice.*, invoice.#)")
    return tuple(value.split("."))


def _limit(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_LIMIT:
        raise _bad(f"limit: expected an integer from 1 to {MAX_LIMIT}")
    return value


def _bad(detail: str) -> ApiError:
    return ApiError(Refusal.BAD_REQUEST, detail)
