"""Inspect, replay and purge a service's dead-letter queue (`hookgate dlq`).

Reading never consumes: messages are taken unacked and handed back by closing the channel,
which keeps their order in the quorum queue. Replay publishes each chosen message back to the
work queue (attempt 1, error headers removed), waits for the broker's confirm, and only then
acks it off the dead-letter queue: a replay interrupted at any point loses nothing. With message
keys given, a message whose signature does not verify is not replayed (it stays in the
dead-letter queue): a dead-letter queue is no back door for forged events.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import aiormq
from aiormq.abc import DeliveredMessage
from pamqp.commands import Basic

from consumers import authentication, broker
from consumers.errors import ConsumerError
from consumers.event import event_from_message
from consumers.messages import replay_copy
from hookgate import envelope

_TIMEOUT = broker.TIMEOUT


@dataclass(frozen=True)
class DeadLetter:
    """One parked event and why it failed."""

    event_id: str
    source: str
    type: str
    attempt: int
    error_type: str
    error_message: str
    traceback: str
    failed_at: str
    handler: str
    reason: str
    body: bytes
    content_type: str | None
    headers: Mapping[str, Any]

    @classmethod
    def from_message(cls, message: DeliveredMessage) -> DeadLetter:
        properties = message.header.properties
        headers = dict(properties.headers or {})
        event = event_from_message(
            message.body,
            headers,
            routing_key=message.routing_key or "",
            message_id=properties.message_id,
        )
        reason = _text(headers.get(envelope.DEAD_REASON))
        error_type = _text(headers.get(envelope.ERROR_TYPE))
        error_message = _text(headers.get(envelope.ERROR_MESSAGE))
        if not error_type:  # dead-lettered by the broker, not by a worker
            reason, error_type, error_message = _broker_death(headers)
        return cls(
            event_id=event.id,
            source=event.source,
            type=event.type,
            attempt=event.attempt,
            error_type=error_type,
            error_message=error_message,
            traceback=_text(headers.get(envelope.ERROR_TRACEBACK)),
            failed_at=_text(headers.get(envelope.FAILED_AT)) or _death_time(headers),
            handler=_text(headers.get(envelope.HANDLER)),
            reason=reason,
            body=message.body,
            content_type=properties.content_type,
            headers=headers,
        )


async def peek(url: str, queue: str, limit: int) -> tuple[int, list[DeadLetter]]:
    """The number of messages in `queue` and up to `limit` of them, left in place."""
    async with _channel(url) as channel:
        total = await _depth(channel, queue)
        found: list[DeadLetter] = []
        if total and limit:
            async for message in held(channel, queue, min(total, limit)):
                found.append(DeadLetter.from_message(message))
        return total, found


async def find(url: str, queue: str, event_id: str) -> DeadLetter | None:
    """The dead letter for `event_id`, left in place, or `None`."""
    async with _channel(url) as channel:
        total = await _depth(channel, queue)
        async for message in held(channel, queue, total):
            letter = DeadLetter.from_message(message)
            if letter.event_id == event_id:
                return letter
    return None


async def replay(
    url: str,
    queue: str,
    work_queue: str,
    event_ids: Collection[str] | None,
    progress: Callable[[DeadLetter], None] | None = None,
    *,
    message_keys: Iterable[str | bytes] = (),
    refused: Callable[[DeadLetter, str], None] | None = None,
    source: str | None = None,
) -> int:
    """Move the chosen dead letters (all when `event_ids` is None) back to `work_queue`.

    With `message_keys`, a chosen message that does not verify is left where it is and
    reported to `refused` with the reason. With `source`, only that source's letters are
    chosen (an event ID is unique within its source, not across sources)."""
    keys = authentication.message_keys(message_keys)
    connection = await _connect(url)
    try:
        publisher = await connection.channel(publisher_confirms=True)
        channel = await connection.channel()
        await _depth(channel, work_queue)  # the work queue must exist
        total = await _depth(channel, queue)
        moved = 0
        async for message in held(channel, queue, total):
            letter = DeadLetter.from_message(message)
            if (event_ids is not None and letter.event_id not in event_ids) or (
                source is not None and letter.source != source
            ):
                continue  # handed back when the channel closes
            why = authentication.refusal(keys, message.body, message.header.properties.headers)
            if why:
                if refused is not None:
                    refused(letter, why)
                continue  # handed back too
            result = await publisher.basic_publish(
                message.body,
                routing_key=work_queue,
                properties=replay_copy(message.header.properties),
                mandatory=True,
                timeout=_TIMEOUT,
            )
            if not isinstance(result, Basic.Ack):
                raise ConsumerError(f"the broker did not confirm the replay of {letter.event_id}")
            await channel.basic_ack(message.delivery_tag or 0)
            moved += 1
            if progress is not None:
                progress(letter)
        return moved
    except (aiormq.exceptions.AMQPError, ConnectionError, OSError, TimeoutError) as err:
        raise ConsumerError(f"replay stopped: {type(err).__name__}: {err}") from err
    finally:
        await broker.close(connection)


async def purge(url: str, queue: str) -> int:
    """Delete every message in `queue`; the number deleted."""
    async with _channel(url) as channel:
        await _depth(channel, queue)
        result = await channel.queue_purge(queue)
        return int(result.message_count or 0)


async def depth(url: str, queue: str) -> int:
    async with _channel(url) as channel:
        return await _depth(channel, queue)


async def held(
    channel: aiormq.abc.AbstractChannel, queue: str, count: int
) -> AsyncIterator[DeliveredMessage]:
    """Up to `count` messages from `queue`, one at a time, unacked (so in order, and handed
    back when the channel closes). `basic.get` is not bounded by a prefetch window, so a scan
    reaches past any number of held messages while this process keeps only what it needs."""
    for _ in range(count):
        message = await channel.basic_get(queue, no_ack=False, timeout=_TIMEOUT)
        if message.delivery_tag is None:  # Basic.GetEmpty: the rest is held by someone else
            return
        yield message


async def _depth(channel: aiormq.abc.AbstractChannel, queue: str) -> int:
    try:
        declared = await channel.queue_declare(queue, passive=True)
    except aiormq.exceptions.ChannelNotFoundEntity as err:
        raise ConsumerError(
            f"queue {queue!r} does not exist: is the service name right? "
            "(hookgate topology declare --service MODULE:SERVICE creates it)"
        ) from err
    return int(declared.message_count or 0)


@contextlib.asynccontextmanager
async def _channel(url: str) -> AsyncIterator[aiormq.abc.AbstractChannel]:
    async with broker.connection(url, "hookgate-dlq") as connection:
        yield await connection.channel()


async def _connect(url: str) -> aiormq.abc.AbstractConnection:
    return await broker.connect(url, "hookgate-dlq")


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else ""


def _broker_death(headers: Mapping[str, Any]) -> tuple[str, str, str]:
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], Mapping):
        reason = _text(deaths[0].get("reason"))
        queue = _text(deaths[0].get("queue"))
        if reason == "delivery_limit":
            return (
                "delivery_limit",
                "DeliveryLimitExceeded",
                f"delivered too often from {queue} without an answer: "
                "the worker crashed, was killed or lost its connection each time",
            )
        return reason, "DeadLettered", f"dead-lettered by the broker from {queue} ({reason})"
    return "unknown", "", ""


def _death_time(headers: Mapping[str, Any]) -> str:
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], Mapping):
        when = deaths[0].get("time")
        if when is not None:
            return str(when.isoformat() if hasattr(when, "isoformat") else when)
    return ""
