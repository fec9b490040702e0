"""gateway.message: the AMQP properties of an accepted event, as DESIGN.md fixes them."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from pamqp import frame, header
from pamqp.commands import Basic

from gateway.message import build_properties, forwarded_headers
from hookgate.envelope import rfc3339_ms
from providers import VerifiedEvent

RECEIVED_AT = 1_700_000_000.25
REQUEST_HEADERS = {
    "host": "hooks.example.com",
    "content-type": "application/json; charset=utf-8",
    "content-length": "42",
    "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
    "stripe-signature": "t=1700000000,v1=abc",
    "connection": "keep-alive",
    "keep-alive": "timeout=5",
    "proxy-authenticate": "Basic",
    "proxy-authorization": "Basic cHJveHk6cHc=",
    "proxy-connection": "keep-alive",
    "te": "trailers",
    "trailer": "expires",
    "transfer-encoding": "chunked",
    "upgrade": "h2c",
    "authorization": "Bearer s3cr3t-token",
    "cookie": "session=s3cr3t-cookie",
}
_EXCLUDED = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "authorization",
    "cookie",
}


def _properties(**overrides: Any) -> Basic.Properties:
    arguments: dict[str, Any] = {
        "source": "stripe-live",
        "provider": "stripe",
        "event": VerifiedEvent(id="evt_123", type="invoice.paid"),
        "headers": REQUEST_HEADERS,
        "received_at": RECEIVED_AT,
    }
    arguments.update(overrides)
    return build_properties(**arguments)


def _hookgate_headers(properties: Basic.Properties) -> dict[str, Any]:
    assert properties.headers is not None
    return dict(properties.headers)


def _forwarded(properties: Basic.Properties) -> dict[str, Any]:
    forwarded = _hookgate_headers(properties)["hookgate-http-headers"]
    assert isinstance(forwarded, dict)
    return forwarded


def test_message_is_persistent_with_event_id_app_id_and_content_type() -> None:
    properties = _properties()
    assert properties.delivery_mode == 2
    assert properties.message_id == "evt_123"
    assert properties.app_id == "hookgate"
    assert properties.content_type == "application/json; charset=utf-8"


def test_timestamp_is_receipt_time_in_whole_seconds_utc() -> None:
    assert _properties().timestamp == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


def test_hookgate_headers_describe_the_event() -> None:
    headers = _hookgate_headers(_properties())
    assert headers["hookgate-source"] == "stripe-live"
    assert headers["hookgate-provider"] == "stripe"
    assert headers["hookgate-event-id"] == "evt_123"
    assert headers["hookgate-event-type"] == "invoice.paid"
    assert headers["hookgate-received-at"] == "2023-11-14T22:13:20.250Z"


def test_event_type_header_keeps_the_raw_type_not_the_routing_key_form() -> None:
    event = VerifiedEvent(id="e", type="pull request/opened")
    assert (
        _hookgate_headers(_properties(event=event))["hookgate-event-type"] == "pull request/opened"
    )


def test_http_headers_drop_hop_by_hop_authorization_and_cookie() -> None:
    forwarded = _forwarded(_properties())
    assert set(forwarded) == set(REQUEST_HEADERS) - _EXCLUDED
    assert forwarded["stripe-signature"] == "t=1700000000,v1=abc"
    assert forwarded["user-agent"] == REQUEST_HEADERS["user-agent"]
    assert forwarded["host"] == "hooks.example.com"
    assert "s3cr3t" not in repr(forwarded)


def test_forwarded_headers_drop_names_longer_than_a_short_string() -> None:
    long_name = "x-" + "a" * 254
    forwarded = forwarded_headers({long_name: "v", "x-ok": "v"})
    assert forwarded == {"x-ok": "v"}


def test_forwarded_headers_does_not_mutate_its_input() -> None:
    headers = dict(REQUEST_HEADERS)
    forwarded_headers(headers)
    assert headers == REQUEST_HEADERS


def test_missing_content_type_leaves_property_unset() -> None:
    headers = {k: v for k, v in REQUEST_HEADERS.items() if k != "content-type"}
    assert _properties(headers=headers).content_type is None


def test_content_type_of_255_bytes_is_kept() -> None:
    content_type = "application/" + "x" * (255 - len("application/"))
    assert _properties(headers={"content-type": content_type}).content_type == content_type


def test_over_long_content_type_is_dropped() -> None:
    content_type = "application/" + "x" * (256 - len("application/"))
    properties = _properties(headers={"content-type": content_type})
    assert properties.content_type is None
    # Still forwarded in full among the original headers.
    assert _forwarded(properties)["content-type"] == content_type


def test_content_type_limit_counts_bytes_not_characters() -> None:
    content_type = "text/" + "é" * 126  # 131 characters, 257 bytes
    assert _properties(headers={"content-type": content_type}).content_type is None


@pytest.mark.parametrize(
    ("unix_time", "expected"),
    [
        (0.0, "1970-01-01T00:00:00.000Z"),
        (0.5, "1970-01-01T00:00:00.500Z"),
        (1_700_000_000.0, "2023-11-14T22:13:20.000Z"),
        (1_700_000_000.9999, "2023-11-14T22:13:20.999Z"),
        (951_782_400.123, "2000-02-29T00:00:00.123Z"),
    ],
)
def test_received_at_is_rfc3339_utc_with_milliseconds(unix_time: float, expected: str) -> None:
    assert rfc3339_ms(unix_time) == expected


def test_received_at_format_has_exactly_milliseconds_and_z() -> None:
    text = rfc3339_ms(1_712_345_678.123456)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", text)


def test_properties_marshal_into_an_amqp_content_header_and_back() -> None:
    properties = _properties(headers={**REQUEST_HEADERS, "content-type": "a/" + "b" * 300})
    body = b'{"id":"evt_123"}'

    raw = frame.marshal(header.ContentHeader(0, len(body), properties), 1)
    _, channel, decoded = frame.unmarshal(raw)

    assert channel == 1
    assert isinstance(decoded, header.ContentHeader)
    assert decoded.body_size == len(body)
    assert decoded.properties.message_id == "evt_123"
    assert decoded.properties.delivery_mode == 2
    assert _hookgate_headers(decoded.properties)["hookgate-event-id"] == "evt_123"
    assert "authorization" not in _forwarded(decoded.properties)
