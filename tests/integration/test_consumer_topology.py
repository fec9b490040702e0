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
from hookgate.cli import main as cli
from hookgate.topology import all_queues, declare_service_topology
from tests.cli_output import one_error_line
from tests.integration.broker import AMQP_URL
from tests.integration.consumer_kit import (
    delete_queues,
    publish_event,
    publish_raw,
    queue_depth,
    running_worker,
)

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


async def test_topology_show_reports_exchanges_bindings_and_queue_depths(
    exchange: str, declared_name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, exchange)
    assert await _cli(["topology", "declare", "-c", config, "--service", REFERENCE["svc"]]) == 0
    capsys.readouterr()
    connection = await aiormq.connect(AMQP_URL)
    try:
        channel = await connection.channel(publisher_confirms=True)
        await publish_event(channel, exchange, source="shop", event_type="order.created")
        await publish_event(channel, exchange, source="shop", event_type="refund.created")
        for _ in range(2):
            await publish_raw(channel, f"{declared_name}.dead", b"{}", {"hookgate-attempt": 3})
    finally:
        await connection.close()

    argv = ["topology", "show", "-c", config, "--service", REFERENCE["svc"]]
    assert await _cli(argv) == 0
    lines = [" ".join(line.split()) for line in capsys.readouterr().out.splitlines()]
    assert f"exchange {exchange} ingress exists" in lines
    assert f"exchange {exchange}.unrouted alternate exists" in lines
    assert f"queue {exchange}.unrouted unrouted events 1 ready, 0 consumer(s)" in lines
    assert f"binds {exchange} <- shop.order.* (as its handlers declare them)" in lines
    assert f"queue {declared_name} work 1 ready, 0 consumer(s)" in lines
    assert f"queue {declared_name}.retry.500ms retry tier 0 ready, 0 consumer(s)" in lines
    assert f"queue {declared_name}.retry.1m retry tier 0 ready, 0 consumer(s)" in lines
    assert f"queue {declared_name}.dead dead letters 2 ready, 0 consumer(s)" in lines
    assert f"see them: hookgate dlq list {declared_name}" in lines
    assert any(line.startswith("AMQP shows only what it is asked by name") for line in lines)

    # Without --service: the ingress side only. Nothing declared there: each says missing.
    other = _config(tmp_path, f"{exchange}-none")
    assert await _cli(["topology", "show", "-c", other]) == 0
    out = capsys.readouterr().out
    assert declared_name not in out
    assert " ".join(f"queue {exchange}-none.unrouted unrouted events missing".split()) in [
        " ".join(line.split()) for line in out.splitlines()
    ]


async def test_topology_delete_keeps_a_non_empty_dead_queue_unless_forced(
    exchange: str, declared_name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, exchange)
    assert await _cli(["topology", "declare", "-c", config, "--service", REFERENCE["svc"]]) == 0
    connection = await aiormq.connect(AMQP_URL)
    try:
        channel = await connection.channel(publisher_confirms=True)
        await publish_raw(channel, f"{declared_name}.dead", b"{}", {"hookgate-attempt": 3})
    finally:
        await connection.close()
    capsys.readouterr()

    argv = ["topology", "delete", "-c", config, "--service", REFERENCE["svc"]]
    assert await _cli(argv) == 2
    error = one_error_line(capsys)
    assert f"{declared_name}.dead holds 1" in error
    assert "--force" in error
    assert await _existing(all_queues(Service(declared_name, retry_delays=(0.5, 60)))) == 4

    assert await _cli([*argv, "--force"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"deleted queue {declared_name} (0 message(s))",
        f"deleted queue {declared_name}.retry.500ms (0 message(s))",
        f"deleted queue {declared_name}.retry.1m (0 message(s))",
        f"deleted queue {declared_name}.dead (1 message(s))",
    ]
    assert await _existing(all_queues(Service(declared_name, retry_delays=(0.5, 60)))) == 0


async def test_topology_delete_of_empty_queues_needs_no_force_but_not_while_consumed(
    exchange: str, declared_name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, exchange)
    argv = ["topology", "delete", "-c", config, "--service", REFERENCE["svc"]]
    service = Service(declared_name, retry_delays=(0.5, 60))
    service.handler("shop.order.*")(_noop)
    async with running_worker(service, exchange):
        assert await _cli(argv) == 2
        assert "has 1 consumer(s): stop the service" in one_error_line(capsys)
    assert await _cli(argv) == 0
    assert len(capsys.readouterr().out.splitlines()) == 4
    assert await _existing(all_queues(service)) == 0


async def test_peek_prints_messages_escaped_and_leaves_them_in_order(
    exchange: str, declared_name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, exchange)
    assert await _cli(["topology", "declare", "-c", config, "--service", REFERENCE["svc"]]) == 0
    dead = f"{declared_name}.dead"
    connection = await aiormq.connect(AMQP_URL)
    try:
        channel = await connection.channel(publisher_confirms=True)
        for n in range(3):
            headers = {
                "hookgate-source": "shop",
                "hookgate-event-type": "order.created",
                "hookgate-event-id": f"evt_{n}\x1b[2J",
                "hookgate-attempt": 2,
            }
            await publish_raw(channel, dead, b'{"n": %d, "x": "\x1b]0;t\x07"}' % n, headers)
    finally:
        await connection.close()
    capsys.readouterr()

    for _ in range(2):  # twice: the first peek handed everything back, in order
        assert await _cli(["peek", dead, "--limit", "2", "-c", config]) == 0
        out = capsys.readouterr().out
        assert out.startswith(f"3 ready message(s) in {dead}, the first 2 (left in place):")
        assert "\x1b" not in out
        assert "\x07" not in out
        assert out.index("#1  event evt_0\\x1b[2J  shop.order.created  attempt 2") < out.index(
            "#2  event evt_1\\x1b[2J"
        )
        assert "evt_2" not in out
        assert '{"n": 0, "x": "\\x1b]0;t\\x07"}' in out
    assert await _depth(dead) == 3

    assert await _cli(["peek", declared_name, "-c", config]) == 2
    assert "may be a work queue with a delivery limit" in one_error_line(capsys)
    assert await _cli(["peek", declared_name, "--force", "-c", config]) == 0
    assert capsys.readouterr().out == f"0 ready message(s) in {declared_name}\n"
    assert await _cli(["peek", f"{declared_name}.nope.dead", "-c", config]) == 2
    assert "missing" in one_error_line(capsys)


async def _cli(argv: list[str]) -> int:
    return await asyncio.to_thread(cli, argv)


async def _depth(queue: str) -> int:
    connection = await aiormq.connect(AMQP_URL)
    try:
        return await queue_depth(await connection.channel(), queue)
    finally:
        await connection.close()


async def _existing(queues: list[str]) -> int:
    connection = await aiormq.connect(AMQP_URL)
    found = 0
    try:
        for queue in queues:
            channel = await connection.channel()
            try:
                await channel.queue_declare(queue, passive=True)
                found += 1
            except aiormq.exceptions.ChannelNotFoundEntity:
                pass
    finally:
        await connection.close()
    return found
