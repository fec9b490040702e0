"""hookgate.status: the status model and the status messages, read back whatever they hold."""

from __future__ import annotations

import pytest

from hookgate.status import ServiceAnnouncement, Status, StatusChange, Tally, decode, overall

S = Status


def test_a_change_survives_the_trip_and_a_resend_has_the_same_key() -> None:
    change = StatusChange(
        "stripe",
        "evt_1",
        S.RETRYING,
        10.5,
        service="billing",
        event_type="invoice.paid",
        received_at=10.0,
        attempt=2,
        detail="TimeoutError: slow",
        next_attempt_at=40.5,
    )
    again = decode(change.encode())
    assert again == change
    assert again.key == change.key
    assert change.routing_key == "change.retrying"


def test_duplicates_and_replays_are_told_apart_by_time_other_changes_are_not() -> None:
    assert (
        StatusChange("s", "e", S.DUPLICATE, 1.0).key != StatusChange("s", "e", S.DUPLICATE, 2.0).key
    )
    running = StatusChange("s", "e", S.RUNNING, 1.0, service="b", attempt=1)
    rerun = StatusChange("s", "e", S.RUNNING, 5.0, service="b", attempt=1)
    assert running.key == rerun.key


def test_after_a_replay_attempt_one_runs_again_as_a_step_of_its_own() -> None:
    first = StatusChange("s", "e", S.RUNNING, 1.0, service="b", attempt=1)
    replayed = StatusChange("s", "e", S.RUNNING, 9.0, service="b", attempt=1, replay=1)
    assert replayed.key != first.key
    assert decode(replayed.encode()) == replayed


def test_a_change_from_before_replays_were_counted_reads_as_round_zero() -> None:
    body = StatusChange("s", "e", S.RUNNING, 1.0, service="b", attempt=1).encode()
    assert decode(body.replace(b',"replay":0', b"")).replay == 0
    with pytest.raises(ValueError, match="replay"):
        decode(body.replace(b'"replay":0', b'"replay":-1'))


def test_an_announcement_survives_the_trip() -> None:
    announcement = ServiceAnnouncement(
        "billing", ("stripe.invoice.*", "github.#"), 3.0, tiers=(0.5, 30.0), delivery_limit=3
    )
    assert decode(announcement.encode()) == announcement
    assert announcement.routing_key == "service.billing"


def test_a_tally_survives_the_trip() -> None:
    tally = Tally("stripe", 29_000_000, (("invalid_signature", 3), ("stale_timestamp", 1)))
    assert decode(tally.encode()) == tally
    assert tally.routing_key == "tally"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"[]",
        b'{"v": 2, "kind": "change"}',
        b'{"v": 1, "kind": "gossip"}',
        b'{"v": 1, "kind": "change", "source": "s", "event_id": "e", "status": "lost", "at": 1}',
        b'{"v": 1, "kind": "change", "source": "", "event_id": "e", "status": "queued", "at": 1}',
        b'{"v": 1, "kind": "change", "source": "s", "event_id": "e", "status": "queued",'
        b' "at": NaN}',
        b'{"v": 1, "kind": "change", "source": "s", "event_id": "e", "status": "queued", "at": 1,'
        b' "attempt": 0}',
        b'{"v": 1, "kind": "service", "service": "b", "patterns": [1], "at": 1}',
        b'{"v": 1, "kind": "service", "service": "b", "patterns": [], "at": 1, "tiers": [-1]}',
        b'{"v": 1, "kind": "tally", "source": "s", "minute": 1, "counts": {}}',
        b'{"v": 1, "kind": "tally", "source": "s", "minute": 1, "counts": {"Bad": 1}}',
        b'{"v": 1, "kind": "tally", "source": "s", "minute": 1, "counts": {"x": 0}}',
        b'{"v": 1, "kind": "tally", "source": "s", "minute": 1, "counts": {"x": true}}',
        b'{"v": 1, "kind": "tally", "source": "s", "minute": 1.5, "counts": {"x": 1}}',
        b'{"v": 1, "kind": "tally", "source": "", "minute": 1, "counts": {"x": 1}}',
        b'{"v": 1, "kind": "tally", "source": "s", "minute": 1, "counts": {"x": 4294967296}}',
    ],
)
def test_anything_else_is_a_value_error(body: bytes) -> None:
    with pytest.raises(ValueError, match=r"^(not|bad) "):
        decode(body)


@pytest.mark.parametrize(
    ("services", "expected"),
    [
        ([], None),
        ([S.COMPLETED, S.FAILED, S.RUNNING], S.FAILED),
        ([S.COMPLETED, S.QUEUED, S.RETRYING], S.RETRYING),
        ([S.COMPLETED, S.QUEUED], S.QUEUED),
        ([S.RUNNING, S.RETRYING, S.QUEUED], S.RUNNING),
        ([S.COMPLETED, S.COMPLETED], S.COMPLETED),
        ([S.COMPLETED, S.CANCELLED], S.CANCELLED),
        ([S.CANCELLED], S.CANCELLED),
    ],
)
def test_overall_status(services: list[Status], expected: Status | None) -> None:
    assert overall(services) == expected


def test_a_batch_reads_back_line_by_line_and_a_bad_line_costs_only_itself() -> None:
    from hookgate.status import decode_batch, encode_batch

    change = StatusChange("s", "e", S.ACCEPTED, 1.0, event_type="t")
    announcement = ServiceAnnouncement("billing", ("#",), 2.0)
    body, skipped = encode_batch([change, announcement])
    assert skipped == 0
    assert decode_batch(body) == ([change, announcement], 0)
    unencodable = StatusChange("s", "e\ud800", S.ACCEPTED, 1.0)
    assert encode_batch([unencodable, change]) == (change.encode(), 1)
    assert decode_batch(body + b"\nnot json") == ([change, announcement], 1)
    assert decode_batch(change.encode()) == ([change], 0)  # a single message is a batch of one


@pytest.mark.parametrize(
    "body",
    [
        b'{"v": 1, "kind": "change", "source": "s", "event_id": "e\\u0000", "status": "queued",'
        b' "at": 1}',
        b'{"v": 1, "kind": "change", "source": "s", "event_id": "e", "status": "queued", "at": 1,'
        b' "attempt": 2147483648}',
        b'{"v": 1, "kind": "change", "source": "s", "event_id": "e", "status": "queued", "at": 1,'
        b' "replay": 2147483648}',
    ],
)
def test_what_no_ledger_can_store_is_refused_at_the_door(body: bytes) -> None:
    with pytest.raises(ValueError, match=r"^bad "):
        decode(body)


def test_free_text_is_cleaned_so_it_can_travel_and_be_stored() -> None:
    change = StatusChange("s", "e", S.FAILED, 1.0, service="b", detail="E: a\x00b\ud800")
    assert decode(change.encode()).detail == "E: a\ufffdb?"
