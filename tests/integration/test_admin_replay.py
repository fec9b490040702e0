"""The admin API's replay and queue depths against a real RabbitMQ: a dead-lettered event moves
back to its service's work queue, only that source's copy, and the ledger records it."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import aiormq
import httpx
import orjson
import pytest
from pamqp.commands import Basic

from admin.app import create_admin_app
from admin.ledger_memory import MemoryLedger
from admin.queues import ServiceShape
from consumers.dispatch import Failure
from consumers.messages import dead_letter_copy
from gateway.message import build_properties
from hookgate.status import ServiceAnnouncement, Status, StatusChange
from hookgate.topology import all_queues, dead_queue, declare_service_topology, unrouted_name
from providers import VerifiedEvent
from tests.integration.broker import AMQP_URL
from tests.integration.consumer_kit import depth_is, eventually, queue_depth, service_name

pytestmark = pytest.mark.anyio

TOKEN = "integration-admin-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
KEY = b"message-key-0123456789abcdef0123"


@pytest.fixture
async def service() -> AsyncIterator[tuple[ServiceAnnouncement, str]]:
    name, exchange = service_name(), f"hgt-admin-{uuid.uuid4().hex[:10]}"
    announcement = ServiceAnnouncement(name, ("shop.#",), time.time(), (5.0,), 5)
    connection = await aiormq.connect(AMQP_URL)
    try:
        await declare_service_topology(connection, ServiceShape.announced(announcement), exchange)
        yield announcement, exchange
    finally:
        channel = await connection.channel()
        for queue in [*all_queues(ServiceShape(name, (5.0,))), unrouted_name(exchange)]:
            await channel.queue_delete(queue)
        await channel.exchange_delete(exchange)
        await channel.exchange_delete(unrouted_name(exchange))
        await connection.close()


async def _dead_letter(
    channel: aiormq.abc.AbstractChannel, queue: str, source: str, event_id: str
) -> None:
    body = orjson.dumps({"id": event_id})
    properties = build_properties(
        source=source,
        provider="test",
        event=VerifiedEvent(id=event_id, type="order.created"),
        headers={"content-type": "application/json"},
        received_at=time.time(),
        message_key=KEY,
        body=body,
    )
    copy = dead_letter_copy(
        properties,
        attempt=3,
        handler="orders",
        reason="failed",
        failure=Failure("KeyError", "'sku'"),
    )
    confirm = await channel.basic_publish(body, routing_key=queue, properties=copy, mandatory=True)
    assert isinstance(confirm, Basic.Ack)


async def test_replay_moves_the_event_to_the_work_queue_and_records_it(
    service: tuple[ServiceAnnouncement, str],
) -> None:
    announcement, exchange = service
    name = announcement.service
    ledger = MemoryLedger()
    await ledger.announce(announcement)
    await ledger.record(
        [
            StatusChange(
                "shop",
                "evt/1 %",
                Status.FAILED,
                time.time(),
                service=name,
                event_type="order.created",
                attempt=3,
            )
        ]
    )
    connection = await aiormq.connect(AMQP_URL)
    channel = await connection.channel(publisher_confirms=True)
    try:
        await _dead_letter(channel, dead_queue(ServiceShape(name)), "shop", "evt/1 %")
        await _dead_letter(channel, dead_queue(ServiceShape(name)), "other", "evt/1 %")
        app = create_admin_app(
            ledger, token=TOKEN, broker_url=AMQP_URL, exchange=exchange, message_keys=[KEY.decode()]
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://admin") as client:
            before = (await client.get("/api/services", headers=AUTH)).json()["services"][0]
            assert (before["ready"], before["retrying"], before["dead"], before["error"]) == (
                0,
                0,
                2,
                None,
            )
            response = await client.post("/api/events/shop/evt%2F1%20%25/replay", headers=AUTH)
            assert response.status_code == 202, response.text
            assert response.json() == {"replayed": [name], "from": {name: "dead-letter queue"}}
            # The other source's copy stays (handed back unacked: counted again shortly).
            dead = dead_queue(ServiceShape(name))
            await eventually(lambda: depth_is(channel, dead, 1), 5, "the other copy back")
            after = (await client.get("/api/services", headers=AUTH)).json()["services"][0]
            assert (after["ready"], after["dead"]) == (1, 1)
            again = await client.post(
                "/api/events/shop/evt%2F1%20%25/replay", headers=AUTH, json={"service": name}
            )
            assert again.status_code == 404
            assert again.json()["status"] == "not_in_dead_letter_queue"
        assert await queue_depth(channel, name) == 1
        detail = await ledger.event("shop", "evt/1 %")
        assert detail is not None
        replayed = [c for c in detail.timeline if c.status is Status.REPLAYED]
        # Stamped with the type the ledger knew and the round the consumer will read from the
        # copy (its hookgate-replays header, 0 on a first dead letter, + 1).
        assert [(c.service, c.detail, c.event_type, c.replay) for c in replayed] == [
            (name, "replayed by api", "order.created", 1)
        ]
    finally:
        await connection.close()


async def test_an_unsigned_dead_letter_is_refused_and_stays(
    service: tuple[ServiceAnnouncement, str],
) -> None:
    announcement, exchange = service
    name = announcement.service
    ledger = MemoryLedger()
    await ledger.announce(announcement)
    connection = await aiormq.connect(AMQP_URL)
    channel = await connection.channel(publisher_confirms=True)
    try:
        await _dead_letter(channel, dead_queue(ServiceShape(name)), "shop", "evt_2")
        app = create_admin_app(
            ledger,
            token=TOKEN,
            broker_url=AMQP_URL,
            exchange=exchange,
            message_keys=["another-key-0123456789abcdef"],
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://admin") as client:
            response = await client.post("/api/events/shop/evt_2/replay", headers=AUTH)
        assert response.status_code == 409
        assert response.json()["status"] == "refused"
        dead = dead_queue(ServiceShape(name))
        await eventually(lambda: depth_is(channel, dead, 1), 5, "the refused copy back")
        assert await queue_depth(channel, name) == 0
    finally:
        await connection.close()
