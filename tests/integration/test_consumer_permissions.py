"""The broker permissions deploy/README.md documents, on the real broker, in a throwaway vhost
with throwaway users (both deleted afterwards): the gateway's user can publish to the ingress
exchange and nothing else; a service's user runs the service (consume, retry, dead-letter,
its DLQ tools, deleting its queues) on its own queues only; `topology declare` needs the
deployer's, larger, set."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import aiormq
import pytest
from pamqp.commands import Basic

from consumers import Event, Reject, Service
from consumers.dlq import peek
from consumers.permissions import (
    deployer_permissions,
    gateway_permissions,
    service_permissions,
)
from consumers.teardown import delete_service_queues
from hookgate.cli import main as cli
from hookgate.topology import ensure_gateway_topology
from tests.integration.cases import CASES
from tests.integration.conftest import make_config, running_gateway
from tests.integration.consumer_kit import eventually, publish_event, running_worker
from tests.integration.permission_kit import Broker, refusals, throwaway_broker

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

EXCHANGE = "webhooks"  # the vhost is the test's own: the documented names can be used as they are
SERVICE = "billing"
GITHUB = CASES["github"]


@pytest.fixture
def broker() -> Iterator[Broker]:
    with throwaway_broker() as b:
        yield b


@pytest.fixture
def service_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    module = f"perm_service_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(
        "from consumers import Service\n"
        f"svc = Service({SERVICE!r}, retry_delays=(0.3,))\n"
        "svc.handler('shop.#')(lambda event: None)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return f"{module}:svc"


async def test_each_user_can_do_its_job_and_no_more(
    broker: Broker, service_module: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway_url = broker.user("gateway", gateway_permissions(EXCHANGE))
    service_url = broker.user(SERVICE, service_permissions(SERVICE, EXCHANGE))
    deploy_url = broker.user("deploy", deployer_permissions(EXCHANGE, [SERVICE]))

    # Neither the gateway's nor the service's user may declare the topology: the deployer may.
    for url, may in ((gateway_url, False), (service_url, False), (deploy_url, True)):
        argv = ["topology", "declare", "-c", _config(tmp_path, url), "--service", service_module]
        assert await asyncio.to_thread(cli, argv) == (0 if may else 2)
        _out, err = capsys.readouterr()
        assert ("ACCESS_REFUSED" not in err) if may else ("ACCESS_REFUSED" in err), err

    # The gateway: checks the topology instead of declaring it, publishes, and nothing else.
    gateway = await aiormq.connect(gateway_url)
    try:
        assert await ensure_gateway_topology(gateway, EXCHANGE) is False
        channel = await gateway.channel(publisher_confirms=True)
        ids = [await publish_event(channel, EXCHANGE, body={"n": n}) for n in range(2)]
        refused = {
            "publish to a queue by name": lambda ch: ch.basic_publish(b"x", routing_key=SERVICE),
            "read a service's queue": lambda ch: ch.basic_get(SERVICE),
            "delete a service's queue": lambda ch: ch.queue_delete(SERVICE),
            "read the unrouted queue": lambda ch: ch.basic_get(f"{EXCHANGE}.unrouted"),
            "delete the exchange": lambda ch: ch.exchange_delete(EXCHANGE),
        }
        assert await refusals(gateway, refused) == set(refused)
    finally:
        await gateway.close()

    # The real gateway runs as that user: it checks the topology, then accepts and publishes.
    config = make_config(EXCHANGE, {"github": GITHUB.source_table()}, broker_url=gateway_url)
    async with running_gateway(config) as gw:
        await gw.wait_connected()
        delivery = str(uuid.uuid4())
        body = GITHUB.body(delivery)
        headers = GITHUB.sign(body, GITHUB.secrets[0], delivery, 0)
        response = await gw.client.post("/webhooks/github", content=body, headers=headers)
        assert response.json()["status"] == "accepted"

    # The service: consumes, retries through its tier, dead-letters, reads its DLQ.
    service = Service(SERVICE, retry_delays=(0.3,))
    seen: list[tuple[str, int]] = []

    @service.handler("shop.#")
    async def order(event: Event) -> None:
        seen.append((event.id, event.attempt))
        if event.id == ids[1]:
            raise Reject("parked on purpose")
        if event.attempt == 1:
            raise RuntimeError("once")

    async with running_worker(service, EXCHANGE, url=service_url) as worker:
        await eventually(lambda: worker.count("order", "success") == 1, 15, "the retried event")
        await eventually(lambda: worker.count("order", "rejected") == 1, 15, "the rejection")
    assert (ids[0], 2) in seen
    total, [letter] = await peek(service_url, f"{SERVICE}.dead", 10)
    assert (total, letter.event_id) == (1, ids[1])

    service_conn = await aiormq.connect(service_url)
    try:
        refused = {
            "publish to the ingress exchange": lambda ch: ch.basic_publish(
                b"x", exchange=EXCHANGE, routing_key="shop.order.created"
            ),
            "read the unrouted queue": lambda ch: ch.basic_get(f"{EXCHANGE}.unrouted"),
            "declare another service's queue": lambda ch: ch.queue_declare("shipping"),
            "delete the unrouted queue": lambda ch: ch.queue_delete(f"{EXCHANGE}.unrouted"),
        }
        assert await refusals(service_conn, refused) == set(refused)
        # The documented limit: amq.default lets it put a message into any queue by name.
        channel = await service_conn.channel(publisher_confirms=True)
        confirm = await channel.basic_publish(
            b"x", routing_key=f"{EXCHANGE}.unrouted", mandatory=True
        )
        assert isinstance(confirm, Basic.Ack)
    finally:
        await service_conn.close()

    # And it may remove its own queues.
    deleted = await delete_service_queues(service_url, service, force=True)
    assert [line.split()[2] for line in deleted] == [
        SERVICE,
        f"{SERVICE}.retry.300ms",
        f"{SERVICE}.dead",
    ]


def _config(tmp_path: Path, url: str) -> str:
    path = tmp_path / f"{uuid.uuid4().hex[:6]}.toml"
    path.write_text(
        f'[broker]\nurl = "{url}"\nexchange = "{EXCHANGE}"\n'
        '[sources.s]\nprovider = "github"\nsecrets = ["not-a-real-secret"]\n'
    )
    return str(path)
