"""Two `hookgate serve` processes sharing one Redis dedupe store (a private `redis-server`).

Concurrent copies of one event spread over both gateways publish it once; a later copy at
either gateway is a duplicate; with Redis gone a new event is 503 (never assumed claimed) and
the provider's retry is accepted once Redis is back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import aiormq
import httpx
import pytest

from tests.integration.broker import bind_queue, drain
from tests.integration.serve_kit import (
    ServeProcess,
    free_port,
    signed_delivery,
    start_serve,
    write_config,
)
from tests.redis_kit import PrivateRedis, private_redis, unique_prefix

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
COPIES = 50


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[PrivateRedis]:
    with private_redis(tmp_path / "redis") as server:
        yield server


@pytest.fixture
def gateways(
    tmp_path: Path, exchange: str, redis_server: PrivateRedis
) -> Iterator[tuple[ServeProcess, ServeProcess]]:
    dedupe = {"backend": "redis", "url": redis_server.url, "key_prefix": unique_prefix()}
    started: list[ServeProcess] = []
    try:
        for name in ("a", "b"):
            directory = tmp_path / name
            directory.mkdir()
            port = free_port()
            config = write_config(directory, exchange=exchange, port=port, dedupe=dedupe)
            started.append(start_serve(config, port))
        yield started[0], started[1]
    finally:
        for server in started:
            server.stop()


async def test_two_gateways_sharing_redis_publish_an_event_once_and_survive_an_outage(
    gateways: tuple[ServeProcess, ServeProcess],
    redis_server: PrivateRedis,
    exchange: str,
    amqp: aiormq.abc.AbstractChannel,
) -> None:
    queue = await bind_queue(amqp, exchange)
    body, headers = signed_delivery()
    limits = httpx.Limits(max_connections=COPIES)
    clients = [httpx.AsyncClient(base_url=gw.url, limits=limits, timeout=30) for gw in gateways]
    try:
        # 50 copies of one event, alternating between the gateways, all in flight at once.
        responses = await asyncio.gather(
            *(
                clients[i % 2].post("/webhooks/stripe", content=body, headers=headers)
                for i in range(COPIES)
            )
        )
        statuses = [(r.status_code, r.json()["status"]) for r in responses]
        assert statuses.count((200, "accepted")) == 1, statuses
        assert set(statuses) <= {(200, "accepted"), (200, "duplicate"), (409, "in_progress")}
        published = await drain(amqp, queue)
        assert len(published) == 1
        event_id = published[0].header.properties.message_id

        # After the acceptance, a copy at either gateway is a duplicate.
        for client in clients:
            again = await client.post("/webhooks/stripe", content=body, headers=headers)
            assert (again.status_code, again.json()["status"]) == (200, "duplicate")

        # Redis gone: a new event is refused for now, never published unclaimed.
        redis_server.kill()
        new_body, new_headers = signed_delivery()
        refused = await clients[0].post("/webhooks/stripe", content=new_body, headers=new_headers)
        assert refused.status_code == 503
        assert refused.json()["status"] == "unavailable"
        assert int(refused.headers["retry-after"]) > 0
        assert await drain(amqp, queue) == []

        # Redis back on the same port: the provider's retry (at the other gateway) is accepted.
        redis_server.start()
        retried = await clients[1].post("/webhooks/stripe", content=new_body, headers=new_headers)
        assert (retried.status_code, retried.json()["status"]) == (200, "accepted")
        published = await drain(amqp, queue)
        assert [m.header.properties.message_id for m in published] == [retried.json()["event_id"]]
        assert retried.json()["event_id"] != event_id
    finally:
        for client in clients:
            await client.aclose()


async def test_serve_refuses_to_start_without_its_redis(tmp_path: Path, exchange: str) -> None:
    # Fail closed: a gateway that cannot dedupe must not start accepting events.
    url = f"redis://:hunter2-secret@127.0.0.1:{free_port()}/0"  # nothing listens there
    port = free_port()
    config = write_config(
        tmp_path, exchange=exchange, port=port, dedupe={"backend": "redis", "url": url}
    )
    server = start_serve(config, port, wait_ready=False)
    try:
        assert await asyncio.to_thread(server.process.wait, 30) != 0
    finally:
        server.stop()
    log = server.log()
    assert "dedupe.url: Redis at redis://:***@127.0.0.1:" in log
    assert "hunter2-secret" not in log
