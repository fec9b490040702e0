"""gateway.forwarder: what it deletes, what it keeps, and the lease."""

from __future__ import annotations

from pathlib import Path

import pytest
from pamqp.commands import Basic
from prometheus_client import CollectorRegistry

from gateway.config import SpoolSettings
from gateway.errors import PublishFailed
from gateway.forwarder import Forwarder
from gateway.metrics import GatewayMetrics
from gateway.spool import Spool, SpooledEvent

pytestmark = pytest.mark.anyio


class FakePublisher:
    """Confirms every publish except those whose event ID is in `failing`."""

    max_properties_bytes = 131_052

    def __init__(self, failing: set[str]) -> None:
        self.failing = failing
        self.connected = True
        self.published: list[str] = []

    async def publish(self, body: bytes, routing_key: str, properties: Basic.Properties) -> None:
        event_id = str(properties.message_id)
        if event_id in self.failing:
            raise PublishFailed("nacked", "broker answered Nack")
        self.published.append(event_id)


def _event(n: int) -> SpooledEvent:
    return SpooledEvent(
        source="github",
        provider="github",
        event_id=f"evt-{n}",
        event_type="push",
        routing_key="github.push",
        headers={"content-type": "application/json"},
        body=b"{}",
        received_at=1000.0 + n,
    )


@pytest.fixture
async def spool(tmp_path: Path) -> Spool:
    spool = Spool(SpoolSettings(path=str(tmp_path / "spool.db")))
    spool.open()
    for n in range(5):
        await spool.append(_event(n))
    return spool


def _forwarder(spool: Spool, publisher: FakePublisher) -> tuple[Forwarder, GatewayMetrics]:
    metrics = GatewayMetrics(CollectorRegistry(), ["github"])
    return Forwarder(spool, publisher, metrics, lease=30), metrics  # type: ignore[arg-type]


async def test_every_confirmed_row_is_deleted_and_only_the_failed_one_stays(spool: Spool) -> None:
    publisher = FakePublisher(failing={"evt-2"})
    forwarder, metrics = _forwarder(spool, publisher)
    assert await spool.take_lease(30)
    assert await forwarder._forward_batch() == 4
    assert publisher.published == ["evt-0", "evt-1", "evt-3", "evt-4"]  # in arrival order
    assert [e.event_id for e in await spool.oldest(10)] == ["evt-2"]
    assert (await spool.refresh()).events == 1
    assert metrics.registry.get_sample_value("hookgate_spool_forwarded_total") == 4

    publisher.failing.clear()
    assert await forwarder._forward_batch() == 1
    assert (await spool.refresh()).events == 0
    await spool.close()


async def test_nothing_is_deleted_when_nothing_is_confirmed(spool: Spool) -> None:
    publisher = FakePublisher(failing={f"evt-{n}" for n in range(5)})
    forwarder, _ = _forwarder(spool, publisher)
    assert await forwarder._forward_batch() == 0
    assert (await spool.refresh()).events == 5
    await spool.close()


async def test_a_second_worker_waits_for_the_lease_until_it_is_released(
    spool: Spool, tmp_path: Path
) -> None:
    other = Spool(SpoolSettings(path=str(tmp_path / "spool.db")))
    other.open()
    assert await spool.take_lease(30)
    assert not await other.take_lease(30)
    await spool.release_lease()
    assert await other.take_lease(30)
    await other.close()
    await spool.close()
