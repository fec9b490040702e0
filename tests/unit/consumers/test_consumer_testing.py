"""consumers.testing: what service authors use in their own tests."""

from __future__ import annotations

import pytest

from consumers import Event, Service
from consumers.testing import deliver, make_event
from gateway.testing import message_for
from providers import InvalidSignature
from providers.testing import sign_request

SECRET = "whsec_" + "k" * 32


def test_message_for_a_signed_request_is_what_the_gateway_publishes() -> None:
    body = b'{"id": "evt_42", "type": "invoice.paid", "data": {}}'
    headers = {**sign_request("stripe", body, SECRET), "Authorization": "Bearer leak"}
    message = message_for("stripe", body, headers, secrets=[SECRET], source="stripe-live")
    assert message.routing_key == "stripe-live.invoice.paid"

    service = Service("svc")
    seen: list[Event] = []
    service.handler("stripe-live.invoice.*")(seen.append)
    assert deliver(service, message).kind == "success"
    [event] = seen
    assert (event.id, event.type, event.source, event.provider) == (
        "evt_42",
        "invoice.paid",
        "stripe-live",
        "stripe",
    )
    assert event.body == body
    assert event.headers["stripe-signature"] == headers["stripe-signature"]
    assert "authorization" not in event.headers  # the gateway never forwards credentials


def test_message_for_signs_with_the_message_key_as_the_gateway_does() -> None:
    body = b'{"id": "evt_43", "type": "invoice.paid"}'
    headers = sign_request("stripe", body, SECRET)
    key = "m" * 32
    service = Service("svc")
    service.handler("stripe.#")(lambda event: None)
    signed = message_for("stripe", body, headers, secrets=[SECRET], message_key=key)
    unsigned = message_for("stripe", body, headers, secrets=[SECRET])
    assert deliver(service, signed, message_keys=[key]).kind == "success"
    assert deliver(service, unsigned, message_keys=[key]).kind == "unauthenticated"


def test_message_for_refuses_a_bad_signature() -> None:
    body = b'{"id": "evt_42", "type": "invoice.paid"}'
    headers = sign_request("stripe", body, SECRET)
    with pytest.raises(InvalidSignature):
        message_for("stripe", body + b" ", headers, secrets=[SECRET])


def test_make_event_encodes_dict_bodies_and_fills_in_an_id() -> None:
    event = make_event({"a": 1}, type="order.created", source="shop")
    assert event.body == b'{"a":1}'
    assert event.id.startswith("evt_")
    assert event.routing_key == "shop.order.created"
    assert make_event(b"raw", type="t").body == b"raw"
