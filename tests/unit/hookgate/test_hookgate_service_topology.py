"""hookgate.topology (services): queue names and arguments, in one place."""

from __future__ import annotations

import pytest

from consumers import Event, Service
from hookgate.topology import (
    all_queues,
    dead_queue,
    dead_queue_arguments,
    describe_service_topology,
    retry_queue_arguments,
    retry_queues,
    tier_label,
    work_queue_arguments,
)


@pytest.mark.parametrize(
    ("delay", "label"),
    [
        (5, "5s"),
        (30, "30s"),
        (60, "1m"),
        (90, "90s"),
        (120, "2m"),
        (600, "10m"),
        (3600, "1h"),
        (7200, "2h"),
        (5400, "90m"),
        (0.25, "250ms"),
        (1.5, "1500ms"),
        (1, "1s"),
    ],
)
def test_tier_labels_are_short_and_exact(delay: float, label: str) -> None:
    assert tier_label(delay) == label


def test_service_queues_are_work_one_per_tier_and_dead() -> None:
    service = Service("billing", retry_delays=(5, 30, 30, 120))
    assert retry_queues(service) == {
        5: "billing.retry.5s",
        30: "billing.retry.30s",
        120: "billing.retry.2m",
    }
    assert all_queues(service) == [
        "billing",
        "billing.retry.5s",
        "billing.retry.30s",
        "billing.retry.2m",
        "billing.dead",
    ]


def test_work_queue_dead_letters_poison_messages_at_least_once() -> None:
    service = Service("billing", delivery_limit=7)
    assert work_queue_arguments(service) == {
        "x-queue-type": "quorum",
        "x-delivery-limit": 7,
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": "billing.dead",
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


def test_retry_tier_expires_back_into_the_work_queue() -> None:
    service = Service("billing")
    assert retry_queue_arguments(service, 1.5) == {
        "x-queue-type": "quorum",
        "x-message-ttl": 1500,
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": "billing",
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }
    assert dead_queue(service) == "billing.dead"
    assert dead_queue_arguments() == {"x-queue-type": "quorum"}


def test_description_names_every_queue_and_binding() -> None:
    service = Service("billing", retry_delays=(5,))

    @service.handler("stripe.invoice.*")
    async def invoice(event: Event) -> None: ...

    text = "\n".join(describe_service_topology(service, "webhooks"))
    assert "billing (quorum, delivery-limit=10" in text
    assert "bound to webhooks: stripe.invoice.*" in text
    assert "billing.retry.5s (quorum, ttl=5s" in text
    assert "billing.dead" in text
