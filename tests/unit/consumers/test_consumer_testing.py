"""consumers.testing: what service authors use in their own tests."""

from __future__ import annotations

import pytest

from consumers import Event, Service
from consumers.testing import deliver, make_event, verified_event
from providers import InvalidSignature
from providers.testing import sign_request

SECRET = "whsec_" + "k" * 32


def test_verified_event_comes_from_a_signed_request_like_the_gateways() -> None:
    body = b'{"id": "evt_42", "type": "invoice.paid", "data": {}}'
    headers = sign_request("stripe", body, SECRET)
    event = verified_event("stripe", body, headers, secrets=[SECRET], source="stripe-live")
    assert (event.id, event.type, event.source, event.provider) == (
        "evt_42",
        "invoice.paid",
        "stripe-live",
        "stripe",
    )
    assert event.body == body
    assert event.headers["stripe-signature"] == headers["stripe-signature"]

    service = Service("svc")
    seen: list[Event] = []
    service.handler("stripe-live.invoice.*")(seen.append)
    assert deliver(service, event).kind == "success"
    assert seen == [event]


def test_verified_event_refuses_a_bad_signature() -> None:
    body = b'{"id": "evt_42", "type": "invoice.paid"}'
    headers = sign_request("stripe", body, SECRET)
    with pytest.raises(InvalidSignature):
        verified_event("stripe", body + b" ", headers, secrets=[SECRET])


def test_make_event_encodes_dict_bodies_and_fills_in_an_id() -> None:
    event = make_event({"a": 1}, type="order.created", source="shop")
    assert event.body == b'{"a":1}'
    assert event.id.startswith("evt_")
    assert event.routing_key == "shop.order.created"
    assert make_event(b"raw", type="t").body == b"raw"
