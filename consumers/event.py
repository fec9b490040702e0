"""The event a handler receives, and how it is read back from (and written to) AMQP headers."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import orjson

from consumers.routing import routing_key

_UNPARSED: Any = object()


@dataclass(frozen=True)
class Event:
    """One verified webhook, as the gateway published it.

    `body` is the raw request body, byte for byte; `headers` the original HTTP headers
    (lower-case names, without hop-by-hop headers, `authorization` and `cookie`). `attempt` is
    1 on the first delivery and grows with each retry. `json()` parses the body once.
    """

    id: str
    source: str
    type: str
    body: bytes
    provider: str = ""
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    content_type: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    attempt: int = 1
    _json: Any = field(default=_UNPARSED, init=False, repr=False, compare=False)

    @property
    def routing_key(self) -> str:
        """`{source}.{type}` as the gateway routed it (the type normalised to
        `[A-Za-z0-9_.-]`): what handler patterns are matched against."""
        return routing_key(self.source, self.type)

    def json(self) -> Any:
        """The body parsed as JSON (orjson), cached. Raises `orjson.JSONDecodeError`."""
        if self._json is _UNPARSED:
            object.__setattr__(self, "_json", orjson.loads(self.body))
        return self._json

    def next_attempt(self) -> Event:
        return replace(self, attempt=self.attempt + 1)


def event_from_message(
    body: bytes,
    headers: Mapping[str, Any] | None,
    *,
    routing_key: str,
    message_id: str | None = None,
    content_type: str | None = None,
    timestamp: datetime | None = None,
) -> Event:
    """Rebuild the `Event` from a message's body, headers and properties.

    hookgate's own headers are authoritative: after a trip through a retry tier the routing key
    is the work queue's name. A message published by something else falls back on its routing
    key (`source.type`), its `message_id` (else the SHA-256 of the body) and its timestamp.
    """
    h = headers or {}
    source = _text(h.get("hookgate-source"))
    event_type = _text(h.get("hookgate-event-type"))
    if source is None or event_type is None:
        source, _, event_type = routing_key.partition(".")
    event_id = _text(h.get("hookgate-event-id")) or message_id or hashlib.sha256(body).hexdigest()
    return Event(
        id=event_id,
        source=source,
        type=event_type,
        body=body,
        provider=_text(h.get("hookgate-provider")) or "",
        received_at=_received_at(h.get("hookgate-received-at"), timestamp),
        content_type=content_type,
        headers=_http_headers(h.get("hookgate-http-headers")),
        attempt=_attempt(h.get("hookgate-attempt")),
    )


def event_headers(event: Event) -> dict[str, Any]:
    """The `hookgate-*` headers the gateway publishes `event` with (the inverse of
    `event_from_message`; `consumers.testing` builds messages with it)."""
    received = event.received_at.astimezone(UTC).isoformat(timespec="milliseconds")
    headers: dict[str, Any] = {
        "hookgate-source": event.source,
        "hookgate-provider": event.provider,
        "hookgate-event-id": event.id,
        "hookgate-event-type": event.type,
        "hookgate-received-at": received.removesuffix("+00:00") + "Z",
        "hookgate-http-headers": dict(event.headers),
    }
    if event.attempt != 1:  # the gateway's first delivery carries no attempt header
        headers["hookgate-attempt"] = event.attempt
    return headers


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


def _attempt(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    return 1
