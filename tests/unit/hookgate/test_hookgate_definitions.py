"""hookgate.definitions: topology steps as a RabbitMQ definitions document, and password hashes."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from hookgate.definitions import (
    HASHING_ALGORITHM,
    User,
    definitions,
    password_hash,
    render,
)
from hookgate.topology import (
    declare_archive,
    declare_cancel_stream,
    declare_gateway_topology,
    declare_status_topology,
)
from hookgate.topology_spec import (
    Binding,
    Exchange,
    Queue,
    archive_topology,
    cancel_topology,
    ingress_topology,
    service_topology,
    status_topology,
)
from tests.topology_services import audit, ledger


def test_rabbitmqs_documented_example_hashes_to_its_documented_value() -> None:
    # RabbitMQ's "Credentials and Passwords" guide: salt 0x908DC60A, password "test12".
    salt = bytes.fromhex("908DC60A")
    assert password_hash("test12", salt) == "kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR"


def test_each_hash_has_a_fresh_salt_and_verifies() -> None:
    first, second = password_hash("s3cret"), password_hash("s3cret")
    assert first != second
    raw = base64.b64decode(first)
    assert len(raw) == 4 + 32
    assert hashlib.sha256(raw[:4] + b"s3cret").digest() == raw[4:]


def test_the_same_topology_in_any_order_renders_the_same_bytes() -> None:
    steps = [*ingress_topology("webhooks"), *service_topology(ledger, "webhooks")]
    steps += service_topology(audit, "webhooks")

    one = render(definitions(steps, "/"))
    other = render(definitions(list(reversed(steps)) + steps[:3], "/"))

    assert one == other
    document = json.loads(one)
    for kind, key in [("exchanges", "name"), ("queues", "name"), ("bindings", "destination")]:
        names = [entry[key] for entry in document[kind]]
        assert names == sorted(names)
    assert set(document) == {
        "rabbit_version",
        "vhosts",
        "users",
        "permissions",
        "exchanges",
        "queues",
        "bindings",
        "policies",
    }
    assert document["policies"] == []


def test_every_object_carries_the_vhost_asked_for() -> None:
    document = definitions(ingress_topology("webhooks"), "tenant-a")

    assert document["vhosts"] == [{"name": "tenant-a"}]
    for kind in ("exchanges", "queues", "bindings"):
        assert {entry["vhost"] for entry in document[kind]} == {"tenant-a"}


def test_exchanges_queues_and_bindings_are_written_as_rabbitmq_reads_them() -> None:
    document = definitions(
        [
            Exchange("webhooks", "topic", {"alternate-exchange": "webhooks.unrouted"}),
            Queue("billing", {"x-queue-type": "quorum", "x-delivery-limit": 10}),
            Binding("billing", "webhooks", "stripe.invoice.*"),
        ],
        "/",
    )

    assert document["exchanges"] == [
        {
            "name": "webhooks",
            "vhost": "/",
            "type": "topic",
            "durable": True,
            "auto_delete": False,
            "internal": False,
            "arguments": {"alternate-exchange": "webhooks.unrouted"},
        }
    ]
    assert document["queues"] == [
        {
            "name": "billing",
            "vhost": "/",
            "durable": True,
            "auto_delete": False,
            "arguments": {"x-queue-type": "quorum", "x-delivery-limit": 10},
        }
    ]
    assert document["bindings"] == [
        {
            "source": "webhooks",
            "vhost": "/",
            "destination": "billing",
            "destination_type": "queue",
            "routing_key": "stripe.invoice.*",
            "arguments": {},
        }
    ]


def test_a_name_described_twice_differently_is_refused() -> None:
    steps = [Queue("billing", {"x-queue-type": "quorum"}), Queue("billing", {})]

    with pytest.raises(ValueError, match="'billing' is described twice"):
        definitions(steps, "/")


def test_users_and_their_permissions_sorted_by_name() -> None:
    users = [
        User("hookgate-gateway", "^$", "^webhooks$", "^$", "HASH"),
        User("hookgate-billing", "^b$", "^b$", "^b$"),
    ]

    document = definitions([], "/", users)

    assert document["users"] == [
        {
            "name": "hookgate-billing",
            "password_hash": "",
            "hashing_algorithm": HASHING_ALGORITHM,
            "tags": [],
            "limits": {},
        },
        {
            "name": "hookgate-gateway",
            "password_hash": "HASH",
            "hashing_algorithm": HASHING_ALGORITHM,
            "tags": [],
            "limits": {},
        },
    ]
    assert document["permissions"] == [
        {
            "user": "hookgate-billing",
            "vhost": "/",
            "configure": "^b$",
            "write": "^b$",
            "read": "^b$",
        },
        {
            "user": "hookgate-gateway",
            "vhost": "/",
            "configure": "^$",
            "write": "^webhooks$",
            "read": "^$",
        },
    ]


class _RecordingChannel:
    """Stands in for an aiormq channel: records every declaration, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    async def exchange_declare(self, name: str, **_: object) -> None:
        self.calls.append(("exchange", name))

    async def queue_declare(self, name: str, **_: object) -> None:
        self.calls.append(("queue", name))

    async def queue_bind(self, queue: str, exchange: str, routing_key: str) -> None:
        self.calls.append(("binding", f"{exchange} -> {queue} {routing_key}"))


@pytest.mark.anyio
async def test_the_declarers_declare_exactly_the_described_steps_in_order() -> None:
    channel = _RecordingChannel()

    await declare_gateway_topology(channel, "webhooks")  # type: ignore[arg-type]
    await declare_status_topology(channel, "webhooks")  # type: ignore[arg-type]
    await declare_cancel_stream(channel, "webhooks")  # type: ignore[arg-type]
    await declare_archive(channel, "webhooks", 14, 2**30)  # type: ignore[arg-type]

    steps = [
        *ingress_topology("webhooks"),
        *status_topology("webhooks"),
        *cancel_topology("webhooks"),
        *archive_topology("webhooks", 14, 2**30),
    ]
    assert channel.calls == [_call(step) for step in steps]


def _call(step: Exchange | Queue | Binding) -> tuple[str, str]:
    if isinstance(step, Binding):
        return ("binding", f"{step.exchange} -> {step.queue} {step.routing_key}")
    return ("exchange" if isinstance(step, Exchange) else "queue", step.name)
