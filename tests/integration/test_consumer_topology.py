"""`hookgate topology declare --service` and the worker's own declarations on the real broker."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiormq
import pytest

from consumers import Event, Service
from consumers.topology import all_queues, declare_service_topology
from gateway.cli import main as cli
from tests.integration.broker import AMQP_URL
from tests.integration.consumer_kit import delete_queues, publish_event, queue_depth

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
REFERENCE: dict[str, str] = {}


@pytest.fixture
async def declared_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """A fresh service module `topo_service_mod_<hex>:svc` in tmp_path, importable by the CLI
    (its reference is in `REFERENCE`)."""
    suffix = uuid.uuid4().hex[:8]
    name = f"hgt-topo-{suffix}"
    module = f"topo_service_mod_{suffix}"
    monkeypatch.setitem(REFERENCE, "svc", f"{module}:svc")
    (tmp_path / f"{module}.py").write_text(
        "from consumers import Service\n"
        f"svc = Service({name!r}, retry_delays=(0.5, 60))\n"
        "svc.handler('shop.order.*')(lambda event: None)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(module, None)
    await delete_queues(all_queues(Service(name, retry_delays=(0.5, 60))))


async def test_topology_declare_creates_the_service_queues_and_bindings(
    exchange: str, declared_name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["topology", "declare", "-c", _config(tmp_path, exchange), "--service", REFERENCE["svc"]]
    assert await asyncio.to_thread(cli, argv) == 0
    assert await asyncio.to_thread(cli, argv) == 0  # idempotent
    out = capsys.readouterr().out
    assert f"queue    {declared_name}.retry.500ms (quorum, ttl=0.5s" in out
    assert f"queue    {declared_name}.retry.1m" in out

    connection = await aiormq.connect(AMQP_URL)
    try:
        channel = await connection.channel(publisher_confirms=True)
        await publish_event(channel, exchange, source="shop", event_type="order.created")
        await publish_event(channel, exchange, source="shop", event_type="refund.created")
        assert await queue_depth(channel, declared_name) == 1  # only the bound pattern
        assert await queue_depth(channel, f"{exchange}.unrouted") == 1  # the other is kept
        for queue in (f"{declared_name}.retry.500ms", f"{declared_name}.dead"):
            assert await queue_depth(channel, queue) == 0
    finally:
        await connection.close()


async def test_redeclaring_with_other_arguments_is_a_clear_one_line_error(
    exchange: str, declared_name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    connection = await aiormq.connect(AMQP_URL)
    try:
        changed = Service(declared_name, retry_delays=(0.5, 60), delivery_limit=3)
        changed.handler("shop.#")(_noop)
        await declare_service_topology(connection, changed, exchange)
    finally:
        await connection.close()
    argv = ["topology", "declare", "-c", _config(tmp_path, exchange), "--service", REFERENCE["svc"]]
    assert await asyncio.to_thread(cli, argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert f"queue '{declared_name}' already exists with other arguments" in err[0]


def _config(tmp_path: Path, exchange: str) -> str:
    config = tmp_path / "hookgate.toml"
    config.write_text(
        f'[broker]\nurl = "{AMQP_URL}"\nexchange = "{exchange}"\n'
        '[sources.s]\nprovider = "github"\nsecrets = ["x"]\n'
    )
    return str(config)


async def _noop(event: Event) -> None:
    return None
