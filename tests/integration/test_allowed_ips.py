"""Per-source `allowed_ips`, with X-Forwarded-For honoured only from trusted proxies: a refused
caller gets 403 `forbidden` before its body is read, and nothing is published."""

from __future__ import annotations

import time
import uuid

import aiormq
import httpx
import pytest
from prometheus_client import CollectorRegistry

from gateway.app import create_app
from tests.integration.broker import bind_queue, drain
from tests.integration.cases import CASES
from tests.integration.conftest import make_config

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
CASE = CASES["github"]


async def _post(
    app: object, client: tuple[str, int], forwarded: str | None = None
) -> httpx.Response:
    event_id = str(uuid.uuid4())
    body = CASE.body(event_id)
    headers = CASE.sign(body, CASE.secrets[0], event_id, int(time.time()))
    if forwarded:
        headers["x-forwarded-for"] = forwarded
    transport = httpx.ASGITransport(app=app, client=client)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        return await http.post("/webhooks/github", content=body, headers=headers)


async def test_only_allowed_callers_are_published(
    exchange: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    source = {**CASE.source_table(), "allowed_ips": ["192.30.252.0/22"]}
    config = make_config(exchange, {"github": source}, trusted_proxies=["10.0.0.0/8"])
    registry = CollectorRegistry()
    app = create_app(config, registry=registry)
    async with app.router.lifespan_context(app):
        queue = await bind_queue(amqp, exchange)
        direct = await _post(app, ("192.30.252.10", 5000))
        via_proxy = await _post(app, ("10.0.0.5", 5000), forwarded="192.30.253.1")
        outsider = await _post(app, ("203.0.113.7", 5000))
        spoofed = await _post(app, ("203.0.113.7", 5000), forwarded="192.30.252.10")
        proxied_outsider = await _post(app, ("10.0.0.5", 5000), forwarded="203.0.113.7")

        assert (direct.status_code, via_proxy.status_code) == (200, 200)
        for refused in (outsider, spoofed, proxied_outsider):
            assert refused.status_code == 403
            assert refused.json()["status"] == "forbidden"
        assert len(await drain(amqp, queue)) == 2
        forbidden = registry.get_sample_value(
            "hookgate_requests_total", {"source": "github", "outcome": "forbidden"}
        )
        assert forbidden == 3
