"""The recorder: status messages from the broker into the ledger.

It declares the status exchange (`{broker.exchange}.status`) and a durable quorum queue of its
own (`{broker.exchange}.status.ledger`) bound with `#`, and consumes with a prefetch. Messages
are taken in batches: each batch is decoded, written with one `ledger.record` call, and acked
(all at once) only after the ledger confirmed it. A ledger outage holds the batch and retries
it with backoff, never acks it: nothing is dropped, and the prefetch bounds what waits in
memory; if the connection goes meanwhile, the broker hands the messages back. A message may
carry a batch of changes (`hookgate.status.decode_batch`); a line that is not a status message
is counted and skipped: it would never decode.

A service announcement is remembered (`ledger.announce`) and kept here too: an `accepted`,
`forwarded` or `replayed` change adds a `queued` change, at the same time, for each announced
service whose handlers' patterns match the event's routing key. `on_announce` hears each
announcement too (`hookgate admin` binds the archive with the service's patterns); its
failure is logged, never stops the recording.

Retention: a background loop deletes events last changed more than `retention_days` ago, a
small batch per call, yielding between calls, so pruning never stalls the recording.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

import aiormq
from aiormq.abc import DeliveredMessage
from prometheus_client import CollectorRegistry

from admin.ledger import Count, LedgerStore, LedgerUnavailable
from admin.recorder_metrics import RecorderMetrics
from hookgate.connect import BrokerNodes
from hookgate.routing import routing_key, topic_matches
from hookgate.status import Message, ServiceAnnouncement, Status, StatusChange, Tally, decode_batch
from hookgate.topology import declare_status_topology, ledger_queue

__all__ = ["Recorder", "ledger_queue", "replayed_change"]

_log = logging.getLogger("hookgate.recorder")

_RECONNECT_MIN, _RECONNECT_MAX = 0.25, 5.0
_CONNECT_TIMEOUT = 10.0
_STORE_RETRY_MIN, _STORE_RETRY_MAX = 0.2, 5.0
_QUEUES = (Status.ACCEPTED, Status.FORWARDED, Status.REPLAYED)  # changes that queue an event
_AMQP_ERRORS = (aiormq.exceptions.AMQPError, ConnectionError, OSError, RuntimeError)


def replayed_change(
    source: str,
    event_id: str,
    *,
    by: str,
    event_type: str | None,
    service: str | None = None,
    replay: int = 1,
    at: float | None = None,
) -> StatusChange:
    """The `replayed` step an operator's replay adds to a timeline (`by`: "cli", "api", …).

    `replay`: which replay of the event this is for the service (a dead letter's
    `hookgate-replays` header + 1, as `consumers.messages.replay_copy` counts them): the
    service's next steps carry it, so they are told apart from the first round's. Stamp it
    (`at`, default now) *before* republishing, so it sorts before the handler starts. With
    `event_type` known, the recorder queues the event again for `service` (or every announced
    service that matches it). Record it with `Recorder.record`."""
    return StatusChange(
        source=source,
        event_id=event_id,
        status=Status.REPLAYED,
        at=time.time() if at is None else at,
        service=service,
        event_type=event_type,
        detail=f"replayed by {by}",
        replay=replay,
    )


class Recorder:
    """Consumes the status exchange into `ledger` until `stop()`."""

    def __init__(
        self,
        url: str,
        exchange: str,
        ledger: LedgerStore,
        registry: CollectorRegistry,
        *,
        prefetch: int = 1000,
        batch: int = 500,
        linger: float = 0.05,
        retention_days: float = 14.0,
        prune_interval: float = 300.0,
        prune_batch: int = 1000,
        on_announce: Callable[[ServiceAnnouncement], Awaitable[object]] | None = None,
    ) -> None:
        self._url = url
        self._nodes = BrokerNodes(url)
        self._exchange = exchange
        self._queue = ledger_queue(exchange)
        self._ledger = ledger
        self.metrics = RecorderMetrics(registry)
        self._prefetch = prefetch
        self._batch = batch
        self._linger = linger
        self._retention = retention_days * 86400
        self._prune_interval = prune_interval
        self._prune_batch = prune_batch
        self._services: dict[str, ServiceAnnouncement] = {}
        self._on_announce = on_announce
        self._inbox: asyncio.Queue[DeliveredMessage] = asyncio.Queue()
        self._stopping = asyncio.Event()
        #: Set while consuming (the queue declared and bound).
        self.consuming = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def record(self, changes: Sequence[StatusChange]) -> None:
        """Record changes made in this process (an operator's `replayed_change`) as if they
        had arrived as messages: a replay queues the event again for its services. Raises
        what the ledger raises."""
        await self._apply(changes)

    async def run(self) -> None:
        """Record until `stop()`, reconnecting with backoff; prune in the background."""
        with contextlib.suppress(Exception):
            for announcement in await self._ledger.services():
                self._services[announcement.service] = announcement
        pruning = asyncio.create_task(self._prune_forever(), name="hookgate-ledger-prune")
        delay = _RECONNECT_MIN
        try:
            while not self._stopping.is_set():
                try:
                    await self._session()
                    delay = _RECONNECT_MIN
                except (*_AMQP_ERRORS, TimeoutError) as err:
                    _log.warning(
                        "recorder: broker unreachable; retrying",
                        extra={"fields": {"error": f"{type(err).__name__}: {err}"[:300]}},
                    )
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._stopping.wait()
                delay = min(delay * 2, _RECONNECT_MAX)
        finally:
            pruning.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pruning

    async def _session(self) -> None:
        async with asyncio.timeout(_CONNECT_TIMEOUT):
            connection = await self._nodes.connect("hookgate-recorder")
        try:
            async with asyncio.timeout(_CONNECT_TIMEOUT):
                channel = await connection.channel()
                await declare_status_topology(channel, self._exchange)
                await channel.basic_qos(prefetch_count=self._prefetch)
            self._inbox = asyncio.Queue()
            await channel.basic_consume(self._queue, self._inbox.put)
            self.consuming.set()
            recording = asyncio.create_task(self._record_forever(channel))
            stopping = asyncio.create_task(self._stopping.wait())
            try:
                await asyncio.wait(
                    [connection.closing, channel.closing, recording, stopping],
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if recording.done():
                    recording.result()  # raises what ended it
            finally:
                self.consuming.clear()
                for task in (recording, stopping):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, *_AMQP_ERRORS):
                        await task
        finally:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await connection.close()

    async def _record_forever(self, channel: aiormq.abc.AbstractChannel) -> None:
        while True:
            batch = [await self._inbox.get()]
            deadline = time.monotonic() + self._linger
            while len(batch) < self._batch:
                if self._inbox.empty():
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(left):
                            batch.append(await self._inbox.get())
                    continue
                batch.append(self._inbox.get_nowait())
            await self._store(batch)
            await channel.basic_ack(batch[-1].delivery_tag or 0, multiple=True)

    async def _store(self, messages: Sequence[DeliveredMessage]) -> None:
        """Decode and record `messages`, retrying the ledger until it takes them."""
        found_items: list[Message] = []
        bad = 0
        for message in messages:
            found, skipped = decode_batch(message.body)
            found_items.extend(found)
            bad += skipped
        if bad:
            self.metrics.bad_messages.inc(bad)
            _log.warning(
                "recorder: skipped what was not status messages", extra={"fields": {"count": bad}}
            )
        items: Sequence[Message] = found_items
        delay = _STORE_RETRY_MIN
        while items:
            try:
                await self._apply(items)
                return
            except LedgerUnavailable as err:  # an outage: hold the batch, try again
                self.metrics.store_errors.inc()
                _log.warning(
                    "recorder: the ledger did not take a batch; retrying",
                    extra={"fields": {"error": f"{type(err).__name__}: {err}"[:300]}},
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, _STORE_RETRY_MAX)
            except Exception:
                # The ledger refused what a message says, not for an outage: apply the batch
                # one by one and skip (count, ack away) only what it refuses, so one bad
                # message never holds every later one behind it.
                self.metrics.store_errors.inc()
                items = await self._apply_each(items)

    async def _apply_each(self, items: Sequence[Message]) -> Sequence[Message]:
        """Apply each item alone, skipping the ones the ledger refuses; what is left when an
        outage begins on the way (to be held and retried), else nothing."""
        for index, item in enumerate(items):
            try:
                await self._apply([item])
            except LedgerUnavailable:
                return items[index:]
            except Exception as err:
                self.metrics.bad_messages.inc()
                _log.error(
                    "recorder: the ledger refused a status message; skipped",
                    extra={"fields": {"error": f"{type(err).__name__}: {err}"[:300]}},
                )
        return []

    async def _apply(self, items: Sequence[Message]) -> None:
        changes: list[StatusChange] = []
        counts: list[Count] = []
        for item in items:
            if isinstance(item, ServiceAnnouncement):
                await self._ledger.announce(item)
                self._services[item.service] = item
                await self._announced(item)
            elif isinstance(item, Tally):
                counts.extend(
                    Count("source", item.source, item.minute, reason, n)
                    for reason, n in item.counts
                )
            else:
                changes.append(item)
                if item.status in _QUEUES:
                    changes.extend(self._queued(item))
        if changes:
            await self._ledger.record(changes)
            self.metrics.lag.set(max(0.0, time.time() - changes[-1].at))
        if counts:  # last: a batch held through an outage is recorded again, never counted again
            await self._ledger.count(counts)
        for item in items:
            self.metrics.messages[_kind(item)].inc()

    async def _announced(self, announcement: ServiceAnnouncement) -> None:
        if self._on_announce is None:
            return
        try:
            await self._on_announce(announcement)
        except Exception as err:  # a hook's failure never stops the recording
            _log.warning(
                "recorder: the announcement hook failed",
                extra={"fields": {"service": announcement.service, "error": repr(err)[:300]}},
            )

    def _queued(self, change: StatusChange) -> list[StatusChange]:
        if change.event_type is None:
            return []
        key = tuple(routing_key(change.source, change.event_type).split("."))
        return [
            StatusChange(
                source=change.source,
                event_id=change.event_id,
                status=Status.QUEUED,
                at=change.at,
                service=name,
                event_type=change.event_type,
                received_at=change.received_at,
                replay=change.replay,
            )
            for name, announced in sorted(self._services.items())
            if (change.service is None or change.service == name)
            and any(topic_matches(tuple(p.split(".")), key) for p in announced.patterns)
        ]

    async def _prune_forever(self) -> None:
        while True:
            await asyncio.sleep(self._prune_interval)
            try:
                await self._prune(time.time() - self._retention)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                self.metrics.store_errors.inc()
                _log.warning("recorder: pruning failed", extra={"fields": {"error": str(err)}})

    async def _prune(self, before: float) -> int:
        """Delete what is older than `before`, a batch per call, letting recording in
        between; the number deleted."""
        total = 0
        for _ in range(10_000):  # bounded: at most ten million events a round
            deleted = await self._ledger.prune(before, self._prune_batch)
            total += deleted
            if deleted < self._prune_batch:
                break
            await asyncio.sleep(0.05)
        return total


def _kind(message: Message) -> str:
    """The `kind` label of `hookgate_ledger_status_messages`."""
    if isinstance(message, ServiceAnnouncement):
        return "service"
    if isinstance(message, Tally):
        return "tally"
    return message.status.value
