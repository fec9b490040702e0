"""consumers.status_observer: each start and answered delivery becomes one status change
(through `deliver`, which runs the worker's decision and hooks); unauthenticated messages say
nothing; a duplicate is `completed`; the service announces its patterns, tiers and limit."""

from __future__ import annotations

import pytest

from consumers import Event, MemoryIdempotencyStore, Reject, Retry, Service
from consumers.status_observer import ConsumerStatus
from consumers.testing import deliver, make_event, published
from hookgate.status import ServiceAnnouncement, Status, StatusChange
from hookgate.status_publisher import StatusPublisher

NOWHERE = "amqp://guest:guest@127.0.0.1:1/"


def _service() -> Service:
    service = Service("billing", retry_delays=(5, 60), delivery_limit=7)

    @service.handler("stripe.invoice.paid")
    async def paid(event: Event) -> None:
        pass

    @service.handler("stripe.invoice.failed")
    async def failed(event: Event) -> None:
        raise Retry(reason="card declined")

    @service.handler("stripe.invoice.voided")
    async def voided(event: Event) -> None:
        raise Reject("voided invoices are not ours")

    return service


def _emitted(publisher: StatusPublisher) -> list[StatusChange]:
    return [m for m in publisher._buffer if isinstance(m, StatusChange)]


def _event(event_type: str, attempt: int = 1) -> Event:
    return make_event({}, type=event_type, source="stripe", id="evt_1", attempt=attempt)


def _run(event: Event, **options: object) -> list[StatusChange]:
    publisher = StatusPublisher(NOWHERE, "webhooks")
    service = _service()
    deliver(service, event, observers=[ConsumerStatus(publisher, service)], **options)  # type: ignore[arg-type]
    return _emitted(publisher)


def test_a_success_is_running_then_completed() -> None:
    event = _event("invoice.paid")
    running, completed = _run(event)
    assert (running.status, running.service, running.attempt) == (Status.RUNNING, "billing", 1)
    assert (completed.status, completed.attempt, completed.detail) == (Status.COMPLETED, 1, None)
    assert running.received_at == completed.received_at == event.received_at.timestamp()
    assert running.event_type == "invoice.paid"
    assert running.at <= completed.at


def test_a_retry_says_why_and_when_it_runs_again() -> None:
    _, retrying = _run(_event("invoice.failed", attempt=2))
    assert (retrying.status, retrying.attempt) == (Status.RETRYING, 2)
    assert retrying.detail == "Retry: card declined"
    assert retrying.next_attempt_at == pytest.approx(retrying.at + 60)  # the 2nd tier


@pytest.mark.parametrize(
    ("event", "detail"),
    [
        (_event("invoice.failed", attempt=3), "Retry: card declined"),
        (_event("invoice.voided"), "Reject: voided invoices are not ours"),
    ],
)
def test_dead_lettered_and_rejected_are_failed(event: Event, detail: str) -> None:
    *_, failed = _run(event)
    assert (failed.status, failed.detail, failed.next_attempt_at) == (Status.FAILED, detail, None)


def test_an_unmatched_event_fails_without_running() -> None:
    [failed] = _run(_event("invoice.unknown"))
    assert failed.status is Status.FAILED
    assert failed.detail is not None
    assert failed.detail.startswith("NoHandler: ")


def test_a_duplicate_is_completed_without_running() -> None:
    store = MemoryIdempotencyStore()
    _run(_event("invoice.paid"), idempotency=store)
    [completed] = _run(_event("invoice.paid"), idempotency=store)
    assert completed.status is Status.COMPLETED


def test_an_unauthenticated_message_emits_nothing() -> None:
    message = published(_event("invoice.paid"))  # unsigned, while keys are required
    assert _run(message, message_keys=["k" * 32]) == []  # type: ignore[arg-type]


def test_the_announcement_names_patterns_tiers_and_limit() -> None:
    publisher = StatusPublisher(NOWHERE, "webhooks")
    announcement = ConsumerStatus(publisher, _service()).announcement()
    assert announcement == ServiceAnnouncement(
        "billing",
        ("stripe.invoice.paid", "stripe.invoice.failed", "stripe.invoice.voided"),
        announcement.at,
        (5.0, 60.0),
        7,
    )
