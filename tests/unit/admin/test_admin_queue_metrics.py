"""admin.queue_metrics without a broker: which queues are sampled, what a failure shows, when
stale values go. (tests/integration/test_admin_queue_metrics.py samples a real broker.)"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from admin import queue_metrics
from consumers import broker
from hookgate.status import ServiceAnnouncement

pytestmark = pytest.mark.anyio

BILLING = ServiceAnnouncement("billing", ("stripe.#",), 0.0, tiers=(5.0, 60.0))
SHIPPING = ServiceAnnouncement("shipping", ("shop.#",), 0.0)


class FakeBroker:
    """`consumers.broker.connect` / `queue_state`, answering from a dict (or failing)."""

    def __init__(self) -> None:
        self.depths: dict[str, tuple[int, int]] = {}
        self.down = False
        self.asked: list[str] = []

    async def connect(self, url: str, name: str) -> Any:
        if self.down:
            raise broker.ConsumerError("cannot connect to the broker: refused")
        return self

    @property
    def is_closed(self) -> bool:
        return self.down

    async def close(self) -> None:
        pass

    async def queue_state(self, _: Any, name: str) -> broker.QueueState:
        if self.down:
            raise ConnectionResetError("gone")
        self.asked.append(name)
        if name not in self.depths:
            return broker.QueueState(name, problem="missing")
        ready, consumers = self.depths[name]
        return broker.QueueState(name, ready, consumers)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeBroker:
    fake = FakeBroker()
    monkeypatch.setattr(broker, "connect", fake.connect)
    monkeypatch.setattr(broker, "queue_state", fake.queue_state)
    monkeypatch.setattr(broker, "close", lambda _: fake.close())
    return fake


def _sampler(
    services: list[ServiceAnnouncement], registry: CollectorRegistry, **options: Any
) -> queue_metrics.QueueMetrics:
    async def known() -> Sequence[ServiceAnnouncement]:
        return services

    return queue_metrics.QueueMetrics(
        "amqp://u:secret@nowhere/", "webhooks", known, registry, **options
    )


def _messages(registry: CollectorRegistry, queue: str) -> float | None:
    return registry.get_sample_value("hookgate_queue_messages", {"queue": queue})


def _consumers(registry: CollectorRegistry, queue: str) -> float | None:
    return registry.get_sample_value("hookgate_queue_consumers", {"queue": queue})


async def test_every_announced_services_queues_and_the_unrouted_queue(fake: FakeBroker) -> None:
    registry = CollectorRegistry()
    fake.depths = {
        "webhooks.unrouted": (4, 0),
        "billing": (12, 0),
        "billing.retry.5s": (1, 0),
        "billing.retry.1m": (0, 0),
        "billing.dead": (2, 0),
        "shipping": (0, 3),
        "shipping.dead": (0, 0),
    }
    assert await _sampler([BILLING, SHIPPING], registry).sample()
    assert _messages(registry, "webhooks.unrouted") == 4
    assert _messages(registry, "billing") == 12
    assert _consumers(registry, "billing") == 0  # messages waiting, nobody consuming
    assert _messages(registry, "billing.retry.5s") == 1
    assert _messages(registry, "billing.dead") == 2
    assert _consumers(registry, "shipping") == 3
    assert registry.get_sample_value("hookgate_queue_sample_success") == 1
    assert registry.get_sample_value("hookgate_queue_sample_timestamp_seconds") > 0
    assert "webhooks.archive.inbox" not in fake.asked  # the archive is off


async def test_the_archive_inbox_when_the_archive_is_on(fake: FakeBroker) -> None:
    registry = CollectorRegistry()
    fake.depths = {"webhooks.unrouted": (0, 0), "webhooks.archive.inbox": (7, 1)}
    assert await _sampler([], registry, archive=True).sample()
    assert _messages(registry, "webhooks.archive.inbox") == 7


async def test_a_missing_queue_has_no_series(fake: FakeBroker) -> None:
    registry = CollectorRegistry()
    fake.depths = {"webhooks.unrouted": (0, 0), "billing": (1, 1)}
    assert await _sampler([BILLING], registry).sample()
    assert _messages(registry, "billing") == 1
    assert _messages(registry, "billing.dead") is None


async def test_a_service_no_longer_announced_loses_its_series(fake: FakeBroker) -> None:
    registry = CollectorRegistry()
    services = [BILLING, SHIPPING]
    fake.depths = {"billing": (1, 1), "shipping": (2, 1)}
    sampler = _sampler(services, registry)
    await sampler.sample()
    services.remove(SHIPPING)
    await sampler.sample()
    assert _messages(registry, "billing") == 1
    assert _messages(registry, "shipping") is None
    assert _consumers(registry, "shipping") is None


async def test_a_broker_outage_is_a_metric_then_stale_values_go(
    fake: FakeBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hookgate.admin.queues")  # whatever ran before
    registry = CollectorRegistry()
    fake.depths = {"billing": (5, 0)}
    sampler = _sampler([BILLING], registry, stale_after=3600)
    assert await sampler.sample()
    fake.down = True
    assert not await sampler.sample()  # no exception
    assert registry.get_sample_value("hookgate_queue_sample_success") == 0
    assert _messages(registry, "billing") == 5  # a blip keeps the last values
    assert "secret" not in caplog.text
    assert sum("not sampled" in r.message for r in caplog.records) == 1
    sampler._stale_after = 0
    assert not await sampler.sample()
    assert sum("not sampled" in r.message for r in caplog.records) == 1  # once per outage
    assert _messages(registry, "billing") is None
    fake.down = False
    assert await sampler.sample()
    assert registry.get_sample_value("hookgate_queue_sample_success") == 1
    assert _messages(registry, "billing") == 5
    assert any("sampled again" in r.message for r in caplog.records)


async def test_at_most_max_queues_are_sampled(fake: FakeBroker) -> None:
    many = [ServiceAnnouncement(f"svc{i:03d}", ("x.#",), 0.0) for i in range(50)]
    await _sampler(many, CollectorRegistry(), max_queues=10).sample()
    assert len(fake.asked) == 10
    assert fake.asked[0] == "webhooks.unrouted"


async def test_a_failing_ledger_keeps_the_services_known_last(fake: FakeBroker) -> None:
    registry = CollectorRegistry()
    calls = 0

    async def flaky() -> Sequence[ServiceAnnouncement]:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise OSError("ledger down")
        return [BILLING]

    fake.depths = {"billing": (3, 0)}
    sampler = queue_metrics.QueueMetrics("amqp://nowhere/", "webhooks", flaky, registry)
    await sampler.sample()
    await sampler.sample()
    assert _messages(registry, "billing") == 3


async def test_run_stops_when_asked(fake: FakeBroker) -> None:
    registry = CollectorRegistry()
    sampler = _sampler([BILLING], registry, interval=3600)
    fake.depths = {"billing": (1, 0)}
    running = asyncio.create_task(sampler.run())
    while _messages(registry, "billing") is None:
        await asyncio.sleep(0.01)
    sampler.stop()
    await asyncio.wait_for(running, 5)
