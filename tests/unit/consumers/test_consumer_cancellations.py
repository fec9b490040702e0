"""Operators' cancels on the consumer side: the cancel message (`hookgate.cancel`), the bounded
`CancelSet`, and the dispatcher acking a cancelled event without running it (through
`consumers.testing`, which runs the worker's decision and hooks)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from prometheus_client import CollectorRegistry

from consumers import Event, Service
from consumers.cancellations import CancelSet
from consumers.metrics import ConsumerMetrics
from consumers.status_observer import ConsumerStatus
from consumers.testing import deliver, make_event
from hookgate.cancel import Cancellation, decode
from hookgate.status import Status, StatusChange
from hookgate.status_publisher import StatusPublisher
from hookgate.topology import cancel_stream, cancel_stream_arguments

NOWHERE = "amqp://guest:guest@127.0.0.1:1/"
NOW = 1_800_000_000.0


def _cancel(event_id: str = "evt_1", at: float = NOW, **services: int) -> Cancellation:
    return Cancellation("stripe", event_id, services or {"billing": 0}, at)


def _service(calls: list[str]) -> Service:
    service = Service("billing", retry_delays=(5,))

    @service.handler("stripe.#")
    async def handle(event: Event) -> None:
        calls.append(event.id)

    return service


def test_a_cancellation_travels_and_comes_back_unchanged() -> None:
    cancel = Cancellation("stripe", "evt/1 ü", {"billing": 2, "ci": 0}, NOW, "api")
    assert decode(cancel.encode()) == cancel


@pytest.mark.parametrize(
    "body",
    [
        b"nope",
        b'{"v": 2}',
        b'{"v": 1, "source": "", "event_id": "e", "services": {}, "at": 1}',
        b'{"v": 1, "source": "s", "event_id": "e", "services": {"b": -1}, "at": 1}',
        b'{"v": 1, "source": "s", "event_id": "e", "services": {"b": true}, "at": 1}',
        b'{"v": 1, "source": "s", "event_id": "e", "services": {"b": 0}, "at": "x"}',
    ],
)
def test_anything_else_on_the_stream_is_refused(body: bytes) -> None:
    with pytest.raises(ValueError, match=r"expected|not JSON|known version"):
        decode(body)


def test_the_stream_is_named_from_the_exchange_and_bounded() -> None:
    assert cancel_stream("webhooks") == "webhooks.cancellations"
    arguments = cancel_stream_arguments()
    assert arguments["x-queue-type"] == "stream"
    assert arguments["x-max-age"] == "7D"
    assert arguments["x-max-length-bytes"]


def test_the_set_covers_the_named_services_up_to_the_replay_round() -> None:
    cancels = CancelSet()
    cancels.add(_cancel(billing=1), now=NOW)
    assert cancels.covers("stripe", "evt_1", "billing", 0)
    assert cancels.covers("stripe", "evt_1", "billing", 1)
    assert not cancels.covers("stripe", "evt_1", "billing", 2)  # replayed after the cancel
    assert not cancels.covers("stripe", "evt_1", "ci", 0)
    assert not cancels.covers("stripe", "evt_2", "billing", 0)
    assert not cancels.covers("github", "evt_1", "billing", 0)
    cancels.add(_cancel(ci=0), now=NOW)  # a second cancel adds to the first
    assert cancels.covers("stripe", "evt_1", "billing", 1)
    assert cancels.covers("stripe", "evt_1", "ci", 0)


def test_the_set_is_bounded_and_forgets_what_the_stream_no_longer_keeps() -> None:
    cancels = CancelSet(limit=3, retention=100.0)
    for n in range(5):
        cancels.add(_cancel(f"evt_{n}", at=NOW + n), now=NOW + n)
    assert len(cancels) == 3
    assert not cancels.covers("stripe", "evt_0", "billing", 0)  # the oldest went first
    assert cancels.covers("stripe", "evt_4", "billing", 0)
    cancels.add(_cancel("old", at=NOW - 500), now=NOW)
    assert not cancels.covers("stripe", "old", "billing", 0)  # older than the retention
    cancels.add(_cancel("late", at=NOW + 150), now=NOW + 150)
    assert not any(cancels.covers("stripe", f"evt_{n}", "billing", 0) for n in range(5))
    assert cancels.covers("stripe", "late", "billing", 0)
    assert len(cancels) == 1


def test_a_cancelled_event_is_acked_without_running_and_heard_as_cancelled() -> None:
    calls: list[str] = []
    service = _service(calls)
    cancels = CancelSet()
    cancels.add(_cancel(), now=NOW)
    publisher = StatusPublisher(NOWHERE, "webhooks")
    registry = CollectorRegistry()
    metrics = ConsumerMetrics(registry, service)
    event = make_event({}, type="invoice.paid", source="stripe", id="evt_1", attempt=2)

    outcome = deliver(
        service,
        event,
        cancellations=cancels,
        observers=[metrics, ConsumerStatus(publisher, service)],
    )

    assert (outcome.kind, outcome.acked, outcome.dead_lettered) == ("cancelled", True, False)
    assert calls == []
    labels = {"service": "billing", "handler": "handle", "outcome": "cancelled"}
    assert registry.get_sample_value("hookgate_consumer_events_total", labels) == 1.0
    [change] = [m for m in publisher._buffer if isinstance(m, StatusChange)]
    assert (change.status, change.service, change.attempt) == (Status.CANCELLED, "billing", None)
    assert change.detail == "skipped: cancelled by an operator"


def test_other_events_and_other_services_still_run() -> None:
    calls: list[str] = []
    service = _service(calls)
    cancels = CancelSet()
    cancels.add(_cancel(ci=0), now=NOW)  # another service's cancel
    cancels.add(_cancel("evt_2"), now=NOW)
    one = make_event({}, type="invoice.paid", source="stripe", id="evt_1")
    assert deliver(service, one, cancellations=cancels).kind == "success"
    # The operator replayed it after the cancel: it runs again.
    replayed = replace(make_event({}, type="x", source="stripe", id="evt_2"), replays=1)
    assert deliver(service, replayed, cancellations=cancels).kind == "success"
    assert calls == ["evt_1", "evt_2"]
