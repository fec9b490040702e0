"""Broker unreachable → 503 + Retry-After with nothing claimed; the provider's retry then lands."""

from __future__ import annotations

import asyncio
import time
import uuid
from urllib.parse import urlsplit

import aiormq
import pytest

from tests.integration.broker import AMQP_URL, bind_queue, drain
from tests.integration.cases import CASES
from tests.integration.conftest import make_config, running_gateway
from tests.integration.tcpproxy import TcpProxy

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
CASE = CASES["stripe"]


def _signed_event() -> tuple[str, bytes, dict[str, str]]:
    event_id = f"evt_{uuid.uuid4().hex}"
    body = CASE.body(event_id)
    return event_id, body, CASE.sign(body, CASE.secrets[0], event_id, int(time.time()))


def _proxied_url(port: int) -> str:
    return AMQP_URL.replace(f":{urlsplit(AMQP_URL).port}", f":{port}", 1)


async def test_broker_outage_answers_503_and_the_retry_after_recovery_is_accepted(
    exchange: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    target = urlsplit(AMQP_URL)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5672)
    await proxy.start()
    config = make_config(
        exchange, {"stripe": CASE.source_table()}, broker_url=_proxied_url(proxy.port)
    )
    async with running_gateway(config) as gw:
        queue = await bind_queue(amqp, exchange)
        assert (await gw.client.get("/readyz")).status_code == 200

        await proxy.cut()
        async with asyncio.timeout(10):
            while gw.app.state.publisher.connected:
                await asyncio.sleep(0.02)
        event_id, body, headers = _signed_event()
        refused = await gw.client.post("/webhooks/stripe", content=body, headers=headers)

        assert refused.status_code == 503
        assert refused.json()["status"] == "unavailable"
        assert int(refused.headers["retry-after"]) > 0
        assert (await gw.client.get("/readyz")).status_code == 503
        assert gw.registry.get_sample_value("hookgate_broker_connected") == 0

        await proxy.restore()
        await gw.wait_connected()
        retried = await gw.client.post("/webhooks/stripe", content=body, headers=headers)

        assert retried.status_code == 200
        assert retried.json()["status"] == "accepted"  # not "duplicate": nothing was claimed
        [message] = await drain(amqp, queue)
        assert message.header.properties.message_id == event_id
        assert (await gw.client.get("/readyz")).status_code == 200
    await proxy.cut()


async def test_gateway_starts_without_a_broker_and_answers_503(exchange: str) -> None:
    proxy = TcpProxy("127.0.0.1", 1)  # never started: connection refused on a free port
    await proxy.start()
    port = proxy.port
    await proxy.cut()
    config = make_config(exchange, {"stripe": CASE.source_table()}, broker_url=_proxied_url(port))
    async with running_gateway(config, connect_wait=0.2) as gw:
        _, body, headers = _signed_event()
        response = await gw.client.post("/webhooks/stripe", content=body, headers=headers)

        assert response.status_code == 503
        assert response.json()["status"] == "unavailable"
        assert "retry-after" in response.headers
        assert (await gw.client.get("/healthz")).status_code == 200
        assert (await gw.client.get("/readyz")).status_code == 503
        failures = gw.registry.get_sample_value(
            "hookgate_publish_failures_total", {"reason": "disconnected"}
        )
        assert failures == 1
