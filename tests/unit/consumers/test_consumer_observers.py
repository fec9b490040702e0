"""Every delivery a consumer answers reaches every observer once (`deliver(…, observers=…)`
runs the worker's decision and record; `Worker(observers=…)` is pinned in
tests/integration/test_consumer_observers.py). The metrics and the log are observers too."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import CollectorRegistry

from consumers import Event, MemoryIdempotencyStore, Reject, Retry, Service
from consumers.dispatch import Outcome
from consumers.metrics import ConsumerMetrics
from consumers.outcome_log import OutcomeLog
from consumers.testing import deliver, make_event, published
from hookgate.observe import BaseObserver, ConsumeOutcome, ConsumeRecord, Observers

KEY = "k" * 32


class Recording(BaseObserver):
    def __init__(self) -> None:
        self.consumed: list[ConsumeRecord] = []

    def on_consumed(self, record: ConsumeRecord) -> None:
        self.consumed.append(record)


class Raising(BaseObserver):
    def on_consumed(self, record: ConsumeRecord) -> None:
        raise RuntimeError("a broken observer")


def _service() -> Service:
    service = Service("billing", retry_delays=(5, 60))

    @service.handler("stripe.invoice.paid")
    async def paid(event: Event) -> None:
        pass

    @service.handler("stripe.invoice.failed")
    async def failed(event: Event) -> None:
        raise Retry(delay=5)

    @service.handler("stripe.invoice.voided")
    async def voided(event: Event) -> None:
        raise Reject("voided invoices are not ours")

    return service


def _event(event_type: str, event_id: str = "evt_1", attempt: int = 1) -> Event:
    return make_event(
        {"id": event_id}, type=event_type, source="stripe", id=event_id, attempt=attempt
    )


@pytest.mark.parametrize(
    ("event", "outcome", "handler"),
    [
        (_event("invoice.paid"), ConsumeOutcome.SUCCESS, "paid"),
        (_event("invoice.failed"), ConsumeOutcome.RETRY, "failed"),
        (_event("invoice.failed", attempt=3), ConsumeOutcome.DEAD_LETTERED, "failed"),
        (_event("invoice.voided"), ConsumeOutcome.REJECTED, "voided"),
        (_event("charge.refunded"), ConsumeOutcome.UNMATCHED, "_unmatched"),
    ],
)
def test_each_delivery_is_recorded_once(
    event: Event, outcome: ConsumeOutcome, handler: str
) -> None:
    recording = Recording()
    answered = deliver(_service(), event, observers=[recording])
    [record] = recording.consumed
    assert answered.kind is outcome
    assert (record.service, record.handler, record.outcome) == ("billing", handler, outcome)
    assert (record.event_id, record.source, record.event_type, record.attempt) == (
        event.id,
        "stripe",
        event.type,
        event.attempt,
    )
    assert record.retry_delay == answered.delay
    failure = answered.failure
    assert record.failure_type == (failure.type if failure else None)
    assert record.failure_message == (failure.message if failure else None)
    assert record.duration > 0


def test_a_retry_records_its_tier_and_its_error() -> None:
    recording = Recording()
    deliver(_service(), _event("invoice.failed"), observers=[recording])
    [record] = recording.consumed
    assert (record.retry_delay, record.failure_type) == (5, "Retry")


def test_a_duplicate_is_recorded_once_per_delivery() -> None:
    recording = Recording()
    store = MemoryIdempotencyStore()
    for _ in range(2):
        deliver(_service(), _event("invoice.paid"), idempotency=store, observers=[recording])
    assert [r.outcome for r in recording.consumed] == [
        ConsumeOutcome.SUCCESS,
        ConsumeOutcome.DUPLICATE,
    ]


def test_an_unauthenticated_message_is_recorded_with_what_it_claims() -> None:
    recording = Recording()
    message = published(_event("invoice.paid", "evt_forged"), key="w" * 32)
    outcome = deliver(_service(), message, message_keys=[KEY], observers=[recording])
    [record] = recording.consumed
    assert outcome.kind is ConsumeOutcome.UNAUTHENTICATED
    assert (record.outcome, record.handler) == (ConsumeOutcome.UNAUTHENTICATED, "_unauthenticated")
    assert (record.event_id, record.event_type) == ("evt_forged", "invoice.paid")


def test_a_raising_observer_changes_no_outcome() -> None:
    recording = Recording()
    outcome = deliver(_service(), _event("invoice.paid"), observers=[Raising(), recording])
    assert outcome.kind is ConsumeOutcome.SUCCESS
    assert len(recording.consumed) == 1


@pytest.mark.parametrize("outcome", list(ConsumeOutcome))
def test_metrics_and_log_each_hear_every_outcome(
    outcome: ConsumeOutcome, caplog: pytest.LogCaptureFixture
) -> None:
    registry = CollectorRegistry()
    service = _service()
    observers = Observers([ConsumerMetrics(registry, service), OutcomeLog()])
    record = Outcome(outcome, "paid", delay=5 if outcome is ConsumeOutcome.RETRY else None).record(
        "billing", _event("invoice.paid"), 0.004
    )
    with caplog.at_level(logging.INFO, logger="hookgate.consumer"):
        observers.on_consumed(record)
    assert observers.failures == 0
    labels = {"service": "billing", "handler": "paid", "outcome": outcome.value}
    assert registry.get_sample_value("hookgate_consumer_events_total", labels) == 1.0
    [line] = [r for r in caplog.records if r.name == "hookgate.consumer"]
    assert line.fields["outcome"] == outcome  # type: ignore[attr-defined]


@pytest.mark.parametrize("outcome", list(ConsumeOutcome))
def test_every_outcome_is_either_acked_retried_or_dead_lettered(outcome: ConsumeOutcome) -> None:
    answered = Outcome(outcome, "paid")
    retried = outcome is ConsumeOutcome.RETRY
    assert [answered.acked, retried, answered.dead_lettered].count(True) == 1
