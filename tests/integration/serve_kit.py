"""A real `hookgate serve` process for a test: its config, its start, its stop, its stderr."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.integration.broker import AMQP_URL
from tests.integration.cases import CASES

CASE = CASES["stripe"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(
    directory: Path,
    *,
    exchange: str,
    port: int | None = None,
    broker_url: str = AMQP_URL,
    dedupe: Mapping[str, Any] | None = None,
    **gateway: Any,
) -> Path:
    """A config with one Stripe source; `gateway` keys go into `[gateway]` as given, `dedupe`
    replaces the default `[dedupe]` table (a SQLite file in `directory`)."""
    settings = {"port": port or free_port(), **gateway}
    lines = "\n".join(f"{key} = {json.dumps(value)}" for key, value in settings.items())
    dedupe = dedupe or {"backend": "sqlite", "path": str(directory / "dedupe.sqlite3")}
    dedupe_lines = "\n".join(f"{key} = {json.dumps(value)}" for key, value in dedupe.items())
    config = directory / "hookgate.toml"
    config.write_text(
        f"""
[gateway]
{lines}

[broker]
url = "{broker_url}"
exchange = "{exchange}"

[dedupe]
{dedupe_lines}

[spool]
path = "{directory / "spool.sqlite3"}"

[sources.stripe]
provider = "stripe"
secrets = ["${{TEST_STRIPE_SECRET}}"]
"""
    )
    return config


def serve_environment(**extra: str) -> dict[str, str]:
    env = {**os.environ, "TEST_STRIPE_SECRET": CASE.secrets[0], **extra}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def serve_command(config: Path, workers: int = 1) -> list[str]:
    return [sys.executable, "-m", "gateway", "serve", "-c", str(config), "--workers", str(workers)]


@dataclass
class ServeProcess:
    process: subprocess.Popen[bytes]
    url: str
    port: int
    stderr: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
            raise

    def log(self) -> str:
        return self.stderr.read_text(errors="replace")

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS line")

    def open_fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))


def start_serve(
    config: Path,
    port: int,
    *,
    workers: int = 1,
    env: Mapping[str, str] | None = None,
    new_session: bool = False,
    preexec_fn: Callable[[], None] | None = None,
    wait_ready: bool = True,
) -> ServeProcess:
    stderr = config.parent / f"serve-{uuid.uuid4().hex[:6]}.log"
    with stderr.open("wb") as out:
        process = subprocess.Popen(
            serve_command(config, workers),
            stdout=out,
            stderr=out,
            env=dict(env) if env is not None else serve_environment(),
            start_new_session=new_session,
            preexec_fn=preexec_fn,
        )
    server = ServeProcess(process, f"http://127.0.0.1:{port}", port, stderr)
    if wait_ready:
        wait_until_ready(server)
    return server


def wait_until_ready(server: ServeProcess, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{server.url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if server.process.poll() is not None or time.monotonic() > deadline:
            if server.process.poll() is None:
                server.stop()
            raise AssertionError(f"hookgate serve did not become ready:\n{server.log()}")
        time.sleep(0.1)


def signed_delivery(event_id: str | None = None) -> tuple[bytes, dict[str, str]]:
    event_id = event_id or f"evt_{uuid.uuid4().hex}"
    body = CASE.body(event_id)
    return body, CASE.sign(body, CASE.secrets[0], event_id, int(time.time()))
