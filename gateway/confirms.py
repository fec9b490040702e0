"""Confirmed publishes on an aiormq channel, without aiormq's per-publish machinery.

aiormq's `Channel.basic_publish` takes a lock, opens two context managers (a timeout and a
channel-close guard), builds and marshals three frame objects, queues them for its writer task,
and then waits for the writer to drain the socket, before it even waits for the confirm: a
third of the gateway's CPU per request went there, and one socket write per message. Here a
publish is a few dictionary operations and one `bytes` join:

- The frames (method, content header, body) are laid out by hand (`publish_frames`, byte for
  byte what pamqp writes; a test pins it).
- The publishes made in one turn of the event loop leave in one write: they are buffered, and
  handed to aiormq's writer queue once, at the end of the turn (`loop.call_soon`), in the order
  their delivery tags were given. Nothing is written between giving a tag and queueing its
  frames but other publishes of this channel, so the broker numbers them as we did.
- The confirm itself is still aiormq's: each publish registers a future under its delivery tag
  in `channel.confirmations` (and its message ID, so that a `Basic.Return` of a mandatory
  message fails it with `PublishError`), and aiormq's reader resolves it on `Basic.Ack`/`Nack`.
- One timer, not one per publish, fails the publishes that outlive `timeout`: pending
  publishes are kept in tag order, which is also deadline order.
- When the channel closes, every publish still waiting fails with `ConnectionError`.

Only the public attributes of aiormq's `Connection` and `Channel` are used (`write_queue`,
`delivery_tag`, `confirmations`, `message_id_delivery_tag`, `number`, `max_content_size`,
`closing`); the gateway's integration tests publish through this path to a real broker.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Any

import aiormq
from aiormq.abc import ChannelFrame
from pamqp.commands import Basic

_U32 = struct.Struct(">I").pack
_CHANNEL_SIZE = struct.Struct(">HI").pack  # channel number, payload size
_HEADER_START = struct.Struct(">HHQ").pack  # class (60), weight (0), body size
_METHOD_START = b"\x00\x3c\x00\x28\x00\x00"  # Basic (60) . Publish (40), reserved ticket 0
_MANDATORY = b"\x01"
_FRAME_END = b"\xce"
_METHOD, _HEADER, _BODY = b"\x01", b"\x02", b"\x03"


def shortstr(value: str) -> bytes:
    data = value.encode()
    if len(data) > 255:
        raise ValueError("an AMQP short string holds at most 255 bytes")
    return bytes((len(data),)) + data


def publish_frames(
    channel: int,
    exchange: bytes,
    routing_key: str,
    properties: bytes,
    body: bytes,
    max_content: int,
) -> list[bytes]:
    """The frames of one mandatory `Basic.Publish`: `exchange` as a short string
    (`shortstr`), `properties` marshalled, `body` split into frames of at most `max_content`
    bytes (no body frame for an empty body)."""
    method = _METHOD_START + exchange + shortstr(routing_key) + _MANDATORY
    header = _HEADER_START(60, 0, len(body)) + properties
    frames = [
        _METHOD + _CHANNEL_SIZE(channel, len(method)) + method + _FRAME_END,
        _HEADER + _CHANNEL_SIZE(channel, len(header)) + header + _FRAME_END,
    ]
    for start in range(0, len(body), max_content):
        chunk = body[start : start + max_content]
        frames += (_BODY + _CHANNEL_SIZE(channel, len(chunk)), chunk, _FRAME_END)
    return frames


class ConfirmChannel:
    """Publishes to one exchange on an open aiormq channel in confirm mode (this object is its
    only publisher). Build a new one for each new channel."""

    def __init__(
        self,
        connection: aiormq.abc.AbstractConnection,
        channel: aiormq.Channel,
        exchange: str,
        *,
        timeout: float,
    ) -> None:
        if not channel.publisher_confirms:
            raise ValueError("the channel is not in confirm mode")
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[ChannelFrame] = connection.write_queue
        self._channel = channel
        self._number = channel.number
        self._exchange = shortstr(exchange)
        self._max_content = channel.max_content_size
        self._timeout = timeout
        self._buffer: list[bytes] = []
        self._flush_scheduled = False
        self._putting: asyncio.Task[None] | None = None  # the writer queue was full
        # Tag -> (future, deadline), in tag order: the first entry is the oldest.
        self._pending: dict[int, tuple[asyncio.Future[Any], float]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False
        channel.closing.add_done_callback(self._on_close)

    async def publish(
        self, body: bytes, routing_key: str, properties: Basic.Properties
    ) -> Basic.Ack | Basic.Nack | Basic.Reject:
        """Publish and wait for the broker's answer. Raises `TimeoutError` after `timeout`
        seconds, `aiormq.exceptions.PublishError` when the broker returned the message
        (mandatory, unroutable), `ConnectionError` when the channel closed first."""
        if self._closed:
            raise ConnectionError("the channel is closed")
        # The frames first: should anything raise, no delivery tag has been taken. A tag
        # taken for a message never sent would shift every later confirm onto the wrong one.
        frames = publish_frames(
            self._number,
            self._exchange,
            routing_key,
            properties.marshal(),
            body,
            self._max_content,
        )
        channel = self._channel
        channel.delivery_tag += 1
        tag = channel.delivery_tag
        future: asyncio.Future[Any] = self._loop.create_future()
        channel.confirmations[tag] = future
        message_id = properties.message_id
        if message_id:
            channel.message_id_delivery_tag[message_id] = tag
        deadline = self._loop.time() + self._timeout
        self._pending[tag] = (future, deadline)
        if self._timer is None:
            self._timer = self._loop.call_at(deadline, self._expire)
        self._buffer += frames
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)
        try:
            result: Basic.Ack | Basic.Nack | Basic.Reject = await future
            return result
        finally:
            del self._pending[tag]
            if message_id and channel.message_id_delivery_tag.get(message_id) == tag:
                del channel.message_id_delivery_tag[message_id]

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._putting is not None or not self._buffer or self._closed:
            return  # the waiting put flushes again when it is done
        frame = ChannelFrame(payload=b"".join(self._buffer), should_close=False)
        self._buffer.clear()
        try:
            self._queue.put_nowait(frame)
        except asyncio.QueueFull:
            self._putting = self._loop.create_task(self._put(frame))

    async def _put(self, frame: ChannelFrame) -> None:
        try:
            await self._queue.put(frame)
        finally:
            self._putting = None
        self._flush()

    def _expire(self) -> None:
        """Fail the publishes past their deadline; wake again at the next deadline."""
        self._timer = None
        now = self._loop.time()
        for future, deadline in self._pending.values():
            if deadline > now:
                self._timer = self._loop.call_at(deadline, self._expire)
                return
            if not future.done():
                future.set_exception(TimeoutError(f"no confirm within {self._timeout:g}s"))
                # A late answer for this tag is then ignored by aiormq (with a log line).

    def _on_close(self, _: object) -> None:
        self._closed = True
        self._buffer.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for future, _deadline in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError("the channel closed before the confirm"))
