"""gateway.forwarder: a row that can never be published is quarantined, the rows behind it are
forwarded, and failures that are not a row's fault never quarantine anything."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiormq
import pytest
from pamqp.commands import Basic
from prometheus_client import CollectorRegistry

from gateway import spool_file
from gateway.config import SpoolSettings
from gateway.errors import PublishFailed
from gateway.forwarder import STRIKES, Forwarder
from gateway.metrics import GatewayMetrics
from gateway.spool import Spool, SpooledEvent, SpoolTotals

pytestmark = pytest.mark.anyio


class BrokerLikePublisher:
    """Encodes each message as aiormq does (a pamqp error is raised from `publish`), then
    confirms it, unless a poison message is in flight: then, as RabbitMQ does when it closes
    the connection with 501 FRAME_ERROR, the poison and every publish after it in the same
    round fail with `PublishFailed` caused by the broker's close. `cause` overrides what the
    poison's failure is caused by (to play failures that are not the row's fault)."""

    # Larger than any row here: the poison is found by the broker's refusal, as with a broker
    # whose frame is smaller than the one it negotiated (or a content error of another kind).
    max_properties_bytes = 2**31

    def __init__(self, poison: set[str], cause: BaseException | None = None) -> None:
        self.poison = poison
        self.cause = cause
        self.connected = True
        self.published: list[str] = []
        self.attempts: list[list[str]] = []  # the message IDs of each round
        self._in_flight = 0
        self._closed = False

    async def publish(self, body: bytes, routing_key: str, properties: Basic.Properties) -> None:
        properties.marshal()  # what aiormq does before anything is sent
        event_id = str(properties.message_id)
        if not self._in_flight:  # a new round runs on a new connection
            self._closed = False
            self.attempts.append([])
        self.attempts[-1].append(event_id)
        self._in_flight += 1
        try:
            await asyncio.sleep(0)  # the whole round is sent before any confirm comes back
            if event_id in self.poison:
                self._closed = True
            if self._closed:
                cause = self.cause or aiormq.exceptions.ConnectionFrameError(
                    "FRAME_ERROR - type 2: {frame_too_large,132291,131064}"
                )
                raise PublishFailed("connection_lost", type(cause).__name__) from cause
            self.published.append(event_id)
        finally:
            self._in_flight -= 1


def _event(n: int, *, event_id: str | None = None) -> SpooledEvent:
    return SpooledEvent(
        source="github",
        provider="github",
        event_id=event_id or f"evt-{n}",
        event_type="push",
        routing_key="github.push",
        headers={"content-type": "application/json"},
        body=b'{"n": %d}' % n,
        received_at=1000.0 + n,
    )


async def _spool(tmp_path: Path, events: list[SpooledEvent]) -> Spool:
    spool = Spool(SpoolSettings(path=str(tmp_path / "spool.db")))
    spool.open()
    for event in events:
        await spool.append(event)
    return spool


def _forwarder(spool: Spool, publisher: BrokerLikePublisher) -> tuple[Forwarder, GatewayMetrics]:
    metrics = GatewayMetrics(CollectorRegistry(), ["github"])
    return Forwarder(spool, publisher, metrics, lease=30), metrics  # type: ignore[arg-type]


async def _rounds(forwarder: Forwarder, spool: Spool, most: int) -> int:
    """Run forwarding rounds until the spool holds no waiting event; how many it took."""
    for done in range(1, most + 1):
        assert await spool.take_lease(30)
        await forwarder._forward_batch()
        if not (await spool.refresh()).events:
            return done
    raise AssertionError(f"the spool still holds {spool.totals.events} event(s) after {most}")


async def test_a_row_that_makes_the_broker_close_the_connection_is_quarantined(
    tmp_path: Path,
) -> None:
    spool = await _spool(tmp_path, [_event(n) for n in range(10)])
    publisher = BrokerLikePublisher(poison={"evt-4"})
    forwarder, metrics = _forwarder(spool, publisher)

    await _rounds(forwarder, spool, most=20)

    good = [f"evt-{n}" for n in range(10) if n != 4]
    assert publisher.published == good  # every good row, in arrival order, once
    totals = await spool.refresh()
    assert (totals.events, totals.quarantined) == (0, 1)
    assert totals.quarantined_bytes == _event(4).size()
    # Only rounds in which the poison was alone counted against it.
    assert sum(1 for round_ in publisher.attempts if round_ == ["evt-4"]) == STRIKES
    db = spool_file.connect(spool.path)
    [row] = spool_file.rows(db, 10)
    assert (row.event.event_id, row.state) == ("evt-4", "quarantined")
    assert row.event.body == _event(4).body  # kept whole
    assert "ConnectionFrameError" in row.reason
    assert "alone" in row.reason
    db.close()
    metrics.spool_state(totals, 0.0)
    assert metrics.registry.get_sample_value("hookgate_spool_quarantined_events") == 1
    await spool.close()


async def test_a_row_that_cannot_be_encoded_is_quarantined_at_once_and_never_sent(
    tmp_path: Path,
) -> None:
    too_long_id = "x" * 300  # AMQP message_id is a short string: pamqp refuses it
    events = [_event(0), _event(1, event_id=too_long_id), _event(2)]
    spool = await _spool(tmp_path, events)
    publisher = BrokerLikePublisher(poison=set())
    forwarder, _ = _forwarder(spool, publisher)

    assert await _rounds(forwarder, spool, most=5) == 1

    assert publisher.published == ["evt-0", "evt-2"]
    assert too_long_id not in [e for round_ in publisher.attempts for e in round_]
    db = spool_file.connect(spool.path)
    [row] = spool_file.rows(db, 10)
    assert row.event.event_id == too_long_id
    assert row.reason.startswith("cannot be encoded for AMQP: TypeError")
    db.close()
    await spool.close()


@pytest.mark.parametrize(
    "cause",
    [
        ConnectionResetError("the network dropped"),
        TimeoutError("no confirm"),
        aiormq.exceptions.ConnectionClosed(320, "CONNECTION_FORCED - broker shutdown"),
        aiormq.exceptions.ChannelNotFoundEntity("NOT_FOUND - no exchange"),
    ],
    ids=["reset", "timeout", "broker-shutdown", "no-exchange"],
)
async def test_failures_that_are_not_the_rows_fault_never_quarantine_it(
    tmp_path: Path, cause: BaseException
) -> None:
    spool = await _spool(tmp_path, [_event(n) for n in range(3)])
    publisher = BrokerLikePublisher(poison={"evt-0"}, cause=cause)
    forwarder, _ = _forwarder(spool, publisher)
    for _ in range(3 * STRIKES):
        assert await spool.take_lease(30)
        await forwarder._forward_batch()
    totals = await spool.refresh()
    assert (totals.events, totals.quarantined) == (3, 0)  # stuck, and reported as such
    assert [e.strikes for e in await spool.oldest(10)] == [0, 0, 0]
    await spool.close()


async def test_strikes_are_kept_in_the_file_across_a_restart(tmp_path: Path) -> None:
    spool = await _spool(tmp_path, [_event(0), _event(1)])
    publisher = BrokerLikePublisher(poison={"evt-0"})
    forwarder, _ = _forwarder(spool, publisher)
    for _ in range(STRIKES):  # the first round, with both rows, blames no one
        await forwarder._forward_batch()
    assert [e.strikes for e in await spool.oldest(10)] == [STRIKES - 1, 0]
    await spool.close()

    reopened = Spool(SpoolSettings(path=str(tmp_path / "spool.db")))
    reopened.open()
    again = BrokerLikePublisher(poison={"evt-0"})
    forwarder, _ = _forwarder(reopened, again)
    await forwarder._forward_batch()  # a row with strikes goes alone at once
    assert again.attempts == [["evt-0"]]
    assert (await reopened.refresh()).quarantined == 1
    await _rounds(forwarder, reopened, most=2)
    assert again.published == ["evt-1"]
    await reopened.close()


async def test_stalled_seconds_count_connected_time_without_progress_only(
    tmp_path: Path,
) -> None:
    spool = await _spool(tmp_path, [])
    publisher = BrokerLikePublisher(poison=set())
    forwarder, _ = _forwarder(spool, publisher)
    forwarder._looked_at = 0.0
    forwarder._watch(SpoolTotals(5, 500, 1.0, removed=7), now=10.0)
    assert forwarder.stalled_seconds == 0.0  # the first look is a baseline
    forwarder._watch(SpoolTotals(5, 500, 1.0, removed=7), now=40.0)
    assert forwarder.stalled_seconds == 30.0
    publisher.connected = False  # broker down: not the spool's stall, and no reset either
    forwarder._watch(SpoolTotals(5, 500, 1.0, removed=7), now=100.0)
    assert forwarder.stalled_seconds == 30.0
    publisher.connected = True
    forwarder._watch(SpoolTotals(5, 500, 1.0, removed=7), now=110.0)
    assert forwarder.stalled_seconds == 40.0
    forwarder._watch(SpoolTotals(6, 600, 1.0, removed=8), now=111.0)  # one left: progress
    assert forwarder.stalled_seconds == 0.0
    forwarder._watch(SpoolTotals(0, 0, None, removed=8), now=500.0)  # empty: nothing to drain
    assert forwarder.stalled_seconds == 0.0
    await spool.close()
