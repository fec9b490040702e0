"""hookgate.envelope: the `hookgate-*` headers, written by the gateway and read by consumers.

The golden digests were computed with the code before the envelope had one home (commit
b62fd68, where the gateway and the consumers each spelled the headers): a message published
for the same event must stay byte-identical.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from pamqp.commands import Basic

from consumers.event import event_from_message
from consumers.testing import make_event, published
from gateway.message import build_properties
from hookgate import envelope
from providers import VerifiedEvent


def test_the_gateways_message_is_byte_identical_to_before() -> None:
    properties = build_properties(
        source="stripe",
        provider="stripe",
        event=VerifiedEvent(id="evt_1", type="invoice.paid"),
        headers={
            "content-type": "application/json",
            "stripe-signature": "t=1,v1=ab",
            "user-agent": "Stripe/1.0",
            "authorization": "x",
        },
        received_at=1_712_345_678.123456,
        message_key=b"k" * 32,
        body=b'{"id":"evt_1"}',
    )
    raw = bytes(properties.marshal())
    assert len(raw) == 427
    assert hashlib.sha256(raw).hexdigest() == (
        "68ac9ae04c8c869453b5b86926a18b51e6013d941a5f2adf86bf455a5c6a0495"
    )


def test_the_consumers_test_message_is_byte_identical_to_before() -> None:
    event = make_event(
        b'{"a":1}',
        type="order.created",
        source="shop",
        id="e1",
        provider="shopify",
        headers={"x-a": "b"},
        received_at=datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
        attempt=3,
    )
    headers = dict(published(event, key="q" * 32).headers)
    raw = bytes(Basic.Properties(headers=headers).marshal())
    assert hashlib.sha256(raw).hexdigest() == (
        "7fd9dac07452e641e27e2e02786e50bf3354aa41a9f4150f35eaf6d36739b1c6"
    )


def test_decode_reads_back_what_encode_wrote() -> None:
    headers = envelope.encode(
        source="github",
        provider="github",
        event_id="d-1",
        event_type="push",
        received_at=envelope.rfc3339_ms(1_712_345_678.5),
        http_headers={"x-github-event": "push"},
        attempt=2,
    )
    read = envelope.decode(headers, body=b"{}", routing_key="ignored.here")
    assert (read.id, read.source, read.type, read.provider, read.attempt) == (
        "d-1",
        "github",
        "push",
        "github",
        2,
    )
    assert read.received_at == datetime(2024, 4, 5, 19, 34, 38, 500000, tzinfo=UTC)
    assert read.http_headers == {"x-github-event": "push"}
    assert envelope.ATTEMPT not in envelope.encode(
        source="s", provider="p", event_id="i", event_type="t", received_at="", http_headers={}
    )


def test_a_foreign_message_falls_back_on_its_routing_key_and_body_digest() -> None:
    event = event_from_message(b"x", {"hookgate-attempt": True}, routing_key="shop.order.paid")
    assert (event.source, event.type, event.attempt) == ("shop", "order.paid", 1)
    assert event.id == hashlib.sha256(b"x").hexdigest()


def test_the_replay_count_is_read_back_for_the_status_ledger() -> None:
    headers = envelope.encode(
        source="s",
        provider="p",
        event_id="e",
        event_type="t",
        received_at="2024-01-01T00:00:00.000Z",
        http_headers={},
        attempt=1,
    )
    assert envelope.decode(headers, body=b"", routing_key="s.t").replays == 0
    headers[envelope.REPLAYS] = 2
    assert envelope.decode(headers, body=b"", routing_key="s.t").replays == 2
    headers[envelope.REPLAYS] = "2"  # not ours: ignored, never an error
    assert envelope.decode(headers, body=b"", routing_key="s.t").replays == 0
