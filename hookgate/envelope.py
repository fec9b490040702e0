"""The envelope: the `hookgate-*` AMQP headers that say what an event is (DESIGN.md, AMQP).

The gateway writes them (`encode`), consumers and the DLQ tools read them back (`decode`). The
body travels untouched beside them; the HTTP headers the gateway kept travel in one nested
table. Consumers add `hookgate-attempt` on retries (absent on the first delivery) and
`hookgate-error-*` when they dead-letter. Standard library only.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SOURCE = "hookgate-source"
PROVIDER = "hookgate-provider"
EVENT_ID = "hookgate-event-id"
EVENT_TYPE = "hookgate-event-type"
RECEIVED_AT = "hookgate-received-at"
HTTP_HEADERS = "hookgate-http-headers"
ATTEMPT = "hookgate-attempt"
# Written by a consumer when it dead-letters an event, and by `hookgate dlq replay`.
ERROR_TYPE = "hookgate-error-type"
ERROR_MESSAGE = "hookgate-error-message"
ERROR_TRACEBACK = "hookgate-error-traceback"
FAILED_AT = "hookgate-failed-at"
HANDLER = "hookgate-handler"
DEAD_REASON = "hookgate-dead-reason"
REPLAYS = "hookgate-replays"
#: What a dead-lettered copy carries about its failure (a replay drops them).
ERROR_HEADERS = (ERROR_TYPE, ERROR_MESSAGE, ERROR_TRACEBACK, FAILED_AT, HANDLER, DEAD_REASON)
#: `message_id`, `app_id` and delivery mode of every event the gateway publishes.
APP_ID = "hookgate"
PERSISTENT = 2


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds: `2026-12-02T10:27:07.123Z`."""
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.removesuffix("+00:00") + "Z"


def rfc3339_ms(unix_time: float) -> str:
    """`format_time` of a Unix time. The text up to the second is kept from the last call: on
    the hot path (every message and every request log line) most calls fall in the same second
    as the one before."""
    global _second, _second_text
    milliseconds = int(unix_time * 1000)
    second, fraction = divmod(milliseconds, 1000)
    if second != _second:
        _second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _second = second
    return f"{_second_text}.{fraction:03d}Z"


_second, _second_text = -1, ""


def encode(
    *,
    source: str,
    provider: str,
    event_id: str,
    event_type: str,
    received_at: str,
    http_headers: Mapping[str, Any],
    attempt: int = 1,
) -> dict[str, Any]:
    """The headers table for one event (`received_at` already formatted by `format_time`)."""
    headers: dict[str, Any] = {
        SOURCE: source,
        PROVIDER: provider,
        EVENT_ID: event_id,
        EVENT_TYPE: event_type,
        RECEIVED_AT: received_at,
        HTTP_HEADERS: http_headers,
    }
    if attempt != 1:  # the gateway's first delivery carries no attempt header
        headers[ATTEMPT] = attempt
    return headers


@dataclass(frozen=True)
class Envelope:
    """What `decode` read from a message."""

    id: str
    source: str
    type: str
    provider: str
    received_at: datetime
    http_headers: dict[str, str] = field(default_factory=dict)
    attempt: int = 1
    #: Times an operator replayed it from a dead-letter queue (`hookgate-replays`).
    replays: int = 0


def decode(
    headers: Mapping[str, Any] | None,
    *,
    body: bytes,
    routing_key: str,
    message_id: str | None = None,
    timestamp: datetime | None = None,
) -> Envelope:
    """Read an event's envelope back; never raises, whatever the headers hold.

    hookgate's own headers are authoritative: after a trip through a retry tier the routing key
    is the work queue's name. A message published by something else falls back on its routing
    key (`source.type`), its `message_id` (else the SHA-256 of the body) and its timestamp.
    """
    h = headers or {}
    source = _text(h.get(SOURCE))
    event_type = _text(h.get(EVENT_TYPE))
    if source is None or event_type is None:
        source, _, event_type = routing_key.partition(".")
    event_id = _text(h.get(EVENT_ID)) or message_id or hashlib.sha256(body).hexdigest()
    return Envelope(
        id=event_id,
        source=source,
        type=event_type,
        provider=_text(h.get(PROVIDER)) or "",
        received_at=_received_at(h.get(RECEIVED_AT), timestamp),
        http_headers=_http_headers(h.get(HTTP_HEADERS)),
        attempt=_attempt(h.get(ATTEMPT)),
        replays=_replays(h.get(REPLAYS)),
    )


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else None


def _received_at(value: Any, fallback: datetime | None) -> datetime:
    text = _text(value)
    if text:
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if fallback is not None:
        return fallback if fallback.tzinfo else fallback.replace(tzinfo=UTC)
    return datetime.now(UTC)


def _http_headers(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {str(name): _text(v) or str(v) for name, v in value.items()}


def _replays(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return 0


def _attempt(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    return 1
