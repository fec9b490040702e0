"""Publish status messages (`hookgate.status`) without ever making the caller wait.

`emit` is a plain call on the hot path: it appends the message to a bounded buffer and
returns. When the buffer is full (the broker is down or slow for long), the message is dropped
and counted: the ledger is a view, the broker stays the source of truth, and an event must
never wait for its status. A background task owns a connection of its own
(`hookgate-status`), declares the status exchange, and sends what accumulated as one AMQP
message (`hookgate.status.encode_batch`), **without publisher confirms**, reconnecting with
backoff. Encoding happens there too, off the request's path. (A message per change cost the
gateway about 40% of its throughput in the benchmark; a batch costs almost nothing.)

Messages are sent transient (delivery mode 1): a status message that a broker restart loses
costs a line on a timeline, never an event, and a transient publish is cheaper. The
recorder's queue is a quorum queue, which stores every message it takes durably anyway.

Messages leave the buffer only once their publish was written to a live channel; a batch cut
short by a lost connection is sent again after the reconnect (a change sent twice is recorded
once: `StatusChange.key`). Without confirms, what was written just before a connection dropped
may still be lost: the view may miss a step, never an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable

import aiormq
from pamqp.commands import Basic

from hookgate.connect import BrokerNodes
from hookgate.status import BATCH_ROUTING_KEY, Message, encode_batch
from hookgate.topology import declare_status_exchange, status_exchange

_log = logging.getLogger("hookgate.status")

_RECONNECT_MIN, _RECONNECT_MAX = 0.25, 5.0
_CONNECT_TIMEOUT = 10.0
_ONE = Basic.Properties(content_type="application/json", delivery_mode=1)
_BATCH = Basic.Properties(content_type="application/x-ndjson", delivery_mode=1)


class StatusPublisher:
    """Buffered, unconfirmed publishes to `{exchange}.status`.

    `emitted` counts messages taken into the buffer, `dropped` those refused because it was
    full, `published` those written to the broker. The task sends a full batch (`batch`
    messages) at once, anything less after waiting `linger` seconds for more to gather.
    `counts`, when set, hears from the background task (never from `emit`) how many were
    emitted and dropped since it last did: the metrics, at no cost to the hot path."""

    def __init__(
        self,
        url: str,
        exchange: str,
        *,
        buffer: int = 10_000,
        batch: int = 256,
        linger: float = 0.05,
        name: str = "hookgate-status",
    ) -> None:
        self._url = url
        self._nodes = BrokerNodes(url)
        self._exchange = exchange
        self._status_exchange = status_exchange(exchange)
        self._max = buffer
        self._batch = batch
        self._linger = linger
        self._name = name
        self._buffer: deque[Message] = deque()
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.emitted = 0
        self.dropped = 0
        self.published = 0
        self.connected = False
        self.counts: Callable[[int, int], None] | None = None
        self._counted = (0, 0)
        #: Called first thing in `close`: a last word from whoever emits (pending tallies).
        self.before_close: list[Callable[[], None]] = []

    @property
    def pending(self) -> int:
        """Messages waiting in the buffer."""
        return len(self._buffer)

    def emit(self, message: Message) -> None:
        """Queue `message` for publishing; never waits. Dropped (and counted) when full."""
        if len(self._buffer) >= self._max or self._closing:
            self.dropped += 1
            return
        self._buffer.append(message)
        self.emitted += 1
        if not self._wake.is_set():
            self._wake.set()

    async def start(self) -> None:
        """Start the background task (it connects on its own; nothing here waits for it)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self._name)

    async def close(self, flush: float = 2.0) -> None:
        """Stop taking messages; publish what the buffer holds for up to `flush` seconds."""
        for last_word in self.before_close:
            last_word()
        self._closing = True
        task, self._task = self._task, None
        if task is None:
            return
        if self._buffer and self.connected:
            self._drained.clear()  # set again by the task once the buffer is empty
            self._wake.set()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(flush):
                    await self._drained.wait()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        self._report()

    def _report(self) -> None:
        if self.counts is None:
            return
        emitted, dropped = self._counted
        if self.emitted != emitted or self.dropped != dropped:
            self._counted = (self.emitted, self.dropped)
            self.counts(self.emitted - emitted, self.dropped - dropped)

    async def _run(self) -> None:
        delay = _RECONNECT_MIN
        while True:
            connection: aiormq.abc.AbstractConnection | None = None
            try:
                async with asyncio.timeout(_CONNECT_TIMEOUT):
                    connection = await self._nodes.connect(self._name)
                    channel = await self._channel(connection)
                self.connected = True
                delay = _RECONNECT_MIN
                await self._publish_forever(channel)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                _log.warning(
                    "status publisher: broker unreachable; retrying (events are unaffected)",
                    extra={"fields": {"error": f"{type(err).__name__}"[:200], "retry_in": delay}},
                )
            finally:
                self.connected = False
                if connection is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.shield(connection.close())
            self._report()
            await asyncio.sleep(delay)
            delay = min(delay * 2, _RECONNECT_MAX)

    async def _channel(
        self, connection: aiormq.abc.AbstractConnection
    ) -> aiormq.abc.AbstractChannel:
        channel = await connection.channel()
        try:
            await declare_status_exchange(channel, self._exchange)
        except aiormq.exceptions.ChannelAccessRefused:
            # A user that may only publish: someone else (`hookgate admin`) declares it.
            channel = await connection.channel()
        return channel

    async def _publish_forever(self, channel: aiormq.abc.AbstractChannel) -> None:
        buffer = self._buffer
        while True:
            self._report()
            if not buffer:
                self._drained.set()
                self._wake.clear()
                await self._wake.wait()
                if not self._closing:
                    # Let a batch gather: one message, not one per request, reaches the broker.
                    await asyncio.sleep(self._linger)
                continue
            self._drained.clear()
            if channel.is_closed:
                raise ConnectionError("status channel closed")
            count = min(len(buffer), self._batch)
            messages = [buffer[i] for i in range(count)]
            body, skipped = encode_batch(messages)
            if skipped:  # dropped, never retried
                self.dropped += skipped
                _log.warning(
                    "status: dropped messages that cannot be encoded",
                    extra={"fields": {"count": skipped}},
                )
            if skipped == count:
                for _ in range(count):
                    buffer.popleft()
                continue
            single = count == 1
            key = messages[0].routing_key if single else BATCH_ROUTING_KEY
            properties = _ONE if single else _BATCH
            await channel.basic_publish(
                body, exchange=self._status_exchange, routing_key=key, properties=properties
            )
            # Written: only now do they leave the buffer (emit only ever appends on the right).
            for _ in range(count):
                buffer.popleft()
            self.published += count - skipped
            if len(buffer) < self._batch and not self._closing:
                # Under load too, let the next batch gather rather than send a message per
                # few changes: at most one small message per `linger` (each write costs the
                # process about what the encoding of a whole batch does).
                await asyncio.sleep(self._linger)
