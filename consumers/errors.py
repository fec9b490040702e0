"""Consumer errors, and the two outcomes a handler raises on purpose.

A handler that returns has succeeded: the event is acked. `Retry` asks for another attempt
after a delay; `Reject` dead-letters the event at once. Any other exception is a failure, which
retries along the service's tiers and then dead-letters.
"""

from __future__ import annotations

from hookgate.errors import HookgateError, TopologyError

__all__ = [
    "ConsumerError",
    "HandlerOutcome",
    "Reject",
    "Retry",
    "ServiceDefinitionError",
    "TopologyError",
]


class ConsumerError(HookgateError):
    """Root of every error the consumer framework raises on purpose."""


class ServiceDefinitionError(ConsumerError, ValueError):
    """A `Service` or a handler is defined wrongly (bad name, pattern, delays)."""


class HandlerOutcome(Exception):
    """Base of `Retry` and `Reject`: control flow raised by a handler, never a bug."""


class Retry(HandlerOutcome):
    """Process this event again later.

    `delay` (seconds) picks the shortest retry tier at least that long (the longest tier when
    it is longer than all); `None` uses the tier for the current attempt. A retry counts as an
    attempt: when the tiers are used up, the event is dead-lettered.
    """

    def __init__(self, delay: float | None = None, reason: str = "") -> None:
        super().__init__(reason or "retry requested")
        self.delay = delay
        self.reason = reason


class Reject(HandlerOutcome):
    """This event can never succeed: dead-letter it now with `reason`, without retrying."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
