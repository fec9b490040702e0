"""Drain the spool to RabbitMQ: oldest first, each row deleted only after its confirm, and a
row that can never be published moved aside rather than retried at the head forever.

One forwarder per spool file at a time (a lease in the file, longer than any batch can take,
renewed before each batch and each delete, released at shutdown), in whichever worker process
holds it. Each round publishes a batch in arrival order on the gateway's confirm channel and
deletes every row the broker confirmed; a row whose publish failed stays for the next round.
Events therefore reach the broker in arrival order unless a publish fails mid-batch. A publish
that failed after reaching the broker is sent again later: at least once, as everywhere else.

Quarantine: when a row is the row's own fault. A row is moved to the spool's quarantine table
(in one transaction: it is never in neither table) when its failure is deterministic:

- at once, when its message cannot be encoded at all (pamqp refuses a property, e.g. an event
  ID over 255 bytes, or the routing key is too long): nothing was sent, and nothing will change;
- after `STRIKES` strikes, when RabbitMQ closed the connection or channel blaming what it was
  sent (501 FRAME_ERROR, e.g. properties larger than `frame_max`; 502 SYNTAX_ERROR;
  503 COMMAND_INVALID; 505 UNEXPECTED_FRAME; 406 PRECONDITION_FAILED, e.g. over
  `max_message_size`) while the row was published alone. Such a close fails every publish in
  flight, so it blames no one in a batch: the forwarder then publishes the rows of that batch
  one at a time until it has passed them, and only a row published alone can earn a strike.
  Strikes are kept in the file, so restarts do not reset them. A good row next to a poison one
  costs one extra round trip, never a strike.

Never the row's fault, never counted: the broker down, blocked by an alarm, a confirm timeout,
a dropped socket, a nack, a refused exchange. Those stop forwarding until the broker is healthy,
and the spool reports it: `stalled_seconds` (and `/readyz`) say how long the spool has held
events with the broker connected and none has left it. A row quarantined wrongly (a live
request's publish killing the same connection at that instant, which the gateway's own size
checks make rare) is kept whole: `hookgate spool retry SEQ` puts it back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time

import aiormq
from pamqp.commands import Basic

from gateway.errors import PublishFailed
from gateway.message import build_properties
from gateway.metrics import GatewayMetrics
from gateway.publisher import EventPublisher
from gateway.spool import Spool, SpooledEvent, SpoolTotals
from hookgate.observe import ForwardOutcome, ForwardRecord, Observer
from providers import VerifiedEvent

_log = logging.getLogger("hookgate.spool")

_BATCH = 256
_IDLE = 0.5  # seconds between looks at the spool when there is nothing to do
STRIKES = 3
_MAX_ROUTING_KEY = 255  # AMQP shortstr
# Broker closes that blame the frames it was sent, not the network or the broker's own state.
_BLAMES_CONTENT = (
    aiormq.exceptions.ConnectionFrameError,
    aiormq.exceptions.ConnectionSyntaxError,
    aiormq.exceptions.ConnectionCommandInvalid,
    aiormq.exceptions.ConnectionUnexpectedFrame,
    aiormq.exceptions.ChannelPreconditionFailed,
)


class Forwarder:
    """`observer` hears each event forwarded or quarantined (default: `metrics` alone)."""

    def __init__(
        self,
        spool: Spool,
        publisher: EventPublisher,
        metrics: GatewayMetrics,
        *,
        lease: float,
        message_key: bytes | None = None,
        observer: Observer | None = None,
    ) -> None:
        self._spool = spool
        self._message_key = message_key
        self._publisher = publisher
        self._metrics = metrics
        self._observer = observer if observer is not None else metrics
        self._lease = lease
        self._one_at_a_time_through = 0  # rows up to this seq are published alone
        self._removed: int | None = None  # the file's count of rows that ever left
        self._stalled = 0.0
        self._looked_at = time.monotonic()

    @property
    def stalled_seconds(self) -> float:
        """How long the spool has held events while the broker was connected and none has
        left it (forwarded, quarantined or dropped), in any worker. 0 while it drains."""
        return self._stalled

    async def run(self) -> None:
        """Forward forever (cancel to stop); also keeps the spool metrics current."""
        try:
            while True:
                moved = 0
                try:
                    totals = await self._spool.refresh()
                    self._watch(totals, time.monotonic())
                    self._metrics.spool_state(totals, self._stalled)
                    ready = totals.events and self._publisher.connected
                    if ready and await self._spool.take_lease(self._lease):
                        moved = await self._forward_batch()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    _log.exception("spool forwarding failed; will retry")
                if not moved:
                    await asyncio.sleep(_IDLE)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._spool.release_lease())

    def _watch(self, totals: SpoolTotals, now: float) -> None:
        """Count connected time without progress. Time with the broker down does not count
        (the broker is the problem, and says so), but does not reset the count either: a row
        that kills the connection each time must not hide behind the reconnects it causes."""
        elapsed, self._looked_at = now - self._looked_at, now
        if not totals.events or totals.removed != self._removed:
            self._stalled = 0.0
        elif self._publisher.connected:
            self._stalled += elapsed
        self._removed = totals.removed

    async def _forward_batch(self) -> int:
        events = await self._spool.oldest(_BATCH)
        if events and (events[0].seq <= self._one_at_a_time_through or events[0].strikes):
            events = events[:1]
        moved = 0
        sendable: list[tuple[SpooledEvent, Basic.Properties]] = []
        for event in events:
            properties, problem = _encode(
                event, self._message_key, self._publisher.max_properties_bytes
            )
            if properties is None:
                moved += await self._quarantine(event, f"cannot be encoded for AMQP: {problem}")
            else:
                sendable.append((event, properties))
        # Started in order on one channel: the broker receives them in arrival order.
        sent_at = time.time()
        publishes = [asyncio.create_task(self._publish(e, p)) for e, p in sendable]
        results = await asyncio.gather(*publishes, return_exceptions=True)
        outcomes = [(e, r) for (e, _), r in zip(sendable, results, strict=True)]
        confirmed = [e for e, result in outcomes if result is None]
        failed = [(e, result) for e, result in outcomes if result is not None]
        if confirmed:
            # Still ours? Another worker takes over only once the lease has run out.
            if not await self._spool.take_lease(self._lease):
                _log.warning("lost the spool lease mid-batch; another worker forwards now")
            await self._spool.delete([e.seq for e in confirmed])
            for e in confirmed:
                self._observer.on_forwarded(
                    ForwardRecord(
                        e.source,
                        e.event_id,
                        ForwardOutcome.FORWARDED,
                        e.event_type,
                        e.received_at,
                        sent_at,
                    )
                )
            _log.info(
                "forwarded spooled events",
                extra={"fields": {"count": len(confirmed), "left": self._spool.totals.events}},
            )
        if failed:
            moved += await self._after_failures(failed, alone=len(sendable) == 1)
        return moved + len(confirmed)

    async def _after_failures(
        self, failed: list[tuple[SpooledEvent, BaseException]], *, alone: bool
    ) -> int:
        event, error = failed[0]
        _log.warning(
            "forwarding paused",
            extra={"fields": {"failed": len(failed), "error": _describe(error)}},
        )
        blamed = next((e.__cause__ for _, e in failed if _blames_content(e)), None)
        if blamed is None:
            return 0
        if not alone:
            self._one_at_a_time_through = max(e.seq for e, _ in failed)
            return 0
        strikes = await self._spool.strike(event.seq)
        if strikes < STRIKES:
            return 0
        reason = (
            f"the broker closed the connection each of the {strikes} times it was published "
            f"alone: {_describe(blamed)}"
        )
        return await self._quarantine(event, reason)

    async def _quarantine(self, event: SpooledEvent, reason: str) -> int:
        moved = await self._spool.quarantine(event.seq, reason[:500])
        if moved:
            self._observer.on_forwarded(
                ForwardRecord(
                    event.source,
                    event.event_id,
                    ForwardOutcome.QUARANTINED,
                    event.event_type,
                    event.received_at,
                )
            )
            _log.error(
                "quarantined a spooled event: it can never be published as it is",
                extra={
                    "fields": {
                        "seq": event.seq,
                        "source": event.source,
                        "event_id": event.event_id,
                        "reason": reason[:500],
                    }
                },
            )
        return int(moved)

    async def _publish(self, event: SpooledEvent, properties: Basic.Properties) -> None:
        await self._publisher.publish(event.body, event.routing_key, properties)


def _encode(
    event: SpooledEvent, message_key: bytes | None, limit: int
) -> tuple[Basic.Properties | None, str]:
    """The row's message properties, encoded once here: what pamqp cannot encode, no broker
    will ever take (and aiormq would raise it outside the publisher's error handling); what
    does not fit the connected broker's frame, it would refuse by closing the connection."""
    try:
        properties = build_properties(
            source=event.source,
            provider=event.provider,
            event=VerifiedEvent(id=event.event_id, type=event.event_type),
            headers=event.headers,
            received_at=event.received_at,
            message_key=message_key,
            body=event.body,
        )
        size = len(properties.marshal())
    except (TypeError, ValueError, OverflowError, struct.error) as err:
        return None, _describe(err)
    if size > limit:
        return None, f"its properties ({size} bytes) do not fit the broker's frame ({limit})"
    return properties, ""


def _blames_content(error: BaseException) -> bool:
    return isinstance(error, PublishFailed) and isinstance(error.__cause__, _BLAMES_CONTENT)


def _describe(error: BaseException | None) -> str:
    return f"{type(error).__name__}: {error}"[:300]
