"""The ledger contract every backend passes: memory, sqlite and postgres (the real server).

Every ledger here is opened by name, as `[ledger] backend` names it (`open_ledger`), so the
registry is part of the contract. PostgreSQL tables live in a schema of the test's own
(`tests.postgres_kit`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import random
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from admin.config import LedgerSettings
from admin.ledger import Count, EventDetail, EventQuery, EventSummary, LedgerStore
from admin.ledger_memory import MemoryLedger
from admin.ledger_registry import BACKEND_NAMES, open_ledger
from hookgate.secret import Secret
from hookgate.status import ServiceAnnouncement, Status, StatusChange
from tests.postgres_kit import private_schema

pytestmark = pytest.mark.anyio

S = Status
Make = Callable[[], LedgerStore]


@contextlib.asynccontextmanager
async def _ledgers(name: str, tmp_path: Path) -> AsyncIterator[Make]:
    """Ledgers of backend `name`, all on one store (file, schema); closed afterwards."""
    async with contextlib.AsyncExitStack() as stack:
        url = await stack.enter_async_context(private_schema()) if name == "postgres" else None
        settings = LedgerSettings(
            backend=name,
            path=str(tmp_path / "ledger.sqlite3"),
            url=Secret(url) if url else None,
        )
        opened: list[LedgerStore] = []

        def make() -> LedgerStore:
            ledger = open_ledger(settings)
            opened.append(ledger)
            return ledger

        try:
            yield make
        finally:
            for ledger in opened:
                await ledger.close()


@pytest.fixture(params=BACKEND_NAMES)
def backend_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def make(backend_name: str, tmp_path: Path) -> AsyncIterator[Make]:
    async with _ledgers(backend_name, tmp_path) as built:
        yield built


@pytest.fixture
def ledger(make: Make) -> LedgerStore:
    return make()


def change(
    status: Status, at: float, service: str | None = None, *, event_id: str = "evt_1", **kw: object
) -> StatusChange:
    return StatusChange("stripe", event_id, status, at, service=service, **kw)  # type: ignore[arg-type]


async def detail(
    ledger: LedgerStore, event_id: str = "evt_1", source: str = "stripe"
) -> EventDetail:
    found = await ledger.event(source, event_id)
    assert found is not None
    return found


# A delivery to two services: billing fails twice then completes; audit is dead-lettered.
STORY = [
    change(S.ACCEPTED, 10.0, event_type="invoice.paid", received_at=10.0),
    change(S.QUEUED, 10.0, "audit"),  # a tie on the time: by the key, so "audit" first
    change(S.QUEUED, 10.0, "billing"),
    change(S.RUNNING, 10.1, "billing", attempt=1),
    change(S.RETRYING, 10.2, "billing", attempt=1, detail="E: one", next_attempt_at=15.2),
    change(S.RUNNING, 10.3, "audit", attempt=1),
    change(S.FAILED, 10.4, "audit", attempt=1, detail="Reject: bad"),
    change(S.RUNNING, 15.3, "billing", attempt=2),
    change(S.RETRYING, 15.4, "billing", attempt=2, detail="E: two", next_attempt_at=45.4),
    change(S.RUNNING, 45.5, "billing", attempt=3),
    change(S.COMPLETED, 45.6, "billing", attempt=3),
]


# --- recording: once, in any order ------------------------------------------------------------


async def test_a_resent_change_is_recorded_once(ledger: LedgerStore) -> None:
    assert await ledger.record(STORY) == len(STORY)
    assert await ledger.record(STORY) == 0
    assert await ledger.record([STORY[3], STORY[3], STORY[4]]) == 0
    got = await detail(ledger)
    assert got.timeline == STORY
    assert await ledger.record([]) == 0


async def test_a_change_sent_twice_in_one_batch_is_recorded_once(ledger: LedgerStore) -> None:
    assert await ledger.record([STORY[0], STORY[1], STORY[0], STORY[1]]) == 2
    assert (await detail(ledger)).timeline == STORY[:2]


async def test_duplicates_and_replays_at_different_times_each_count(ledger: LedgerStore) -> None:
    dupes = [change(S.DUPLICATE, 11.0), change(S.DUPLICATE, 12.0), change(S.DUPLICATE, 11.0)]
    replays = [change(S.REPLAYED, 20.0, detail="by cli"), change(S.REPLAYED, 30.0, detail="api")]
    assert await ledger.record([STORY[0], *dupes, *replays]) == 5
    got = await detail(ledger)
    assert got.duplicates == 2
    assert [c.status for c in got.timeline] == [
        S.ACCEPTED,
        S.DUPLICATE,
        S.DUPLICATE,
        *[S.REPLAYED] * 2,
    ]
    assert [c.detail for c in got.timeline if c.status is S.REPLAYED] == ["by cli", "api"]


async def test_any_arrival_order_and_batching_gives_the_same_state(ledger: LedgerStore) -> None:
    await ledger.record(STORY)
    expected = await detail(ledger)
    rng = random.Random(11)
    for n in range(6):
        event_id = f"shuffled_{n}"
        changes = [dataclasses.replace(c, event_id=event_id) for c in STORY]
        rng.shuffle(changes)
        while changes:  # batches of random sizes, some changes sent twice
            size = rng.randint(1, 4)
            batch, changes = changes[:size], changes[size:]
            await ledger.record(batch + batch[:1])
        got = await detail(ledger, event_id)
        assert got.summary == dataclasses.replace(expected.summary, event_id=event_id)
        assert (got.services, got.duplicates) == (expected.services, expected.duplicates)
        assert got.timeline == [dataclasses.replace(c, event_id=event_id) for c in STORY]


async def test_each_service_has_its_status_attempts_last_error_and_next_attempt(
    ledger: LedgerStore,
) -> None:
    await ledger.record(STORY[:9])
    got = await detail(ledger)
    billing, audit = got.services["billing"], got.services["audit"]
    assert (billing.status, billing.attempts, billing.last_error, billing.next_attempt_at) == (
        S.RETRYING,
        2,
        "E: two",
        45.4,
    )
    assert (audit.status, audit.attempts, audit.last_error, audit.next_attempt_at) == (
        S.FAILED,
        1,
        "Reject: bad",
        None,
    )
    await ledger.record(STORY[9:])
    billing = (await detail(ledger)).services["billing"]
    assert (billing.status, billing.attempts, billing.last_error, billing.next_attempt_at) == (
        S.COMPLETED,
        3,
        "E: two",
        None,
    )
    summary = (await detail(ledger)).summary
    assert summary == EventSummary("stripe", "evt_1", "invoice.paid", 10.0, S.FAILED)


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ([(S.FAILED, "a"), (S.RUNNING, "b"), (S.COMPLETED, "c")], S.FAILED),
        ([(S.RUNNING, "a"), (S.RETRYING, "b"), (S.QUEUED, "c")], S.RUNNING),
        ([(S.RETRYING, "a"), (S.QUEUED, "b"), (S.COMPLETED, "c")], S.RETRYING),
        ([(S.QUEUED, "a"), (S.COMPLETED, "b"), (S.CANCELLED, "c")], S.QUEUED),
        ([(S.COMPLETED, "a"), (S.COMPLETED, "b")], S.COMPLETED),
        ([(S.COMPLETED, "a"), (S.CANCELLED, "b")], S.CANCELLED),
        ([(S.CANCELLED, "a")], S.CANCELLED),
        ([(S.ACCEPTED, None)], S.ACCEPTED),
        ([(S.ACCEPTED, None), (S.SPOOLED, None)], S.SPOOLED),
        ([(S.SPOOLED, None), (S.FORWARDED, None)], S.FORWARDED),
        ([(S.DUPLICATE, None)], S.QUEUED),
    ],
)
async def test_the_overall_status_follows_each_rule(
    ledger: LedgerStore, steps: list[tuple[Status, str | None]], expected: Status
) -> None:
    await ledger.record(
        [change(status, 1.0 + i, service) for i, (status, service) in enumerate(steps)]
    )
    assert (await detail(ledger)).summary.status is expected
    [row], _ = await ledger.events(EventQuery(status=expected))
    assert row.event_id == "evt_1"


async def test_an_unknown_event_is_none(ledger: LedgerStore) -> None:
    await ledger.record(STORY[:1])
    assert await ledger.event("stripe", "evt_2") is None
    assert await ledger.event("github", "evt_1") is None


# --- search and paging ------------------------------------------------------------------------

# (source, event_id, type, received_at, service, the service's status)
_EVENTS = [
    ("stripe", "s1", "invoice.paid", 100.0, "billing", S.COMPLETED),
    ("stripe", "s2", "invoice.paid", 200.0, "billing", S.FAILED),
    ("stripe", "s3", "charge.refunded", 300.0, "audit", S.COMPLETED),
    ("github", "g1", "push", 150.0, "ci", S.RUNNING),
    ("github", "g2", "push", 250.0, "audit", S.FAILED),
    ("github", "g3", "issues", 350.0, None, None),
]


async def _search_data(ledger: LedgerStore) -> None:
    changes = []
    for source, event_id, type_, at, service, status in _EVENTS:
        changes.append(
            StatusChange(source, event_id, S.ACCEPTED, at, event_type=type_, received_at=at)
        )
        if service is not None and status is not None:
            changes.append(StatusChange(source, event_id, status, at + 1, service, attempt=1))
    await ledger.record(changes)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (EventQuery(), ["g3", "s3", "g2", "s2", "g1", "s1"]),
        (EventQuery(source="stripe"), ["s3", "s2", "s1"]),
        (EventQuery(type="push"), ["g2", "g1"]),
        (EventQuery(status=S.FAILED), ["g2", "s2"]),
        (EventQuery(status=S.ACCEPTED), ["g3"]),
        (EventQuery(service="audit"), ["s3", "g2"]),
        (EventQuery(since=250.0), ["g3", "s3", "g2"]),
        (EventQuery(source="stripe", status=S.COMPLETED), ["s3", "s1"]),
        (EventQuery(source="github", type="push", status=S.FAILED), ["g2"]),
        (EventQuery(service="billing", since=150.0), ["s2"]),
        (EventQuery(service="billing", type="invoice.paid", status=S.COMPLETED), ["s1"]),
        (EventQuery(source="gitlab"), []),
        (EventQuery(service="nobody"), []),
    ],
)
async def test_search_by_every_filter_and_their_combinations(
    ledger: LedgerStore, query: EventQuery, expected: list[str]
) -> None:
    await _search_data(ledger)
    rows, cursor = await ledger.events(query)
    assert [row.event_id for row in rows] == expected
    assert cursor is None


async def test_a_summary_has_source_id_type_received_at_and_status(ledger: LedgerStore) -> None:
    await _search_data(ledger)
    rows, _ = await ledger.events(EventQuery(source="github", type="push"))
    assert rows == [
        EventSummary("github", "g2", "push", 250.0, S.FAILED),
        EventSummary("github", "g1", "push", 150.0, S.RUNNING),
    ]


async def _pages(ledger: LedgerStore, query: EventQuery) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        rows, cursor = await ledger.events(dataclasses.replace(query, cursor=cursor))
        pages.append([f"{row.source}/{row.event_id}" for row in rows])
        if cursor is None:
            return pages


async def test_pages_run_newest_first_without_gaps_or_repeats_even_on_tied_times(
    ledger: LedgerStore,
) -> None:
    # 5 receipt times x 2 sources x 3 IDs: ties on the timestamp break by source, then ID,
    # compared character by character (never by a locale's rules: "E" < "_" < "a-b" < "ab").
    events = [
        (at, source, event_id)
        for at, source, event_id in itertools.product(
            (1.0, 2.0, 2.5, 3.0, 4.0), ("a", "b"), ("E", "_", "a-b", "ab", "é")
        )
    ]
    shuffled = random.Random(3).sample(events, len(events))
    await ledger.record(
        [StatusChange(s, f"{e}@{at}", S.ACCEPTED, at, received_at=at) for at, s, e in shuffled]
    )
    expected = [f"{s}/{e}@{at}" for at, s, e in sorted(events, reverse=True)]
    pages = await _pages(ledger, EventQuery(limit=4))
    assert [len(page) for page in pages] == [4] * 12 + [2]
    assert list(itertools.chain(*pages)) == expected
    filtered = await _pages(ledger, EventQuery(source="b", limit=7))
    assert list(itertools.chain(*filtered)) == [e for e in expected if e.startswith("b/")]


async def test_a_cursor_keeps_its_place_when_newer_events_arrive(ledger: LedgerStore) -> None:
    await ledger.record(
        [StatusChange("s", f"e{i}", S.ACCEPTED, float(i), received_at=float(i)) for i in range(6)]
    )
    first, cursor = await ledger.events(EventQuery(limit=3))
    await ledger.record([StatusChange("s", "new", S.ACCEPTED, 99.0, received_at=99.0)])
    second, end = await ledger.events(EventQuery(limit=3, cursor=cursor))
    assert [r.event_id for r in first + second] == ["e5", "e4", "e3", "e2", "e1", "e0"]
    assert end is None


async def test_the_limit_is_kept_within_bounds(ledger: LedgerStore) -> None:
    await ledger.record(
        [StatusChange("s", f"e{i}", S.ACCEPTED, float(i), received_at=float(i)) for i in range(3)]
    )
    rows, cursor = await ledger.events(EventQuery(limit=0))
    assert len(rows) == 1
    assert cursor is not None


async def test_an_event_without_a_receipt_time_sorts_by_its_latest_change(
    ledger: LedgerStore,
) -> None:
    await ledger.record([change(S.RUNNING, 5.0, "billing", attempt=1, event_id="late")])
    await ledger.record([StatusChange("stripe", "early", S.ACCEPTED, 4.0, received_at=4.0)])
    rows, _ = await ledger.events(EventQuery())
    assert [(r.event_id, r.received_at) for r in rows] == [("late", None), ("early", 4.0)]


@pytest.mark.parametrize("cursor", ["nope!", "bm9wZQ", "WzEsMl0", "WyJhIiwiYiIsImMiXQ"])
async def test_a_cursor_this_ledger_did_not_hand_out_is_a_value_error(
    ledger: LedgerStore, cursor: str
) -> None:
    with pytest.raises(ValueError, match="not a cursor"):
        await ledger.events(EventQuery(cursor=cursor))


# --- retention --------------------------------------------------------------------------------


async def test_prune_deletes_events_last_changed_before_a_time_in_batches(
    ledger: LedgerStore,
) -> None:
    await ledger.record(
        [StatusChange("s", f"e{i}", S.ACCEPTED, float(i), received_at=float(i)) for i in range(6)]
    )
    # e1 changed again later: it is kept with the newer ones.
    await ledger.record([StatusChange("s", "e1", S.COMPLETED, 10.0, "billing", attempt=1)])
    assert [await ledger.prune(before=4.0, batch=2) for _ in range(3)] == [2, 1, 0]
    rows, _ = await ledger.events(EventQuery())
    assert [r.event_id for r in rows] == ["e5", "e4", "e1"]
    for gone in ("e0", "e2", "e3"):
        assert await ledger.event("s", gone) is None
    # A pruned event's change arriving again starts it afresh.
    assert await ledger.record([StatusChange("s", "e0", S.ACCEPTED, 0.0, received_at=0.0)]) == 1
    assert len((await detail(ledger, "e0", "s")).timeline) == 1


async def test_pruning_a_large_ledger_in_batches_never_holds_it_for_long(
    ledger: LedgerStore,
) -> None:
    total, batch = 20_000, 1000
    changes = [
        StatusChange("s", f"e{i}", S.ACCEPTED, float(i), received_at=float(i)) for i in range(total)
    ]
    await asyncio.gather(*(ledger.record(changes[i : i + 2000]) for i in range(0, total, 2000)))
    started = time.monotonic()
    pruned, slowest = [], 0.0
    while True:
        call = time.monotonic()
        n = await ledger.prune(before=float(total), batch=batch)
        slowest = max(slowest, time.monotonic() - call)
        if not n:
            break
        pruned.append(n)
    assert sum(pruned) == total
    assert max(pruned) <= batch
    assert slowest < 1.0, f"one prune call held the store {slowest:.2f} s"
    assert time.monotonic() - started < 20
    assert (await ledger.events(EventQuery()))[0] == []


# --- services, closing, several writers -------------------------------------------------------


async def test_the_latest_announcement_of_a_service_wins(ledger: LedgerStore) -> None:
    first = ServiceAnnouncement("billing", ("stripe.#",), 1.0, (5.0, 30.0), 10)
    latest = ServiceAnnouncement("billing", ("stripe.invoice.*", "github.push"), 2.0, (1.0,), 3)
    audit = ServiceAnnouncement("audit", ("#",), 1.5)
    for announcement in (first, audit, latest, first):  # `first` again, late: older, kept out
        await ledger.announce(announcement)
    assert await ledger.services() == [audit, latest]


async def test_closing_twice_is_fine_and_a_durable_ledger_keeps_its_events(
    make: Make, backend_name: str
) -> None:
    ledger = make()
    await ledger.record(STORY)
    await ledger.announce(ServiceAnnouncement("billing", ("#",), 1.0))
    await ledger.close()
    await ledger.close()
    if backend_name == "memory":
        return  # memory forgets: nothing to read again
    again = make()
    assert (await detail(again)).timeline == STORY
    assert [s.service for s in await again.services()] == ["billing"]


async def test_two_recorders_writing_the_same_events_at_once_agree(
    make: Make, backend_name: str
) -> None:
    # Two `hookgate admin` processes on one store (memory: one process, so one ledger).
    a = make()
    b = a if backend_name == "memory" else make()
    reference = MemoryLedger()
    await reference.record(STORY)
    expected = await detail(reference)
    rng = random.Random(5)
    events = [f"both_{n}" for n in range(8)]
    sent: list[list[StatusChange]] = [[], []]
    for event_id in events:
        for c in STORY:
            for side in rng.sample((0, 1), rng.randint(1, 2)):  # some sent by both
                sent[side].append(dataclasses.replace(c, event_id=event_id))
    for side in sent:
        rng.shuffle(side)
    recorded = await asyncio.gather(
        *(
            writer.record(changes[i : i + 5])
            for writer, changes in ((a, sent[0]), (b, sent[1]))
            for i in range(0, len(changes), 5)
        )
    )
    assert sum(recorded) == len(events) * len(STORY)
    for event_id in events:
        got = await detail(b, event_id)
        assert got.summary == dataclasses.replace(expected.summary, event_id=event_id)
        assert got.services == expected.services
        assert got.timeline == [dataclasses.replace(c, event_id=event_id) for c in STORY]


# --- counts: rates per source and service ------------------------------------------------------


async def test_recorded_changes_are_counted_once_per_minute_and_outcome(
    ledger: LedgerStore,
) -> None:
    await ledger.record(STORY)
    await ledger.record(STORY)  # sent again: not counted again
    dupes = [change(S.DUPLICATE, 70.0 + n, received_at=70.0 + n) for n in range(3)]
    await ledger.record(dupes)
    activity = await ledger.activity(since=0.0)
    assert activity.counts == [
        Count("service", "audit", 0, "failed", 1),
        Count("service", "billing", 0, "completed", 1),
        Count("service", "billing", 0, "retrying", 2),
        Count("source", "stripe", 0, "accepted", 1),
        Count("source", "stripe", 1, "duplicate", 3),
    ]
    assert activity.last_event_at == {"stripe": 72.0}
    later = await ledger.activity(since=60.0)  # from minute 1 on
    assert later.counts == [Count("source", "stripe", 1, "duplicate", 3)]


async def test_counts_from_elsewhere_add_up_and_are_pruned_with_their_minute(
    ledger: LedgerStore,
) -> None:
    refused = [
        Count("source", "stripe", 1, "invalid_signature", 2),
        Count("source", "_unknown", 1, "unknown_source", 1),
    ]
    await ledger.count(refused)
    await ledger.count(refused[:1])
    await ledger.count([])
    assert (await ledger.activity(since=0.0)).counts == [
        Count("source", "_unknown", 1, "unknown_source", 1),
        Count("source", "stripe", 1, "invalid_signature", 4),
    ]
    await ledger.count([Count("source", "stripe", 3, "invalid_signature", 1)])
    await ledger.prune(before=180.0)  # minutes before 3 go
    assert (await ledger.activity(since=0.0)).counts == [
        Count("source", "stripe", 3, "invalid_signature", 1)
    ]


async def test_last_event_time_only_moves_forward(ledger: LedgerStore) -> None:
    await ledger.record([change(S.ACCEPTED, 50.0, received_at=50.0, event_id="b")])
    await ledger.record([change(S.ACCEPTED, 20.0, received_at=20.0, event_id="a")])
    assert (await ledger.activity(since=0.0)).last_event_at == {"stripe": 50.0}
