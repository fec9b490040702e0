"""Replay from the archive of accepted events, against a real RabbitMQ: a completed event runs
again, a forged archived message is refused, an unknown event is a clear 404, a bulk replay
sends exactly the chosen events to one service, and the unrouted queue still hears of events
no service binds (the archive mirrors the services' patterns instead of binding `#`)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import aiormq
import httpx
import orjson
import pytest
from pamqp.commands import Basic

from admin import archive
from admin.app import create_admin_app
from admin.archive_form import archived_form
from admin.archiver import Archiver
from admin.ledger import LedgerStore
from admin.ledger_memory import MemoryLedger
from admin.queues import ServiceShape
from consumers import Event, Service
from gateway.message import build_properties
from hookgate import envelope
from hookgate.errors import TopologyError
from hookgate.secret import Secret
from hookgate.status import ServiceAnnouncement, Status
from hookgate.status_publisher import StatusPublisher
from hookgate.topology import (
    all_queues,
    archive_arguments,
    archive_inbox,
    archive_name,
    declare_service_topology,
    unrouted_name,
)
from providers import VerifiedEvent
from tests.integration.broker import AMQP_URL, drain
from tests.integration.cases import CASES
from tests.integration.conftest import make_config, running_gateway
from tests.integration.consumer_kit import depth_is, eventually, queue_depth, service_name
from tests.integration.status_kit import emitting_worker, running_recorder, settled, timeline

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

TOKEN = "integration-admin-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
KEY = "message-key-0123456789abcdef0123"
CASE = CASES["stripe"]
MIB64 = 64 * 2**20


@pytest.fixture
async def archived(exchange: str) -> AsyncIterator[str]:
    """The ingress topology and its archive (1 day, 64 MiB) with an archiver running, all
    deleted after the test."""
    await archive.declare(AMQP_URL, exchange, 1, MIB64, [])
    archiver = Archiver(AMQP_URL, exchange, retention_days=1, max_bytes=MIB64)
    task = asyncio.create_task(archiver.run())
    try:
        async with asyncio.timeout(15):
            await archiver.consuming.wait()
        yield exchange
    finally:
        archiver.stop()
        async with asyncio.timeout(15):
            await task
        connection = await aiormq.connect(AMQP_URL)
        try:
            channel = await connection.channel()
            await channel.queue_delete(archive_name(exchange))
            await channel.queue_delete(archive_inbox(exchange))
        finally:
            await connection.close()


async def _archived_count(exchange: str, expected: int) -> None:
    """Until the archiver has moved everything from the inbox (`expected` left: 0)."""
    connection = await aiormq.connect(AMQP_URL)
    try:
        channel = await connection.channel()
        await eventually(
            lambda: depth_is(channel, archive_inbox(exchange), expected), 10, "archived"
        )
    finally:
        await connection.close()


def _app(ledger: LedgerStore, exchange: str, key: str = KEY, record: object = None) -> object:
    return create_admin_app(
        ledger,
        token=TOKEN,
        broker_url=AMQP_URL,
        exchange=exchange,
        message_keys=[key],
        archive=True,
        record=record,  # type: ignore[arg-type]
    )


@contextlib.asynccontextmanager
async def _client(app: object) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://admin") as client:
        yield client


async def _publish(
    channel: aiormq.abc.AbstractChannel,
    exchange: str,
    source: str,
    event_id: str,
    *,
    key: str = KEY,
    routing_key: str | None = None,
) -> float:
    """Publish an event as the gateway does (signed with `key`; to the default exchange: in
    the archived form, as the archiver would); its receipt time."""
    received = time.time()
    body = orjson.dumps({"id": event_id})
    properties = build_properties(
        source=source,
        provider="test",
        event=VerifiedEvent(id=event_id, type="order.created"),
        headers={"content-type": "application/json"},
        received_at=received,
        message_key=key.encode(),
        body=body,
    )
    confirm = await channel.basic_publish(
        body,
        exchange=exchange,
        routing_key=f"{source}.order.created" if routing_key is None else routing_key,
        properties=archived_form(properties) if exchange == "" else properties,
        mandatory=True,
    )
    assert isinstance(confirm, Basic.Ack)
    return received


async def test_a_completed_event_is_replayed_from_the_archive_and_runs_again(
    archived: str,
) -> None:
    exchange = archived
    runs: list[str] = []
    seen_headers: list[dict[str, str]] = []
    service = Service(service_name(), retry_delays=(0.2,))

    @service.handler("stripe.#")
    async def handle(event: Event) -> None:
        runs.append(event.id)
        seen_headers.append(dict(event.headers))

    raw = make_config(exchange, {"stripe": CASE.source_table()})
    config = replace(raw, broker=replace(raw.broker, message_keys=(Secret(KEY),)))
    status = StatusPublisher(AMQP_URL, exchange, name="hookgate-status-gateway")
    try:
        async with (
            running_recorder(exchange) as (recorder, ledger),
            running_gateway(config, status=status) as gw,
            emitting_worker(service, exchange, ledger, message_keys=[KEY]),
        ):
            await gw.wait_connected()
            event_id = f"evt_{uuid.uuid4().hex}"
            body = CASE.body(event_id)
            headers = CASE.sign(body, CASE.secrets[0], event_id, int(time.time()))
            answer = await gw.client.post("/webhooks/stripe", content=body, headers=headers)
            assert answer.status_code == 200, answer.text
            await settled(ledger, "stripe", event_id, ["completed"])
            assert runs == [event_id]
            await _archived_count(exchange, 0)

            async with _client(_app(ledger, exchange, record=recorder.record)) as client:
                response = await client.post(f"/api/events/stripe/{event_id}/replay", headers=AUTH)
            assert response.status_code == 202, response.text
            assert response.json() == {
                "replayed": [service.name],
                "from": {service.name: "archive"},
            }
            await eventually(lambda: len(runs) == 2, 15, "the handler to run again")
            await settled(ledger, "stripe", event_id, ["completed"])
    finally:
        await asyncio.sleep(0)
        connection = await aiormq.connect(AMQP_URL)
        channel = await connection.channel()
        for queue in all_queues(service):
            await channel.queue_delete(queue)
        await connection.close()
    assert runs == [event_id, event_id]
    # The forwarded HTTP headers survive the stream (kept as JSON there, restored on replay).
    assert seen_headers[0] == seen_headers[1]
    assert "stripe-signature" in seen_headers[1]
    steps = [
        (c.status.value, c.replay)
        for c in await timeline(ledger, "stripe", event_id)
        if c.service == service.name
    ]
    replayed = steps.index(("replayed", 1))
    assert steps[:replayed][-1] == ("completed", 0)
    assert steps[replayed:] == [
        ("replayed", 1),
        ("queued", 1),
        ("running", 1),
        ("completed", 1),
    ]


@pytest.fixture
async def shop(archived: str) -> AsyncIterator[tuple[str, list[ServiceAnnouncement]]]:
    """Two announced services binding `shop.#` (and one `other.#`), declared after the
    archive, so their patterns are bound to it too."""
    exchange = archived
    announced = [
        ServiceAnnouncement(service_name(), ("shop.#", "other.#"), time.time(), (5.0,), 5),
        ServiceAnnouncement(service_name(), ("shop.#",), time.time(), (5.0,), 5),
    ]
    connection = await aiormq.connect(AMQP_URL)
    try:
        for announcement in announced:
            shape = ServiceShape.announced(announcement)
            await declare_service_topology(connection, shape, exchange)
        yield exchange, announced
    finally:
        channel = await connection.channel()
        for announcement in announced:
            for queue in all_queues(ServiceShape(announcement.service, (5.0,))):
                await channel.queue_delete(queue)
        await connection.close()


async def _ledger(announced: list[ServiceAnnouncement]) -> MemoryLedger:
    ledger = MemoryLedger()
    for announcement in announced:
        await ledger.announce(announcement)
    return ledger


async def test_bulk_replay_sends_exactly_the_range_of_one_source_to_one_service(
    shop: tuple[str, list[ServiceAnnouncement]],
) -> None:
    exchange, (first, second) = shop
    ledger = await _ledger([first, second])
    connection = await aiormq.connect(AMQP_URL)
    channel = await connection.channel(publisher_confirms=True)
    try:
        await _publish(channel, exchange, "shop", "before")
        await asyncio.sleep(0.05)
        since = time.time()
        inside = ["in-1", "in-2/x", "in-3"]
        for event_id in inside:
            await _publish(channel, exchange, "shop", event_id)
        await _publish(channel, exchange, "other", "other-source")
        await _publish(channel, exchange, "nobody", "unbound")  # no service binds it
        await asyncio.sleep(0.05)
        until = time.time()
        await asyncio.sleep(0.05)
        await _publish(channel, exchange, "shop", "after")
        # What no service binds still reaches the unrouted queue (and the archive).
        assert [
            m.header.properties.message_id for m in await drain(channel, unrouted_name(exchange))
        ] == ["unbound"]
        for name in (first.service, second.service):
            await channel.queue_purge(name)
        await _archived_count(exchange, 0)

        async with _client(_app(ledger, exchange)) as client:
            response = await client.post(
                "/api/replay",
                headers=AUTH,
                json={
                    "service": first.service,
                    "source": "shop",
                    "since": envelope.rfc3339_ms(since),
                    "until": envelope.rfc3339_ms(until),
                },
            )
        assert response.status_code == 202, response.text
        answer = response.json()
        assert (answer["replayed"], answer["service"], answer["refused"]) == (3, first.service, 0)
        assert answer["stopped"] in ("end", "horizon")
        copies = await drain(channel, first.service)
        assert [m.header.properties.message_id for m in copies] == inside
        headers = copies[0].header.properties.headers or {}
        assert (headers[envelope.ATTEMPT], headers[envelope.REPLAYS]) == (1, 1)
        assert await queue_depth(channel, second.service) == 0
        for event_id in inside:
            detail = await ledger.event("shop", event_id)
            assert detail is not None
            assert [(c.status, c.service, c.replay) for c in detail.timeline] == [
                (Status.REPLAYED, first.service, 1)
            ]
        assert await ledger.event("shop", "before") is None
        async with _client(_app(ledger, exchange)) as client:
            page = await client.post(
                "/api/replay",
                headers=AUTH,
                json={
                    "service": first.service,
                    "source": "shop",
                    "since": envelope.rfc3339_ms(since),
                    "limit": 2,
                },
            )
        assert page.status_code == 202, page.text
        assert (page.json()["replayed"], page.json()["stopped"]) == (2, "limit")
        assert page.json()["next_since"] >= envelope.rfc3339_ms(since)
        copies = await drain(channel, first.service)
        assert [m.header.properties.message_id for m in copies] == inside[:2]
        assert [(m.header.properties.headers or {})[envelope.REPLAYS] for m in copies] == [2, 2]
        assert await ledger.event("other", "other-source") is None
    finally:
        await connection.close()


async def test_a_forged_archived_message_is_refused_and_an_unknown_one_is_404(
    shop: tuple[str, list[ServiceAnnouncement]],
) -> None:
    exchange, (first, _) = shop
    ledger = await _ledger([first])
    connection = await aiormq.connect(AMQP_URL)
    channel = await connection.channel(publisher_confirms=True)
    try:
        # Straight into the archive, signed with a key the admin does not have.
        await _publish(
            channel,
            "",
            "shop",
            "forged",
            key="another-key-0123456789abcdef0123",
            routing_key=archive_name(exchange),
        )
        async with _client(_app(ledger, exchange)) as client:
            forged = await client.post(
                "/api/events/shop/forged/replay", headers=AUTH, json={"service": first.service}
            )
            unknown = await client.post("/api/events/shop/never-seen/replay", headers=AUTH)
        assert forged.status_code == 409, forged.text
        assert forged.json()["status"] == "refused"
        assert "does not verify" in forged.json()["detail"]
        assert await queue_depth(channel, first.service) == 0
        assert unknown.status_code == 404, unknown.text
        assert unknown.json()["status"] == "not_in_archive"
        assert "retention_days" in unknown.json()["detail"]
        detail = await ledger.event("shop", "forged")
        assert detail is None  # nothing recorded for a refusal
    finally:
        await connection.close()


async def test_the_archive_is_declared_with_its_retention(archived: str) -> None:
    exchange = archived
    connection = await aiormq.connect(AMQP_URL)
    try:
        channel = await connection.channel()
        # The broker refuses a redeclaration with other arguments: the same ones pass.
        await channel.queue_declare(
            archive_name(exchange), durable=True, arguments=archive_arguments(1, MIB64)
        )
        with pytest.raises(aiormq.exceptions.ChannelPreconditionFailed, match="x-max-age"):
            await channel.queue_declare(
                archive_name(exchange), durable=True, arguments=archive_arguments(2, MIB64)
            )
    finally:
        await connection.close()
    with pytest.raises(TopologyError, match="set_policy"):
        await archive.declare(AMQP_URL, exchange, 3, MIB64, [])
