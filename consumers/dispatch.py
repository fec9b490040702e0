"""Run an event through its service's handler and decide the outcome, without any broker.

One piece of code decides what happens to an event; the AMQP worker (`consumers.worker`) and
the in-memory tester (`consumers.testing`) both act on its answer:

- no handler matches → `unmatched` (acked, counted: the binding outlived its handler);
- the idempotency store says the event was completed → `duplicate` (acked, not run again);
- the handler returns → `success`; it raises `Reject` → `rejected` (dead-letter now);
- it raises `Retry`, any other exception, or runs past its timeout → `retry` with the tier to
  wait in, or `dead_lettered` once the tiers are used up.

Cancellation (shutdown) is not an outcome: it propagates, and the message stays unacked.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from concurrent.futures import Executor
from dataclasses import dataclass

from consumers.errors import ConsumerError, Reject, Retry
from consumers.event import Event
from consumers.idempotency import idempotency_key
from consumers.metrics import UNMATCHED, ConsumerMetrics
from consumers.service import Handler, Service

_log = logging.getLogger("hookgate.consumer")
_MAX_MESSAGE = 1000
MAX_TRACEBACK = 8000


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a handler failed: exception type, message, and traceback (bounded)."""

    type: str
    message: str
    traceback: str = ""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happens to one delivery. `delay` is the retry tier; `failure` why it failed."""

    kind: str
    handler: str
    delay: float | None = None
    failure: Failure | None = None

    @property
    def acked(self) -> bool:
        """Done with, nothing republished: success, duplicate or unmatched."""
        return self.kind in ("success", "duplicate", "unmatched")

    @property
    def dead_lettered(self) -> bool:
        """Parked in the dead-letter queue: rejected, or retries used up."""
        return self.kind in ("rejected", "dead_lettered")


class Dispatcher:
    """Decides outcomes for one service. `executor` runs sync handlers (default: asyncio's)."""

    def __init__(
        self,
        service: Service,
        *,
        metrics: ConsumerMetrics | None = None,
        executor: Executor | None = None,
    ) -> None:
        self._service = service
        self._metrics = metrics
        self._executor = executor
        self._store = service.idempotency

    async def process(self, event: Event) -> Outcome:
        handler = self._service.match(event.routing_key)
        if handler is None:
            return Outcome("unmatched", UNMATCHED)
        key = idempotency_key(event.source, event.id)
        store = self._store
        try:
            if store is not None and store.is_done(key, time.time()):
                return Outcome("duplicate", handler.name)
        except ConsumerError as err:
            return self._failed(handler, event, _failure(err), None)
        metrics = self._metrics
        if metrics is not None:
            metrics.lag.observe(max(0.0, time.time() - event.received_at.timestamp()))
        started = time.perf_counter()
        try:
            await self._call(handler, event)
        except Reject as reject:
            outcome = Outcome("rejected", handler.name, failure=_failure(reject))
        except Retry as retry:
            outcome = self._failed(handler, event, _failure(retry), retry.delay)
        except _HandlerTimeout as timeout:
            outcome = self._failed(handler, event, Failure("TimeoutError", str(timeout)), None)
        except Exception as err:
            outcome = self._failed(handler, event, _failure(err), None)
        else:
            outcome = Outcome("success", handler.name)
            if store is not None:
                try:
                    store.mark_done(key, time.time())
                except ConsumerError as err:
                    # The work is done: still a success. A redelivery would run it again.
                    _log.error("idempotency store failed", extra={"fields": {"error": str(err)}})
        finally:
            if metrics is not None:
                metrics.handler_duration(handler.name, time.perf_counter() - started)
        return outcome

    async def _call(self, handler: Handler, event: Event) -> None:
        deadline = asyncio.timeout(handler.timeout)
        try:
            async with deadline:
                if handler.is_async:
                    await handler.func(event)  # type: ignore[misc]
                else:
                    loop = asyncio.get_running_loop()
                    await loop.run_in_executor(self._executor, handler.func, event)
        except TimeoutError:
            if deadline.expired():
                raise _HandlerTimeout(
                    f"handler {handler.name} did not finish within {handler.timeout:g}s"
                ) from None
            raise

    def _failed(
        self, handler: Handler, event: Event, failure: Failure, requested: float | None
    ) -> Outcome:
        delay = self._service.retry_delay(event.attempt, requested)
        if delay is None:
            return Outcome("dead_lettered", handler.name, failure=failure)
        return Outcome("retry", handler.name, delay=delay, failure=failure)


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
