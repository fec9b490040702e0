"""Run an event through its service's handler and decide the outcome, without any broker.

One piece of code decides what happens to an event; the AMQP worker (`consumers.worker`) and
the in-memory tester (`consumers.testing`) both act on its answer:

- with message keys set, a message whose signature does not verify → `unauthenticated`:
  dead-lettered at once, never handed to a handler (`authenticate`, before `process`);
- no handler matches → `unmatched`: dead-lettered with the reason, never silently dropped (a
  binding outlived its handler; the dead-letter queue shows it);
- an operator cancelled the event for this service (`consumers.cancellations`) → `cancelled`
  (acked, not run), checked on every delivery, so also when it comes back from a retry tier;
- the idempotency store says the event was completed → `duplicate` (acked, not run again);
- the handler returns → `success`; it raises `Reject` → `rejected` (dead-letter now);
- it raises `Retry`, any other exception, or runs past its timeout → `retry` with the tier to
  wait in, or `dead_lettered` once the tiers are used up.

Cancellation (shutdown) is not an outcome: it propagates, and the message stays unacked.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass

from consumers import authentication
from consumers.cancellations import CancelSet
from consumers.errors import Reject, Retry
from consumers.event import Event
from consumers.idempotency import IdempotencyStore, as_idempotency_store, idempotency_key
from consumers.metrics import UNAUTHENTICATED, UNMATCHED, ConsumerMetrics
from consumers.service import Handler, Service
from hookgate.observe import ConsumeOutcome, ConsumeRecord, StartRecord

_log = logging.getLogger("hookgate.consumer")
_MAX_MESSAGE = 1000
MAX_TRACEBACK = 8000


class _Default:
    """The `idempotency` argument left out: use the service's own store."""


_DEFAULT = _Default()


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a handler failed: exception type, message, and traceback (bounded)."""

    type: str
    message: str
    traceback: str = ""


_ACKED = frozenset((ConsumeOutcome.SUCCESS, ConsumeOutcome.DUPLICATE, ConsumeOutcome.CANCELLED))
_DEAD_LETTERED = frozenset(
    (
        ConsumeOutcome.REJECTED,
        ConsumeOutcome.DEAD_LETTERED,
        ConsumeOutcome.UNMATCHED,
        ConsumeOutcome.UNAUTHENTICATED,
    )
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happens to one delivery. `delay` is the retry tier; `failure` why it failed."""

    kind: ConsumeOutcome
    handler: str
    delay: float | None = None
    failure: Failure | None = None

    @property
    def acked(self) -> bool:
        """Done with, nothing republished: success, duplicate or cancelled."""
        return self.kind in _ACKED

    @property
    def dead_lettered(self) -> bool:
        """Parked in the dead-letter queue: rejected, retries used up, no handler, or a
        message that failed authentication."""
        return self.kind in _DEAD_LETTERED

    def record(self, service: str, event: Event, seconds: float) -> ConsumeRecord:
        """What the observers hear of this outcome (`hookgate.observe`)."""
        failure = self.failure
        return ConsumeRecord(
            service=service,
            handler=self.handler,
            event_id=event.id,
            source=event.source,
            event_type=event.type,
            attempt=event.attempt,
            outcome=self.kind,
            duration=seconds,
            retry_delay=self.delay,
            failure_type=failure.type if failure is not None else None,
            failure_message=failure.message if failure is not None else None,
            received_at=event.received_at.timestamp(),
            replays=event.replays,
        )


class Dispatcher:
    """Decides outcomes for one service.

    `executor` runs sync handlers (default: asyncio's). The idempotency store (`idempotency`,
    default the service's own) is awaited: its calls never block the event loop.
    `message_keys` (the `[broker] message_key` values) turn on `authenticate`.
    `on_started` hears each handler about to run (`hookgate.observe.StartRecord`): once the
    idempotency store said the event is not done, never for a duplicate or unmatched event.
    `cancellations` (filled by `consumers.cancellations.CancelReader`) skips what an operator
    cancelled.
    """

    def __init__(
        self,
        service: Service,
        *,
        metrics: ConsumerMetrics | None = None,
        executor: Executor | None = None,
        idempotency: IdempotencyStore | _Default | None = _DEFAULT,
        message_keys: Iterable[str | bytes] = (),
        on_started: Callable[[StartRecord], None] | None = None,
        cancellations: CancelSet | None = None,
    ) -> None:
        self._service = service
        self._cancels = cancellations
        self._on_started = on_started
        self._keys = authentication.message_keys(message_keys)
        self._metrics = metrics
        self._executor = executor
        self._store = (
            service.idempotency
            if isinstance(idempotency, _Default)
            else as_idempotency_store(idempotency, service.name)
        )
        self._sync_running = 0
        self._sync_lock = threading.Lock()

    @property
    def sync_handlers_running(self) -> int:
        """Sync handlers executing right now (idle pool threads are not counted)."""
        return self._sync_running

    @property
    def authenticates(self) -> bool:
        """Whether messages must carry a valid signature (message keys are set)."""
        return bool(self._keys)

    def authenticate(self, body: bytes, headers: Mapping[str, object] | None) -> Outcome | None:
        """`unauthenticated` for a message that must not reach a handler, else `None`."""
        why = authentication.refusal(self._keys, body, headers)
        if not why:
            return None
        failure = Failure(authentication.ERROR_TYPE, why)
        return Outcome(ConsumeOutcome.UNAUTHENTICATED, UNAUTHENTICATED, failure=failure)

    async def process(self, event: Event) -> Outcome:
        key = event.routing_key
        handler = self._service.match(key)
        if handler is None:
            message = f"no handler of service {self._service.name} matches {key}"
            failure = Failure("NoHandler", message)
            return Outcome(ConsumeOutcome.UNMATCHED, UNMATCHED, failure=failure)
        cancels = self._cancels
        if cancels is not None and cancels.covers(
            event.source, event.id, self._service.name, event.replays
        ):
            return Outcome(ConsumeOutcome.CANCELLED, handler.name)
        store_key = idempotency_key(event.source, event.id, event.replays)
        try:
            if await self._store_call("is_done", store_key):
                return Outcome(ConsumeOutcome.DUPLICATE, handler.name)
        except Exception as err:  # any store, a user's too: a failure, retried later
            return self._failed(handler, event, _failure(err), None)
        metrics = self._metrics
        if metrics is not None and event.attempt == 1:  # retries would count their tier's wait
            metrics.lag.observe(max(0.0, time.time() - event.received_at.timestamp()))
        if self._on_started is not None:
            self._on_started(
                StartRecord(
                    service=self._service.name,
                    handler=handler.name,
                    event_id=event.id,
                    source=event.source,
                    event_type=event.type,
                    attempt=event.attempt,
                    received_at=event.received_at.timestamp(),
                    replays=event.replays,
                )
            )
        started = time.perf_counter()
        try:
            await self._call(handler, event)
        except Reject as reject:
            outcome = Outcome(ConsumeOutcome.REJECTED, handler.name, failure=_failure(reject))
        except Retry as retry:
            outcome = self._failed(handler, event, _failure(retry), retry.delay)
        except _HandlerTimeout as timeout:
            outcome = self._failed(handler, event, Failure("TimeoutError", str(timeout)), None)
        except Exception as err:
            outcome = self._failed(handler, event, _failure(err), None)
        else:
            outcome = Outcome(ConsumeOutcome.SUCCESS, handler.name)
            try:
                await self._store_call("mark_done", store_key)
            except Exception as err:
                # The work is done: still a success. A redelivery would run it again.
                _log.error("idempotency store failed", extra={"fields": {"error": str(err)}})
        finally:
            if metrics is not None:
                metrics.handler_duration(handler.name, time.perf_counter() - started)
        return outcome

    async def purge_store(self, batch: int = 5000) -> int:
        """Delete expired idempotency keys, a batch at a time; the number deleted."""
        store = self._store
        if store is None:
            return 0
        total = 0
        while True:
            deleted = await store.purge(time.time())
            total += deleted
            if deleted < batch:
                return total
            await asyncio.sleep(0.01)

    async def _store_call(self, method: str, key: str) -> bool:
        store = self._store
        if store is None:
            return False
        return bool(await getattr(store, method)(key, time.time()))

    async def _call(self, handler: Handler, event: Event) -> None:
        deadline = asyncio.timeout(handler.timeout)
        try:
            async with deadline:
                if handler.is_async:
                    await handler.func(event)  # type: ignore[misc]
                else:
                    loop = asyncio.get_running_loop()
                    await loop.run_in_executor(self._executor, self._run_sync, handler, event)
        except TimeoutError:
            if deadline.expired():
                raise _HandlerTimeout(
                    f"handler {handler.name} did not finish within {handler.timeout:g}s"
                ) from None
            raise

    def _run_sync(self, handler: Handler, event: Event) -> None:
        # Counted from inside the thread: a pool keeps idle threads alive, so "a thread of the
        # pool exists" says nothing about whether a handler is still running on it.
        with self._sync_lock:
            self._sync_running += 1
        try:
            handler.func(event)
        finally:
            with self._sync_lock:
                self._sync_running -= 1

    def _failed(
        self, handler: Handler, event: Event, failure: Failure, requested: float | None
    ) -> Outcome:
        delay = self._service.retry_delay(event.attempt, requested)
        if delay is None:
            return Outcome(ConsumeOutcome.DEAD_LETTERED, handler.name, failure=failure)
        return Outcome(ConsumeOutcome.RETRY, handler.name, delay=delay, failure=failure)


class _HandlerTimeout(Exception):
    pass


def _failure(err: BaseException) -> Failure:
    cls = type(err)
    module = cls.__module__
    name = (
        cls.__qualname__
        if module in ("builtins", "consumers.errors")
        else f"{module}.{cls.__qualname__}"
    )
    text = "".join(traceback.format_exception(err))
    return Failure(
        type=name,
        message=str(err)[:_MAX_MESSAGE],
        # The end of a traceback is where the error is: keep that when it is too long.
        traceback=text if len(text) <= MAX_TRACEBACK else "…" + text[-MAX_TRACEBACK:],
    )
