"""The real `hookgate serve` process: uvicorn, several workers, a shared SQLite dedupe store."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import aiormq
import httpx
import pytest

from tests.integration.broker import AMQP_URL, bind_queue, drain
from tests.integration.cases import CASES

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
CASE = CASES["stripe"]
DRAIN = 4  # gateway.drain_seconds of the server that tests draining
WORKERS = 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, process: subprocess.Popen[bytes], url: str, log: Path) -> None:
        self.process = process
        self.url = url
        self.log = log

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


@pytest.fixture
def server(request: pytest.FixtureRequest, tmp_path: Path, exchange: str) -> Iterator[Server]:
    """`hookgate serve --workers 2`; parametrize indirectly with a drain_seconds (default 0)."""
    drain = getattr(request, "param", 0)
    port = _free_port()
    config = tmp_path / "hookgate.toml"
    config.write_text(
        f"""
[gateway]
port = {port}
max_body_bytes = 65536
drain_seconds = {drain}

[broker]
url = "{AMQP_URL}"
exchange = "{exchange}"

[dedupe]
backend = "sqlite"
path = "{tmp_path / "dedupe.sqlite3"}"

[spool]
path = "{tmp_path / "spool.sqlite3"}"

[sources.stripe]
provider = "stripe"
secrets = ["${{TEST_STRIPE_SECRET}}"]

[sources.fenced]
provider = "stripe"
secrets = ["${{TEST_STRIPE_SECRET}}"]
allowed_ips = ["192.30.252.0/22"]
"""
    )
    log = tmp_path / "server.log"
    env = {**os.environ, "TEST_STRIPE_SECRET": CASE.secrets[0]}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gateway",
                "serve",
                "-c",
                str(config),
                "--workers",
                str(WORKERS),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{server.url}/readyz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            pytest.fail(f"hookgate serve did not become ready:\n{log.read_text()}")
        time.sleep(0.1)
    yield server
    server.stop()


def _signed(event_id: str | None = None) -> tuple[bytes, dict[str, str]]:
    event_id = event_id or f"evt_{uuid.uuid4().hex}"
    body = CASE.body(event_id)
    return body, CASE.sign(body, CASE.secrets[0], event_id, int(time.time()))


async def test_workers_share_dedupe_and_aggregate_metrics(
    server: Server, exchange: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    queue = await bind_queue(amqp, exchange)
    unique = [_signed() for _ in range(40)]
    same_body, same_headers = _signed()
    limits = httpx.Limits(max_connections=20)  # several connections: both workers get work
    async with httpx.AsyncClient(base_url=server.url, limits=limits) as client:
        responses = await asyncio.gather(
            *(client.post("/webhooks/stripe", content=b, headers=h) for b, h in unique),
            *(
                client.post("/webhooks/stripe", content=same_body, headers=same_headers)
                for _ in range(20)
            ),
        )
        metrics = (await client.get("/metrics")).text

    assert [r.json()["status"] for r in responses[:40]] == ["accepted"] * 40
    same = [r.json()["status"] for r in responses[40:]]
    assert same.count("accepted") == 1
    assert set(same) <= {"accepted", "in_progress", "duplicate"}
    assert len(await drain(amqp, queue)) == 41
    # Aggregated over both workers, whichever answered.
    assert 'hookgate_requests_total{outcome="accepted",source="stripe"} 41.0' in metrics
    assert "hookgate_broker_connected 1.0" in metrics
    # One build_info and one spool limit, whatever the number of workers; process_* covers
    # the supervisor and its workers: more memory than the supervisor alone has.
    assert metrics.count("\nhookgate_build_info{") == 1
    assert "\nhookgate_spool_max_bytes 1.073741824e+09" in metrics
    rss = _sample(metrics, "process_resident_memory_bytes")
    assert rss > _rss_bytes(server.process.pid) + WORKERS * 10_000_000
    assert _sample(metrics, "process_open_fds") > 0


def _sample(metrics: str, name: str) -> float:
    line = next(line for line in metrics.splitlines() if line.startswith(name + " "))
    return float(line.split()[1])


def _rss_bytes(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return (
        int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])
        * 1024
    )


def _raw_request(url: str, data: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        # The server may answer and close before reading everything we send.
        with contextlib.suppress(OSError):
            sock.sendall(data)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


async def test_chunked_body_over_the_limit_is_413_on_the_wire(server: Server) -> None:
    chunk = b"400\r\n" + b"x" * 1024 + b"\r\n"
    request = (
        b"POST /webhooks/stripe HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n"
        b"Stripe-Signature: t=1,v1=00\r\n\r\n" + chunk * 200 + b"0\r\n\r\n"
    )
    answer = await asyncio.to_thread(_raw_request, server.url, request)
    assert answer.startswith(b"HTTP/1.1 413 ")


async def test_huge_headers_are_refused_on_the_wire(server: Server) -> None:
    request = (
        b"POST /webhooks/stripe HTTP/1.1\r\nHost: gw\r\nX-Pad: "
        + b"a" * 200_000
        + b"\r\nContent-Length: 2\r\n\r\n{}"
    )
    answer = await asyncio.to_thread(_raw_request, server.url, request)
    assert answer.startswith(b"HTTP/1.1 431 ")


async def test_sigterm_stops_the_server_cleanly_and_logs_hold_no_secret(server: Server) -> None:
    body, headers = _signed()
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.post("/webhooks/stripe", content=body, headers=headers)
    assert response.status_code == 200
    assert await asyncio.to_thread(server.stop) == 0
    log = server.log.read_text()
    assert '"outcome":"accepted"' in log
    assert CASE.secrets[0] not in log
    assert "amount_paid" in body.decode()
    assert "amount_paid" not in log  # no JSON escaping can hide this token


async def test_x_forwarded_for_from_an_untrusted_peer_does_not_pass_allowed_ips(
    server: Server,
) -> None:
    body, headers = _signed()
    async with httpx.AsyncClient(base_url=server.url) as client:
        plain = await client.post("/webhooks/fenced", content=body, headers=headers)
        spoofed = await client.post(
            "/webhooks/fenced", content=body, headers={**headers, "x-forwarded-for": "192.30.252.1"}
        )
    assert plain.status_code == 403
    assert spoofed.status_code == 403  # 127.0.0.1 is no trusted proxy: the header is ignored


@pytest.mark.parametrize("server", [DRAIN], indirect=True)
async def test_sigterm_fails_readiness_first_and_keeps_serving_until_the_drain_ends(
    server: Server,
) -> None:
    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)  # the supervisor passes it on to each worker
    async with httpx.AsyncClient(base_url=server.url) as client:
        async with asyncio.timeout(DRAIN - 1):
            while (ready := await client.get("/readyz")).status_code != 503:
                await asyncio.sleep(0.05)
        body, headers = _signed()
        accepted = await client.post("/webhooks/stripe", content=body, headers=headers)
    assert ready.json() == {"status": "unavailable", "detail": "shutting down"}
    assert accepted.status_code == 200  # still serving: the load balancer is catching up
    assert await asyncio.to_thread(server.process.wait, 30) == 0
    assert time.monotonic() - started >= DRAIN
