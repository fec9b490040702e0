"""hookgate.observe: the outcome enums (their values are the wire), and the fan-out that calls
every observer once per outcome and survives one that raises."""

from __future__ import annotations

import ast
import logging
import sys
from pathlib import Path

import pytest

from hookgate import observe
from hookgate.observe import (
    BaseObserver,
    ConsumeOutcome,
    ConsumeRecord,
    ForwardOutcome,
    ForwardRecord,
    IngestOutcome,
    IngestRecord,
    Observers,
    PublishFailure,
    StartRecord,
)

INGEST = IngestRecord("stripe", "stripe", IngestOutcome.ACCEPTED, 200, 0.001, "evt_1", "x")
FORWARD = ForwardRecord("stripe", "evt_1", ForwardOutcome.FORWARDED)
START = StartRecord("billing", "invoice", "evt_1", "stripe", "invoice.paid", 1, 1000.0)
CONSUME = ConsumeRecord(
    "billing", "invoice", "evt_1", "stripe", "invoice.paid", 1, ConsumeOutcome.SUCCESS, 0.01
)


class Recorder(BaseObserver):
    def __init__(self) -> None:
        self.seen: list[object] = []

    def on_ingest(self, record: IngestRecord) -> None:
        self.seen.append(record)

    def on_forwarded(self, record: ForwardRecord) -> None:
        self.seen.append(record)

    def on_started(self, record: StartRecord) -> None:
        self.seen.append(record)

    def on_consumed(self, record: ConsumeRecord) -> None:
        self.seen.append(record)


class IngestOnly(BaseObserver):
    def __init__(self) -> None:
        self.seen: list[IngestRecord] = []

    def on_ingest(self, record: IngestRecord) -> None:
        self.seen.append(record)


class Broken(BaseObserver):
    def on_ingest(self, record: IngestRecord) -> None:
        raise RuntimeError("observer bug")

    def on_consumed(self, record: ConsumeRecord) -> None:
        raise KeyError(record.outcome)


class NotSubclassed:
    """Satisfies the protocol without the base class."""

    def __init__(self) -> None:
        self.calls = 0

    def on_ingest(self, record: IngestRecord) -> None:
        self.calls += 1

    def on_forwarded(self, record: ForwardRecord) -> None:
        self.calls += 1

    def on_started(self, record: StartRecord) -> None:
        self.calls += 1

    def on_consumed(self, record: ConsumeRecord) -> None:
        self.calls += 1


class WrittenBeforeOnStarted:
    """An observer of the protocol as it was before `on_started` (three hooks)."""

    def __init__(self) -> None:
        self.calls = 0

    def on_ingest(self, record: IngestRecord) -> None:
        self.calls += 1

    def on_forwarded(self, record: ForwardRecord) -> None:
        self.calls += 1

    def on_consumed(self, record: ConsumeRecord) -> None:
        self.calls += 1


def test_values_are_the_strings_callers_and_dashboards_know() -> None:
    # Renaming or reordering one changes answers, metric labels (and their order) and logs.
    assert [o.value for o in IngestOutcome] == [
        "accepted",
        "duplicate",
        "spooled",
        "in_progress",
        "handshake",
        "missing_signature",
        "invalid_signature",
        "stale_timestamp",
        "malformed",
        "forbidden",
        "unknown_source",
        "method_not_allowed",
        "too_large",
        "headers_too_large",
        "read_timeout",
        "unavailable",
        "disconnected",
        "error",
        "key_unavailable",
    ]
    assert [r.value for r in PublishFailure] == [
        "disconnected",
        "blocked",
        "timeout",
        "connection_lost",
        "nacked",
        "unroutable",
        "overloaded",
        "auth_refused",
    ]
    assert [o.value for o in ConsumeOutcome] == [
        "success",
        "retry",
        "dead_lettered",
        "rejected",
        "duplicate",
        "unmatched",
        "unauthenticated",
        "cancelled",
    ]
    assert [o.value for o in ForwardOutcome] == ["forwarded", "quarantined"]


def test_an_outcome_is_its_string() -> None:
    assert IngestOutcome.ACCEPTED == "accepted"
    assert f"{ConsumeOutcome.DEAD_LETTERED}" == "dead_lettered"
    assert {"accepted": 1}[IngestOutcome.ACCEPTED] == 1


def test_records_are_slotted_and_take_no_new_attribute() -> None:
    # Not frozen (a frozen dataclass costs ~4 us more per record, per request and delivery);
    # slots: nothing more per request than the fields, and no attribute made up by mistake.
    assert not hasattr(INGEST, "__dict__")
    with pytest.raises(AttributeError):
        INGEST.outcomes = IngestOutcome.ERROR  # type: ignore[attr-defined]


def test_each_observer_hears_each_outcome_once_in_order() -> None:
    first, second = Recorder(), Recorder()
    observers = Observers([first, second])
    observers.on_ingest(INGEST)
    observers.on_forwarded(FORWARD)
    observers.on_consumed(CONSUME)
    assert first.seen == [INGEST, FORWARD, CONSUME]
    assert second.seen == [INGEST, FORWARD, CONSUME]


def test_only_overridden_hooks_are_called() -> None:
    only = IngestOnly()
    observers = Observers([only])
    assert observers._forwarded == ()
    assert observers._consumed == ()
    observers.on_ingest(INGEST)
    observers.on_consumed(CONSUME)
    assert only.seen == [INGEST]


def test_an_observer_without_the_base_class_gets_every_hook() -> None:
    plain = NotSubclassed()
    observers = Observers([plain])
    observers.on_ingest(INGEST)
    observers.on_forwarded(FORWARD)
    observers.on_started(START)
    observers.on_consumed(CONSUME)
    assert plain.calls == 4


def test_an_observer_written_before_on_started_still_plugs_in() -> None:
    old = WrittenBeforeOnStarted()
    observers = Observers([old])  # type: ignore[list-item]
    observers.on_started(START)  # not heard, not an error
    observers.on_consumed(CONSUME)
    assert (old.calls, observers.failures) == (1, 0)


def test_on_started_reaches_the_observers_that_override_it() -> None:
    recorder, plain = Recorder(), BaseObserver()
    Observers([plain, recorder]).on_started(START)
    assert recorder.seen == [START]


def test_an_object_missing_a_hook_is_refused_at_construction() -> None:
    with pytest.raises(AttributeError):
        Observers([object()])  # type: ignore[list-item]


def test_a_raising_observer_is_skipped_and_the_others_still_hear(
    caplog: pytest.LogCaptureFixture,
) -> None:
    after = Recorder()
    observers = Observers([Broken(), after])
    with caplog.at_level(logging.ERROR, logger="hookgate.observe"):
        for _ in range(3):
            observers.on_ingest(INGEST)
        observers.on_consumed(CONSUME)
    assert after.seen == [INGEST, INGEST, INGEST, CONSUME]
    assert observers.failures == 4
    # Logged once per observer and error type, not once per outcome.
    logged = [r for r in caplog.records if r.name == "hookgate.observe"]
    assert [r.fields["error"].split(":")[0] for r in logged] == ["RuntimeError", "KeyError"]  # type: ignore[attr-defined]
    assert all(r.fields["observer"] == "Broken" for r in logged)  # type: ignore[attr-defined]
    assert all(r.exc_info for r in logged)


def test_the_fan_out_nests() -> None:
    inner = Recorder()
    outer = Observers([Observers([inner])])
    outer.on_ingest(INGEST)
    assert inner.seen == [INGEST]


def test_the_module_imports_only_the_standard_library() -> None:
    tree = ast.parse(Path(observe.__file__).read_text())
    imported = {
        (node.module or "").split(".")[0] if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported - {"__future__"} <= set(sys.stdlib_module_names)
