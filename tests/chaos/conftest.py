"""Chaos fixtures: a RabbitMQ node the test owns (`rabbit_node`), and real gateway and
consumer processes (`chaos_processes`) that are killed at teardown, whatever happened.

The shared broker on 127.0.0.1:5672 is never stopped or killed here: only `rabbit_node`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.chaos.figures import SUMMARY_KEY
from tests.chaos.node import RabbitNode, private_node
from tests.chaos.processes import (
    GATEWAY_ENV,
    SPOOL_OFF,
    ConsumerProcess,
    GatewayProcess,
    consumer_process,
    write_gateway_config,
)


@pytest.fixture
def rabbit_node() -> Iterator[RabbitNode]:
    """A started RabbitMQ node on its own ports and data dir; stopped at teardown."""
    with private_node() as node:
        yield node


class ChaosProcesses:
    """Starts gateway and consumer processes for one test and remembers them for teardown."""

    def __init__(self, workdir: Path, broker_url: str) -> None:
        self.workdir = workdir
        self.broker_url = broker_url
        self.exchange = f"hgchaos-{uuid.uuid4().hex[:8]}"
        self.service = f"hgc-{uuid.uuid4().hex[:8]}"
        self.records = workdir / "records.txt"
        self.started: list[GatewayProcess | ConsumerProcess] = []

    def gateway(self, *, extra_toml: str = SPOOL_OFF, **options: Any) -> GatewayProcess:
        """`hookgate serve` on a free port, with `write_gateway_config(**options)`."""
        config = write_gateway_config(
            self.workdir,
            broker_url=self.broker_url,
            exchange=self.exchange,
            extra_toml=extra_toml,
            **options,
        )
        process = GatewayProcess(config, env=GATEWAY_ENV)
        self.started.append(process)
        return process

    def restart_gateway(self, previous: GatewayProcess) -> GatewayProcess:
        """A new `hookgate serve` on `previous`'s config file (same port, dedupe store and
        spool path), e.g. after killing it."""
        previous.stop()
        process = GatewayProcess(previous.config, env=GATEWAY_ENV)
        self.started.append(process)
        return process

    def consumer(self, **options: Any) -> ConsumerProcess:
        """`hookgate consume` of the recording service `self.service`, records in `records`."""
        process = consumer_process(
            self.workdir,
            self.broker_url,
            self.exchange,
            service=self.service,
            records=self.records,
            **options,
        )
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.started:
            process.stop()


@pytest.fixture
def chaos_processes(tmp_path: Path, rabbit_node: RabbitNode) -> Iterator[ChaosProcesses]:
    processes = ChaosProcesses(tmp_path, rabbit_node.url)
    try:
        yield processes
    finally:
        processes.stop_all()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = [
        value
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", None) == "call"
        for key, value in getattr(report, "user_properties", [])
        if key == SUMMARY_KEY
    ]
    if lines:
        terminalreporter.section("chaos figures")
        for line in lines:
            terminalreporter.write_line(str(line))
