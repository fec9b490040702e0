"""consumers.messages: the copies sent to retry tiers, the DLQ, and back on replay."""

from __future__ import annotations

from datetime import UTC, datetime

from pamqp.commands import Basic

from consumers.dispatch import Failure
from consumers.messages import dead_letter_copy, replay_copy, retry_copy


def _original() -> Basic.Properties:
    return Basic.Properties(
        content_type="application/json",
        delivery_mode=2,
        message_id="evt_1",
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
        app_id="hookgate",
        headers={
            "hookgate-source": "stripe",
            "hookgate-event-id": "evt_1",
            "hookgate-attempt": 2,
            "x-death": [{"count": 1}],
            "x-delivery-count": 1,
        },
    )


def test_retry_copy_bumps_the_attempt_and_drops_broker_headers() -> None:
    copy = retry_copy(_original(), attempt=2)
    assert copy.headers == {
        "hookgate-source": "stripe",
        "hookgate-event-id": "evt_1",
        "hookgate-attempt": 3,
    }
    assert (copy.message_id, copy.content_type, copy.app_id, copy.delivery_mode) == (
        "evt_1",
        "application/json",
        "hookgate",
        2,
    )
    assert copy.timestamp == datetime(2026, 1, 1, tzinfo=UTC)


def test_dead_letter_copy_carries_the_error() -> None:
    failure = Failure("ValueError", "boom", "Traceback…")
    copy = dead_letter_copy(
        _original(), attempt=4, handler="invoice", reason="retries_exhausted", failure=failure
    )
    headers = copy.headers
    assert headers is not None
    assert headers["hookgate-attempt"] == 4
    assert headers["hookgate-error-type"] == "ValueError"
    assert headers["hookgate-error-message"] == "boom"
    assert headers["hookgate-error-traceback"] == "Traceback…"
    assert headers["hookgate-handler"] == "invoice"
    assert headers["hookgate-dead-reason"] == "retries_exhausted"
    assert str(headers["hookgate-failed-at"]).endswith("Z")
    assert "x-death" not in headers


def test_replay_copy_resets_the_attempt_and_clears_the_error() -> None:
    failure = Failure("ValueError", "boom", "tb")
    dead = dead_letter_copy(_original(), attempt=4, handler="h", reason="rejected", failure=failure)
    replayed = replay_copy(dead)
    assert replayed.headers == {
        "hookgate-source": "stripe",
        "hookgate-event-id": "evt_1",
        "hookgate-attempt": 1,
        "hookgate-replays": 1,
    }
    assert replay_copy(replayed).headers["hookgate-replays"] == 2  # type: ignore[index]
