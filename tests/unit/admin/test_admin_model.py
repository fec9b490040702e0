"""admin.model and the memory ledger: what a timeline adds up to."""

from __future__ import annotations

import pytest

from admin.ledger import EventQuery
from admin.ledger_memory import MemoryLedger
from hookgate.status import Status, StatusChange

S = Status


def change(status: Status, at: float, service: str | None = None, **kw: object) -> StatusChange:
    return StatusChange("stripe", "evt_1", status, at, service=service, **kw)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_fail_twice_then_succeed_reads_completed_with_three_attempts() -> None:
    ledger = MemoryLedger()
    changes = [
        change(S.ACCEPTED, 1.0, event_type="invoice.paid", received_at=1.0),
        change(S.QUEUED, 1.0, "billing"),
        change(S.RUNNING, 1.1, "billing", attempt=1),
        change(S.RETRYING, 1.2, "billing", attempt=1, detail="E: 1", next_attempt_at=6.2),
        change(S.RUNNING, 6.3, "billing", attempt=2),
        change(S.RETRYING, 6.4, "billing", attempt=2, detail="E: 2", next_attempt_at=36.4),
        change(S.RUNNING, 36.5, "billing", attempt=3),
        change(S.COMPLETED, 36.6, "billing", attempt=3),
    ]
    assert await ledger.record(list(reversed(changes))) == len(changes)  # any arrival order
    assert await ledger.record(changes) == 0  # re-sent: recorded once
    detail = await ledger.event("stripe", "evt_1")
    assert detail is not None
    assert detail.summary.status is S.COMPLETED
    assert detail.summary.type == "invoice.paid"
    assert [c.status for c in detail.timeline] == [c.status for c in changes]
    state = detail.services["billing"]
    assert (state.status, state.attempts, state.last_error) == (S.COMPLETED, 3, "E: 2")


@pytest.mark.anyio
async def test_one_service_failing_fails_the_event_while_the_other_completes() -> None:
    ledger = MemoryLedger()
    await ledger.record(
        [
            change(S.ACCEPTED, 1.0, received_at=1.0),
            change(S.COMPLETED, 2.0, "billing", attempt=1),
            change(S.FAILED, 2.5, "audit", attempt=3, detail="Reject: bad"),
        ]
    )
    detail = await ledger.event("stripe", "evt_1")
    assert detail is not None
    assert detail.summary.status is S.FAILED
    [row], cursor = await ledger.events(EventQuery(status=S.FAILED, service="audit"))
    assert (row.event_id, cursor) == ("evt_1", None)
    assert (await ledger.events(EventQuery(status=S.COMPLETED)))[0] == []


@pytest.mark.anyio
async def test_pages_are_newest_first_and_the_cursor_continues() -> None:
    ledger = MemoryLedger()
    await ledger.record(
        [StatusChange("s", f"e{i}", S.ACCEPTED, float(i), received_at=float(i)) for i in range(5)]
    )
    first, cursor = await ledger.events(EventQuery(limit=2))
    second, cursor2 = await ledger.events(EventQuery(limit=2, cursor=cursor))
    third, end = await ledger.events(EventQuery(limit=2, cursor=cursor2))
    ids = [row.event_id for row in first + second + third]
    assert ids == ["e4", "e3", "e2", "e1", "e0"]
    assert end is None
    with pytest.raises(ValueError, match="not a cursor"):
        await ledger.events(EventQuery(cursor="bm9wZQ"))
    assert await ledger.prune(before=2.5) == 3
    assert [r.event_id for r in (await ledger.events(EventQuery()))[0]] == ["e4", "e3"]
