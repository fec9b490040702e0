"""Every metric the Grafana dashboard and the alert rules read exists in the real `/metrics`
output of a running deployment: `hookgate serve`, a `hookgate consume` process and `hookgate
admin` (which samples queue depths), as real processes on a fresh exchange, after a few events
went through. A renamed metric breaks this test, not a dashboard in production."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aiormq
import httpx
import pytest
import yaml
from prometheus_client import CollectorRegistry

from admin.queue_metrics import QueueMetrics
from consumers import Service
from consumers.permissions import admin_permissions, deployer_permissions, gateway_permissions
from hookgate.status import ServiceAnnouncement
from hookgate.topology import (
    all_queues,
    declare_service_topology,
    unrouted_name,
)
from tests.integration.broker import AMQP_URL
from tests.integration.consumer_kit import ConsumerProcess, delete_queues, eventually, service_name
from tests.integration.permission_kit import throwaway_broker
from tests.integration.serve_kit import (
    free_port,
    serve_environment,
    signed_delivery,
    start_serve,
    write_config,
)
from tests.integration.status_kit import delete_status_topology
from tests.promql_names import all_metric_names, exposed_names

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "hookgate-dashboard.json"
RULES = ROOT / "deploy" / "prometheus" / "hookgate-alerts.yml"
#: Made by Prometheus for each target, never served by one.
SYNTHETIC = {"up"}
TOKEN = secrets.token_hex(16)
EVENTS = 3


def _dashboard_exprs() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [t["expr"] for p in panels for t in p.get("targets", [])]


def _alert_exprs() -> list[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


@pytest.fixture
async def name(exchange: str) -> AsyncIterator[str]:
    name = service_name()
    yield name
    await delete_queues(all_queues(Service(name, retry_delays=(1,))))
    await delete_status_topology(exchange)


class Admin:
    """`hookgate admin` as a real process."""

    def __init__(self, config: Path, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log = config.parent / "admin.log"
        env = {**os.environ, "HOOKGATE_ADMIN_TOKEN": TOKEN}
        env.pop("HOOKGATE_BROKER_URL", None)
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gateway", "admin", "-c", str(config)],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def processes() -> Iterator[list[Callable[[], object]]]:
    stops: list[Callable[[], object]] = []
    yield stops
    for stop in reversed(stops):
        stop()


def _value(text: str, sample: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


async def _scrape(client: httpx.AsyncClient, url: str, **headers: str) -> str:
    answer = await client.get(url, headers=headers, timeout=10)
    answer.raise_for_status()
    return answer.text


async def test_every_dashboard_and_alert_metric_is_served(
    tmp_path: Path, exchange: str, name: str, processes: list[Callable[[], object]]
) -> None:
    gateway_port, admin_port, consumer_port = free_port(), free_port(), free_port()
    config = write_config(tmp_path, exchange=exchange, port=gateway_port)
    with config.open("a") as out:
        out.write(
            f'\n[admin]\ntoken = "${{HOOKGATE_ADMIN_TOKEN}}"\nport = {admin_port}\n'
            "queue_sample_seconds = 0.5\n"
            f'\n[ledger]\nbackend = "sqlite"\npath = "{tmp_path / "ledger.sqlite3"}"\n'
        )
    bearer = {"authorization": f"Bearer {TOKEN}"}
    admin = Admin(config, admin_port)  # first: it declares the status exchange
    processes.append(admin.stop)
    async with httpx.AsyncClient() as client:

        async def admin_up() -> bool:
            assert admin.process.poll() is None, admin.log.read_text()[-3000:]
            try:
                return (await client.get(f"{admin.url}/metrics", headers=bearer)).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(admin_up, 60, "hookgate admin's /metrics")
        gateway = start_serve(
            config, gateway_port, env=serve_environment(HOOKGATE_ADMIN_TOKEN=TOKEN)
        )
        processes.append(gateway.stop)
        consumer = ConsumerProcess(
            tmp_path,
            exchange,
            {"HG_TEST_SERVICE": name},
            "--metrics-port",
            str(consumer_port),
            broker_toml='\n[admin]\ntoken = "${HOOKGATE_ADMIN_TOKEN}"\n',
        )
        processes.append(consumer.stop)
        await consumer.wait_consuming()

        # hookgate admin learns the service from its announcement and samples its queues.
        async def admin_sees_the_consumer() -> bool:
            text = await _scrape(client, f"{admin.url}/metrics", **bearer)
            return _value(text, f'hookgate_queue_consumers{{queue="{name}"}}') == 1.0

        await eventually(admin_sees_the_consumer, 30, "admin's sample of the service's queues")

        for _ in range(EVENTS):
            body, headers = signed_delivery()
            answer = await client.post(
                f"{gateway.url}/webhooks/stripe", content=body, headers=headers
            )
            assert answer.json()["status"] == "accepted", answer.text
        consumer_url = f"http://127.0.0.1:{consumer_port}/metrics"
        success = (
            f'hookgate_consumer_events_total{{handler="handle",outcome="success",service="{name}"}}'
        )

        async def handled() -> bool:
            return _value(await _scrape(client, consumer_url), success) == EVENTS

        await eventually(handled, 30, "the consumer to handle the events")
        texts = {
            "gateway": await _scrape(client, f"{gateway.url}/metrics"),
            "consumer": await _scrape(client, consumer_url),
            "admin": await _scrape(client, f"{admin.url}/metrics", **bearer),
        }

    # SIGTERM stops admin's queue sampler with the API and the recorder: a clean exit.
    admin.stop()
    assert admin.process.returncode == 0, admin.log.read_text()[-3000:]

    served = set().union(*(exposed_names(text) for text in texts.values())) | SYNTHETIC
    dashboard, alerts = all_metric_names(_dashboard_exprs()), all_metric_names(_alert_exprs())
    # The reader found the queries' names (an empty set would pass anything).
    assert len(dashboard) >= 15
    assert len(alerts) >= 12
    assert not dashboard - served, f"dashboard metrics nobody serves: {sorted(dashboard - served)}"
    assert not alerts - served, f"alert metrics nobody serves: {sorted(alerts - served)}"

    # And they say what happened.
    gateway_text, admin_text = texts["gateway"], texts["admin"]
    accepted = 'hookgate_requests_total{outcome="accepted",source="stripe"}'
    assert _value(gateway_text, accepted) == EVENTS
    assert _value(gateway_text, "hookgate_spool_max_bytes") == 1073741824
    assert _value(gateway_text, "hookgate_broker_connected") == 1
    assert _value(admin_text, "hookgate_queue_sample_success") == 1
    assert _value(admin_text, f'hookgate_queue_messages{{queue="{unrouted_name(exchange)}"}}') == 0
    assert _value(admin_text, f'hookgate_queue_messages{{queue="{name}.dead"}}') == 0
    for component, text in texts.items():
        build = re.search(r"^hookgate_build_info\{([^}]*)\} 1\.0$", text, re.MULTILINE)
        assert build is not None, component
        assert f'component="{component}"' in build.group(1)
        assert (_value(text, "process_resident_memory_bytes") or 0) > 0, component
    # No label set that cannot happen: a stripe source has no GET handshake, no allowed_ips.
    assert 'outcome="handshake",source="stripe"' not in gateway_text
    assert 'outcome="forbidden"' not in gateway_text
    assert 'outcome="accepted",source="_unknown"' not in gateway_text


async def test_admin_samples_real_queues_and_drops_a_deleted_ones_series(
    exchange: str, name: str
) -> None:
    """The sampler against the real broker, in-process: depth and consumers of real queues,
    the unrouted queue, a deleted queue's series gone, and a refused login is a 0."""
    service = Service(name, retry_delays=(1,))

    @service.handler("stripe.#")
    async def handle(_: object) -> None: ...

    announced = [ServiceAnnouncement(name, ("stripe.#",), time.time(), tiers=(1.0,))]

    async def services() -> list[ServiceAnnouncement]:
        return announced

    registry = CollectorRegistry()

    def messages(queue: str) -> float | None:
        return registry.get_sample_value("hookgate_queue_messages", {"queue": queue})

    connection = await aiormq.connect(AMQP_URL)
    sampler = QueueMetrics(AMQP_URL, exchange, services, registry)
    try:
        channel = await connection.channel(publisher_confirms=True)
        await declare_service_topology(connection, service, exchange)
        for key in ("stripe.a", "stripe.b", "nobody.binds"):
            await channel.basic_publish(b"{}", exchange=exchange, routing_key=key)
        assert await sampler.sample()
        assert messages(name) == 2
        assert messages(f"{name}.retry.1s") == 0
        assert messages(f"{name}.dead") == 0
        assert messages(unrouted_name(exchange)) == 1
        assert registry.get_sample_value("hookgate_queue_consumers", {"queue": name}) == 0
        await channel.queue_delete(f"{name}.dead")
        assert await sampler.sample()
        assert messages(f"{name}.dead") is None
        assert messages(name) == 2
    finally:
        await sampler._disconnect()
        await connection.close()
    refused_registry = CollectorRegistry()
    refused = QueueMetrics(
        "amqp://nobody:wrong@127.0.0.1:5672/", exchange, services, refused_registry
    )
    assert not await refused.sample()
    assert refused_registry.get_sample_value("hookgate_queue_sample_success") == 0


async def test_admins_least_privilege_user_can_sample_every_queue() -> None:
    """With the permissions deploy/README.md gives `hookgate admin` (consumers.permissions),
    its sampler sees every queue: passive declares need no permission."""
    exchange, name = "webhooks", service_name()
    service = Service(name, retry_delays=(1,))

    @service.handler("github.#")
    async def handle(_: object) -> None: ...

    announced = [ServiceAnnouncement(name, ("github.#",), time.time(), tiers=(1.0,))]

    async def services() -> list[ServiceAnnouncement]:
        return announced

    with throwaway_broker() as broker:
        deploy_url = broker.user("deploy", deployer_permissions(exchange, [name]))
        admin_url = broker.user("admin", admin_permissions(exchange))
        gateway_url = broker.user("gateway", gateway_permissions(exchange))
        deployer = await aiormq.connect(deploy_url)
        try:
            await declare_service_topology(deployer, service, exchange)
        finally:
            await deployer.close()
        gateway = await aiormq.connect(gateway_url)
        try:
            channel = await gateway.channel(publisher_confirms=True)
            await channel.basic_publish(b"{}", exchange=exchange, routing_key="github.push")
        finally:
            await gateway.close()
        registry = CollectorRegistry()
        sampler = QueueMetrics(admin_url, exchange, services, registry)
        try:
            assert await sampler.sample()
        finally:
            await sampler._disconnect()
    for queue, ready in ((name, 1), (f"{name}.retry.1s", 0), (f"{name}.dead", 0)):
        labels = {"queue": queue}
        assert registry.get_sample_value("hookgate_queue_messages", labels) == ready, queue
        assert registry.get_sample_value("hookgate_queue_consumers", labels) == 0, queue
    unrouted = {"queue": unrouted_name(exchange)}
    assert registry.get_sample_value("hookgate_queue_messages", unrouted) == 0
