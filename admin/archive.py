"""The archive of accepted events (`{exchange}.archive`, a stream: `hookgate.topology`):
declaring it, reading it back, and republishing what it holds to a service's work queue.

Reading a stream over AMQP 0.9.1: a consumer with a prefetch and `x-stream-offset` = a time
(the broker starts at the first chunk written at or after it); each delivery is acked, which
only gives credit (nothing is removed). AMQP has no "end of stream": a read stops when nothing
arrives for `Bounds.idle` seconds, or at a bound: `max_scan` messages, `seconds` of reading,
or a message received more than `horizon` after the wanted range (a spooled event reaches the
broker after later ones, so the read goes on past the range for that long).

The stream gets each event from the archive's inbox (`Archiver`, `admin.archiver`):
RabbitMQ 3.10 drops table-valued headers from stream messages, so the forwarded HTTP headers
travel in the stream as one JSON string and are put back as the table they were before
anything reads, verifies or republishes the event (`admin.archive_form`).

A copy is republished as `hookgate dlq replay` republishes a dead letter
(`consumers.messages.replay_copy`: attempt 1, the replay counter set), straight to the work
queue, publisher-confirmed; its signature is checked first with `[broker] message_key`.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aiormq
from aiormq.abc import DeliveredMessage
from pamqp.commands import Basic

from admin.archive_form import restored
from admin.queues import BrokerUnavailable
from consumers import authentication, broker
from consumers.errors import ConsumerError
from consumers.messages import replay_copy
from hookgate import envelope
from hookgate.errors import HookgateError, redact
from hookgate.topology import (
    archive_name,
    bind_archive,
    declare_archive,
    ensure_gateway_topology,
)

_CONNECTION_NAME = "hookgate-archive"
#: Read from this long before the wanted time: the stream stamps chunks with the broker's
#: clock, `received_at` is the gateway's (kept short: every second read before the wanted
#: time is a second's worth of traffic; about 4-5k messages/s are read on a small host).
LEAD = 10.0


@dataclass(frozen=True)
class Bounds:
    """How far one read of the archive may go."""

    idle: float = 1.0  # seconds without a delivery: the end of the stream
    seconds: float = 25.0
    max_scan: int = 2_000_000
    horizon: float = 6 * 3600.0
    prefetch: int = 2000


@dataclass
class ScanReport:
    """What a read saw. `ended`: "end" (it read to the end), "horizon", "limit" (the caller
    stopped it), or the bound that cut it short: "max_scan", "deadline"."""

    scanned: int = 0
    ended: str = ""
    #: `received_at` of the last message read (Unix time), where a next read may start
    last_received: float | None = None

    @property
    def complete(self) -> bool:
        return self.ended in ("end", "horizon", "limit")


@dataclass(frozen=True)
class Archived:
    """One archived event: its message as published, and what it says it is."""

    body: bytes
    properties: Basic.Properties
    event: envelope.Envelope
    #: why its signature does not verify with `[broker] message_key` ("" when it does)
    refusal: str = ""
    #: its position in the stream (`x-stream-offset`), for logs
    offset: int = field(default=-1)


class ArchiveView:
    """The archive as the admin API uses it: one short-lived connection per question."""

    def __init__(
        self,
        url: str,
        exchange: str,
        message_keys: Sequence[str] = (),
        *,
        bounds: Bounds | None = None,
    ) -> None:
        self._url = url
        self.stream = archive_name(exchange)
        self._keys = authentication.message_keys(message_keys)
        self.bounds = bounds or Bounds()

    def __repr__(self) -> str:
        return f"ArchiveView({self.stream!r}, url=..., message_keys=...)"

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[ArchiveSession]:
        """A connection for one replay; broker failures become `BrokerUnavailable`."""
        try:
            async with broker.connection(self._url, _CONNECTION_NAME) as connection:
                publisher = await connection.channel(publisher_confirms=True)
                yield ArchiveSession(self, connection, publisher)
        except (ConsumerError, *broker.AMQP_ERRORS) as err:
            text = str(err) if isinstance(err, HookgateError) else repr(err)
            raise BrokerUnavailable(f"archive: {redact(text, self._url)}") from err

    def check(self, message: DeliveredMessage) -> Archived:
        properties = copy.copy(message.header.properties)
        headers = restored(properties.headers or {})
        properties.headers = headers
        event = envelope.decode(
            headers,
            body=message.body,
            routing_key=message.routing_key or "",
            message_id=properties.message_id,
            timestamp=properties.timestamp,
        )
        offset = headers.get("x-stream-offset")
        return Archived(
            message.body,
            properties,
            event,
            authentication.refusal(self._keys, message.body, headers),
            offset if isinstance(offset, int) else -1,
        )


def _event(message: DeliveredMessage) -> envelope.Envelope:
    properties = message.header.properties
    return envelope.decode(
        properties.headers,
        body=message.body,
        routing_key=message.routing_key or "",
        message_id=properties.message_id,
        timestamp=properties.timestamp,
    )


class ArchiveSession:
    """One connection: read the archive, republish what was found."""

    def __init__(
        self,
        view: ArchiveView,
        connection: aiormq.abc.AbstractConnection,
        publisher: aiormq.abc.AbstractChannel,
    ) -> None:
        self._view = view
        self._connection = connection
        self._publisher = publisher

    async def scan(
        self,
        since: float,
        report: ScanReport,
        *,
        until: float | None = None,
        match: Callable[[envelope.Envelope], bool] = lambda _: True,
        bounds: Bounds | None = None,
    ) -> AsyncGenerator[Archived, None]:
        """Archived events that `match`, oldest first as the broker took them, from a little
        before `since`; past events received after `until` + `Bounds.horizon` it stops
        reading. Stops as `Bounds` says; `report` tells why."""
        bounds = bounds or self._view.bounds
        start = datetime.fromtimestamp(max(0.0, since - LEAD), UTC)
        inbox: asyncio.Queue[DeliveredMessage] = asyncio.Queue()
        channel = await self._connection.channel()
        try:
            await channel.basic_qos(prefetch_count=bounds.prefetch)
            await channel.basic_consume(
                self._view.stream, inbox.put, arguments={"x-stream-offset": start}
            )
            credit = max(1, bounds.prefetch // 4)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + bounds.seconds
            while True:
                remaining = deadline - loop.time()
                try:
                    async with asyncio.timeout(max(0.0, min(bounds.idle, remaining))):
                        message = await inbox.get()
                except TimeoutError:
                    report.ended = "end" if remaining > bounds.idle else "deadline"
                    return
                report.scanned += 1
                if report.scanned % credit == 0:  # acks only give credit; nothing is removed
                    await channel.basic_ack(message.delivery_tag or 0, multiple=True)
                event = _event(message)  # the headers a match needs, nothing verified yet
                report.last_received = event.received_at.timestamp()
                if until is not None and report.last_received > until + bounds.horizon:
                    report.ended = "horizon"
                    return
                if match(event):
                    yield self._view.check(message)
                if report.scanned >= bounds.max_scan:
                    report.ended = "max_scan"
                    return
        except aiormq.exceptions.ChannelNotFoundEntity as err:
            raise ConsumerError(
                f"the archive {self._view.stream!r} does not exist: `hookgate admin` declares "
                "it at startup when [ledger] archive = true"
            ) from err
        finally:
            if not channel.is_closed:
                with contextlib.suppress(*broker.AMQP_ERRORS):
                    await channel.close()

    async def find(
        self, source: str, event_id: str, received_at: float | None
    ) -> tuple[Archived | None, ScanReport]:
        """The archived event `source`/`event_id`: read from a little before `received_at`
        (from the start of the archive when the ledger does not know it)."""
        report = ScanReport()
        since = received_at if received_at is not None else 0.0

        def wanted(event: envelope.Envelope) -> bool:
            return event.source == source and event.id == event_id

        found = None
        async with contextlib.aclosing(
            self.scan(since, report, until=received_at, match=wanted)
        ) as scan:
            async for archived in scan:
                found = archived
                report.ended = "limit"
                break
        return found, report

    async def republish(self, archived: Archived, work_queue: str, replay: int) -> None:
        """Publish a replay copy (round `replay`) to `work_queue` and wait for its confirm."""
        properties = copy.copy(archived.properties)
        headers = dict(properties.headers or {})
        headers[envelope.REPLAYS] = replay - 1  # replay_copy counts this one
        properties.headers = headers
        try:
            result = await self._publisher.basic_publish(
                archived.body,
                routing_key=work_queue,
                properties=replay_copy(properties),
                mandatory=True,
                timeout=broker.TIMEOUT,
            )
        except aiormq.exceptions.PublishError as err:
            raise ConsumerError(f"work queue {work_queue!r} does not exist") from err
        if not isinstance(result, Basic.Ack):
            raise ConsumerError(f"the broker did not confirm the replay of {archived.event.id}")


async def declare(
    url: str,
    exchange: str,
    retention_days: float,
    max_bytes: int,
    patterns: Sequence[str],
) -> None:
    """Declare the archive and its inbox (and the ingress topology they hang from, or check
    it exists), bound to the unrouted exchange and with `patterns` (every announced service's);
    `hookgate admin` calls it at startup. Raises `HookgateError`."""
    async with broker.connection(url, _CONNECTION_NAME) as connection:
        await ensure_gateway_topology(connection, exchange)
        channel = await connection.channel()
        await declare_archive(channel, exchange, retention_days, max_bytes)
        await bind_archive(channel, exchange, patterns)


async def bind(url: str, exchange: str, patterns: Sequence[str]) -> None:
    """Bind the archive with a newly announced service's patterns."""
    async with broker.connection(url, _CONNECTION_NAME) as connection:
        await bind_archive(await connection.channel(), exchange, patterns)
