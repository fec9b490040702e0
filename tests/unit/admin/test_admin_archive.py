"""admin.archive: the archived form of a message (the forwarded HTTP headers as JSON, since a
RabbitMQ 3.10 stream drops table-valued headers) restores to what the gateway signed."""

from __future__ import annotations

import time

from pamqp.commands import Basic

from admin.archive_form import HTTP_HEADERS_JSON, archived_form, restored
from hookgate import envelope, message_auth

KEY = b"message-key-0123456789abcdef0123"


def test_the_archived_form_restores_to_a_message_that_verifies() -> None:
    body = b'{"id": "evt_1"}'
    headers = envelope.encode(
        source="stripe",
        provider="stripe",
        event_id="evt_1",
        event_type="invoice.paid",
        received_at=envelope.rfc3339_ms(time.time()),
        http_headers={"content-type": "application/json", "stripe-signature": "t=1,v1=ab"},
    )
    headers[message_auth.HEADER] = message_auth.sign(KEY, body, headers)
    properties = Basic.Properties(headers=headers, message_id="evt_1", delivery_mode=2)
    original = dict(properties.headers or {})
    archived = archived_form(properties)
    stored = dict(archived.headers or {})
    assert envelope.HTTP_HEADERS not in stored  # nothing table-valued left for the stream
    assert isinstance(stored[HTTP_HEADERS_JSON], str)
    assert properties.headers == original  # the delivery's own properties are untouched
    back = restored({**stored, "x-stream-offset": 7})
    assert back[envelope.HTTP_HEADERS] == original[envelope.HTTP_HEADERS]
    assert message_auth.verify([KEY], body, back)
    assert not message_auth.verify([KEY], body, stored)


def test_a_message_without_the_table_or_with_garbage_is_left_as_it_is() -> None:
    assert restored({"a": 1}) == {"a": 1}
    assert restored({HTTP_HEADERS_JSON: "not json"}) == {}
    assert restored({HTTP_HEADERS_JSON: "[1]"}) == {}
