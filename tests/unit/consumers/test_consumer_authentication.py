"""Consumer-side message authentication, in memory: what reaches a handler with keys set."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from pamqp.commands import Basic
from prometheus_client import CollectorRegistry

from consumers import Event, Service
from consumers.dispatch import Failure
from consumers.messages import dead_letter_copy, replay_copy, retry_copy
from consumers.metrics import ConsumerMetrics
from consumers.testing import Message, deliver, make_event, published
from gateway.message import build_properties
from hookgate import message_auth
from providers import VerifiedEvent

KEY = "k" * 32
OLD_KEY = "o" * 32


def _service() -> tuple[Service, list[Event]]:
    service = Service("billing", retry_delays=(5,))
    seen: list[Event] = []

    @service.handler("stripe.#")
    async def invoice(event: Event) -> None:
        seen.append(event)

    return service, seen


def _event(**changes: object) -> Event:
    event = make_event({"id": "evt_1"}, source="stripe", type="invoice.paid", id="evt_1")
    return replace(event, **changes)  # type: ignore[arg-type]


def test_a_signed_message_reaches_the_handler() -> None:
    service, seen = _service()
    outcome = deliver(service, published(_event(), key=KEY), message_keys=[KEY])
    assert outcome.kind == "success"
    assert [e.id for e in seen] == ["evt_1"]


def test_any_configured_key_verifies_for_rotation() -> None:
    service, _seen = _service()
    outcome = deliver(service, published(_event(), key=OLD_KEY), message_keys=[KEY, OLD_KEY])
    assert outcome.kind == "success"


@pytest.mark.parametrize(
    "message",
    [
        published(_event()),  # unsigned
        published(_event(), key="x" * 32),  # another key
        replace(published(_event(), key=KEY), body=b'{"id": "evt_2"}'),  # body altered
        Message(  # claims another source after signing
            b'{"id":"evt_1"}',
            {**published(_event(), key=KEY).headers, "hookgate-source": "stripe-live"},
        ),
        Message(  # another event type
            published(_event(), key=KEY).body,
            {**published(_event(), key=KEY).headers, "hookgate-event-type": "invoice.voided"},
        ),
    ],
    ids=["unsigned", "other-key", "body", "source", "type"],
)
def test_an_unverified_message_is_dead_lettered_without_reaching_a_handler(
    message: Message,
) -> None:
    service, seen = _service()
    outcome = deliver(service, message, message_keys=[KEY])
    assert outcome.kind == "unauthenticated"
    assert outcome.dead_lettered
    assert not outcome.acked
    assert outcome.failure is not None
    assert outcome.failure.type == "Unauthenticated"
    assert outcome.handler == "_unauthenticated"
    assert seen == []


def test_a_missing_signature_says_so() -> None:
    service, _ = _service()
    outcome = deliver(service, _event(), message_keys=[KEY])  # an Event counts as unsigned
    assert outcome.failure is not None
    assert "no hookgate-signature header" in outcome.failure.message


def test_without_keys_nothing_is_checked() -> None:
    service, seen = _service()
    assert deliver(service, published(_event())).kind == "success"
    assert deliver(service, _event()).kind == "success"
    assert len(seen) == 2


def test_retry_dead_letter_and_replay_copies_keep_the_signature_valid() -> None:
    message = published(_event(), key=KEY)
    properties = Basic.Properties(
        headers={**message.headers, "x-delivery-count": 3}, message_id="evt_1"
    )
    retried = retry_copy(properties, attempt=1)
    dead = dead_letter_copy(
        retried,
        attempt=2,
        handler="invoice",
        reason="retries_exhausted",
        failure=Failure("ValueError", "boom", "Traceback…"),
    )
    replayed = replay_copy(dead)
    for copy in (retried, dead, replayed):
        assert message_auth.verify([KEY.encode()], message.body, copy.headers or {})
    service, _seen = _service()
    assert deliver(
        service, Message(message.body, replayed.headers or {}), message_keys=[KEY]
    ).kind == ("success")


def test_published_headers_match_what_the_gateway_signs() -> None:
    """`consumers.testing.published` must build the gateway's headers, or a test would sign
    something no gateway sends."""
    received = time.time()
    verified = VerifiedEvent(id="evt_1", type="invoice.paid")
    gateway = build_properties(
        source="stripe",
        provider="stripe",
        event=verified,
        headers={"content-type": "application/json", "stripe-signature": "t=1,v1=x"},
        received_at=received,
    )
    body = b'{"id":"evt_1"}'

    ours = published(
        Event(
            id="evt_1",
            source="stripe",
            type="invoice.paid",
            body=body,
            provider="stripe",
            received_at=datetime.fromtimestamp(received, UTC),
            headers={"content-type": "application/json", "stripe-signature": "t=1,v1=x"},
        )
    )
    gateway_headers = dict(gateway.headers or {})
    assert ours.headers == gateway_headers
    assert message_auth.sign(KEY.encode(), body, ours.headers) == message_auth.sign(
        KEY.encode(), body, gateway_headers
    )


def test_unauthenticated_has_its_own_label_set_from_the_start_when_messages_are_checked() -> None:
    registry = CollectorRegistry()
    service, _ = _service()
    ConsumerMetrics(registry, service, authenticates=True)
    labels = {"service": "billing", "handler": "_unauthenticated", "outcome": "unauthenticated"}
    assert registry.get_sample_value("hookgate_consumer_events_total", labels) == 0
    # Without a message key nothing is checked: the label set could never move.
    other = CollectorRegistry()
    ConsumerMetrics(other, service)
    assert other.get_sample_value("hookgate_consumer_events_total", labels) is None
