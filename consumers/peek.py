"""`hookgate peek QUEUE`: print a queue's messages without consuming them.

Messages are taken one at a time with `basic.get`, unacked, on one channel; closing the channel
hands every one of them back, in order. Nothing is acked, so nothing is lost if the command is
killed half way. A quorum queue counts each such return as a delivery (`x-delivery-count`): on a
work queue with a delivery limit, enough peeks would dead-letter the messages shown, so a queue
that is not a dead-letter, retry or unrouted queue needs `force`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from consumers import broker
from consumers.dlq import held
from consumers.errors import ConsumerError
from consumers.event import event_from_message
from hookgate.terminal import safe

# Queues hookgate declares without a delivery limit: peeking them costs nothing.
_NO_DELIVERY_LIMIT = re.compile(r".+\.(dead|unrouted|retry\.[0-9]+(ms|s|m|h))")


@dataclass(frozen=True)
class Peeked:
    """One message as it sits in the queue (left there)."""

    routing_key: str
    exchange: str
    redelivered: bool
    message_id: str | None
    content_type: str | None
    timestamp: datetime | None
    headers: Mapping[str, Any]
    body: bytes


def needs_force(queue: str) -> bool:
    """True for a queue that may have a delivery limit (a service's work queue, or not ours)."""
    return not _NO_DELIVERY_LIMIT.fullmatch(queue)


async def peek(url: str, queue: str, limit: int) -> tuple[int, list[Peeked]]:
    """The number of ready messages in `queue` and up to `limit` of them, left in place."""
    async with broker.connection(url, "hookgate-peek") as connection:
        state = await broker.queue_state(connection, queue)
        if not state.exists:
            raise ConsumerError(f"queue {queue!r}: {state.problem}")
        found: list[Peeked] = []
        channel = await connection.channel()
        async for message in held(channel, queue, min(state.ready, limit)):
            properties = message.header.properties
            found.append(
                Peeked(
                    routing_key=message.routing_key or "",
                    exchange=message.exchange or "",
                    redelivered=bool(message.redelivered),
                    message_id=properties.message_id,
                    content_type=properties.content_type,
                    timestamp=properties.timestamp,
                    headers=dict(properties.headers or {}),
                    body=message.body,
                )
            )
        await channel.close()  # hands every message back, in order
        return state.ready, found


async def report(url: str, queue: str, limit: int, body_bytes: int, force: bool) -> list[str]:
    """What `hookgate peek` prints. Raises `ConsumerError` for a queue that needs `force`."""
    shown_name = safe(queue)
    if needs_force(queue) and not force:
        raise ConsumerError(
            f"{shown_name!r} may be a work queue with a delivery limit: RabbitMQ counts each "
            "peek as a delivery of the messages shown and enough of them dead-letter those; "
            "add --force to peek anyway"
        )
    total, messages = await peek(url, queue, limit)
    shown = f", the first {len(messages)} (left in place):" if messages else ""
    lines = [f"{total} ready message(s) in {shown_name}{shown}"]
    for number, message in enumerate(messages, 1):
        lines.extend(describe(message, number, body_bytes))
    return lines


def describe(message: Peeked, number: int, body_bytes: int) -> list[str]:
    """The lines `hookgate peek` prints for one message; everything from it escaped."""
    event = event_from_message(
        message.body,
        message.headers,
        routing_key=message.routing_key,
        message_id=message.message_id,
    )
    redelivered = "yes" if message.redelivered else "no"
    lines = [
        f"#{number}  event {safe(event.id)}  {safe(event.source + '.' + event.type)}  "
        f"attempt {event.attempt}",
        f"    routing key {safe(message.routing_key) or '-'}  exchange "
        f"{safe(message.exchange) or '(default)'}  redelivered {redelivered}",
        f"    content type {safe(message.content_type or '-')}  "
        f"published {message.timestamp.isoformat() if message.timestamp else '-'}",
        "    headers:",
    ]
    for key, value in sorted(message.headers.items()):
        lines.append(f"      {safe(key)}: {safe(_short(value))}")
    preview = message.body[:body_bytes]
    more = len(message.body) - len(preview)
    lines.append(
        f"    body ({len(message.body)} bytes)"
        + (f", first {len(preview)}:" if more > 0 else ":")
        + ("" if body_bytes else " (not shown)")
    )
    if body_bytes:
        lines.append("      " + safe(preview) + ("…" if more > 0 else ""))
    return lines


def _short(value: Any, limit: int = 300) -> str:
    text = value.decode("utf-8", "backslashreplace") if isinstance(value, bytes) else str(value)
    return text if len(text) <= limit else text[:limit] + "…"
