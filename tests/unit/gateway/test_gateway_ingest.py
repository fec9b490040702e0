"""The whole gateway in memory (gateway.testing.MemoryPublisher): the ingest rules, fast.

The same rules run against the real RabbitMQ in tests/integration/; these pin the decisions
(what is published, with which headers, what is refused, what happens to the claim) without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from gateway.app import create_app
from gateway.config import parse_config
from gateway.testing import MemoryPublisher
from providers.testing import sign_request

pytestmark = pytest.mark.anyio

SECRET = "whsec_" + "ab" * 16
GITHUB_SECRET = "gh-" + "cd" * 16


@contextlib.asynccontextmanager
async def gateway(
    publisher: MemoryPublisher, *, spool: Path | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    raw: dict[str, Any] = {
        "broker": {"exchange": "hg-unit"},
        "dedupe": {"backend": "memory"},
        "spool": {"enabled": spool is not None, "path": str(spool or "unused")},
        "sources": {
            "stripe": {"provider": "stripe", "secrets": [SECRET]},
            "github": {"provider": "github", "secrets": [GITHUB_SECRET]},
        },
    }
    app = create_app(parse_config(raw, {}), registry=CollectorRegistry(), publisher=publisher)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as client:
            yield client


def _stripe(event_id: str | None = None) -> tuple[bytes, dict[str, str]]:
    event_id = event_id or f"evt_{uuid.uuid4().hex}"
    body = f'{{"id":"{event_id}","type":"invoice.paid","object":"event"}}'.encode()
    headers = sign_request("stripe", body, SECRET, timestamp=int(time.time()))
    return body, {**headers, "content-type": "application/json"}


async def test_an_accepted_event_is_published_once_as_received() -> None:
    publisher = MemoryPublisher()
    async with gateway(publisher) as client:
        body, headers = _stripe("evt_unit_1")
        first = await client.post("/webhooks/stripe", content=body, headers=headers)
        again = await client.post("/webhooks/stripe", content=body, headers=headers)
    assert first.json() == {"status": "accepted", "event_id": "evt_unit_1", "source": "stripe"}
    assert again.json() == {"status": "duplicate"}
    [message] = publisher.messages
    assert message.body == body  # byte for byte
    assert message.routing_key == "stripe.invoice.paid"
    assert message.properties.message_id == "evt_unit_1"
    assert message.headers["hookgate-event-type"] == "invoice.paid"
    assert "stripe-signature" in message.headers["hookgate-http-headers"]


async def test_a_broker_outage_is_503_and_the_claim_is_released_for_the_retry() -> None:
    publisher = MemoryPublisher()
    async with gateway(publisher) as client:
        body, headers = _stripe()
        publisher.fail("disconnected")
        refused = await client.post("/webhooks/stripe", content=body, headers=headers)
        publisher.recover()
        retried = await client.post("/webhooks/stripe", content=body, headers=headers)
    assert refused.status_code == 503
    assert refused.json()["status"] == "unavailable"
    assert refused.headers["retry-after"]
    assert retried.json()["status"] == "accepted"
    assert len(publisher.messages) == 1


async def test_a_broker_outage_with_the_spool_on_is_200_spooled_then_forwarded(
    tmp_path: Path,
) -> None:
    publisher = MemoryPublisher()
    async with gateway(publisher, spool=tmp_path / "spool.sqlite3") as client:
        publisher.fail("timeout")
        body, headers = _stripe("evt_spooled")
        response = await client.post("/webhooks/stripe", content=body, headers=headers)
        assert response.json()["status"] == "spooled"
        assert publisher.messages == []
        publisher.recover()
        for _ in range(100):  # the forwarder looks at the spool every half second
            if publisher.messages:
                break
            await asyncio.sleep(0.05)
    [message] = publisher.messages
    assert message.properties.message_id == "evt_spooled"
    assert message.body == body


async def test_credentials_never_reach_the_message() -> None:
    publisher = MemoryPublisher()
    async with gateway(publisher) as client:
        body, headers = _stripe()
        extra = {"x-api-key": "k", "authorization": "Bearer t", "x-deploy-token": "t"}
        response = await client.post("/webhooks/stripe", content=body, headers=headers | extra)
    assert response.json()["status"] == "accepted"
    forwarded = publisher.messages[0].headers["hookgate-http-headers"]
    assert not set(extra) & set(forwarded)


async def test_a_github_body_resent_under_a_new_delivery_id_is_a_duplicate() -> None:
    publisher = MemoryPublisher()
    body = b'{"action":"opened","number":1}'
    async with gateway(publisher) as client:
        answers = []
        for delivery in ("d-1", "d-2"):
            headers = sign_request(
                "github", body, GITHUB_SECRET, event_id=delivery, event_type="pull_request"
            )
            response = await client.post("/webhooks/github", content=body, headers=headers)
            answers.append(response.json()["status"])
    assert answers == ["accepted", "duplicate"]
    assert len(publisher.messages) == 1


async def test_headers_that_would_not_fit_the_brokers_frame_are_431_and_not_published() -> None:
    publisher = MemoryPublisher()
    publisher.max_properties_bytes = 2048  # as a broker with a small frame_max would say
    async with gateway(publisher) as client:
        body, headers = _stripe()
        big = await client.post(
            "/webhooks/stripe", content=body, headers={**headers, "x-pad": "p" * 4096}
        )
        fits = await client.post("/webhooks/stripe", content=body, headers=headers)
    assert big.status_code == 431
    assert fits.json()["status"] == "accepted"  # the refusal released the claim
    assert len(publisher.messages) == 1
