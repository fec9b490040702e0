"""consumers.event: the Event rebuilt from what the gateway published."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime

import orjson
import pytest

from consumers.event import Event, event_from_message
from gateway.message import build_properties
from providers import VerifiedEvent


def test_event_is_rebuilt_exactly_from_the_gateways_message() -> None:
    body = b'{"id": "evt_1", "type": "invoice.paid"}'
    received = time.time()
    properties = build_properties(
        source="stripe-live",
        provider="stripe",
        event=VerifiedEvent(id="evt_1", type="invoice.paid"),
        headers={"content-type": "application/json", "stripe-signature": "t=1,v1=ab"},
        received_at=received,
    )
    event = event_from_message(
        body,
        properties.headers,
        routing_key="stripe-live.invoice.paid",
        message_id=properties.message_id,
        content_type=properties.content_type,
    )
    assert (event.id, event.source, event.provider, event.type) == (
        "evt_1",
        "stripe-live",
        "stripe",
        "invoice.paid",
    )
    assert event.body is body
    assert event.content_type == "application/json"
    assert event.headers == {"content-type": "application/json", "stripe-signature": "t=1,v1=ab"}
    assert event.attempt == 1
    assert abs(event.received_at.timestamp() - received) < 0.002
    assert event.routing_key == "stripe-live.invoice.paid"


def test_headers_win_over_the_routing_key_after_a_retry_trip() -> None:
    headers = {
        "hookgate-source": "github",
        "hookgate-event-type": "pull_request.opened",
        "hookgate-event-id": "d1",
        "hookgate-attempt": 3,
    }
    event = event_from_message(b"{}", headers, routing_key="billing")
    assert event.routing_key == "github.pull_request.opened"
    assert event.attempt == 3


def test_a_foreign_message_falls_back_on_routing_key_message_id_and_body_hash() -> None:
    stamp = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    event = event_from_message(b"raw", None, routing_key="shop.order.created", timestamp=stamp)
    assert (event.source, event.type) == ("shop", "order.created")
    assert event.id == hashlib.sha256(b"raw").hexdigest()
    assert event.received_at == stamp
    assert event.headers == {}
    with_id = event_from_message(b"raw", {}, routing_key="a.b", message_id="m-1")
    assert with_id.id == "m-1"


@pytest.mark.parametrize("attempt", [0, -1, "2", True, None, 2.5])
def test_garbage_attempt_headers_count_as_the_first_attempt(attempt: object) -> None:
    event = event_from_message(b"", {"hookgate-attempt": attempt}, routing_key="a.b")
    assert event.attempt == 1


def test_bytes_headers_and_bad_timestamps_do_not_break_decoding() -> None:
    event = event_from_message(
        b"",
        {
            "hookgate-source": b"src",
            "hookgate-event-type": b"t",
            "hookgate-received-at": "not a time",
            "hookgate-http-headers": {"x-bin": b"\xff"},
        },
        routing_key="ignored",
    )
    assert (event.source, event.type) == ("src", "t")
    assert event.headers == {"x-bin": "\ufffd"}
    assert abs(event.received_at.timestamp() - time.time()) < 5


def test_json_is_parsed_once_and_cached() -> None:
    event = Event(id="1", source="s", type="t", body=b'{"a": [1, 2]}')
    first = event.json()
    assert first == {"a": [1, 2]}
    assert event.json() is first
    bad = Event(id="1", source="s", type="t", body=b"not json")
    with pytest.raises(orjson.JSONDecodeError):
        bad.json()


def test_next_attempt_is_a_copy() -> None:
    event = Event(id="1", source="s", type="t", body=b"")
    later = event.next_attempt()
    assert (event.attempt, later.attempt, later.id) == (1, 2, "1")
