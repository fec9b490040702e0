"""`Worker(observers=…)` on the real broker: each delivery the worker answers is heard once,
after its ack, by every observer (the metrics among them); one that raises changes no ack."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiormq
import pytest

from consumers import Event, Reject, Service
from hookgate.observe import BaseObserver, ConsumeOutcome, ConsumeRecord
from tests.integration.consumer_kit import (
    depth_is,
    eventually,
    publish_event,
    running_worker,
)

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


class Recording(BaseObserver):
    def __init__(self) -> None:
        self.consumed: list[ConsumeRecord] = []

    def on_consumed(self, record: ConsumeRecord) -> None:
        self.consumed.append(record)


class Raising(BaseObserver):
    def on_consumed(self, record: ConsumeRecord) -> None:
        raise RuntimeError("a broken observer")


async def test_each_answered_delivery_is_recorded_once(
    exchange: str, make_service: Callable[..., Service], confirm_channel: aiormq.abc.AbstractChannel
) -> None:
    service = make_service(retry_delays=(0.2,))

    @service.handler("shop.order.created")
    async def created(event: Event) -> None:
        pass

    @service.handler("shop.order.voided")
    async def voided(event: Event) -> None:
        raise Reject("not ours")

    recording = Recording()
    async with running_worker(service, exchange, observers=[Raising(), recording]) as worker:
        ok = await publish_event(confirm_channel, exchange, event_type="order.created")
        bad = await publish_event(confirm_channel, exchange, event_type="order.voided")
        await eventually(lambda: len(recording.consumed) == 2, 10, "both outcomes")
        await eventually(lambda: depth_is(confirm_channel, service.name, 0), 10, "both acked")
        await asyncio.sleep(0.3)  # nothing is recorded twice
        counted = (worker.count("created", "success"), worker.count("voided", "rejected"))

    by_id = {r.event_id: r for r in recording.consumed}
    assert len(recording.consumed) == 2
    assert (by_id[ok].outcome, by_id[ok].handler) == (ConsumeOutcome.SUCCESS, "created")
    assert (by_id[bad].outcome, by_id[bad].failure_message) == (
        ConsumeOutcome.REJECTED,
        "not ours",
    )
    assert all(r.service == service.name and r.attempt == 1 for r in recording.consumed)
    assert counted == (1.0, 1.0)  # the metrics hear the same, the raising observer aside
