"""Drain the spool to RabbitMQ: oldest first, each row deleted only after its confirm.

One forwarder per spool file at a time (a lease in the file), in whichever worker process
holds it. Each round publishes a batch in arrival order on the gateway's confirm channel and
deletes the confirmed prefix; when a publish fails, the rest of the batch stays for the next
round, so events leave in the order they came. A publish that failed after reaching the broker
is sent again later: at least once, as everywhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from gateway.errors import PublishFailed
from gateway.message import build_properties
from gateway.metrics import GatewayMetrics
from gateway.publisher import Publisher
from gateway.spool import Spool, SpooledEvent
from providers import VerifiedEvent

_log = logging.getLogger("hookgate.spool")

_BATCH = 256
_IDLE = 0.5  # seconds between looks at the spool when there is nothing to do
_LEASE = 10.0


class Forwarder:
    def __init__(self, spool: Spool, publisher: Publisher, metrics: GatewayMetrics) -> None:
        self._spool = spool
        self._publisher = publisher
        self._metrics = metrics

    async def run(self) -> None:
        """Forward forever (cancel to stop); also keeps the spool metrics current."""
        while True:
            moved = 0
            try:
                totals = await self._spool.refresh()
                self._metrics.spool_state(totals.events, totals.bytes, totals.oldest_received_at)
                ready = totals.events and self._publisher.connected
                if ready and await self._spool.take_lease(_LEASE):
                    moved = await self._forward_batch()
            except asyncio.CancelledError:
                raise
            except Exception:
                _log.exception("spool forwarding failed; will retry")
            if not moved:
                await asyncio.sleep(_IDLE)

    async def _forward_batch(self) -> int:
        events = await self._spool.oldest(_BATCH)
        # Started in order on one channel: the broker receives them in arrival order.
        publishes = [asyncio.create_task(self._publish(event)) for event in events]
        confirmed: list[int] = []
        failed = None
        for event, publish in zip(events, publishes, strict=True):
            try:
                await publish
            except PublishFailed as err:
                failed = err
                break
            confirmed.append(event.seq)
        for publish in publishes[len(confirmed) :]:
            with contextlib.suppress(PublishFailed):
                await publish
        if confirmed:
            await self._spool.delete(confirmed)
            self._metrics.spool_forwarded.inc(len(confirmed))
            _log.info(
                "forwarded spooled events",
                extra={"fields": {"count": len(confirmed), "left": self._spool.totals.events}},
            )
        if failed is not None:
            _log.warning("forwarding paused", extra={"fields": {"error": str(failed)}})
        return len(confirmed)

    async def _publish(self, event: SpooledEvent) -> None:
        await self._publisher.publish(
            event.body,
            event.routing_key,
            build_properties(
                source=event.source,
                provider=event.provider,
                event=VerifiedEvent(id=event.event_id, type=event.event_type),
                headers=event.headers,
                received_at=event.received_at,
            ),
        )
