"""gateway.status_observer: accepted, duplicate, spooled and forwarded events become status
changes stamped with the request's arrival; refusals (no verified ID) say nothing. Run
through the whole app (`create_app(status=…)`) in memory."""

from __future__ import annotations

import pytest

from gateway.status_observer import GatewayStatus
from gateway.testing import MemoryPublisher
from hookgate.observe import ForwardOutcome, ForwardRecord
from hookgate.status import Status, StatusChange
from hookgate.status_publisher import StatusPublisher
from tests.unit.gateway.test_gateway_observers import (
    EXPECTED_ANSWERS,
    Recording,
    _four_outcomes,
    gateway,
)

pytestmark = pytest.mark.anyio
NOWHERE = "amqp://guest:guest@127.0.0.1:1/"


async def test_accepted_and_duplicate_are_emitted_refusals_are_not() -> None:
    status = StatusPublisher(NOWHERE, "hg-unit")
    recording = Recording()
    async with gateway([recording, GatewayStatus(status)], MemoryPublisher()) as gw:
        assert await _four_outcomes(gw) == EXPECTED_ANSWERS
    accepted, duplicate = [m for m in status._buffer if isinstance(m, StatusChange)]
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
