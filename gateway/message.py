"""The AMQP message for an accepted event: raw body, persistent, headers as DESIGN.md fixes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from pamqp.commands import Basic
from pamqp.common import FieldTable

from gateway.wire import EventProperties
from providers import VerifiedEvent

APP_ID = "hookgate"
PERSISTENT = 2

# Hop-by-hop headers, and credentials that must not travel to every consumer.
_EXCLUDED_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "authorization",
        "cookie",
    }
)
_SHORTSTR = 255  # AMQP short string limit
_TABLE_KEY_MAX = 128  # AMQP field-table key limit; longer header names are dropped


def forwarded_headers(headers: Mapping[str, str]) -> FieldTable:
    """The request headers to keep in the message (names are already lower-case)."""
    return {
        name: value
        for name, value in headers.items()
        if name not in _EXCLUDED_HEADERS and len(name.encode()) <= _TABLE_KEY_MAX
    }


def rfc3339_ms(unix_time: float) -> str:
    return datetime.fromtimestamp(unix_time, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def build_properties(
    *,
    source: str,
    provider: str,
    event: VerifiedEvent,
    headers: Mapping[str, str],
    received_at: float,
) -> Basic.Properties:
    content_type = headers.get("content-type")
    if content_type is not None and len(content_type.encode()) > _SHORTSTR:
        content_type = None
    return EventProperties(
        content_type=content_type,
        delivery_mode=PERSISTENT,
        message_id=event.id,
        timestamp=datetime.fromtimestamp(int(received_at), UTC),
        app_id=APP_ID,
        headers={
            "hookgate-source": source,
            "hookgate-provider": provider,
            "hookgate-event-id": event.id,
            "hookgate-event-type": event.type,
            "hookgate-received-at": rfc3339_ms(received_at),
            "hookgate-http-headers": forwarded_headers(headers),
        },
    )
