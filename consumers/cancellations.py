"""What a consumer process knows of operators' cancels: `CancelSet`, filled by `CancelReader`
from the stream `{exchange}.cancellations` (`hookgate.cancel`, `hookgate.topology`).

The dispatcher asks the set about every delivery (one dict lookup) before the idempotency
store and the handler: a cancelled event is acked and skipped, outcome `cancelled`. Checking
at receipt covers every place an event waits: a retry tier dead-letters it back into the work
queue when its time is up, and it is checked then.

The reader consumes the stream from its first message, so a process started after a cancel
knows it too. `caught_up` is set once the stream stopped delivering for `settle` seconds (a
stream's declare does not tell its length), or after `catch_up_limit`: `hookgate consume`
waits for it before it consumes work. After a lost connection it goes on from the next offset.

It declares the stream where its user may (a development broker's). A least-privilege
service user may only read it (`consumers.permissions`: configure would let one service delete
every service's cancels): the refused declare is passed over and the reader consumes the
stream `hookgate admin` declared; while there is none yet (admin declares it at its first
cancel) there is nothing to skip, so the reader counts as caught up and looks again every few
seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import aiormq
from aiormq.abc import DeliveredMessage

from hookgate.cancel import Cancellation, decode
from hookgate.connect import BrokerNodes
from hookgate.errors import TopologyError
from hookgate.topology import CANCEL_RETENTION, cancel_stream, declare_cancel_stream

_log = logging.getLogger("hookgate.consumer")
_RECONNECT_MIN, _RECONNECT_MAX = 0.25, 5.0
_CONNECT_TIMEOUT = 10.0
_AMQP_ERRORS = (aiormq.exceptions.AMQPError, ConnectionError, OSError, RuntimeError)


class CancelSet:
    """(source, event ID) → {service: replay round}, bounded: at most `limit` events, each
    kept `retention` seconds after its cancel (the stream keeps them as long)."""

    def __init__(self, limit: int = 200_000, retention: float = CANCEL_RETENTION) -> None:
        self._limit = limit
        self._retention = retention
        self._events: dict[tuple[str, str], tuple[dict[str, int], float]] = {}

    def __len__(self) -> int:
        return len(self._events)

    def add(self, cancel: Cancellation, now: float | None = None) -> None:
        now = time.time() if now is None else now
        if cancel.at < now - self._retention:
            return
        key = (cancel.source, cancel.event_id)
        known = self._events.pop(key, None)
        services = {**known[0], **cancel.services} if known else dict(cancel.services)
        self._events[key] = (services, cancel.at)  # last in: the dict stays in cancel order
        while len(self._events) > self._limit or self._expired(now):
            del self._events[next(iter(self._events))]

    def covers(self, source: str, event_id: str, service: str, replays: int) -> bool:
        """Whether this delivery (the `replays`-th replay of the event) is cancelled for
        `service`. The hot path: one dict lookup when the event was not cancelled."""
        found = self._events.get((source, event_id))
        if found is None:
            return False
        cancelled = found[0].get(service)
        return cancelled is not None and replays <= cancelled

    def _expired(self, now: float) -> bool:
        if not self._events:
            return False
        oldest = next(iter(self._events.values()))
        return oldest[1] < now - self._retention


class CancelReader:
    """Reads the cancel stream into `cancels` until cancelled (run it as a task)."""

    def __init__(
        self,
        url: str,
        exchange: str,
        cancels: CancelSet,
        *,
        settle: float = 0.25,
        catch_up_limit: float = 2.0,
        name: str = "hookgate-cancellations",
    ) -> None:
        self._url = url
        self._nodes = BrokerNodes(url)
        self._exchange = exchange
        self._stream = cancel_stream(exchange)
        self.cancels = cancels
        self._settle = settle
        self._limit = catch_up_limit
        self._name = name
        self._next: int | str = "first"
        self._last_delivery = time.monotonic()
        #: Set once what the stream held at start was read (or `catch_up_limit` passed).
        self.caught_up = asyncio.Event()
        self.read = 0

    async def wait_caught_up(self) -> None:
        """Until caught up, at most `catch_up_limit` seconds from now."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._limit):
                await self.caught_up.wait()
        if not self.caught_up.is_set():
            _log.warning(
                "cancellations: not caught up in time; consuming anyway",
                extra={"fields": {"stream": self._stream, "read": self.read}},
            )
            self.caught_up.set()

    async def run(self) -> None:
        delay = _RECONNECT_MIN
        while True:
            try:
                await self._session()
                delay = _RECONNECT_MIN
            except aiormq.exceptions.ChannelNotFoundEntity:
                # This user may not declare it, and nothing was cancelled yet (`hookgate
                # admin` declares it at its first cancel).
                if not self.caught_up.is_set():
                    _log.info("cancellations: no cancel stream yet", extra={"fields": {}})
                    self.caught_up.set()
                delay = _RECONNECT_MAX
            except (*_AMQP_ERRORS, TimeoutError) as err:
                _log.warning(
                    "cancellations: broker unreachable; retrying",
                    extra={"fields": {"error": f"{type(err).__name__}: {err}"[:300]}},
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, _RECONNECT_MAX)

    async def _session(self) -> None:
        async with asyncio.timeout(_CONNECT_TIMEOUT):
            connection = await self._nodes.connect(self._name)
        try:
            async with asyncio.timeout(_CONNECT_TIMEOUT):
                channel = await self._channel(connection)
                await channel.basic_qos(prefetch_count=500)  # a stream needs a prefetch
                self._last_delivery = time.monotonic()
                cancelled: asyncio.Future[None] = asyncio.get_running_loop().create_future()

                def on_cancel(_: object) -> None:
                    if not cancelled.done():
                        cancelled.set_result(None)

                channel.on_consumer_cancel_callbacks.add(on_cancel)
                await channel.basic_consume(
                    self._stream,
                    lambda message: self._take(channel, message),
                    arguments={"x-stream-offset": self._next},
                )
            watching = asyncio.create_task(self._watch_catch_up())
            try:
                await asyncio.wait(
                    [connection.closing, channel.closing, cancelled],
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if cancelled.done():  # the stream was deleted: a new one starts at 0
                    self._next = "first"
                    _log.warning("cancellations: the stream went away; reading it again")
            finally:
                watching.cancel()
        finally:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await connection.close()

    async def _channel(
        self, connection: aiormq.abc.AbstractConnection
    ) -> aiormq.abc.AbstractChannel:
        channel = await connection.channel()
        try:
            await declare_cancel_stream(channel, self._exchange)
        except TopologyError:  # a user that may only read it: hookgate admin declares it
            channel = await connection.channel()
        return channel

    async def _watch_catch_up(self) -> None:
        while not self.caught_up.is_set():
            await asyncio.sleep(self._settle / 5)
            if time.monotonic() - self._last_delivery >= self._settle:
                self.caught_up.set()

    async def _take(self, channel: aiormq.abc.AbstractChannel, message: DeliveredMessage) -> None:
        self._last_delivery = time.monotonic()
        offset = (message.header.properties.headers or {}).get("x-stream-offset")
        if isinstance(offset, int):
            self._next = offset + 1
        try:
            self.cancels.add(decode(message.body))
            self.read += 1
        except ValueError as err:
            _log.warning(
                "cancellations: skipped a bad message", extra={"fields": {"error": str(err)}}
            )
        await channel.basic_ack(message.delivery_tag or 0)
