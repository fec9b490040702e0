"""P: a poison event among 1,000 good ones, with the spool on and off.

The poison is a correctly signed GitHub delivery whose `X-GitHub-Event` is 33,000 bytes of
0xE9 (latin-1 é, two bytes each in UTF-8): its AMQP content header outgrows RabbitMQ's
`frame_max`, and publishing it makes the broker close the connection (501 FRAME_ERROR),
failing every publish in flight with it. It is sent in the middle of the load.

Whatever the gateway does with it, every good event answered 2xx is handled (lost = 0; the
ones answered 503 while the connection was down are retried by the sender, as Stripe would),
the spool drains, and the poison is either refused at the door with a 4xx or, when it was
accepted (spooled), quarantined by the forwarder and never delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson
import pytest

from providers.testing import sign_request
from tests.chaos.conftest import ChaosProcesses
from tests.chaos.figures import Figures, count_delivery
from tests.chaos.load import Load, github_events
from tests.chaos.processes import GITHUB_SECRET, SPOOL_OFF, eventually, read_records

pytestmark = [pytest.mark.anyio, pytest.mark.chaos]

POISON_EVENT = b"\xe9" * 33_000


class PoisonNotRefused(AssertionError):
    """The poison was neither refused with a 4xx nor quarantined."""


def _poison() -> tuple[str, bytes, list[tuple[bytes, bytes]]]:
    event_id = str(uuid.uuid4())
    body = orjson.dumps({"action": "opened", "number": -1, "poison": True})
    signed = sign_request("github", body, GITHUB_SECRET, event_id=event_id, event_type="push")
    headers = [(k.encode(), v.encode()) for k, v in signed.items() if k != "x-github-event"]
    return event_id, body, [*headers, (b"x-github-event", POISON_EVENT)]


def _status(response: httpx.Response) -> object:
    try:
        return orjson.loads(response.content).get("status")
    except (orjson.JSONDecodeError, AttributeError):
        return None


def _spool_table(workdir: Path) -> str:
    return f'[spool]\nenabled = true\npath = "{workdir / "spool.sqlite3"}"\n'


def _spool_rows(workdir: Path) -> tuple[int, dict[str, str]]:
    """Waiting rows, and the quarantined ones' event ID -> reason."""
    with contextlib.closing(sqlite3.connect(workdir / "spool.sqlite3")) as db:
        waiting = int(db.execute("SELECT count(*) FROM events").fetchone()[0])
        quarantined = dict(db.execute("SELECT event_id, reason FROM quarantine"))
    return waiting, quarantined


@pytest.mark.parametrize("spool", ["on", "off"])
async def test_p_poison_event_among_1000_good_ones_every_good_one_is_delivered(
    spool: str,
    chaos_processes: ChaosProcesses,
    record_property: Callable[[str, object], None],
) -> None:
    chaos = chaos_processes
    consumer = chaos.consumer()
    await consumer.wait_consuming()
    gateway = chaos.gateway(
        extra_toml=_spool_table(chaos.workdir) if spool == "on" else SPOOL_OFF,
        publish_timeout=5.0,
    )
    await gateway.wait_ready()
    await asyncio.sleep(2)  # a quorum queue declared just before heavy traffic settles first

    events = github_events(1000)
    load = Load(gateway.base_url, events, concurrency=16, rate=250, max_seconds=120)
    running = asyncio.create_task(load.run())
    await eventually(lambda: load.answered >= 300, 60, "the load to be under way")
    poison_id, poison_body, poison_headers = _poison()
    async with httpx.AsyncClient(base_url=gateway.base_url, timeout=30) as client:
        answer = await client.post("/webhooks/github", content=poison_body, headers=poison_headers)
    first = await running
    # The sender retries what was refused or unanswered, as Stripe would (once is enough here:
    # the poison hit the connection once).
    retry = await Load(gateway.base_url, first.failed_events(events), max_seconds=60).run()
    accepted = first.ok_ids() | retry.ok_ids()

    def done() -> set[str]:
        return {e for kind, e, _ in read_records(chaos.records) if kind == "done"}

    with contextlib.suppress(AssertionError):  # a shortfall shows in the figures, then fails
        await eventually(lambda: accepted <= done(), 90, "every 2xx handled")
    await asyncio.sleep(1.0)  # redeliveries in transit land, so duplicates are counted
    waiting, quarantined = (0, {})
    if spool == "on":
        waiting, quarantined = await asyncio.to_thread(_spool_rows, chaos.workdir)

    figures = Figures(
        f"P-poison-among-1000-spool-{spool}",
        sent=len(events) + 1,
        ok=len(accepted),
        unavailable=first.statuses()[503],
        other=sum(1 for a in first.answers.values() if a.status not in (200, 503)),
        extra={
            "poison_status": answer.status_code,
            "poison_body_status": _status(answer),
            "poison_quarantined": poison_id in quarantined,
            "spool_waiting_after": waiting,
            "retried": len(retry.answers),
            "retried_2xx": len(retry.ok_ids()),
        },
    )
    count_delivery(figures, accepted - {poison_id}, read_records(chaos.records))
    figures.report(record_property)
    assert figures.lost == 0, f"lost 2xx'd events: {figures.lost_ids}"
    assert retry.ok_ids() == first.failed_ids(), retry.statuses()  # every good one got in
    assert accepted >= {e.event_id for e in events}
    assert waiting == 0  # the spool drained past the poison
    assert poison_id not in done()  # never delivered to a handler
    if 400 <= answer.status_code < 500:
        assert poison_id not in quarantined
        return
    if not (answer.status_code == 200 and poison_id in quarantined):
        raise PoisonNotRefused(
            f"the poison was answered {answer.status_code} {answer.text[:200]!r} and is "
            f"{'quarantined' if poison_id in quarantined else 'not quarantined'}"
        )
    assert "FRAME_ERROR" in quarantined[poison_id]
