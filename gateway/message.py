"""The AMQP message for an accepted event: raw body, persistent, headers as DESIGN.md fixes.

What travels: the request headers minus hop-by-hop ones and minus every credential (a
provider's declared `credential_headers`, and by name `authorization`, `cookie`, `x-api-key`,
`*-token`, `x-*-secret`), so no shared secret reaches consumers, dead-letter queues or the
spool. Signature headers travel unless the source says `forward_signature_headers = false`.
A message must fit in one AMQP content-header frame: `encoded_size` says whether it does.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from pamqp.commands import Basic
from pamqp.common import FieldTable

from gateway.amqp_encoding import EventProperties
from hookgate import envelope, message_auth
from providers import VerifiedEvent

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
#: The largest encoded properties that fit in one content-header frame at RabbitMQ's default
#: `frame_max` (131,072 bytes, less 8 bytes of frame and 12 of class, weight and body size).
FRAME_OVERHEAD = 8 + 12
MAX_PROPERTIES_BYTES = 131_072 - FRAME_OVERHEAD


def is_credential(name: str) -> bool:
    """A header that carries a credential by its name alone (the second line of defence
    behind each provider's `credential_headers`)."""
    return (
        name in _EXCLUDED_HEADERS
        or name.endswith("-token")
        or name == "x-api-key"
        or (name.startswith("x-") and name.endswith("-secret"))
    )


def forwarded_headers(headers: Mapping[str, str], drop: frozenset[str] = frozenset()) -> FieldTable:
    """The request headers to keep in the message (names are already lower-case), without
    hop-by-hop headers, credentials and the names in `drop`."""
    return {
        name: value
        for name, value in headers.items()
        if name not in drop and not is_credential(name) and len(name.encode()) <= _TABLE_KEY_MAX
    }


def build_properties(
    *,
    source: str,
    provider: str,
    event: VerifiedEvent,
    headers: Mapping[str, str],
    received_at: float,
    drop: frozenset[str] = frozenset(),
    message_key: bytes | None = None,
    body: bytes = b"",
) -> Basic.Properties:
    """The message's properties: `headers` are the request's, filtered here (`drop`: the
    source's extra names to leave out); with `message_key`, signed over `body` and the
    `hookgate-*` headers (`hookgate.message_auth`)."""
    content_type = headers.get("content-type")
    if content_type is not None and len(content_type.encode()) > _SHORTSTR:
        content_type = None
    table: FieldTable = envelope.encode(
        source=source,
        provider=provider,
        event_id=event.id,
        event_type=event.type,
        received_at=envelope.rfc3339_ms(received_at),
        http_headers=forwarded_headers(headers, drop),
    )
    if message_key is not None:
        table[message_auth.HEADER] = message_auth.sign(message_key, body, table)
    return EventProperties(
        content_type=content_type,
        delivery_mode=envelope.PERSISTENT,
        message_id=event.id,
        timestamp=datetime.fromtimestamp(int(received_at), UTC),
        app_id=envelope.APP_ID,
        headers=table,
    )


def encoded_size(properties: Basic.Properties) -> int | None:
    """The properties' size on the wire, or None when AMQP cannot encode them at all."""
    try:
        return len(properties.marshal())
    except Exception:  # pamqp refuses values it cannot encode (TypeError, ValueError, …)
        return None
