"""hookgate.topology (ingress): routing keys, names and arguments, and what the gateway declares."""

from __future__ import annotations

import re
from typing import Any

import pytest

from hookgate.routing import routing_key
from hookgate.topology import (
    declare_gateway_topology,
    exchange_arguments,
    unrouted_name,
    unrouted_queue_arguments,
)

_ROUTABLE = re.compile(r"[A-Za-z0-9_.-]+")


@pytest.mark.parametrize(
    ("source", "event_type", "expected"),
    [
        ("stripe", "invoice.paid", "stripe.invoice.paid"),
        ("github", "pull_request.opened", "github.pull_request.opened"),
        ("hmac", "Order-Created_v2.9", "hmac.Order-Created_v2.9"),
        ("github", "pull request/opened", "github.pull_request_opened"),
        ("stripe", "invoice.*", "stripe.invoice._"),
        ("stripe", "#", "stripe._"),
        ("stripe", "café", "stripe.caf_"),
        ("stripe", "a\nb\x00c", "stripe.a_b_c"),
        ("stripe", "ÿ", "stripe._"),
    ],
)
def test_routing_key_normalises_disallowed_characters(
    source: str, event_type: str, expected: str
) -> None:
    assert routing_key(source, event_type) == expected


def test_routing_key_of_empty_event_type_is_unknown() -> None:
    assert routing_key("stripe", "") == "stripe.unknown"


def test_routing_key_never_contains_topic_wildcards_or_spaces() -> None:
    key = routing_key("stripe", "a*b#c d\te:f/g")
    assert _ROUTABLE.fullmatch(key)


def test_routing_key_is_cut_to_255_characters() -> None:
    key = routing_key("stripe", "x" * 1000)
    assert len(key) == 255
    assert key.startswith("stripe.xxx")


def test_routing_key_of_exactly_255_characters_is_kept_whole() -> None:
    event_type = "y" * (255 - len("stripe."))
    assert routing_key("stripe", event_type) == f"stripe.{event_type}"


def test_routing_key_of_long_non_ascii_type_fits_an_amqp_short_string() -> None:
    key = routing_key("stripe", "é" * 1000)
    assert len(key.encode()) <= 255


def test_unrouted_name_appends_unrouted() -> None:
    assert unrouted_name("webhooks") == "webhooks.unrouted"
    assert unrouted_name("events") == "events.unrouted"


def test_exchange_arguments_point_to_the_alternate_exchange() -> None:
    assert exchange_arguments("webhooks") == {"alternate-exchange": "webhooks.unrouted"}


def test_unrouted_queue_is_a_quorum_queue() -> None:
    assert unrouted_queue_arguments() == {"x-queue-type": "quorum"}


class _RecordingChannel:
    """Stands in for an aiormq channel: records every declaration, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        async def record(*args: Any, **kwargs: Any) -> None:
            self.calls.append((name, args, kwargs))

        return record


@pytest.mark.anyio
async def test_declare_gateway_topology_declares_exchange_alternate_and_unrouted_queue() -> None:
    channel = _RecordingChannel()

    await declare_gateway_topology(channel, "webhooks")  # type: ignore[arg-type]

    assert channel.calls == [
        (
            "exchange_declare",
            ("webhooks.unrouted",),
            {"exchange_type": "fanout", "durable": True, "arguments": {}},
        ),
        (
            "queue_declare",
            ("webhooks.unrouted",),
            {"durable": True, "arguments": {"x-queue-type": "quorum"}},
        ),
        ("queue_bind", ("webhooks.unrouted", "webhooks.unrouted"), {"routing_key": ""}),
        (
            "exchange_declare",
            ("webhooks",),
            {
                "exchange_type": "topic",
                "durable": True,
                "arguments": {"alternate-exchange": "webhooks.unrouted"},
            },
        ),
    ]
