"""Broker outages with the spool on: events are kept on disk (200 `spooled`), forwarded in
arrival order once the broker is back, refused with 503 only when the spool is full, and
forwarded by the next start after a gateway restart."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import aiormq
import pytest

from tests.integration.broker import AMQP_URL, bind_queue, drain
from tests.integration.cases import CASES
from tests.integration.conftest import Gateway, make_config, running_gateway
from tests.integration.tcpproxy import TcpProxy

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
CASE = CASES["stripe"]


def _signed() -> tuple[str, bytes, dict[str, str]]:
    event_id = f"evt_{uuid.uuid4().hex}"
    body = CASE.body(event_id)
    return event_id, body, CASE.sign(body, CASE.secrets[0], event_id, int(time.time()))


@pytest.fixture
async def proxy() -> AsyncIterator[TcpProxy]:
    target = urlsplit(AMQP_URL)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5672)
    await proxy.start()
    yield proxy
    await proxy.cut()


def _config(exchange: str, proxy: TcpProxy, tmp_path: Path, max_bytes: int = 1 << 30):
    port = urlsplit(AMQP_URL).port
    return make_config(
        exchange,
        {"stripe": CASE.source_table()},
        broker_url=AMQP_URL.replace(f":{port}", f":{proxy.port}", 1),
        spool={"enabled": True, "path": str(tmp_path / "spool.sqlite3"), "max_bytes": max_bytes},
        publish_timeout_seconds=1.0,
    )


async def _outage(gw: Gateway, proxy: TcpProxy) -> None:
    await proxy.cut()
    async with asyncio.timeout(10):
        while gw.app.state.publisher.connected:
            await asyncio.sleep(0.02)


async def _spool_empty(gw: Gateway) -> None:
    async with asyncio.timeout(15):
        while (await gw.app.state.spool.refresh()).events:
            await asyncio.sleep(0.05)


async def test_outage_events_are_spooled_then_forwarded_in_order_and_deduplicated(
    exchange: str, proxy: TcpProxy, tmp_path: Path, amqp: aiormq.abc.AbstractChannel
) -> None:
    async with running_gateway(_config(exchange, proxy, tmp_path)) as gw:
        queue = await bind_queue(amqp, exchange)
        await _outage(gw, proxy)
        assert (await gw.client.get("/readyz")).status_code == 200  # it can still take events

        sent = []
        for _ in range(30):
            event_id, body, headers = _signed()
            response = await gw.client.post("/webhooks/stripe", content=body, headers=headers)
            assert response.status_code == 200, response.text
            assert response.json() == {
                "status": "spooled",
                "event_id": event_id,
                "source": "stripe",
            }
            sent.append((event_id, body, headers))
        # Spooled is durable, so the ID is committed: the sender's retry is a duplicate.
        _, first_body, first_headers = sent[0]
        again = await gw.client.post("/webhooks/stripe", content=first_body, headers=first_headers)
        assert again.json()["status"] == "duplicate"
        assert gw.count("stripe", "spooled") == 30
        assert gw.app.state.spool.totals.events == 30
        async with asyncio.timeout(5):
            while gw.registry.get_sample_value("hookgate_spool_events") != 30:
                await asyncio.sleep(0.05)

        await proxy.restore()
        await gw.wait_connected()
        await _spool_empty(gw)
        # Once the backlog is gone, new events are published directly again, after it.
        late_id, late_body, late_headers = _signed()
        late = await gw.client.post("/webhooks/stripe", content=late_body, headers=late_headers)
        assert late.status_code == 200
        await _spool_empty(gw)

        messages = []
        async with asyncio.timeout(10):
            while len(messages) < 31:
                messages += await drain(amqp, queue)
                await asyncio.sleep(0.05)
        assert [m.header.properties.message_id for m in messages] == [
            *(event_id for event_id, _, _ in sent),
            late_id,
        ]
        assert [m.body for m in messages[:30]] == [body for _, body, _ in sent]
        headers = messages[0].header.properties.headers
        assert headers["hookgate-source"] == "stripe"
        assert headers["hookgate-http-headers"]["stripe-signature"]
        assert gw.registry.get_sample_value("hookgate_spool_forwarded_total") == 30 + (
            1 if late.json()["status"] == "spooled" else 0
        )

        duplicate = await gw.client.post(
            "/webhooks/stripe", content=late_body, headers=late_headers
        )
        assert duplicate.json()["status"] == "duplicate"


async def test_full_spool_answers_503_and_loses_nothing_it_took(
    exchange: str, proxy: TcpProxy, tmp_path: Path, amqp: aiormq.abc.AbstractChannel
) -> None:
    _, body, _ = _signed()
    room = 3 * (len(body) + 600)
    async with running_gateway(_config(exchange, proxy, tmp_path, max_bytes=room)) as gw:
        queue = await bind_queue(amqp, exchange)
        await _outage(gw, proxy)
        answers: dict[str, int] = {}
        refused: list[tuple[str, bytes, dict[str, str]]] = []
        for _ in range(8):
            event_id, body, headers = _signed()
            response = await gw.client.post("/webhooks/stripe", content=body, headers=headers)
            answers[event_id] = response.status_code
            if response.status_code == 503:
                assert response.json()["status"] == "unavailable"
                assert int(response.headers["retry-after"]) > 0
                refused.append((event_id, body, headers))
        spooled = [event_id for event_id, code in answers.items() if code == 200]
        assert 1 <= len(spooled) < 8
        assert len(refused) == 8 - len(spooled)
        assert (await gw.client.get("/readyz")).status_code == 503  # full and no broker

        await proxy.restore()
        await gw.wait_connected()
        await _spool_empty(gw)
        retried = await gw.client.post(
            "/webhooks/stripe", content=refused[0][1], headers=refused[0][2]
        )
        assert retried.json()["status"] == "accepted"  # the 503 released its claim
        async with asyncio.timeout(10):
            delivered: list[str] = []
            while len(delivered) < len(spooled) + 1:
                delivered += [m.header.properties.message_id for m in await drain(amqp, queue)]
                await asyncio.sleep(0.05)
        assert delivered == [*spooled, refused[0][0]]


async def test_spooled_events_are_forwarded_by_the_next_start(
    exchange: str, proxy: TcpProxy, tmp_path: Path, amqp: aiormq.abc.AbstractChannel
) -> None:
    config = _config(exchange, proxy, tmp_path)
    sent = []
    async with running_gateway(config) as gw:
        queue = await bind_queue(amqp, exchange)
        await _outage(gw, proxy)
        for _ in range(5):
            event_id, body, headers = _signed()
            response = await gw.client.post("/webhooks/stripe", content=body, headers=headers)
            assert response.json()["status"] == "spooled"
            sent.append(event_id)
    assert await _queued(amqp, queue) == []  # stopped with the broker still unreachable

    await proxy.restore()
    async with running_gateway(config) as gw:
        await gw.wait_connected()
        await _spool_empty(gw)
    async with asyncio.timeout(10):
        delivered: list[str] = []
        while len(delivered) < 5:
            delivered += await _queued(amqp, queue)
            await asyncio.sleep(0.05)
    assert delivered == sent


async def _queued(amqp: aiormq.abc.AbstractChannel, queue: str) -> list[str]:
    return [str(m.header.properties.message_id) for m in await drain(amqp, queue)]


async def test_gateway_starts_without_a_broker_spools_and_catches_up(
    exchange: str, proxy: TcpProxy, tmp_path: Path, amqp: aiormq.abc.AbstractChannel
) -> None:
    await proxy.cut()
    async with running_gateway(_config(exchange, proxy, tmp_path), connect_wait=0.2) as gw:
        assert not gw.app.state.publisher.connected
        ready = await gw.client.get("/readyz")
        assert ready.json() == {"status": "ready", "detail": "broker down: spooling to disk"}
        event_id, body, headers = _signed()
        response = await gw.client.post("/webhooks/stripe", content=body, headers=headers)
        assert response.json()["status"] == "spooled"

        await proxy.restore()
        await gw.wait_connected()  # declares the exchange on the way
        queue = await bind_queue(amqp, exchange)
        # Bound only now: the spooled event may already have gone to the unrouted queue.
        await _spool_empty(gw)
        unrouted = await _queued(amqp, f"{exchange}.unrouted")
        delivered = await _queued(amqp, queue)
        assert unrouted + delivered == [event_id]


async def test_while_a_backlog_waits_new_events_join_it_behind(
    exchange: str, proxy: TcpProxy, tmp_path: Path, amqp: aiormq.abc.AbstractChannel
) -> None:
    from gateway.config import SpoolSettings
    from gateway.spool import Spool

    config = _config(exchange, proxy, tmp_path)
    # Another "worker" holds the forwarding lease, so the backlog stays put until it lets go.
    other = Spool(SpoolSettings(path=str(tmp_path / "spool.sqlite3")))
    other.open()
    async with running_gateway(config) as gw:
        queue = await bind_queue(amqp, exchange)
        assert await other.take_lease(60)
        await _outage(gw, proxy)
        first_id, body, headers = _signed()
        first = await gw.client.post("/webhooks/stripe", content=body, headers=headers)
        assert first.json()["status"] == "spooled"

        await proxy.restore()
        await gw.wait_connected()
        second_id, body, headers = _signed()
        second = await gw.client.post("/webhooks/stripe", content=body, headers=headers)
        assert second.json()["status"] == "spooled"  # the broker is up, but order comes first
        assert await _queued(amqp, queue) == []

        await other.release_lease()
        await _spool_empty(gw)
        async with asyncio.timeout(10):
            delivered: list[str] = []
            while len(delivered) < 2:
                delivered += await _queued(amqp, queue)
                await asyncio.sleep(0.05)
        assert delivered == [first_id, second_id]
    await other.close()
