"""The copies a consumer republishes: to a retry tier, to the dead-letter queue, and back.

Each copy keeps the body, properties and hookgate headers of the original. Broker-owned `x-*`
headers (`x-death`, `x-delivery-count`) are dropped: the attempt counter is hookgate's own
`hookgate-attempt` header, which survives every hop and every RabbitMQ version.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from pamqp.commands import Basic
from pamqp.common import FieldTable

from consumers.dispatch import Failure
from hookgate import envelope


def retry_copy(properties: Basic.Properties, attempt: int) -> Basic.Properties:
    """The copy for a retry tier: attempt `attempt + 1`."""
    headers = _own_headers(properties.headers)
    headers[envelope.ATTEMPT] = attempt + 1
    return _with_headers(properties, headers)


def dead_letter_copy(
    properties: Basic.Properties, *, attempt: int, handler: str, reason: str, failure: Failure
) -> Basic.Properties:
    """The copy for the dead-letter queue, with why it failed."""
    headers = _own_headers(properties.headers)
    headers.update(
        {
            envelope.ATTEMPT: attempt,
            envelope.ERROR_TYPE: failure.type,
            envelope.ERROR_MESSAGE: failure.message,
            envelope.ERROR_TRACEBACK: failure.traceback,
            envelope.FAILED_AT: envelope.rfc3339_ms(time.time()),
            envelope.HANDLER: handler,
            envelope.DEAD_REASON: reason,
        }
    )
    return _with_headers(properties, headers)


def replay_copy(properties: Basic.Properties) -> Basic.Properties:
    """The copy `hookgate dlq replay` sends back to the work queue: attempt 1, no error."""
    headers = _own_headers(properties.headers)
    for name in envelope.ERROR_HEADERS:
        headers.pop(name, None)
    headers[envelope.ATTEMPT] = 1
    replays = headers.get(envelope.REPLAYS)
    headers[envelope.REPLAYS] = (replays if isinstance(replays, int) else 0) + 1
    return _with_headers(properties, headers)


def _own_headers(headers: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (headers or {}).items() if not k.startswith("x-")}


def _with_headers(properties: Basic.Properties, headers: FieldTable) -> Basic.Properties:
    return Basic.Properties(
        content_type=properties.content_type,
        content_encoding=properties.content_encoding,
        headers=headers,
        delivery_mode=envelope.PERSISTENT,
        correlation_id=properties.correlation_id,
        message_id=properties.message_id,
        timestamp=properties.timestamp,
        message_type=properties.message_type,
        app_id=properties.app_id,
    )
