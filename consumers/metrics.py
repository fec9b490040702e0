"""Every consumer metric, owned by one object that is handed a registry; an observer of every
delivery the worker answers (`hookgate.observe`).

Labels come from code: the service name, handler function names, outcomes and queue names.
Never from event data (event types are unbounded). Label sets are created up front, so a
dashboard shows zeros rather than gaps.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from consumers.service import Service
from hookgate.observe import BaseObserver, ConsumeOutcome, ConsumeRecord
from hookgate.topology import all_queues

#: The `handler` label of events that no handler of the service matched.
UNMATCHED = "_unmatched"
#: The `handler` label of messages refused before dispatch: their signature did not verify.
UNAUTHENTICATED = "_unauthenticated"

_DURATION_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
_LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600)


class ConsumerMetrics(BaseObserver):
    """One service's metrics. Pass a fresh `CollectorRegistry` in tests."""

    def __init__(self, registry: CollectorRegistry, service: Service) -> None:
        self.registry = registry
        name = service.name
        events = Counter(
            "hookgate_consumer_events",
            "Events answered by a consumer service, by handler and outcome.",
            ["service", "handler", "outcome"],
            registry=registry,
        )
        duration = Histogram(
            "hookgate_consumer_handler_duration_seconds",
            "Time a handler ran, whatever its outcome.",
            ["service", "handler"],
            buckets=_DURATION_BUCKETS,
            registry=registry,
        )
        lag = Histogram(
            "hookgate_consumer_event_lag_seconds",
            "Time from the gateway's receipt of an event to its handler's start.",
            ["service"],
            buckets=_LAG_BUCKETS,
            registry=registry,
        )
        in_flight = Gauge(
            "hookgate_consumer_in_flight",
            "Events being processed right now.",
            ["service"],
            registry=registry,
        )
        status = Counter(
            "hookgate_status_messages",
            "Status messages for hookgate admin's ledger (with an [admin] table), by result: "
            "emitted (buffered to be sent), dropped (the buffer was full: the broker was away).",
            ["service", "result"],
            registry=registry,
        )
        self._status_emitted = status.labels(name, "emitted")
        self._status_dropped = status.labels(name, "dropped")
        queue_messages = Gauge(
            "hookgate_queue_messages",
            "Messages ready in the service's work, retry and dead-letter queues (sampled).",
            ["queue"],
            registry=registry,
        )
        handlers = [h.name for h in service.handlers] + [UNMATCHED, UNAUTHENTICATED]
        self._events = {
            (handler, outcome): events.labels(name, handler, outcome)
            for handler in handlers
            for outcome in ConsumeOutcome
        }
        self._durations = {handler: duration.labels(name, handler) for handler in handlers}
        self.lag = lag.labels(name)
        self.in_flight = in_flight.labels(name)
        self.queue_messages = {queue: queue_messages.labels(queue) for queue in all_queues(service)}

    def status_counts(self, emitted: int, dropped: int) -> None:
        """The status publisher's counts since it last told (`StatusPublisher.counts`)."""
        self._status_emitted.inc(emitted)
        self._status_dropped.inc(dropped)

    def on_consumed(self, record: ConsumeRecord) -> None:
        self._events[record.handler, record.outcome].inc()

    def handler_duration(self, handler: str, seconds: float) -> None:
        self._durations[handler].observe(seconds)
