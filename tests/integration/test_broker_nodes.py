"""`BrokerNodes` against a real broker: a cluster's URLs are tried in turn, a dead node is
skipped, and a refused login is what gets reported while other nodes are down."""

from __future__ import annotations

import socket
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import aiormq
import pytest

from hookgate import broker_urls
from hookgate.connect import BrokerNodes
from tests.integration.broker import AMQP_URL
from tests.integration.cases import CASES
from tests.integration.conftest import make_config, running_gateway
from tests.integration.tcpproxy import TcpProxy

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
CASE = CASES["stripe"]


def _dead_url() -> str:
    """An AMQP URL on a loopback port where nothing listens (connect is refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"amqp://guest:guest@127.0.0.1:{port}/"


def _with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    netloc = f"{parts.username}:{password}@{parts.hostname}:{parts.port or 5672}"
    return urlunsplit(parts._replace(netloc=netloc))


async def test_a_dead_node_is_skipped_whichever_node_the_start_picks() -> None:
    dead = _dead_url()
    nodes = BrokerNodes(broker_urls.join([dead, AMQP_URL, dead]))
    for _ in range(3):  # whichever node the random start picks
        connection = await nodes.connect("hookgate-test-nodes")
        try:
            assert nodes.current == AMQP_URL
            assert not connection.is_closed
        finally:
            await connection.close()


async def test_rotation_moves_on_from_the_node_just_used() -> None:
    # Two URLs for the same live broker: consecutive connects alternate between them.
    second = AMQP_URL.replace("127.0.0.1", "localhost")
    nodes = BrokerNodes(broker_urls.join([AMQP_URL, second]))
    seen = []
    for _ in range(4):
        connection = await nodes.connect("hookgate-test-nodes")
        seen.append(nodes.current)
        await connection.close()
    assert seen[2:] == seen[:2]
    assert seen[0] != seen[1]


async def test_a_refused_login_is_reported_over_a_dead_node() -> None:
    wrong = _with_password(AMQP_URL, "not-the-password")
    nodes = BrokerNodes(broker_urls.join([_dead_url(), wrong]))
    with pytest.raises(aiormq.exceptions.ProbableAuthenticationError):
        await nodes.connect("hookgate-test-nodes")


async def test_every_node_dead_raises_the_connection_error() -> None:
    nodes = BrokerNodes(broker_urls.join([_dead_url(), _dead_url()]))
    with pytest.raises(ConnectionError):
        await nodes.connect("hookgate-test-nodes")


async def test_a_blackholed_node_costs_its_timeout_then_the_next_is_tried() -> None:
    # A listening socket that never accepts or answers: the AMQP handshake hangs.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(0)
        hung = f"amqp://guest:guest@127.0.0.1:{silent.getsockname()[1]}/"
        nodes = BrokerNodes(broker_urls.join([hung, AMQP_URL]), node_timeout=0.5)
        nodes._next = 0  # start at the silent node
        connection = await nodes.connect("hookgate-test-nodes")
        await connection.close()
        assert nodes.current == AMQP_URL


async def test_a_node_gone_silent_is_left_after_one_missed_confirm(exchange: str) -> None:
    # Two routes to the broker, each through a proxy; the one the gateway uses goes silent (a
    # host crash or a partition: no reset, no FIN). Heartbeats would take half a minute.
    target = urlsplit(AMQP_URL)
    proxies = [TcpProxy(target.hostname or "127.0.0.1", target.port or 5672) for _ in range(2)]
    for proxy in proxies:
        await proxy.start()
    urls = [_via(proxy) for proxy in proxies]
    config = make_config(
        exchange,
        {"stripe": CASE.source_table()},
        broker_url=broker_urls.join(urls),
        publish_timeout_seconds=1.0,
    )
    try:
        async with running_gateway(config) as gw:
            await gw.wait_connected()
            publisher = gw.app.state.publisher
            used = urls.index(publisher._nodes.current)
            proxies[used].freeze()

            first = await gw.client.post("/webhooks/stripe", **_signed())
            assert first.status_code == 503  # no confirm in 1 s; the spool is off here
            assert first.json()["status"] == "unavailable"
            await gw.wait_connected(10)  # far sooner than heartbeats would notice
            assert publisher._nodes.current == urls[1 - used]
            second = await gw.client.post("/webhooks/stripe", **_signed())
            assert second.status_code == 200, second.text
            assert second.json()["status"] == "accepted"
            failures = {"reason": "timeout"}
            assert gw.registry.get_sample_value("hookgate_publish_failures_total", failures) == 1
    finally:
        for proxy in proxies:
            await proxy.cut()


def _via(proxy: TcpProxy) -> str:
    return AMQP_URL.replace(f":{urlsplit(AMQP_URL).port or 5672}", f":{proxy.port}", 1)


def _signed() -> dict[str, object]:
    event_id = f"evt_{uuid.uuid4().hex}"
    body = CASE.body(event_id)
    headers = CASE.sign(body, CASE.secrets[0], event_id, int(time.time()))
    return {"content": body, "headers": headers}
