"""The AMQP side of a consumer service: consume, dispatch, ack, retry, dead-letter, drain.

Two connections: one consumes (prefetch = concurrency), one publishes retry and dead-letter
copies with confirms, so a publish blocked by a broker alarm never stalls consumption. Every
delivery is answered in the order the promise needs: a retry or dead-letter copy is confirmed
by the broker *before* the original is acked; nothing is acked before its copy is safe.

When the connection drops, unacked deliveries go back to the queue and the worker reconnects
with backoff (redeclaring its queues). `stop()` drains: stop consuming, let in-flight handlers
finish (bounded), cancel the rest and close, so that the broker redelivers them elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

import aiormq
from aiormq.abc import DeliveredMessage
from pamqp.commands import Basic

from consumers.cancellations import CancelSet
from consumers.dispatch import Dispatcher, Outcome
from consumers.errors import ConsumerError, TopologyError
from consumers.event import event_from_message
from consumers.messages import dead_letter_copy, retry_copy
from consumers.metrics import ConsumerMetrics
from consumers.outcome_log import OutcomeLog
from consumers.service import Service
from hookgate.connect import BrokerNodes
from hookgate.observe import ConsumeOutcome, Observer, Observers
from hookgate.settings import display_url
from hookgate.topology import dead_queue, declare_service_topology, retry_queue, work_queue

_log = logging.getLogger("hookgate.consumer")

_RECONNECT_MIN, _RECONNECT_MAX = 0.25, 5.0
_CONNECT_TIMEOUT = 15.0
_SAMPLE_INTERVAL = 10.0
_PURGE_INTERVAL = 600.0
_AMQP_ERRORS = (aiormq.exceptions.AMQPError, ConnectionError, OSError, RuntimeError)


class Worker:
    """Runs one service against RabbitMQ until `stop()`.

    Each answered delivery is recorded once, after its ack, to the metrics, the outcome log
    and then `observers` (`hookgate.observe`); they also hear each handler start
    (`on_started`). `cancellations`: what operators cancelled (`consumers.cancellations`)."""

    def __init__(
        self,
        service: Service,
        *,
        url: str,
        exchange: str,
        metrics: ConsumerMetrics,
        concurrency: int | None = None,
        drain_timeout: float = 30.0,
        sample_interval: float = _SAMPLE_INTERVAL,
        message_keys: Iterable[str | bytes] = (),
        observers: Iterable[Observer] = (),
        cancellations: CancelSet | None = None,
    ) -> None:
        self.service = service
        self._url = url
        self._nodes = BrokerNodes(url)
        self._exchange = exchange
        self._metrics = metrics
        self._observers = Observers([metrics, OutcomeLog(), *observers])
        self._concurrency = concurrency or service.concurrency
        self._drain_timeout = drain_timeout
        self._sample_interval = sample_interval
        self._queue = work_queue(service)
        self._dead_queue = dead_queue(service)
        self._executor = ThreadPoolExecutor(
            max_workers=self._concurrency, thread_name_prefix=f"hookgate-{service.name}"
        )
        self._dispatcher = Dispatcher(
            service,
            metrics=metrics,
            executor=self._executor,
            message_keys=message_keys,
            on_started=self._observers.on_started,
            cancellations=cancellations,
        )
        self._publish_channel: aiormq.abc.AbstractChannel | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._forced = asyncio.Event()
        self.consuming = asyncio.Event()

    @property
    def sync_handlers_running(self) -> int:
        """Sync handlers still executing (after a drain: the ones Python cannot stop)."""
        return self._dispatcher.sync_handlers_running

    def stop(self) -> None:
        """Begin a graceful stop; a second call stops without waiting for handlers."""
        if self._stopping.is_set():
            _log.warning("stopping now, without waiting for in-flight handlers")
            self._forced.set()
            return
        _log.info(
            "stopping: in-flight handlers may finish; signal again to stop at once",
            extra={"fields": {"in_flight": len(self._tasks), "drain_timeout": self._drain_timeout}},
        )
        self._stopping.set()

    async def run(self) -> None:
        """Consume until `stop()`; reconnect on connection loss. Raises `TopologyError`."""
        delay = _RECONNECT_MIN
        try:
            while not self._stopping.is_set():
                try:
                    await self._session()
                    delay = _RECONNECT_MIN
                except TopologyError:
                    raise
                except aiormq.exceptions.ProbableAuthenticationError as err:
                    raise ConsumerError(
                        "the broker refused the credentials in broker.url "
                        "(or HOOKGATE_BROKER_URL); fix them and start again"
                    ) from err
                except (*_AMQP_ERRORS, TimeoutError) as err:
                    _log.warning(
                        "broker unreachable; retrying",
                        extra={
                            "fields": {
                                "error": f"{type(err).__name__}: {err}"[:300],
                                "retry_in": delay,
                            }
                        },
                    )
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._stopping.wait()
                delay = min(delay * 2, _RECONNECT_MAX)
        finally:
            await self._finish_tasks()
            self._executor.shutdown(wait=False, cancel_futures=True)
            if self.service.idempotency is not None:
                await self.service.idempotency.close()

    async def _session(self) -> None:
        name = self.service.name
        async with asyncio.timeout(_CONNECT_TIMEOUT):
            consume_conn = await self._nodes.connect(f"hookgate-consume-{name}")
        try:
            async with asyncio.timeout(_CONNECT_TIMEOUT):
                publish_conn = await self._nodes.connect(f"hookgate-publish-{name}")
            try:
                await self._consume(consume_conn, publish_conn)
            finally:
                self._publish_channel = None
                await _close(publish_conn)
        finally:
            self.consuming.clear()
            await _close(consume_conn)

    async def _consume(
        self,
        consume_conn: aiormq.abc.AbstractConnection,
        publish_conn: aiormq.abc.AbstractConnection,
    ) -> None:
        async with asyncio.timeout(_CONNECT_TIMEOUT):
            await declare_service_topology(publish_conn, self.service, self._exchange)
            publish_channel = await publish_conn.channel(publisher_confirms=True)
            channel = await consume_conn.channel()
            await channel.basic_qos(prefetch_count=self._concurrency)
        self._publish_channel = publish_channel
        cancelled: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def on_cancel(_: object) -> None:
            if not cancelled.done():
                cancelled.set_result(None)

        channel.on_consumer_cancel_callbacks.add(on_cancel)
        consumer = await channel.basic_consume(self._queue, self._on_delivery)
        self.consuming.set()
        _log.info(
            "consuming",
            extra={
                "fields": {
                    "queue": self._queue,
                    "node": display_url(str(consume_conn.url)),
                    "publish_node": display_url(str(publish_conn.url)),
                    "concurrency": self._concurrency,
                    "message_authentication": self._dispatcher.authenticates,
                }
            },
        )
        housekeeping = asyncio.create_task(self._housekeeping(publish_conn))
        stopping = asyncio.create_task(self._stopping.wait())
        try:
            ends = [
                consume_conn.closing,
                publish_conn.closing,
                channel.closing,
                publish_channel.closing,
                cancelled,
                stopping,
            ]
            await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
            if self._stopping.is_set():
                await self._drain(channel, consumer.consumer_tag)
            elif cancelled.done():
                _log.warning("the broker cancelled the consumer (queue deleted?); redeclaring")
            else:
                _log.warning("lost the broker connection; reconnecting")
        finally:
            for task in (housekeeping, stopping):
                task.cancel()

    async def _drain(self, channel: aiormq.abc.AbstractChannel, consumer_tag: str | None) -> None:
        if consumer_tag is not None:
            with contextlib.suppress(*_AMQP_ERRORS, TimeoutError):
                await channel.basic_cancel(consumer_tag, timeout=5)
        await self._finish_tasks()

    async def _finish_tasks(self) -> None:
        """Wait for in-flight deliveries (up to the drain timeout), then cancel the rest."""
        pending = {t for t in self._tasks if not t.done()}
        if pending and not self._forced.is_set():
            forced = asyncio.create_task(self._forced.wait())
            try:
                async with asyncio.timeout(self._drain_timeout):
                    while pending and not forced.done():
                        await asyncio.wait([*pending, forced], return_when=asyncio.FIRST_COMPLETED)
                        pending = {t for t in pending if not t.done()}
            except TimeoutError:
                pass
            finally:
                forced.cancel()
        pending = {t for t in self._tasks if not t.done()}
        if pending:
            _log.warning(
                "cancelling unfinished handlers; their events will be redelivered",
                extra={"fields": {"count": len(pending)}},
            )
            for task in pending:
                task.cancel()
            await asyncio.wait(pending, timeout=2.0)

    async def _on_delivery(self, message: DeliveredMessage) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        in_flight = self._metrics.in_flight
        in_flight.inc()
        try:
            await self._answer(message)
        except asyncio.CancelledError:
            pass  # shutdown: left unacked, redelivered after the channel closes
        except Exception:
            # A bug, ours or a plugin's: hand the message back rather than hold its prefetch
            # slot forever. If it recurs, the delivery limit parks the event in the DLQ.
            _log.exception("delivery failed; returning it to the queue")
            with contextlib.suppress(*_AMQP_ERRORS):
                await message.channel.basic_nack(message.delivery_tag or 0, requeue=True)
        finally:
            in_flight.dec()
            self._tasks.discard(task)

    async def _answer(self, message: DeliveredMessage) -> None:
        started = time.perf_counter()
        properties = message.header.properties
        event = event_from_message(
            message.body,
            properties.headers,
            routing_key=message.routing_key or "",
            message_id=properties.message_id,
            content_type=properties.content_type,
            timestamp=properties.timestamp,
        )
        # Authentication comes first: a forged message never reaches a handler or the store.
        outcome = self._dispatcher.authenticate(message.body, properties.headers)
        if outcome is None:
            outcome = await self._dispatcher.process(event)
        if not outcome.acked:
            copy = self._copy_for(outcome, properties, event.attempt)
            if not await self._republish(message, *copy):
                return  # left unacked: the broker redelivers it
        try:
            await message.channel.basic_ack(message.delivery_tag or 0, wait=False)
        except _AMQP_ERRORS as err:
            _log.info(
                "ack lost with the connection; the event will be redelivered",
                extra={"fields": {"event_id": event.id, "error": type(err).__name__}},
            )
            return
        record = outcome.record(self.service.name, event, time.perf_counter() - started)
        self._observers.on_consumed(record)

    def _copy_for(
        self, outcome: Outcome, properties: Basic.Properties, attempt: int
    ) -> tuple[str, Basic.Properties]:
        if outcome.kind is ConsumeOutcome.RETRY and outcome.delay is not None:
            return retry_queue(self.service, outcome.delay), retry_copy(properties, attempt)
        assert outcome.failure is not None
        # `rejected`, `unmatched` or `unauthenticated` name themselves.
        reason = (
            "retries_exhausted" if outcome.kind is ConsumeOutcome.DEAD_LETTERED else outcome.kind
        )
        copy = dead_letter_copy(
            properties,
            attempt=attempt,
            handler=outcome.handler,
            reason=reason,
            failure=outcome.failure,
        )
        return self._dead_queue, copy

    async def _republish(
        self, message: DeliveredMessage, queue: str, properties: Basic.Properties
    ) -> bool:
        """Publish a copy to `queue` and wait for its confirm, however long the broker takes
        (a memory alarm blocks publishers; a second copy would only duplicate the event). Only
        when the publishing channel closes, is refused or returns the copy, try again with
        backoff, until the original's channel is gone (it will be redelivered) or we stop."""
        delay = 0.2
        while True:
            channel = self._publish_channel
            reason = "no publishing channel"
            if channel is not None:
                try:
                    result = await channel.basic_publish(
                        message.body, routing_key=queue, properties=properties, mandatory=True
                    )
                except aiormq.exceptions.PublishError:
                    reason = f"queue {queue} does not exist (run hookgate topology declare)"
                except (*_AMQP_ERRORS, TimeoutError) as err:
                    reason = f"{type(err).__name__}: {err}"[:200]
                else:
                    if isinstance(result, Basic.Ack):
                        return True
                    reason = f"broker answered {type(result).__name__}"
            if self._forced.is_set() or message.channel.is_closed:
                return False
            _log.warning(
                "republish not confirmed; retrying",
                extra={"fields": {"queue": queue, "error": reason, "retry_in": delay}},
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, _RECONNECT_MAX)

    async def _housekeeping(self, connection: aiormq.abc.AbstractConnection) -> None:
        """Sample queue depths for metrics; purge expired idempotency keys now and then."""
        channel: aiormq.abc.AbstractChannel | None = None
        last_purge: float | None = None
        while True:
            try:
                if channel is None or channel.is_closed:
                    channel = await connection.channel()
                for queue, gauge in self._metrics.queue_messages.items():
                    declared = await channel.queue_declare(queue, passive=True)
                    gauge.set(declared.message_count or 0)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # a missing queue closes the channel: reopen next time
                _log.debug("queue depth sampling failed", extra={"fields": {"error": str(err)}})
                channel = None
            if last_purge is None or time.monotonic() - last_purge > _PURGE_INTERVAL:
                last_purge = time.monotonic()
                try:
                    await self._dispatcher.purge_store()
                except Exception as err:
                    _log.warning("idempotency purge failed", extra={"fields": {"error": str(err)}})
            await asyncio.sleep(self._sample_interval)


async def _close(connection: aiormq.abc.AbstractConnection) -> None:
    with contextlib.suppress(Exception):
        async with asyncio.timeout(5):
            await connection.close()
