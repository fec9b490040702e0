"""What an operator sees from `hookgate serve`: refused credentials, a taken port, the log
stream, Ctrl-C. Real processes, the shared RabbitMQ, loopback sockets."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.integration.serve_kit import (
    free_port,
    serve_command,
    serve_environment,
    signed_delivery,
    start_serve,
    write_config,
)
from tests.integration.tcpproxy import TcpProxy

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
DRAIN = 2.0


def _run_serve(config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        serve_command(config), capture_output=True, text=True, env=env, timeout=25, check=False
    )


async def test_credentials_the_broker_refuses_stop_startup_with_one_line_and_exit_2(
    tmp_path: Path, exchange: str
) -> None:
    password = f"wrong-{uuid.uuid4().hex}"
    config = write_config(tmp_path, exchange=exchange)
    env = serve_environment(HOOKGATE_BROKER_URL=f"amqp://guest:{password}@127.0.0.1:5672/")
    result = await asyncio.to_thread(_run_serve, config, env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("hookgate: error: broker.url: the broker at amqp://guest:***@")
    assert "refused the login" in lines[0]
    assert password not in result.stderr + result.stdout


async def test_a_taken_port_is_one_line_and_exit_2_before_touching_the_broker(
    tmp_path: Path, exchange: str
) -> None:
    with socket.socket() as taken, socket.socket() as broker:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        broker.bind(("127.0.0.1", 0))  # stands in for RabbitMQ: counts who connects
        broker.listen()
        broker.setblocking(False)
        config = write_config(
            tmp_path,
            exchange=exchange,
            port=port,
            broker_url=f"amqp://guest:guest@127.0.0.1:{broker.getsockname()[1]}/",
        )
        result = await asyncio.to_thread(_run_serve, config, serve_environment())
        try:
            connected, _ = broker.accept()
        except BlockingIOError:
            connected = None
        if connected is not None:
            connected.close()
    assert connected is None  # serve never connected to the broker
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"hookgate: error: cannot listen on 127.0.0.1:{port}: address already in use"
    ]


async def test_every_log_line_is_json_even_aiormqs_own(tmp_path: Path, exchange: str) -> None:
    # No broker at this port: aiormq logs its own error on every connection attempt.
    config = write_config(
        tmp_path, exchange=exchange, broker_url=f"amqp://guest:guest@127.0.0.1:{free_port()}/"
    )
    port = int(config.read_text().split("port = ")[1].split()[0])
    server = await asyncio.to_thread(start_serve, config, port, workers=2)
    try:
        deadline = time.monotonic() + 15
        while '"logger":"aiormq' not in server.log() and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
    finally:
        assert await asyncio.to_thread(server.stop) == 0
    lines = server.log().splitlines()
    loggers = {orjson.loads(line)["logger"] for line in lines}  # each line parses, or this fails
    assert any(name.startswith("aiormq") for name in loggers), loggers
    assert "hookgate.publisher" in loggers


@pytest.mark.parametrize("workers", [1, 2])
async def test_ctrl_c_drains_like_sigterm(tmp_path: Path, exchange: str, workers: int) -> None:
    port = free_port()
    config = write_config(tmp_path, exchange=exchange, port=port, drain_seconds=DRAIN)
    server = await asyncio.to_thread(start_serve, config, port, workers=workers, new_session=True)
    try:
        started = time.monotonic()
        os.killpg(server.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole group
        async with httpx.AsyncClient(base_url=server.url, timeout=2) as client:
            async with asyncio.timeout(DRAIN - 0.5):
                while (ready := await client.get("/readyz")).status_code != 503:
                    await asyncio.sleep(0.05)
            body, headers = signed_delivery()
            accepted = await client.post("/webhooks/stripe", content=body, headers=headers)
        assert ready.json() == {"status": "unavailable", "detail": "shutting down"}
        assert accepted.status_code == 200  # still serving while the load balancer catches up
        assert await asyncio.to_thread(server.process.wait, 30) == 0
        assert time.monotonic() - started >= DRAIN
    finally:
        if server.process.poll() is None:
            server.stop(signal.SIGKILL)


def _rabbitmqctl(*args: str) -> None:
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        pytest.fail("rabbitmqctl is needed to create and revoke a broker user")
    subprocess.run([ctl, "-q", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture
async def broker_user(exchange: str) -> AsyncIterator[tuple[str, str]]:
    """A RabbitMQ user of its own, allowed only this test's exchange; deleted after."""
    user, password = f"hg-test-{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
    await asyncio.to_thread(_rabbitmqctl, "add_user", user, password)
    try:
        own = f"^{exchange}.*"
        await asyncio.to_thread(_rabbitmqctl, "set_permissions", "-p", "/", user, own, own, own)
        yield user, password
    finally:
        await asyncio.to_thread(_rabbitmqctl, "delete_user", user)


async def test_a_user_without_access_to_the_virtual_host_stops_startup_too(
    tmp_path: Path, exchange: str
) -> None:
    user, password = f"hg-test-{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
    await asyncio.to_thread(_rabbitmqctl, "add_user", user, password)  # no permissions at all
    try:
        config = write_config(tmp_path, exchange=exchange)
        env = serve_environment(HOOKGATE_BROKER_URL=f"amqp://{user}:{password}@127.0.0.1:5672/")
        result = await asyncio.to_thread(_run_serve, config, env)
    finally:
        await asyncio.to_thread(_rabbitmqctl, "delete_user", user)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "refused the login" in lines[0]
    assert password not in result.stderr + result.stdout


async def test_a_login_refused_at_run_time_is_a_distinct_log_line_metric_and_readiness_detail(
    tmp_path: Path, exchange: str, broker_user: tuple[str, str]
) -> None:
    user, password = broker_user
    proxy = TcpProxy("127.0.0.1", 5672)  # lets the test drop the gateway's connection
    await proxy.start()
    port = free_port()
    config = write_config(
        tmp_path,
        exchange=exchange,
        port=port,
        broker_url=f"amqp://{user}:{password}@127.0.0.1:{proxy.port}/",
    )
    server = await asyncio.to_thread(start_serve, config, port)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=5) as client:
            assert (await client.get("/readyz")).json() == {"status": "ready"}
            await asyncio.to_thread(_rabbitmqctl, "change_password", user, uuid.uuid4().hex)
            await proxy.cut()  # the connection drops; the reconnect meets the new password
            await proxy.restore()
            async with asyncio.timeout(20):
                while "refused" not in (ready := (await client.get("/readyz")).json()).get(
                    "detail", ""
                ):
                    await asyncio.sleep(0.1)
            body, headers = signed_delivery()
            delivery = await client.post("/webhooks/stripe", content=body, headers=headers)
            metrics = (await client.get("/metrics")).text
    finally:
        assert await asyncio.to_thread(server.stop) == 0
        await proxy.cut()
    assert ready == {
        "status": "ready",
        "detail": "the broker refused the login: spooling to disk",
    }
    assert delivery.json()["status"] == "spooled"  # nothing lost meanwhile
    failures = [
        line
        for line in metrics.splitlines()
        if line.startswith('hookgate_publish_failures_total{reason="auth_refused"}')
    ]
    assert failures, metrics
    assert float(failures[0].split()[-1]) >= 1
    refusals = [
        orjson.loads(line)
        for line in server.log().splitlines()
        if "refused the login" in line and line.startswith("{")
    ]
    assert refusals, server.log()
    assert refusals[0]["level"] == "error"
    assert refusals[0]["logger"] == "hookgate.publisher"
    assert password not in server.log()
