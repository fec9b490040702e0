"""deploy/dev/quickstart.sh, run as a user runs it and stopped with Ctrl-C: the demo event's
timeline is printed from `hookgate admin`, and the demo service's durable queues must not stay
behind, bound to `stripe.invoice.*` and `github.#`, collecting the user's later events with
nobody consuming them (nor the status recorder's, collecting their status)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import uuid
from pathlib import Path

import aiormq
import pytest

from admin.recorder import ledger_queue
from consumers.run import load_service
from hookgate.topology import all_queues, archive_inbox, archive_name
from tests.integration.broker import AMQP_URL
from tests.integration.consumer_kit import REPO, eventually

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

DEMO = "consumers.examples.billing:billing"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def quickstart_config(tmp_path: Path) -> tuple[Path, str]:
    """The example config on an exchange of its own (never the shared broker's `webhooks`),
    with its data files in tmp_path."""
    exchange = f"hg-qs-{uuid.uuid4().hex[:8]}"
    text = (REPO / "deploy/examples/hookgate.toml").read_text()
    text = re.sub(r'(?m)^exchange = "webhooks"', f'exchange = "{exchange}"', text)
    text = text.replace('"var/', f'"{tmp_path}/')
    assert exchange in text
    config = tmp_path / "quickstart.toml"
    config.write_text(text)
    return config, exchange


async def test_quickstart_deletes_the_demo_queues_when_stopped(
    quickstart_config: tuple[Path, str], tmp_path: Path
) -> None:
    config, exchange = quickstart_config
    queues = all_queues(load_service(DEMO))
    assert await _existing(queues) == [], "left by an earlier run: delete them first"
    log = tmp_path / "quickstart.log"
    script = _start(config, log)
    try:
        await eventually(
            lambda: b"handler processed it" in log.read_bytes() or script.poll() is not None,
            120,
            "the quickstart's demo event to be processed",
        )
        await eventually(
            lambda: b"Ctrl-C stops them" in log.read_bytes() or script.poll() is not None,
            60,
            "the quickstart to print the event's timeline",
        )
        assert script.poll() is None, log.read_text()[-3000:]
        assert await _existing(queues) == queues  # the demo is running on its queues
        timeline = log.read_text().split("== its status, as hookgate admin recorded it")[1]
        assert re.search(r"(?m)^status +completed$", timeline), timeline
        for step in ("accepted", "queued", "running", "completed"):
            assert re.search(rf"(?m)^\S+ +\S+ +{step} ", timeline), (step, timeline)
        admin_queues = [ledger_queue(exchange)]  # the example config keeps no archive
        assert await _existing(admin_queues) == admin_queues
        assert await _existing([archive_inbox(exchange), archive_name(exchange)]) == []
        os.killpg(script.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
        await eventually(lambda: script.poll() is not None, 60, "the quickstart to stop")
        assert await _existing([*queues, *admin_queues]) == [], log.read_text()[-3000:]
    finally:
        if script.poll() is None:
            os.killpg(script.pid, signal.SIGKILL)
            script.wait(10)
        await _cleanup(
            [*queues, ledger_queue(exchange), archive_inbox(exchange), archive_name(exchange)],
            exchange,
        )


def _start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "HOOKGATE_CONFIG": str(config),
        "PORT": str(_free_port()),
        "METRICS_PORT": str(_free_port()),
        "ADMIN_PORT": str(_free_port()),
    }
    env.pop("HOOKGATE_BROKER_URL", None)
    with log.open("wb") as out:
        return subprocess.Popen(
            ["deploy/dev/quickstart.sh"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal gives it
        )


async def _existing(queues: list[str]) -> list[str]:
    connection = await aiormq.connect(AMQP_URL)
    found = []
    try:
        for queue in queues:
            channel = await connection.channel()
            try:
                await channel.queue_declare(queue, passive=True)
                found.append(queue)
            except aiormq.exceptions.ChannelNotFoundEntity:
                pass
    finally:
        await connection.close()
    return found


async def _cleanup(queues: list[str], exchange: str) -> None:
    connection = await aiormq.connect(AMQP_URL)
    try:
        channel = await connection.channel()
        for queue in [*queues, f"{exchange}.unrouted", f"{exchange}.cancellations"]:
            await channel.queue_delete(queue)
        await channel.exchange_delete(exchange)
        await channel.exchange_delete(f"{exchange}.unrouted")
        await channel.exchange_delete(f"{exchange}.status")
    finally:
        await connection.close()
