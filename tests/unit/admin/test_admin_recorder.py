"""admin.recorder without a broker: what a batch of status messages becomes in the ledger
(announcements remembered, `queued` added for matching services, bad messages counted and
skipped, a failing ledger retried until it takes the batch), and pruning in batches."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from admin.ledger import LedgerUnavailable
from admin.ledger_memory import MemoryLedger
from admin.recorder import Recorder, ledger_queue, replayed_change
from hookgate.status import ServiceAnnouncement, Status, StatusChange

pytestmark = pytest.mark.anyio
NOWHERE = "amqp://guest:guest@127.0.0.1:1/"

BILLING = ServiceAnnouncement("billing", ("stripe.invoice.*",), 900.0)
AUDIT = ServiceAnnouncement("audit", ("#",), 900.0)
SHIPPING = ServiceAnnouncement("shipping", ("shop.#",), 900.0)


def _accepted(event_id: str = "evt_1", at: float = 1000.0) -> StatusChange:
    return StatusChange(
        "stripe", event_id, Status.ACCEPTED, at, event_type="invoice.paid", received_at=at
    )


def _messages(*items: Any) -> list[Any]:
    return [SimpleNamespace(body=i if isinstance(i, bytes) else i.encode()) for i in items]


def _recorder(ledger: Any) -> tuple[Recorder, CollectorRegistry]:
    registry = CollectorRegistry()
    return Recorder(NOWHERE, "webhooks", ledger, registry), registry


def _timeline(detail: Any) -> list[tuple[str | None, str]]:
    return [(c.service, c.status.value) for c in detail.timeline]


async def test_accepted_is_queued_for_each_announced_service_that_matches() -> None:
    ledger = MemoryLedger()
    recorder, registry = _recorder(ledger)
    await recorder._store(_messages(BILLING, AUDIT, SHIPPING, _accepted()))
    detail = await ledger.event("stripe", "evt_1")
    assert detail is not None
    assert _timeline(detail) == [(None, "accepted"), ("audit", "queued"), ("billing", "queued")]
    assert {c.at for c in detail.timeline} == {1000.0}
    assert [a.service for a in await ledger.services()] == ["audit", "billing", "shipping"]
    assert (
        registry.get_sample_value("hookgate_ledger_status_messages_total", {"kind": "service"}) == 3
    )
    assert (
        registry.get_sample_value("hookgate_ledger_status_messages_total", {"kind": "accepted"})
        == 1
    )
    assert registry.get_sample_value("hookgate_ledger_lag_seconds") > 0  # type: ignore[operator]


async def test_a_replay_for_one_service_queues_only_that_service() -> None:
    ledger = MemoryLedger()
    recorder, _ = _recorder(ledger)
    replay = replayed_change(
        "stripe", "evt_1", by="api", event_type="invoice.paid", service="billing", at=2000.0
    )
    await recorder._store(_messages(BILLING, AUDIT, replay))
    detail = await ledger.event("stripe", "evt_1")
    assert detail is not None
    assert _timeline(detail) == [("billing", "replayed"), ("billing", "queued")]
    assert detail.timeline[0].detail == "replayed by api"


async def test_bad_messages_are_counted_and_the_rest_recorded() -> None:
    ledger = MemoryLedger()
    recorder, registry = _recorder(ledger)
    await recorder._store(_messages(b"not json", b'{"v": 99}', _accepted()))
    assert await ledger.event("stripe", "evt_1") is not None
    assert registry.get_sample_value("hookgate_ledger_bad_messages_total") == 2


class _Flaky(MemoryLedger):
    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def record(self, changes: Sequence[StatusChange]) -> int:
        if self.failures:
            self.failures -= 1
            raise LedgerUnavailable("down")
        return await super().record(changes)


async def test_a_ledger_outage_holds_the_batch_until_it_is_recorded() -> None:
    ledger = _Flaky(failures=2)
    recorder, registry = _recorder(ledger)
    await recorder._store(_messages(_accepted()))
    assert await ledger.event("stripe", "evt_1") is not None
    assert registry.get_sample_value("hookgate_ledger_store_errors_total") == 2


async def test_pruning_deletes_in_batches_until_nothing_is_old() -> None:
    ledger = MemoryLedger()
    await ledger.record([_accepted(f"evt_{n}", at=1000.0) for n in range(5)])
    await ledger.record([_accepted("evt_new", at=9e9)])
    recorder = Recorder(NOWHERE, "webhooks", ledger, CollectorRegistry(), prune_batch=2)
    assert await recorder._prune(5000.0) == 5
    assert await ledger.event("stripe", "evt_new") is not None


def test_the_queue_is_named_from_the_exchange() -> None:
    assert ledger_queue("webhooks") == "webhooks.status.ledger"


class _Picky(MemoryLedger):
    """Refuses one event's changes as a value it cannot store (not an outage)."""

    async def record(self, changes: Sequence[StatusChange]) -> int:
        if any(change.event_id == "evt_bad" for change in changes):
            raise ValueError("the ledger refused a value")
        return await super().record(changes)


async def test_a_change_the_ledger_refuses_is_skipped_alone_and_the_rest_recorded() -> None:
    ledger = _Picky()
    recorder, registry = _recorder(ledger)
    batch = [_accepted("evt_1"), _accepted("evt_bad"), _accepted("evt_2")]
    await recorder._store(_messages(*batch))  # returns: nothing waits behind the bad one
    assert await ledger.event("stripe", "evt_1") is not None
    assert await ledger.event("stripe", "evt_2") is not None
    assert await ledger.event("stripe", "evt_bad") is None
    assert registry.get_sample_value("hookgate_ledger_bad_messages_total") == 1


async def test_each_announcement_is_heard_and_a_failing_hook_stops_nothing() -> None:
    heard: list[str] = []

    async def hook(announcement: ServiceAnnouncement) -> None:
        heard.append(announcement.service)
        if announcement.service == "audit":
            raise ConnectionError("the broker went away")

    ledger = MemoryLedger()
    recorder = Recorder(NOWHERE, "webhooks", ledger, CollectorRegistry(), on_announce=hook)
    await recorder._store(_messages(BILLING, AUDIT, SHIPPING, _accepted()))
    assert heard == ["billing", "audit", "shipping"]
    assert [a.service for a in await ledger.services()] == ["audit", "billing", "shipping"]
    assert await ledger.event("stripe", "evt_1") is not None
