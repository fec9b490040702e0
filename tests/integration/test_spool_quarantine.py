"""A row in the spool that RabbitMQ can never take does not stop the spool (real broker).

The rows are written into the spool file directly, as an older gateway (or one without the
ingest-side size checks) would have left them, so this holds whatever the gateway refuses at
the door: a GitHub delivery whose `X-GitHub-Event` is 33,000 bytes of 0xE9 (its AMQP content
header outgrows `frame_max`: RabbitMQ closes the connection with 501 FRAME_ERROR) and an
event ID pamqp cannot encode (over 255 bytes). Every good row around them reaches the broker,
in order; both are quarantined; `/readyz` says when a spool does not drain.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from pathlib import Path

import aiormq
import pytest

from gateway.config import SpoolSettings
from gateway.spool import Spool, SpooledEvent
from tests.integration.broker import bind_queue, drain
from tests.integration.cases import CASES
from tests.integration.conftest import Gateway, make_config, running_gateway

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

POISON_TYPE = "\xe9" * 33_000  # latin-1 é as the gateway decodes header bytes: 2 bytes in UTF-8


def _event(event_id: str, *, event_type: str = "push", headers: dict[str, str] | None = None):
    return SpooledEvent(
        source="github",
        provider="github",
        event_id=event_id,
        event_type=event_type,
        routing_key="github.push" if event_type == "push" else "github." + "_" * 248,
        headers=headers or {"content-type": "application/json", "x-github-event": event_type},
        body=b'{"id": "%s"}' % event_id.encode()[:40],
        received_at=time.time(),
    )


def _config(exchange: str, tmp_path: Path):
    return make_config(
        exchange,
        {"github": CASES["github"].source_table()},
        spool={"enabled": True, "path": str(tmp_path / "spool.sqlite3")},
        publish_timeout_seconds=2.0,
    )


async def _fill(path: Path, events: list[SpooledEvent]) -> None:
    spool = Spool(SpoolSettings(path=str(path)))
    spool.open()
    for event in events:
        await spool.append(event)
    await spool.close()


async def _spool_empty(gw: Gateway, seconds: float) -> None:
    async with asyncio.timeout(seconds):
        while (await gw.app.state.spool.refresh()).events:
            await asyncio.sleep(0.1)


def _quarantined(path: Path) -> dict[str, str]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return dict(db.execute("SELECT event_id, reason FROM quarantine ORDER BY seq"))


async def test_poison_rows_are_quarantined_and_every_row_around_them_is_forwarded_in_order(
    exchange: str, tmp_path: Path, amqp: aiormq.abc.AbstractChannel
) -> None:
    poison = _event(
        "poison-frame-max",
        event_type=POISON_TYPE,
        headers={"content-type": "application/json", "x-github-event": POISON_TYPE},
    )
    unencodable = _event("x" * 300)
    good = [f"good-{n}" for n in range(12)]
    rows = [
        *(_event(i) for i in good[:4]),
        poison,
        *(_event(i) for i in good[4:8]),
        unencodable,
        *(_event(i) for i in good[8:]),
    ]
    await _fill(tmp_path / "spool.sqlite3", rows)

    async with running_gateway(_config(exchange, tmp_path)) as gw:
        queue = await bind_queue(amqp, exchange)
        await gw.wait_connected()
        await _spool_empty(gw, 60)
        messages: list[str] = []
        async with asyncio.timeout(10):
            while len(messages) < len(good):
                messages += [str(m.header.properties.message_id) for m in await drain(amqp, queue)]
                await asyncio.sleep(0.05)
        totals = await gw.app.state.spool.refresh()
        await asyncio.sleep(1.0)  # one forwarder round: the metrics follow the file
        quarantined_metric = gw.registry.get_sample_value("hookgate_spool_quarantined_events")
        assert (await gw.client.get("/readyz")).json() == {"status": "ready"}

    assert messages == good  # every good row, once, in arrival order
    assert (totals.events, totals.quarantined) == (0, 2)
    assert quarantined_metric == 2
    reasons = _quarantined(tmp_path / "spool.sqlite3")
    assert list(reasons) == ["poison-frame-max", "x" * 300]
    # Too big for the frame the broker negotiated: moved aside before it is ever sent.
    assert "do not fit the broker's frame (131052)" in reasons["poison-frame-max"]
    assert reasons["x" * 300].startswith("cannot be encoded for AMQP")


async def test_readyz_says_when_the_spool_does_not_drain_with_the_broker_up(
    exchange: str, tmp_path: Path, amqp: aiormq.abc.AbstractChannel
) -> None:
    path = tmp_path / "spool.sqlite3"
    await _fill(path, [_event("held-1"), _event("held-2")])
    # Another "worker" holds the forwarding lease and never forwards: the spool cannot move.
    other = Spool(SpoolSettings(path=str(path)))
    other.open()
    assert await other.take_lease(120)
    try:
        config = _config(exchange, tmp_path)
        async with running_gateway(config, spool_stall_seconds=1.5) as gw:
            queue = await bind_queue(amqp, exchange)
            await gw.wait_connected()
            assert (await gw.client.get("/readyz")).json() == {"status": "ready"}
            async with asyncio.timeout(15):
                while "detail" not in (ready := await gw.client.get("/readyz")).json():
                    await asyncio.sleep(0.1)
            # Still 200: the gateway takes events durably; the detail says what is wrong.
            assert ready.status_code == 200
            detail = ready.json()["detail"]
            assert detail.startswith("spool not draining: 2 event(s) waiting, none forwarded")
            stalled = gw.registry.get_sample_value("hookgate_spool_stalled_seconds")
            assert stalled is not None
            assert stalled >= 1.0

            await other.release_lease()
            await _spool_empty(gw, 15)
            async with asyncio.timeout(5):
                while (await gw.client.get("/readyz")).json() != {"status": "ready"}:
                    await asyncio.sleep(0.1)
            delivered: list[str] = []
            async with asyncio.timeout(10):
                while len(delivered) < 2:
                    delivered += [
                        str(m.header.properties.message_id) for m in await drain(amqp, queue)
                    ]
                    await asyncio.sleep(0.05)
            assert delivered == ["held-1", "held-2"]
    finally:
        await other.close()


async def test_spool_cli_retries_a_quarantined_event_while_the_gateway_runs(
    exchange: str, tmp_path: Path, amqp: aiormq.abc.AbstractChannel
) -> None:
    from gateway import spool_file
    from hookgate.cli import main

    path = tmp_path / "spool.sqlite3"
    await _fill(path, [_event("wrongly-quarantined")])
    with contextlib.closing(spool_file.connect(str(path))) as db:
        [row] = spool_file.oldest(db, 1)
        assert spool_file.quarantine(db, row.seq, "moved aside by mistake")
    async with running_gateway(_config(exchange, tmp_path)) as gw:
        queue = await bind_queue(amqp, exchange)
        await gw.wait_connected()
        await asyncio.sleep(1.0)  # a forwarder round or two: nothing waits, nothing moves
        assert await drain(amqp, queue) == []
        listed = await asyncio.to_thread(main, ["spool", "list", "--path", str(path)])
        retried = await asyncio.to_thread(main, ["spool", "retry", "--all", "--path", str(path)])
        assert (listed, retried) == (0, 0)
        delivered: list[str] = []
        async with asyncio.timeout(10):
            while not delivered:
                delivered += [str(m.header.properties.message_id) for m in await drain(amqp, queue)]
                await asyncio.sleep(0.05)
        assert delivered == ["wrongly-quarantined"]
        totals = await gw.app.state.spool.refresh()
        assert (totals.events, totals.quarantined) == (0, 0)
