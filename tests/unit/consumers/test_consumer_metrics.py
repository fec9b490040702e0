"""consumers.metrics: names, labels set up front, values as the worker records them."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from consumers import Event, Service
from consumers.metrics import ConsumerMetrics
from hookgate.observe import ConsumeOutcome, ConsumeRecord


def _service() -> Service:
    service = Service("billing", retry_delays=(5, 60))

    @service.handler("stripe.#")
    async def invoice(event: Event) -> None: ...

    return service


def test_every_label_set_exists_from_the_start() -> None:
    registry = CollectorRegistry()
    ConsumerMetrics(registry, _service())
    for handler in ("invoice", "_unmatched", "_unauthenticated"):
        for outcome in ConsumeOutcome:
            labels = {"service": "billing", "handler": handler, "outcome": outcome}
            assert registry.get_sample_value("hookgate_consumer_events_total", labels) == 0
    for queue in ("billing", "billing.retry.5s", "billing.retry.1m", "billing.dead"):
        assert registry.get_sample_value("hookgate_queue_messages", {"queue": queue}) == 0
    assert registry.get_sample_value("hookgate_consumer_in_flight", {"service": "billing"}) == 0


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
