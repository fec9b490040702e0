"""Queue depths for Prometheus, whether or not any consumer runs: `hookgate admin` samples every
announced service's work, retry and dead-letter queues, the unrouted queue and (with the
archive) its inbox, and serves them on its `/metrics`.

A consumer samples only its own queues, and only while it runs: a service whose every process
is down, which is when its queue grows, would show no depth at all, and no consumer ever
looks at `webhooks.unrouted`. Here the services come from their announcements (the ledger
keeps them across restarts), so a service that announced itself once is watched from then on.

- `hookgate_queue_messages{queue}`: ready messages (a passive declare: unacked ones are not
  counted); `hookgate_queue_consumers{queue}`: consumers attached. "Messages waiting and no
  consumer" is the consumer-down alert.
- `hookgate_queue_sample_success`: 1 when the last sample reached the broker, else 0; and
  `hookgate_queue_sample_timestamp_seconds`, when the last one did.

Sampled on an interval in the background, never per scrape (a scrape never waits on the
broker). When the broker cannot be reached the last values stay for `stale_after` seconds (a
blip does not reset every alert's `for:`), then are dropped: no value is better than a wrong
one. A queue that does not exist, or a service no longer announced, loses its series at once.
Queue names come from announcements and config, never from request data, and at most
`max_queues` are sampled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

import aiormq
from prometheus_client import CollectorRegistry, Gauge

from admin.queues import ServiceShape
from consumers import broker
from consumers.errors import ConsumerError
from hookgate.errors import redact
from hookgate.status import ServiceAnnouncement
from hookgate.topology import archive_inbox, dead_queue, retry_queues, unrouted_name, work_queue

_log = logging.getLogger("hookgate.admin.queues")
_CONNECTION_NAME = "hookgate-admin-metrics"


class QueueMetrics:
    """Samples queue depths into `registry` every `interval` seconds until `stop()`."""

    def __init__(
        self,
        url: str,
        exchange: str,
        services: Callable[[], Awaitable[Sequence[ServiceAnnouncement]]],
        registry: CollectorRegistry,
        *,
        archive: bool = False,
        interval: float = 15.0,
        stale_after: float | None = None,
        max_queues: int = 2000,
        timeout: float = 10.0,
    ) -> None:
        self._url = url
        self._fixed = [unrouted_name(exchange), *([archive_inbox(exchange)] if archive else [])]
        self._services = services
        self._interval = interval
        self._stale_after = 3 * interval if stale_after is None else stale_after
        self._max_queues = max_queues
        self._timeout = timeout
        self._known: list[ServiceAnnouncement] = []
        self._connection: aiormq.abc.AbstractConnection | None = None
        self._last_success: float | None = None
        self._shown: set[str] = set()
        self._capped = False
        self._failing = False
        self._stopping = asyncio.Event()
        self.messages = Gauge(
            "hookgate_queue_messages",
            "Messages ready in a queue (work, retry tier, dead-letter, unrouted, archive inbox); "
            "sampled by hookgate admin with a passive declare.",
            ["queue"],
            registry=registry,
        )
        self.consumers = Gauge(
            "hookgate_queue_consumers",
            "Consumers attached to a queue (sampled by hookgate admin).",
            ["queue"],
            registry=registry,
        )
        self.success = Gauge(
            "hookgate_queue_sample_success",
            "1 when hookgate admin's last queue sample reached the broker, else 0.",
            registry=registry,
        )
        self.sampled_at = Gauge(
            "hookgate_queue_sample_timestamp_seconds",
            "When hookgate admin last sampled queue depths successfully (Unix seconds).",
            registry=registry,
        )

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Sample until `stop()`; never raises for the broker or the ledger."""
        try:
            while not self._stopping.is_set():
                await self.sample()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self._interval)
        finally:
            await self._disconnect()

    async def sample(self) -> bool:
        """One sample of every queue; whether it reached the broker."""
        with contextlib.suppress(Exception):  # the ledger down: the services known last time
            self._known = list(await self._services())
        queues = self._queues()
        try:
            async with asyncio.timeout(self._timeout):
                states = await self._states(queues)
        except (ConsumerError, TimeoutError, *broker.AMQP_ERRORS) as err:
            await self._failed(err)
            return False
        self._show({name: state for name, state in states.items() if state.exists})
        if self._failing:
            _log.info("queue depths sampled again")
        self._failing = False
        self._last_success = time.time()
        self.success.set(1)
        self.sampled_at.set(self._last_success)
        return True

    def _queues(self) -> list[str]:
        names = list(self._fixed)
        for announcement in sorted(self._known, key=lambda a: a.service):
            shape = ServiceShape.announced(announcement)
            names += [work_queue(shape), *retry_queues(shape).values(), dead_queue(shape)]
        unique = list(dict.fromkeys(names))
        if len(unique) > self._max_queues and not self._capped:
            self._capped = True
            _log.warning(
                "too many queues to sample; sampling the first %d (announced services by name)",
                self._max_queues,
            )
        return unique[: self._max_queues]

    async def _states(self, queues: Sequence[str]) -> dict[str, broker.QueueState]:
        if self._connection is None or self._connection.is_closed:
            self._connection = await broker.connect(self._url, _CONNECTION_NAME)
        return {name: await broker.queue_state(self._connection, name) for name in queues}

    def _show(self, states: dict[str, broker.QueueState]) -> None:
        for name in self._shown - states.keys():  # gone, or its service no longer announced
            self._forget(name)
        for name, state in states.items():
            self.messages.labels(name).set(state.ready)
            self.consumers.labels(name).set(state.consumers)
        self._shown = set(states)

    async def _failed(self, err: BaseException) -> None:
        self.success.set(0)
        await self._disconnect()
        too_old = self._last_success is None or time.time() - self._last_success > self._stale_after
        if too_old and self._shown:
            for name in self._shown:
                self._forget(name)
            self._shown = set()
        if not self._failing:  # once per outage, not every interval
            self._failing = True
            _log.warning(
                "queue depths not sampled: %s",
                redact(str(err) if isinstance(err, ConsumerError) else repr(err), self._url),
            )

    def _forget(self, name: str) -> None:
        for gauge in (self.messages, self.consumers):
            with contextlib.suppress(KeyError):
                gauge.remove(name)

    async def _disconnect(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            await broker.close(connection)
