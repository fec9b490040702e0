"""Drain the spool to RabbitMQ: oldest first, each row deleted only after its confirm.

One forwarder per spool file at a time (a lease in the file, longer than any batch can take,
renewed before each batch and each delete, released at shutdown), in whichever worker process
holds it. Each round publishes a batch in arrival order on the gateway's confirm channel and
deletes every row the broker confirmed; a row whose publish failed stays for the next round.
Events therefore reach the broker in arrival order unless a publish fails mid-batch. A publish
that failed after reaching the broker is sent again later: at least once, as everywhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from gateway.message import build_properties
from gateway.metrics import GatewayMetrics
from gateway.publisher import Publisher
from gateway.spool import Spool, SpooledEvent
from providers import VerifiedEvent

_log = logging.getLogger("hookgate.spool")

_BATCH = 256
_IDLE = 0.5  # seconds between looks at the spool when there is nothing to do


class Forwarder:
    def __init__(
        self,
        spool: Spool,
        publisher: Publisher,
        metrics: GatewayMetrics,
        *,
        lease: float,
        message_key: bytes | None = None,
    ) -> None:
        self._spool = spool
        self._message_key = message_key
        self._publisher = publisher
        self._metrics = metrics
        self._lease = lease

    async def run(self) -> None:
        """Forward forever (cancel to stop); also keeps the spool metrics current."""
        try:
            while True:
                moved = 0
                try:
                    totals = await self._spool.refresh()
                    self._metrics.spool_state(
                        totals.events, totals.bytes, totals.oldest_received_at
                    )
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

    async def _forward_batch(self) -> int:
        events = await self._spool.oldest(_BATCH)
        # Started in order on one channel: the broker receives them in arrival order.
        publishes = [asyncio.create_task(self._publish(event)) for event in events]
        results = await asyncio.gather(*publishes, return_exceptions=True)
        confirmed = [e.seq for e, result in zip(events, results, strict=True) if result is None]
        failures = [r for r in results if isinstance(r, BaseException)]
        if confirmed:
            # Still ours? Another worker takes over only once the lease has run out.
            if not await self._spool.take_lease(self._lease):
                _log.warning("lost the spool lease mid-batch; another worker forwards now")
            await self._spool.delete(confirmed)
            self._metrics.spool_forwarded.inc(len(confirmed))
            _log.info(
                "forwarded spooled events",
                extra={"fields": {"count": len(confirmed), "left": self._spool.totals.events}},
            )
        if failures:
            error = failures[0]
            _log.warning(
                "forwarding paused",
                extra={
                    "fields": {"failed": len(failures), "error": f"{type(error).__name__}: {error}"}
                },
            )
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
                message_key=self._message_key,
                body=event.body,
            ),
        )
