"""`hookgate serve` and `hookgate consume` as real processes, pointed at the test's node.

    config = write_gateway_config(workdir, broker_url=node.url, exchange=exchange)
    gateway = GatewayProcess(config, env=GATEWAY_ENV)
    await gateway.wait_ready()              # /readyz 200: connected to the broker
    ...
    gateway.stop()                          # SIGKILL if still running; idempotent

    consumer = ConsumerProcess(workdir, node.url, exchange, service="hgc-…", records=path)
    await consumer.wait_consuming()

The consumer runs tests.integration.consumer_services, which appends `start|done EVENT_ID PID`
lines to `records` (read them with `read_records`).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path

import httpx

from tests.integration.consumer_kit import ConsumerProcess, eventually, read_records

__all__ = ["ConsumerProcess", "GatewayProcess", "consumer_process", "eventually", "read_records"]

REPO = Path(__file__).resolve().parents[2]

#: The gateway's GitHub secret, passed through the environment: never written to a config file.
GITHUB_SECRET = "chaos-" + uuid.uuid4().hex
GATEWAY_ENV = {"HG_CHAOS_GITHUB_SECRET": GITHUB_SECRET}
GITHUB_SOURCE = '[sources.github]\nprovider = "github"\nsecrets = ["${HG_CHAOS_GITHUB_SECRET}"]\n'
#: The default extra TOML: no spool (a spool scenario passes its own `[spool]` table).
SPOOL_OFF = "[spool]\nenabled = false\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_gateway_config(
    workdir: Path,
    *,
    broker_url: str | list[str],
    exchange: str,
    port: int | None = None,
    dedupe_toml: str | None = None,
    extra_toml: str = SPOOL_OFF,
    sources_toml: str = GITHUB_SOURCE,
    publish_timeout: float = 5.0,
    log_level: str = "warning",
) -> Path:
    """Write a gateway config file under `workdir` and return its path.

    The gateway listens on 127.0.0.1:`port` (a free one by default), connects to `broker_url`
    (a list: a cluster's nodes), de-duplicates in SQLite under `workdir` (or as `dedupe_toml`,
    a `[dedupe]` table, says), and serves `sources_toml` (one GitHub source whose secret comes from
    `GATEWAY_ENV`). `extra_toml` is appended verbatim: give it a `[spool]` table (it replaces
    the default `enabled = false`).
    """
    port = free_port() if port is None else port
    sqlite_dedupe = f'[dedupe]\nbackend = "sqlite"\npath = "{workdir / "dedupe.sqlite3"}"\n'
    path = workdir / f"gateway-{uuid.uuid4().hex[:6]}.toml"
    path.write_text(
        "[gateway]\n"
        'host = "127.0.0.1"\n'
        f"port = {port}\n"
        f"publish_timeout_seconds = {publish_timeout}\n"
        f'log_level = "{log_level}"\n\n'
        f'[broker]\nurl = {json.dumps(broker_url)}\nexchange = "{exchange}"\n\n'
        f"{dedupe_toml or sqlite_dedupe}\n"
        f"{extra_toml}\n{sources_toml}"
    )
    return path


class GatewayProcess:
    """`hookgate serve -c CONFIG` as a child process; its output goes to a log file."""

    def __init__(self, config: Path, *, env: Mapping[str, str] = GATEWAY_ENV) -> None:
        self.config = config
        self.port = _config_port(config)
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = config.with_suffix(".log")
        full_env = {**os.environ, **env}
        full_env.pop("HOOKGATE_BROKER_URL", None)
        full_env.pop("HOOKGATE_CONFIG", None)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gateway", "serve", "-c", str(config)],
                cwd=REPO,
                env=full_env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def wait_ready(self, seconds: float = 30) -> None:
        """Until `/readyz` answers 200 (the gateway is connected to its broker)."""

        async def ready() -> bool:
            assert self.process.poll() is None, f"the gateway exited:\n{self.output()}"
            try:
                async with httpx.AsyncClient(timeout=2) as client:
                    response = await client.get(f"{self.base_url}/readyz")
            except httpx.TransportError:
                return False
            return response.status_code == 200

        await eventually(ready, seconds, f"the gateway to be ready\n{self.output()}")

    def signal(self, sig: int) -> None:
        self.process.send_signal(sig)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def stop(self) -> None:
        """SIGKILL the gateway if it is still running and reap it. Safe to call twice."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)


def consumer_process(
    workdir: Path,
    broker_url: str,
    exchange: str,
    *,
    service: str,
    records: Path,
    concurrency: int = 16,
    env: Mapping[str, str] | None = None,
) -> ConsumerProcess:
    """`hookgate consume tests.integration.consumer_services:service` against the test's node."""
    return ConsumerProcess(
        workdir,
        exchange,
        {
            "HG_TEST_SERVICE": service,
            "HG_TEST_RECORD": str(records),
            "HG_TEST_CONCURRENCY": str(concurrency),
            **(env or {}),
        },
        "--drain-timeout",
        "10",
        broker_url=broker_url,
    )


def _config_port(config: Path) -> int:
    for line in config.read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "port":
            return int(value.strip())
    raise ValueError(f"{config}: no gateway port")
