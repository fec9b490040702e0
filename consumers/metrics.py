"""Every consumer metric, owned by one object that is handed a registry; an observer of every
delivery the worker answers (`hookgate.observe`).

Labels come from code: the service name, handler function names, outcomes and queue names.
Never from event data (event types are unbounded). The label sets that can happen are created
up front, so a dashboard shows zeros rather than gaps and `increase()` sees the first event;
those that cannot are not (`possible_outcomes`): `_unmatched` only ever counts `unmatched`, a
service without retry tiers never retries, without an idempotency store never counts a
duplicate. A label set not foreseen is created when it first happens.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from consumers.service import Service
from hookgate.metric_children import CounterChildren
from hookgate.observe import BaseObserver, ConsumeOutcome, ConsumeRecord
from hookgate.process_metrics import build_info, process_collectors
from hookgate.topology import all_queues

#: The `handler` label of events that no handler of the service matched.
UNMATCHED = "_unmatched"
#: The `handler` label of messages refused before dispatch: their signature did not verify.
UNAUTHENTICATED = "_unauthenticated"

_DURATION_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
_LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600)


def possible_outcomes(
    service: Service, *, authenticates: bool, cancellations: bool
) -> dict[str, frozenset[ConsumeOutcome]]:
    """handler label → the outcomes it can count, for this service as it runs.

    `authenticates`: messages must be signed (`[broker] message_key`); `cancellations`: the
    worker reads operators' cancels (an `[admin]` table)."""
    outcomes = {ConsumeOutcome.SUCCESS, ConsumeOutcome.REJECTED, ConsumeOutcome.DEAD_LETTERED}
    if service.retry_delays:
        outcomes.add(ConsumeOutcome.RETRY)
    if service.idempotency is not None:
        outcomes.add(ConsumeOutcome.DUPLICATE)
    if cancellations:
        outcomes.add(ConsumeOutcome.CANCELLED)
    possible = {handler.name: frozenset(outcomes) for handler in service.handlers}
    possible[UNMATCHED] = frozenset({ConsumeOutcome.UNMATCHED})
    if authenticates:
        possible[UNAUTHENTICATED] = frozenset({ConsumeOutcome.UNAUTHENTICATED})
    return possible


class ConsumerMetrics(BaseObserver):
    """One service's metrics. Pass a fresh `CollectorRegistry` in tests.

    `authenticates` and `cancellations` say which outcomes can happen (`possible_outcomes`)."""

    def __init__(
        self,
        registry: CollectorRegistry,
        service: Service,
        *,
        authenticates: bool = False,
        cancellations: bool = False,
    ) -> None:
        self.registry = registry
        name = service.name
        build_info(registry, "consumer")
        process_collectors(registry)
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
        possible = possible_outcomes(
            service, authenticates=authenticates, cancellations=cancellations
        )
        handlers = [h.name for h in service.handlers] + [UNMATCHED, UNAUTHENTICATED]
        self._events = CounterChildren(events, handlers, prefix=(name,))
        for handler, outcomes in possible.items():
            for outcome in ConsumeOutcome:  # in the enum's order: a stable exposition
                if outcome in outcomes:
                    self._events[handler, outcome] = events.labels(name, handler, outcome)
        # Only handlers run and are timed: never `_unmatched` or `_unauthenticated`.
        self._durations = {h.name: duration.labels(name, h.name) for h in service.handlers}
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
