"""Integration fixtures: a real RabbitMQ (started by deploy/dev/test.sh), the real app."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiormq
import httpx
import pytest
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette

from consumers import Service
from gateway.app import create_app
from gateway.config import Config, parse_config
from hookgate.topology import all_queues
from tests.integration.broker import AMQP_URL, ping
from tests.integration.consumer_kit import delete_queues, service_name

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session", autouse=True)
def _require_broker() -> None:
    try:
        asyncio.run(ping())
    except Exception as err:  # the whole integration suite is meaningless without it
        pytest.exit(
            f"RabbitMQ is not reachable at {AMQP_URL} ({type(err).__name__}: {err}). "
            "Run the tests with deploy/dev/test.sh, which installs and starts it, or set "
            "HOOKGATE_TEST_AMQP_URL.",
            returncode=3,
        )


@pytest.fixture
async def amqp() -> AsyncIterator[aiormq.abc.AbstractChannel]:
    connection = await aiormq.connect(AMQP_URL)
    try:
        yield await connection.channel()
    finally:
        await connection.close()


@pytest.fixture
async def confirm_channel() -> AsyncIterator[aiormq.abc.AbstractChannel]:
    """A channel in publisher-confirm mode, for publishing as the gateway does."""
    connection = await aiormq.connect(AMQP_URL)
    try:
        yield await connection.channel(publisher_confirms=True)
    finally:
        await connection.close()


@pytest.fixture
async def exchange(amqp: aiormq.abc.AbstractChannel) -> AsyncIterator[str]:
    """A fresh exchange name per test; its exchanges and unrouted queue are deleted after."""
    name = f"hg-test-{uuid.uuid4().hex[:10]}"
    yield name
    connection = await aiormq.connect(AMQP_URL)
    channel = await connection.channel()
    await channel.exchange_delete(name)
    await channel.exchange_delete(f"{name}.unrouted")
    await channel.queue_delete(f"{name}.unrouted")
    await connection.close()


def make_config(
    exchange: str,
    sources: dict[str, dict[str, Any]],
    *,
    broker_url: str = AMQP_URL,
    spool: dict[str, Any] | None = None,
    **gateway: Any,
) -> Config:
    raw = {
        "gateway": {"publish_timeout_seconds": 5.0, **gateway},
        "broker": {"url": broker_url, "exchange": exchange},
        "dedupe": {"backend": "memory"},
        "spool": spool or {"enabled": False},
        "sources": sources,
    }
    return parse_config(raw, env={})


@dataclass
class Gateway:
    app: Starlette
    client: httpx.AsyncClient
    registry: CollectorRegistry

    def count(self, source: str, outcome: str) -> float:
        value = self.registry.get_sample_value(
            "hookgate_requests_total", {"source": source, "outcome": outcome}
        )
        return value or 0.0

    async def wait_connected(self, seconds: float = 15.0) -> None:
        async with asyncio.timeout(seconds):
            while not self.app.state.publisher.connected:
                await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def running_gateway(config: Config, **options: Any) -> AsyncIterator[Gateway]:
    """The real app with its lifespan (broker connection) and an HTTP client bound to it."""
    registry = CollectorRegistry()
    app = create_app(config, registry=registry, **options)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            yield Gateway(app, client, registry)


@pytest.fixture
async def make_service() -> AsyncIterator[Callable[..., Service]]:
    """Consumer services with unique names; their queues are deleted after the test."""
    made: list[Service] = []

    def make(**options: object) -> Service:
        service = Service(service_name(), **options)  # type: ignore[arg-type]
        made.append(service)
        return service

    yield make
    await delete_queues([q for service in made for q in all_queues(service)])
