"""gateway.spool: fsynced group commits, order, size bound, lease, and surviving a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gateway.config import SpoolSettings
from gateway.errors import ConfigError
from gateway.spool import Spool, SpooledEvent, SpoolFull, SpoolUnavailable

pytestmark = pytest.mark.anyio


def _event(n: int, body: bytes = b'{"n": 1}') -> SpooledEvent:
    return SpooledEvent(
        source="github",
        provider="github",
        event_id=f"evt-{n}",
        event_type="push",
        routing_key="github.push",
        headers={"content-type": "application/json", "x-n": str(n)},
        body=body,
        received_at=1_000.0 + n,
    )


def _spool(tmp_path: Path, max_bytes: int = 1 << 30) -> Spool:
    spool = Spool(
        SpoolSettings(enabled=True, path=str(tmp_path / "s" / "spool.db"), max_bytes=max_bytes)
    )
    spool.open()
    return spool


async def test_appended_events_come_back_in_order_byte_for_byte(tmp_path: Path) -> None:
    spool = _spool(tmp_path)
    raw = bytes(range(256))
    await spool.append(_event(1, raw))
    await spool.append(_event(2))
    first, second = await spool.oldest(10)
    assert (first.event_id, second.event_id) == ("evt-1", "evt-2")
    assert first.body == raw
    assert first.headers == {"content-type": "application/json", "x-n": "1"}
    assert (first.routing_key, first.received_at) == ("github.push", 1001.0)
    assert first.seq < second.seq
    await spool.close()


async def test_concurrent_appends_share_commits_and_all_land(tmp_path: Path) -> None:
    spool = _spool(tmp_path)
    await asyncio.gather(*(spool.append(_event(n)) for n in range(200)))
    assert spool.totals.events == 200
    events = await spool.oldest(500)
    assert [e.event_id for e in events] == [f"evt-{n}" for n in range(200)]
    totals = await spool.refresh()
    assert totals.events == 200
    assert totals.bytes == sum(_event(n).size() for n in range(200))
    assert totals.oldest_received_at == 1000.0
    await spool.close()


async def test_events_survive_closing_and_reopening(tmp_path: Path) -> None:
    spool = _spool(tmp_path)
    await spool.append(_event(7))
    await spool.close()
    reopened = _spool(tmp_path)
    assert reopened.totals.events == 1
    assert reopened.backlog
    [event] = await reopened.oldest(10)
    assert event.event_id == "evt-7"
    await reopened.close()


async def test_a_full_spool_refuses_and_keeps_what_it_has(tmp_path: Path) -> None:
    size = _event(0).size()
    spool = _spool(tmp_path, max_bytes=size * 3)
    for n in range(3):
        await spool.append(_event(n))
    assert spool.full
    with pytest.raises(SpoolFull):
        await spool.append(_event(3))
    assert [e.event_id for e in await spool.oldest(10)] == ["evt-0", "evt-1", "evt-2"]
    await spool.delete([e.seq for e in await spool.oldest(1)])
    assert (await spool.refresh()).events == 2
    assert not spool.full
    await spool.append(_event(3))
    await spool.close()


async def test_only_one_forwarder_holds_the_lease(tmp_path: Path) -> None:
    first, second = _spool(tmp_path), _spool(tmp_path)
    assert await first.take_lease(30)
    assert await first.take_lease(30)  # renewing
    assert not await second.take_lease(30)
    assert await second.take_lease(-1) is False  # an unexpired lease is not stolen
    await first.close()
    await second.close()


async def test_an_expired_lease_passes_to_another_process(tmp_path: Path) -> None:
    first, second = _spool(tmp_path), _spool(tmp_path)
    assert await first.take_lease(-5)  # already expired when written
    assert await second.take_lease(30)
    assert not await first.take_lease(30)
    await first.close()
    await second.close()


async def test_appends_from_two_processes_share_one_file(tmp_path: Path) -> None:
    first, second = _spool(tmp_path), _spool(tmp_path)
    await first.append(_event(1))
    await second.append(_event(2))
    assert (await first.refresh()).events == 2
    await first.close()
    await second.close()


async def test_write_failures_are_spool_unavailable(tmp_path: Path) -> None:
    spool = _spool(tmp_path)
    await spool.close()
    with pytest.raises(SpoolUnavailable):
        await spool.append(_event(1))


def test_an_unusable_path_stops_startup_naming_the_key(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    spool = Spool(SpoolSettings(enabled=True, path=str(tmp_path / "file" / "spool.db")))
    with pytest.raises(ConfigError, match=r"^spool\.path: cannot open SQLite spool"):
        spool.open()
