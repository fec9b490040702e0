"""Every ledger backend keeps a replayed event's second round: after a replay, attempt 1 runs
again as steps of their own (`StatusChange.replay` in the key), while a resent message of
either round is still recorded once."""

from __future__ import annotations

from pathlib import Path

import pytest

from admin.ledger_registry import BACKEND_NAMES
from hookgate.status import Status, StatusChange
from tests.unit.admin.test_admin_ledger_contract import _ledgers

pytestmark = pytest.mark.anyio
S = Status


def _change(status: Status, at: float, attempt: int | None = None, replay: int = 0) -> StatusChange:
    return StatusChange("stripe", "evt_1", status, at, "billing", attempt=attempt, replay=replay)


ROUNDS = [
    StatusChange("stripe", "evt_1", S.ACCEPTED, 10.0, event_type="t", received_at=10.0),
    _change(S.QUEUED, 10.0),
    _change(S.RUNNING, 11.0, 1),
    _change(S.FAILED, 12.0, 1),
    StatusChange("stripe", "evt_1", S.REPLAYED, 20.0, "billing", replay=1),
    _change(S.QUEUED, 20.0, replay=1),
    _change(S.RUNNING, 21.0, 1, replay=1),
    _change(S.COMPLETED, 22.0, 1, replay=1),
]


@pytest.mark.parametrize("backend", BACKEND_NAMES)
async def test_a_replayed_round_is_kept_and_resends_are_not(backend: str, tmp_path: Path) -> None:
    async with _ledgers(backend, tmp_path) as make:
        ledger = make()
        assert await ledger.record(ROUNDS) == len(ROUNDS)
        assert await ledger.record(ROUNDS[2:4] + ROUNDS[6:]) == 0  # resends of both rounds
        found = await ledger.event("stripe", "evt_1")
    assert found is not None
    assert [(c.status.value, c.attempt) for c in found.timeline if c.service] == [
        ("queued", None),
        ("running", 1),
        ("failed", 1),
        ("replayed", None),
        ("queued", None),
        ("running", 1),
        ("completed", 1),
    ]
    assert (found.summary.status, found.services["billing"].status) == (S.COMPLETED, S.COMPLETED)
