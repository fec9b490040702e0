"""gateway.status_observer: accepted, duplicate, spooled and forwarded events become status
changes stamped with the request's arrival; refusals (no verified ID) are counted into tallies
per source, reason and minute. Run through the whole app (`create_app(status=…)`) in
memory."""

from __future__ import annotations

import asyncio

import pytest

from gateway.status_observer import GatewayStatus
from gateway.testing import MemoryPublisher
from hookgate.observe import ForwardOutcome, ForwardRecord
from hookgate.status import Status, StatusChange, Tally
from hookgate.status_publisher import StatusPublisher
from tests.unit.gateway.test_gateway_observers import (
    EXPECTED_ANSWERS,
    Recording,
    _four_outcomes,
    _stripe,
    gateway,
)

pytestmark = pytest.mark.anyio
NOWHERE = "amqp://guest:guest@127.0.0.1:1/"


async def test_accepted_and_duplicate_are_emitted_refusals_are_tallied() -> None:
    status = StatusPublisher(NOWHERE, "hg-unit")
    recording = Recording()
    observer = GatewayStatus(status)
    async with gateway([recording, observer], MemoryPublisher()) as gw:
        assert await _four_outcomes(gw) == EXPECTED_ANSWERS
        assert await _four_outcomes(gw) != EXPECTED_ANSWERS  # a duplicate now, and 2 refusals
        assert not [m for m in status._buffer if isinstance(m, Tally)]  # not one per refusal
        observer.flush()
    tallies = [m for m in status._buffer if isinstance(m, Tally)]
    minute = int(recording.ingested[0].received_at // 60)
    assert {(t.source, t.counts) for t in tallies} == {
        ("_unknown", (("unknown_source", 2),)),  # never the name the request made up
        ("stripe", (("invalid_signature", 2),)),
    }
    assert all(t.minute in (minute, minute + 1) for t in tallies)
    observer.flush()
    assert len([m for m in status._buffer if isinstance(m, Tally)]) == 2  # nothing new
    accepted, duplicate, *_ = [m for m in status._buffer if isinstance(m, StatusChange)]
    assert [accepted.status, duplicate.status] == [Status.ACCEPTED, Status.DUPLICATE]
    assert (accepted.source, accepted.event_id, accepted.event_type) == (
        "stripe",
        "evt_obs_1",
        "invoice.paid",
    )
    arrived = recording.ingested[0].received_at
    assert accepted.at == accepted.received_at == arrived
    assert accepted.service is None
    assert accepted.attempt is None


def test_forwarded_is_emitted_quarantined_is_not() -> None:
    status = StatusPublisher(NOWHERE, "hg-unit")
    observer = GatewayStatus(status)
    observer.on_forwarded(
        ForwardRecord("stripe", "evt_1", ForwardOutcome.FORWARDED, "invoice.paid", 1000.0)
    )
    observer.on_forwarded(ForwardRecord("stripe", "evt_2", ForwardOutcome.QUARANTINED))
    [forwarded] = list(status._buffer)
    assert isinstance(forwarded, StatusChange)
    assert (forwarded.status, forwarded.event_type, forwarded.received_at) == (
        Status.FORWARDED,
        "invoice.paid",
        1000.0,
    )
    assert forwarded.at > 1000.0


async def test_tallies_go_out_on_their_own_within_a_few_seconds_and_at_close(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gateway.status_observer as module

    monkeypatch.setattr(module, "TALLY_SECONDS", 0.05)
    status = StatusPublisher(NOWHERE, "hg-unit")
    observer = GatewayStatus(status)
    async with gateway([observer], MemoryPublisher()) as gw:
        await _four_outcomes(gw)
        await asyncio.sleep(0.2)
        assert len([m for m in status._buffer if isinstance(m, Tally)]) == 2
        _, forged = _stripe("evt_late", secret="whsec_" + "00" * 16)
        await gw.client.post("/webhooks/stripe", content=b"{}", headers=forged)
    await status.close()  # the last word: what was counted since the timer
    assert len([m for m in status._buffer if isinstance(m, Tally)]) == 3
