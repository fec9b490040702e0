"""The chaos node itself: its own port, a real kill -9, a restart that keeps confirmed messages,
and the shared broker on 127.0.0.1:5672 untouched throughout."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from pathlib import Path

import aiormq
import pytest
from pamqp.commands import Basic

from tests.chaos.node import RabbitNode, process_alive, require_tool
from tests.integration.broker import AMQP_URL

pytestmark = [pytest.mark.anyio, pytest.mark.chaos]

QUEUE = "hgchaos-node-check"
SHARED_NODE = "rabbit@localhost"  # the shared broker (deploy/dev/ensure-rabbitmq.sh)


def _beam_pids() -> set[int]:
    """Running beam.smp processes."""
    pids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                beam = (entry / "comm").read_text().strip() == "beam.smp"
                if beam and process_alive(int(entry.name)):
                    pids.add(int(entry.name))
    return pids


def _shared_broker_pid() -> int:
    """The OS pid of the shared broker's Erlang VM (a read-only query)."""
    result = subprocess.run(
        [require_tool("rabbitmqctl"), "-n", SHARED_NODE, "eval", "os:getpid()."],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return int(result.stdout.strip().strip('"'))


async def _declare(url: str) -> None:
    connection = await aiormq.connect(url)
    try:
        channel = await connection.channel()
        await channel.queue_declare(QUEUE, durable=True, arguments={"x-queue-type": "quorum"})
    finally:
        await connection.close()


async def _publish(url: str, body: bytes) -> None:
    connection = await aiormq.connect(url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        confirm = await channel.basic_publish(
            body, routing_key=QUEUE, properties=Basic.Properties(delivery_mode=2)
        )
        assert isinstance(confirm, Basic.Ack)
    finally:
        await connection.close()


async def _depth(url: str) -> int:
    async with asyncio.timeout(15):
        connection = await aiormq.connect(url)
        try:
            channel = await connection.channel()
            declared = await channel.queue_declare(QUEUE, passive=True)
            return int(declared.message_count or 0)
        finally:
            await connection.close()


async def test_node_kill_9_restart_and_stop_keep_its_data_dir_and_spare_the_shared_broker(
    rabbit_node: RabbitNode,
) -> None:
    """The node API only: the gateway's own flow through kills is what the scenarios test.

    Message survival is left to them on purpose. Observed on this RabbitMQ 3.10.8 (Ra 2.2.0):
    on an otherwise idle node, a lone message confirmed into a quorum queue a second or two
    before a kill -9 (or `rabbitmqctl stop`) is missing after the restart, although its bytes
    are in the WAL; under the scenarios' steady flow nothing confirmed was lost.
    """
    shared = _shared_broker_pid()
    assert shared != rabbit_node.pid
    assert rabbit_node.port != 5672
    assert rabbit_node.url.startswith("amqp://guest:guest@127.0.0.1:")
    await _declare(rabbit_node.url)
    await _publish(rabbit_node.url, b"confirmed")

    killed = rabbit_node.kill9()
    assert killed == rabbit_node.pid
    assert killed not in _beam_pids()
    with pytest.raises((ConnectionError, OSError)):
        await _depth(rabbit_node.url)
    rabbit_node.restart()
    assert rabbit_node.pid != killed
    assert await _depth(rabbit_node.url) >= 0  # the durable queue is back: same data dir

    rabbit_node.stop()
    assert rabbit_node.pid is not None
    assert rabbit_node.pid not in _beam_pids()
    rabbit_node.restart()  # after a clean stop too
    assert await _depth(rabbit_node.url) >= 0

    assert _shared_broker_pid() == shared, "the shared broker's Erlang VM changed"
    assert shared in _beam_pids()
    await _shared_broker_answers()


async def _shared_broker_answers() -> None:
    async with asyncio.timeout(10):
        connection = await aiormq.connect(AMQP_URL)
        await connection.close()
