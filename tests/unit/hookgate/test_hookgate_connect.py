"""hookgate.connect.BrokerNodes without a broker: which node is tried when, what is raised,
and the heartbeat each connection asks for (aiormq.connect replaced by a recorder)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiormq
import pytest

from hookgate import broker_urls
from hookgate.connect import HEARTBEAT_SECONDS, BrokerNodes

pytestmark = pytest.mark.anyio

URLS = [f"amqp://u:pw@node{i}:5672/" for i in range(3)]


class _Connect:
    """Stands in for aiormq.connect: records each target; `behaviour[host]` says what a
    node does (an exception to raise, "hang", or nothing: it connects)."""

    def __init__(self, behaviour: dict[str, Any]) -> None:
        self.behaviour = behaviour
        self.tried: list[str] = []

    async def __call__(self, url: Any, **_: Any) -> object:
        self.tried.append(url.host)
        action = self.behaviour.get(url.host)
        if action == "hang":
            await asyncio.sleep(3600)
        if isinstance(action, BaseException):
            raise action
        return object()


@pytest.fixture
def connect(monkeypatch: pytest.MonkeyPatch) -> _Connect:
    fake = _Connect({})
    monkeypatch.setattr(aiormq, "connect", fake)
    return fake


async def test_one_url_is_tried_once_and_its_error_raised_as_is(connect: _Connect) -> None:
    refused = ConnectionRefusedError("refused")
    connect.behaviour["node0"] = refused
    with pytest.raises(ConnectionRefusedError) as caught:
        await BrokerNodes(URLS[0]).connect("t")
    assert caught.value is refused
    assert connect.tried == ["node0"]


async def test_a_cut_attempt_leaves_the_next_one_starting_at_an_untried_node(
    connect: _Connect,
) -> None:
    nodes = BrokerNodes(broker_urls.join(URLS), node_timeout=60)
    nodes._next = 0
    connect.behaviour.update(node0="hang", node1="hang")
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.1):  # the caller's own timeout, shorter than a node's
            await nodes.connect("t")
    assert connect.tried == ["node0"]
    connect.behaviour.clear()
    await nodes.connect("t")
    assert connect.tried == ["node0", "node1"]
    assert nodes.current == URLS[1]
    await nodes.connect("t")  # the next connect starts after the node just used
    assert nodes.current == URLS[2]


async def test_every_node_refusing_raises_the_first_unreachable_error(connect: _Connect) -> None:
    first, second = OSError("tls handshake failed"), ConnectionRefusedError("refused")
    connect.behaviour.update(node0=first, node1=second, node2=second)
    nodes = BrokerNodes(broker_urls.join(URLS))
    nodes._next = 0
    with pytest.raises(OSError, match="tls handshake") as caught:
        await nodes.connect("t")
    assert caught.value is first
    assert connect.tried == ["node0", "node1", "node2"]


async def test_connections_ask_for_a_short_heartbeat_unless_the_url_names_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[str] = []

    async def record(url: Any, **_: Any) -> object:
        asked.append(url.query.get("heartbeat"))
        return object()

    monkeypatch.setattr(aiormq, "connect", record)
    await BrokerNodes(URLS[0]).connect("t")
    await BrokerNodes("amqp://u:pw@node0/?heartbeat=30").connect("t")
    assert asked == [str(HEARTBEAT_SECONDS), "30"]
