"""Scenario I: a three-node RabbitMQ cluster; kill -9 the node that leads the queues, restart it.

Two gateways share one Redis dedupe store and list every node (`broker.url` as a list); a
consumer service, on quorum queues replicated to the three nodes, lists them too. The service's
topology is declared through the node one gateway is connected to, so that node leads the
queues. Under load through both gateways that node is killed with SIGKILL, then restarted.

Nothing answered 2xx is lost: every such event is handled (or dead-lettered); the gateway whose
node died moves to another; the cluster elects new leaders; the restarted node rejoins; and a
sender's resend of accepted events to the *other* gateway is answered `duplicate` (one dedupe
store for both). Figures: sent, 2xx, delivered, lost, duplicates, and the time each part took
to recover.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import pytest

from hookgate import broker_urls
from tests.chaos.cluster import RabbitCluster
from tests.chaos.figures import Figures, count_delivery
from tests.chaos.load import Load, LoadResult, SignedEvent, github_events
from tests.chaos.node import RabbitNode
from tests.chaos.processes import (
    GATEWAY_ENV,
    REPO,
    ConsumerProcess,
    GatewayProcess,
    consumer_process,
    eventually,
    read_records,
    write_gateway_config,
)
from tests.redis_kit import REDIS_URL, delete_prefix, shared_redis

pytestmark = [pytest.mark.anyio, pytest.mark.chaos]

EVENTS = 3000  # split over the two gateways
RATE = 100  # events/s per gateway: the load spans ~15 s, the kill and restart fall inside it
KILL_AFTER = 800  # answers (both gateways) before the kill
RESEND = 300  # accepted events sent again, each to the gateway that did not take it
_CONNECTED = {"connected to the broker", "consuming"}  # the gateway's, the consumer's lines


@pytest.fixture
def cluster() -> Iterator[RabbitCluster]:
    # Under /tmp, not tmp_path: the nodes run as `rabbitmq`, which must reach the directory.
    base = Path(tempfile.mkdtemp(prefix="hgchaos-cluster-"))
    nodes = RabbitCluster.create(base, size=3)
    try:
        nodes.start()
        yield nodes
    finally:
        try:
            nodes.stop()
        finally:
            shutil.rmtree(base, ignore_errors=True)


def _connected_ports(process: GatewayProcess | ConsumerProcess) -> list[int]:
    """The AMQP port of each node the process logged connecting to, oldest first."""
    ports = []
    for line in process.log.read_bytes().splitlines():
        with contextlib.suppress(orjson.JSONDecodeError):
            entry = orjson.loads(line)
            if isinstance(entry, dict) and entry.get("msg") in _CONNECTED:
                ports.append(int(urlsplit(entry["node"]).port or 0))
    return ports


def _consumer_ports(consumer: ConsumerProcess) -> set[int]:
    """The ports of the nodes the consumer's latest session consumes from and publishes to."""
    for line in reversed(consumer.log.read_bytes().splitlines()):
        with contextlib.suppress(orjson.JSONDecodeError):
            entry = orjson.loads(line)
            if isinstance(entry, dict) and entry.get("msg") == "consuming":
                nodes = (entry["node"], entry["publish_node"])
                return {int(urlsplit(node).port or 0) for node in nodes}
    return set()


def _declare_topology_through(node: RabbitNode, workdir: Path, exchange: str, env: dict) -> None:
    """`hookgate topology declare --service …` connected to `node` only: quorum queues are led
    by the node their declaring client is connected to (RabbitMQ's default, client-local)."""
    config = workdir / "declare.toml"
    config.write_text(f'[broker]\nurl = "{node.url}"\nexchange = "{exchange}"\n')
    command = [sys.executable, "-m", "gateway", "topology", "declare", "-c", str(config)]
    command += ["--service", "tests.integration.consumer_services:service"]
    full_env = {k: v for k, v in os.environ.items() if k != "HOOKGATE_BROKER_URL"}
    result = subprocess.run(
        command, cwd=REPO, env={**full_env, **env}, capture_output=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")


async def _load_both(
    gateways: list[GatewayProcess], events: list[SignedEvent], *, max_seconds: float
) -> tuple[list[Load], list[asyncio.Task[LoadResult]]]:
    """One `Load` per gateway, events dealt alternately, all running at once."""
    loads = [
        Load(g.base_url, events[i :: len(gateways)], rate=RATE, max_seconds=max_seconds)
        for i, g in enumerate(gateways)
    ]
    return loads, [asyncio.create_task(load.run()) for load in loads]


async def test_cluster_leader_kill_9_under_load_loses_no_2xx_event(
    cluster: RabbitCluster, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    exchange = f"hgchaos-{uuid.uuid4().hex[:8]}"
    service = f"hgc-{uuid.uuid4().hex[:8]}"
    records = tmp_path / "records.txt"
    service_env = {"HG_TEST_SERVICE": service, "HG_TEST_RECORD": str(records)}
    prefix = f"hgchaos-{uuid.uuid4().hex[:8]}:"
    dedupe = f'[dedupe]\nbackend = "redis"\nurl = "{REDIS_URL}"\nkey_prefix = "{prefix}"\n'
    started: list[GatewayProcess] = []
    consumer = None
    try:
        gateways = []
        for name in ("a", "b"):
            workdir = tmp_path / name
            workdir.mkdir()
            spool = f'[spool]\nenabled = true\npath = "{workdir / "spool.sqlite3"}"\n'
            config = write_gateway_config(
                workdir,
                broker_url=cluster.urls,  # a TOML list: every node, tried in turn
                exchange=exchange,
                dedupe_toml=dedupe,
                extra_toml=spool,
                log_level="info",
            )
            started.append(GatewayProcess(config, env=GATEWAY_ENV))
            gateways.append(started[-1])
        for gateway in gateways:
            await gateway.wait_ready()
        ports = _connected_ports(gateways[0])
        target = next(node for node in cluster.nodes if node.port == ports[-1])
        _declare_topology_through(target, tmp_path, exchange, service_env)
        assert cluster.leader(service).name == target.name
        assert cluster.leader(f"{service}.dead").name == target.name

        # The consumer lists the nodes as one string (as HOOKGATE_BROKER_URL would). Each
        # process starts at a random node; the scenario wants one of its two connections on
        # the node to be killed, so consumers that start elsewhere are replaced.
        for _ in range(12):
            consumer = consumer_process(
                tmp_path,
                broker_urls.join(cluster.urls),
                exchange,
                service=service,
                records=records,
                concurrency=64,
            )
            await consumer.wait_consuming()
            if target.port in _consumer_ports(consumer):
                break
            consumer.stop()
        assert consumer is not None
        assert target.port in _consumer_ports(consumer), "no consumer connected to the target"
        await asyncio.sleep(2)  # let the new quorum queues settle on all three nodes

        events = github_events(EVENTS)
        loads, running = await _load_both(gateways, events, max_seconds=90)
        await eventually(
            lambda: sum(load.answered for load in loads) >= KILL_AFTER, 30, "load under way"
        )
        survivor = next(node for node in cluster.nodes if node is not target)
        gateway_b_on_target = _connected_ports(gateways[1])[-1] == target.port
        connections_before = len(ports)
        killed_at = time.monotonic()
        killed_pid = await asyncio.to_thread(target.kill9)

        # The gateway whose node died moves to another node of the cluster.
        await eventually(
            lambda: len(_connected_ports(gateways[0])) > connections_before,
            30,
            "gateway a to reconnect to another node",
        )
        gateway_moved_s = time.monotonic() - killed_at
        assert _connected_ports(gateways[0])[-1] != target.port
        # So does the consumer, one of whose connections was on it.
        await eventually(
            lambda: len(_connected_ports(consumer)) > 1, 60, "the consumer to reconnect"
        )
        consumer_moved_s = time.monotonic() - killed_at
        assert target.port not in _consumer_ports(consumer)
        await eventually(
            lambda: cluster.leader(service, via=survivor).name != target.name,
            30,
            "a new leader for the work queue",
        )
        new_leader_s = time.monotonic() - killed_at

        await asyncio.to_thread(target.restart)
        restarted_s = time.monotonic() - killed_at
        results = await asyncio.gather(*running)

        # A sender retries whatever was not answered 2xx (Stripe would); each to its gateway.
        retried: list[LoadResult] = []
        for gateway, result, load_events in zip(
            gateways, results, [events[0::2], events[1::2]], strict=True
        ):
            await gateway.wait_ready(30)
            retried.append(await Load(gateway.base_url, result.failed_events(load_events)).run())
        accepted = set().union(*(r.ok_ids() for r in [*results, *retried]))

        def handled() -> set[str]:
            return {e for kind, e, _ in read_records(records) if kind == "done"}

        with contextlib.suppress(AssertionError):  # a shortfall shows in the figures
            await eventually(lambda: accepted <= handled(), 120, "every 2xx event handled")
        all_handled_s = time.monotonic() - killed_at
        await asyncio.sleep(1.0)  # let redeliveries in transit land, so duplicates count

        # One dedupe store for both: an accepted event sent to the other gateway is a duplicate.
        by_id = {event.event_id: event for event in events}
        resend = []
        for index, result in enumerate(results):
            other = gateways[1 - index]
            ids = sorted(result.ok_ids())[: RESEND // 2]
            resend.append(await Load(other.base_url, [by_id[i] for i in ids]).run())
        resent_statuses = [a.body_status for r in resend for a in r.answers.values()]

        spooled = sum(
            a.body_status == "spooled" for r in [*results, *retried] for a in r.answers.values()
        )
        queues = cluster.queues(survivor)
        not_2xx = collections.Counter(
            f"{a.status}:{a.body_status or a.error}"
            for r in results
            for a in r.answers.values()
            if not a.ok
        )
        figures = Figures(
            "I-cluster-leader-kill-9",
            sent=len(events),
            ok=len(accepted),
            unavailable=sum(r.statuses()[503] for r in results),
            other=sum(
                n
                for r in results
                for status, n in r.statuses().items()
                if status != 503 and not 200 <= status < 300
            ),
            dlq=int(queues[f"{service}.dead"]["messages"]),  # type: ignore[call-overload]
            extra={
                "spooled": spooled,
                "retried": sum(len(r.answers) for r in retried),
                "not_2xx": dict(not_2xx),
                "resent_duplicate": resent_statuses.count("duplicate"),
                "gateway_moved_s": round(gateway_moved_s, 1),
                "new_leader_s": round(new_leader_s, 1),
                "node_restarted_s": round(restarted_s, 1),
                "all_handled_s": round(all_handled_s, 1),
                "killed_pid": killed_pid,
                "gateway_b_on_killed_node": gateway_b_on_target,
                "consumer_moved_s": round(consumer_moved_s, 1),
            },
        )
        count_delivery(figures, accepted, read_records(records))
        figures.report(record_property)

        assert figures.lost == 0, f"accepted but never handled: {figures.lost_ids}"
        assert figures.dlq == 0
        # A refusal, if any, is the documented one a sender retries: never a 500, never silence.
        assert set(not_2xx) <= {"503:unavailable"}, not_2xx
        assert len(accepted) == len(events), "some events were never accepted, even on retry"
        assert resent_statuses == ["duplicate"] * len(resent_statuses), resent_statuses
        assert len(resent_statuses) == RESEND
        assert sorted(cluster.running_nodes(survivor)) == sorted(n.name for n in cluster.nodes)
        members = queues[service]["members"]
        assert isinstance(members, list)
        assert len(members) == 3
    finally:
        for process in [*started, consumer]:
            if process is not None:
                process.stop()
        delete_prefix(shared_redis(), prefix)
