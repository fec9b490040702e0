"""`Service`: a named consumer of webhook events, and the handlers it dispatches to.

A service owns one work queue (its name), one retry queue per backoff tier and a dead-letter
queue (`hookgate.topology`). Each handler's pattern is an AMQP topic pattern over the event's
routing key `{source}.{event_type}` (`*` one word, `#` zero or more) and is also the work
queue's binding, so the broker only sends what some handler wants.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

from consumers.errors import ServiceDefinitionError
from consumers.event import Event
from consumers.idempotency import IdempotencyStore, as_idempotency_store
from hookgate.routing import topic_matches

HandlerFunc = Callable[[Event], Awaitable[None]] | Callable[[Event], None]
F = TypeVar("F", bound=Callable[..., Any])

_SERVICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,100}")
_PATTERN_WORD = re.compile(r"[A-Za-z0-9_-]+|\*|#")
DEFAULT_RETRY_DELAYS = (5.0, 30.0, 120.0, 600.0, 3600.0)


@dataclass(frozen=True, slots=True)
class Handler:
    """One registered handler: `name` (the function's) labels its metrics."""

    name: str
    pattern: str
    func: HandlerFunc
    is_async: bool
    timeout: float

    def matches(self, routing_key: str) -> bool:
        return topic_matches(tuple(self.pattern.split(".")), tuple(routing_key.split(".")))


class Service:
    """A consumer service: its name, retry schedule, limits, and handlers.

    - `retry_delays`: seconds to wait before attempt 2, 3, …; a failure after the last one
      dead-letters the event. Each distinct delay is one retry queue (`billing.retry.30s`).
    - `handler_timeout`: seconds a handler may run (a timeout is a failure); per handler too.
    - `concurrency`: events processed at once (the AMQP prefetch); `hookgate consume
      --concurrency` overrides it.
    - `delivery_limit`: deliveries without an answer (the worker crashed, was killed, lost its
      connection) before the broker dead-letters the event: the poison-message guard.
    - `idempotency`: a store of completed event IDs; an event already completed is acked
      without running its handler again. A name (`"memory"`, `"sqlite:PATH"`, or a
      `redis://HOST:PORT/DB` URL: keys under `hookgate:idempotency:NAME:`) or a store object
      (`consumers.idempotency`).
    """

    def __init__(
        self,
        name: str,
        *,
        retry_delays: Iterable[float] = DEFAULT_RETRY_DELAYS,
        handler_timeout: float = 60.0,
        concurrency: int = 32,
        delivery_limit: int = 10,
        idempotency: IdempotencyStore | str | None = None,
    ) -> None:
        if not isinstance(name, str) or not _SERVICE_NAME.fullmatch(name):
            raise ServiceDefinitionError(
                f"service name {name!r}: use letters, digits, '-' and '_' (it names queues)"
            )
        # Whole milliseconds: the broker's TTL unit, and what names a tier's queue.
        delays = tuple(round(float(d), 3) for d in retry_delays)
        if any(not 0.001 <= d <= 86_400 * 7 for d in delays):
            raise ServiceDefinitionError(
                f"service {name!r}: retry_delays must be seconds from 0.001 to 604800"
            )
        _positive(name, "handler_timeout", handler_timeout)
        if not isinstance(concurrency, int) or concurrency < 1:
            raise ServiceDefinitionError(f"service {name!r}: concurrency must be 1 or more")
        if not isinstance(delivery_limit, int) or delivery_limit < 1:
            raise ServiceDefinitionError(f"service {name!r}: delivery_limit must be 1 or more")
        self.name = name
        self.retry_delays = delays
        self.tiers = tuple(sorted(set(delays)))
        self.handler_timeout = float(handler_timeout)
        self.concurrency = concurrency
        self.delivery_limit = delivery_limit
        self.idempotency = as_idempotency_store(idempotency, name)
        self.handlers: list[Handler] = []
        self._match = lru_cache(maxsize=4096)(self._find)

    def __repr__(self) -> str:
        return f"Service({self.name!r}, handlers={[h.pattern for h in self.handlers]})"

    def handler(self, pattern: str, *, timeout: float | None = None) -> Callable[[F], F]:
        """Register a handler for events whose routing key matches `pattern`.

        Async functions run on the event loop; plain functions run in a thread pool. When
        several patterns match an event, the handler registered first handles it.
        """
        _check_pattern(self.name, pattern)
        if any(h.pattern == pattern for h in self.handlers):
            raise ServiceDefinitionError(
                f"service {self.name!r}: pattern {pattern!r} already has a handler"
            )
        if timeout is not None:
            _positive(self.name, "timeout", timeout)

        def register(func: F) -> F:
            if not callable(func):
                raise ServiceDefinitionError(f"service {self.name!r}: handler is not callable")
            self.handlers.append(
                Handler(
                    name=getattr(func, "__name__", "handler"),
                    pattern=pattern,
                    func=func,
                    is_async=inspect.iscoroutinefunction(func),
                    timeout=self.handler_timeout if timeout is None else float(timeout),
                )
            )
            self._match.cache_clear()
            return func

        return register

    def match(self, routing_key: str) -> Handler | None:
        """The handler for an event's routing key, or `None`."""
        return self._match(routing_key)

    def _find(self, routing_key: str) -> Handler | None:
        for handler in self.handlers:
            if handler.matches(routing_key):
                return handler
        return None

    def retry_delay(self, attempt: int, requested: float | None = None) -> float | None:
        """The tier to wait in after failed `attempt`, or `None` when retries are used up."""
        if attempt > len(self.retry_delays):
            return None
        if requested is None:
            return self.retry_delays[attempt - 1]
        return next((tier for tier in self.tiers if tier >= requested), self.tiers[-1])


def _check_pattern(service: str, pattern: str) -> None:
    if not isinstance(pattern, str) or not pattern or len(pattern) > 255:
        raise ServiceDefinitionError(f"service {service!r}: handler pattern must be a string")
    for word in pattern.split("."):
        if not _PATTERN_WORD.fullmatch(word):
            raise ServiceDefinitionError(
                f"service {service!r}: bad handler pattern {pattern!r}: words are letters, "
                "digits, '_' or '-', or '*' (one word) or '#' (any words), joined by '.'"
            )


def _positive(service: str, key: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ServiceDefinitionError(f"service {service!r}: {key} must be a positive number")
