"""consumers.metrics: names, labels set up front, values as the worker records them."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from consumers import Event, Service
from consumers.idempotency import MemoryIdempotencyStore
from consumers.metrics import ConsumerMetrics, possible_outcomes
from hookgate.observe import ConsumeOutcome, ConsumeRecord


def _service() -> Service:
    service = Service("billing", retry_delays=(5, 60))

    @service.handler("stripe.#")
    async def invoice(event: Event) -> None: ...

    return service


def _events(registry: CollectorRegistry, handler: str, outcome: str) -> float | None:
    labels = {"service": "billing", "handler": handler, "outcome": outcome}
    return registry.get_sample_value("hookgate_consumer_events_total", labels)


def test_every_possible_label_set_exists_from_the_start() -> None:
    registry = CollectorRegistry()
    ConsumerMetrics(registry, _service(), authenticates=True, cancellations=True)
    for outcome in ("success", "retry", "dead_lettered", "rejected", "cancelled"):
        assert _events(registry, "invoice", outcome) == 0
    assert _events(registry, "_unmatched", "unmatched") == 0
    assert _events(registry, "_unauthenticated", "unauthenticated") == 0
    for queue in ("billing", "billing.retry.5s", "billing.retry.1m", "billing.dead"):
        assert registry.get_sample_value("hookgate_queue_messages", {"queue": queue}) == 0
    assert registry.get_sample_value("hookgate_consumer_in_flight", {"service": "billing"}) == 0


@pytest.mark.parametrize(
    ("handler", "outcome"),
    [
        ("invoice", "unmatched"),  # a handler that matched cannot be unmatched
        ("invoice", "unauthenticated"),  # checked before any handler is chosen
        ("invoice", "duplicate"),  # no idempotency store
        ("_unmatched", "success"),
        ("_unmatched", "retry"),
        ("_unauthenticated", "dead_lettered"),
        ("_unauthenticated", "unauthenticated"),  # no message key: nothing is checked
        ("invoice", "cancelled"),  # no [admin]: no cancels are read
    ],
)
def test_impossible_label_sets_are_not_created(handler: str, outcome: str) -> None:
    registry = CollectorRegistry()
    ConsumerMetrics(registry, _service())
    assert _events(registry, handler, outcome) is None


def test_what_depends_on_the_service_follows_it() -> None:
    service = Service("billing", retry_delays=(), idempotency=MemoryIdempotencyStore())

    @service.handler("stripe.#")
    async def invoice(event: Event) -> None: ...

    possible = possible_outcomes(service, authenticates=False, cancellations=False)
    assert ConsumeOutcome.RETRY not in possible["invoice"]  # no tiers: straight to dead
    assert ConsumeOutcome.DUPLICATE in possible["invoice"]
    assert possible["_unmatched"] == {ConsumeOutcome.UNMATCHED}
    assert "_unauthenticated" not in possible


def test_no_duration_series_for_what_never_runs_a_handler() -> None:
    registry = CollectorRegistry()
    ConsumerMetrics(registry, _service(), authenticates=True)
    name = "hookgate_consumer_handler_duration_seconds_count"
    assert registry.get_sample_value(name, {"service": "billing", "handler": "invoice"}) == 0
    assert registry.get_sample_value(name, {"service": "billing", "handler": "_unmatched"}) is None


def test_an_outcome_not_foreseen_is_counted_and_an_unknown_handler_is_not() -> None:
    registry = CollectorRegistry()
    metrics = ConsumerMetrics(registry, _service())
    record = ConsumeRecord(
        "billing", "_unauthenticated", "e", "stripe", "x", 1, ConsumeOutcome.UNAUTHENTICATED, 0.0
    )
    metrics.on_consumed(record)
    assert _events(registry, "_unauthenticated", "unauthenticated") == 1
    record.handler = "made_up"
    with pytest.raises(KeyError):
        metrics.on_consumed(record)
    assert _events(registry, "made_up", "unauthenticated") is None


def test_build_info_and_process_metrics_are_exported() -> None:
    registry = CollectorRegistry()
    ConsumerMetrics(registry, _service())
    samples = {s.name: s for m in registry.collect() for s in m.samples}
    assert samples["hookgate_build_info"].labels["component"] == "consumer"
    assert samples["hookgate_build_info"].value == 1
    assert samples["process_resident_memory_bytes"].value > 0
    assert "process_cpu_seconds_total" in samples


def test_recorded_values_are_readable() -> None:
    registry = CollectorRegistry()
    metrics = ConsumerMetrics(registry, _service())
    metrics.on_consumed(
        ConsumeRecord(
            service="billing",
            handler="invoice",
            event_id="evt_1",
            source="stripe",
            event_type="invoice.paid",
            attempt=1,
            outcome=ConsumeOutcome.RETRY,
            duration=0.02,
            retry_delay=5,
        )
    )
    metrics.handler_duration("invoice", 0.02)
    metrics.lag.observe(1.5)
    labels = {"service": "billing", "handler": "invoice", "outcome": "retry"}
    assert registry.get_sample_value("hookgate_consumer_events_total", labels) == 1
    assert (
        registry.get_sample_value(
            "hookgate_consumer_handler_duration_seconds_count",
            {"service": "billing", "handler": "invoice"},
        )
        == 1
    )
    assert (
        registry.get_sample_value("hookgate_consumer_event_lag_seconds_sum", {"service": "billing"})
        == 1.5
    )
