"""The event a handler receives, and how it is read back from (and written to) AMQP headers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import orjson

from hookgate import envelope
from hookgate.routing import routing_key

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
    #: Times an operator replayed it from the dead-letter queue (its attempts start again).
    replays: int = 0
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
    """Rebuild the `Event` from a message's body, headers and properties
    (`hookgate.envelope.decode`: hookgate's headers first, then the message's own properties)."""
    read = envelope.decode(
        headers, body=body, routing_key=routing_key, message_id=message_id, timestamp=timestamp
    )
    return Event(
        id=read.id,
        source=read.source,
        type=read.type,
        body=body,
        provider=read.provider,
        received_at=read.received_at,
        content_type=content_type,
        headers=read.http_headers,
        attempt=read.attempt,
        replays=read.replays,
    )


def event_headers(event: Event) -> dict[str, Any]:
    """The `hookgate-*` headers the gateway publishes `event` with (the inverse of
    `event_from_message`; `consumers.testing` builds messages with it)."""
    return envelope.encode(
        source=event.source,
        provider=event.provider,
        event_id=event.id,
        event_type=event.type,
        received_at=envelope.format_time(event.received_at),
        http_headers=dict(event.headers),
        attempt=event.attempt,
    )
