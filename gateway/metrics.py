"""Every gateway metric, owned by one object that is handed a registry; an observer of every
request and forwarded event (`hookgate.observe`).

Label values come from the config (source names) and from code (outcomes, reasons), never from
request data. The label sets that can happen are created up front (`gateway.metric_labels`), so
a dashboard shows zeros rather than gaps and `increase()` sees the first event; one that was
not foreseen is created when it first happens. Under several uvicorn workers,
prometheus_client's multiprocess mode aggregates the workers' values (`PROMETHEUS_MULTIPROC_DIR`,
set by `hookgate serve --workers N` before the workers start); `process_*` then covers the
supervisor and every worker (`hookgate.process_metrics.ProcessTree`).
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from gateway.metric_labels import COMMON_OUTCOMES, UNKNOWN_SOURCE_OUTCOMES
from hookgate.metric_children import CounterChildren
from hookgate.observe import (
    BaseObserver,
    ForwardOutcome,
    ForwardRecord,
    IngestOutcome,
    IngestRecord,
    PublishFailure,
)
from hookgate.process_metrics import ProcessTree, build_info, process_collectors, supervisor_pid

if TYPE_CHECKING:
    from gateway.spool_file import SpoolTotals

#: The `source` label of requests to a source that is not configured.
UNKNOWN_SOURCE = "_unknown"

# Webhook round trips are dominated by the broker confirm: 1 ms to a few seconds.
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class GatewayMetrics(BaseObserver):
    """The gateway's metrics. Pass a fresh `CollectorRegistry` in tests.

    `sources`: each configured source's name with the outcomes it can produce
    (`gateway.metric_labels.possible_outcomes`), or bare names (then `COMMON_OUTCOMES`).
    `spool_max_bytes`: `spool.max_bytes`, 0 with the spool off."""

    def __init__(
        self,
        registry: CollectorRegistry,
        sources: Mapping[str, Collection[IngestOutcome]] | Iterable[str],
        *,
        multiprocess: bool = False,
        spool_max_bytes: int = 0,
    ) -> None:
        self.registry = registry
        self._multiprocess = multiprocess
        build_info(registry, "gateway")
        if not multiprocess:
            process_collectors(registry)
        self.requests = Counter(
            "hookgate_requests",
            "Webhook requests answered, by source and outcome.",
            ["source", "outcome"],
            registry=registry,
        )
        self.request_duration = Histogram(
            "hookgate_request_duration_seconds",
            "Time from request start to answer, by source.",
            ["source"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.publish_duration = Histogram(
            "hookgate_publish_duration_seconds",
            "Time from publish to broker confirm.",
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.publish_failures = Counter(
            "hookgate_publish_failures",
            "Publishes the broker did not confirm, by reason.",
            ["reason"],
            registry=registry,
        )
        self.broker_connected = Gauge(
            "hookgate_broker_connected",
            "1 while the publishing connection to RabbitMQ is open (minimum over workers).",
            registry=registry,
            multiprocess_mode="livemin",
        )
        # Every worker reads the same spool file, so each reports the same totals: take the max.
        self.spool_events = Gauge(
            "hookgate_spool_events",
            "Events in the disk spool, waiting for the broker.",
            registry=registry,
            multiprocess_mode="livemax",
        )
        self.spool_bytes = Gauge(
            "hookgate_spool_bytes",
            "Bytes of events in the disk spool, waiting or quarantined (what spool.max_bytes "
            "bounds).",
            registry=registry,
            multiprocess_mode="livemax",
        )
        self.spool_max_bytes = Gauge(
            "hookgate_spool_max_bytes",
            "spool.max_bytes: what hookgate_spool_bytes may reach before the gateway answers 503 "
            "(0 with the spool off).",
            registry=registry,
            multiprocess_mode="livemax",
        )
        self.spool_max_bytes.set(spool_max_bytes)
        self.spool_oldest_age = Gauge(
            "hookgate_spool_oldest_age_seconds",
            "Age of the oldest event in the disk spool (0 when empty).",
            registry=registry,
            multiprocess_mode="livemax",
        )
        self.spool_quarantined = Gauge(
            "hookgate_spool_quarantined_events",
            "Spooled events moved aside because they can never be published (hookgate spool list).",
            registry=registry,
            multiprocess_mode="livemax",
        )
        self.spool_stalled = Gauge(
            "hookgate_spool_stalled_seconds",
            "Seconds the spool has held events with the broker connected and none has left it "
            "(0 while it drains or is empty).",
            registry=registry,
            multiprocess_mode="livemax",
        )
        status = Counter(
            "hookgate_status_messages",
            "Status messages for hookgate admin's ledger (with an [admin] table), by result: "
            "emitted (buffered to be sent), dropped (the buffer was full: the broker was away).",
            ["result"],
            registry=registry,
        )
        self._status_emitted = status.labels("emitted")
        self._status_dropped = status.labels("dropped")
        self.spool_forwarded = Counter(
            "hookgate_spool_forwarded",
            "Spooled events forwarded to the broker and confirmed.",
            registry=registry,
        )
        self._request_counters = CounterChildren(self.requests)
        self._request_timers: dict[str, Histogram] = {}
        possible = (
            dict(sources)
            if isinstance(sources, Mapping)
            else dict.fromkeys(sources, COMMON_OUTCOMES)
        )
        possible[UNKNOWN_SOURCE] = UNKNOWN_SOURCE_OUTCOMES
        self._request_counters.known.update(possible)
        for source, outcomes in possible.items():
            self._request_timers[source] = self.request_duration.labels(source)
            for outcome in IngestOutcome:  # in the enum's order: a stable exposition
                if outcome in outcomes:
                    self._request_counters[source, outcome] = self.requests.labels(source, outcome)
        self._failure_counters = {r: self.publish_failures.labels(r) for r in PublishFailure}
        self.broker_connected.set(0)

    def status_counts(self, emitted: int, dropped: int) -> None:
        """The status publisher's counts since it last told (`StatusPublisher.counts`)."""
        self._status_emitted.inc(emitted)
        self._status_dropped.inc(dropped)

    def on_ingest(self, record: IngestRecord) -> None:
        """Count one answered request. Its source is configured, or `UNKNOWN_SOURCE`."""
        self._request_counters[record.source, record.outcome].inc()
        self._request_timers[record.source].observe(record.duration)

    def on_forwarded(self, record: ForwardRecord) -> None:
        # Quarantined events are counted from the spool file (`spool_state`).
        if record.outcome is ForwardOutcome.FORWARDED:
            self.spool_forwarded.inc()

    def refused_at_edge(self, outcome: IngestOutcome) -> None:
        """Count an answer the HTTP layer gave before any source was known (headers too slow
        or too large, a connection past the cap), under `UNKNOWN_SOURCE`."""
        self._request_counters[UNKNOWN_SOURCE, outcome].inc()

    def spool_state(self, totals: SpoolTotals, stalled_seconds: float) -> None:
        self.spool_events.set(totals.events)
        self.spool_bytes.set(totals.bytes + totals.quarantined_bytes)
        oldest = totals.oldest_received_at
        self.spool_oldest_age.set(max(0.0, time.time() - oldest) if oldest is not None else 0.0)
        self.spool_quarantined.set(totals.quarantined)
        self.spool_stalled.set(stalled_seconds)

    def publish_failed(self, reason: PublishFailure) -> None:
        self._failure_counters[reason].inc()

    def exposition(self) -> bytes:
        """The Prometheus text format for `/metrics`, aggregated over workers when needed."""
        if self._multiprocess:
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            registry.register(ProcessTree(supervisor_pid()))
            PlatformCollector(registry=registry)
            return generate_latest(registry)
        return generate_latest(self.registry)
