"""gateway.responses: the one table from outcome to HTTP answer."""

from __future__ import annotations

import orjson
import pytest

from gateway import responses
from gateway.responses import NOT_FROM_TABLE, Answer, answer, json_answer, refusal
from hookgate.observe import IngestOutcome
from providers import (
    InvalidSignature,
    KeyUnavailable,
    Malformed,
    MissingSignature,
    StaleTimestamp,
    VerificationError,
)

EXPECTED_STATUS = {
    "accepted": 200,
    "duplicate": 200,
    "in_progress": 409,
    "missing_signature": 401,
    "invalid_signature": 401,
    "stale_timestamp": 401,
    "malformed": 400,
    "unknown_source": 404,
    "method_not_allowed": 405,
    "read_timeout": 408,
    "too_large": 413,
    "headers_too_large": 431,
    "unavailable": 503,
    "error": 500,
    "key_unavailable": 503,
}


def _headers(result: Answer) -> dict[bytes, bytes]:
    names = [name for name, _ in result.headers]
    assert len(names) == len(set(names)), f"repeated header in {names}"
    return dict(result.headers)


@pytest.mark.parametrize(("outcome", "status_code"), EXPECTED_STATUS.items())
def test_outcome_has_its_status_code(outcome: str, status_code: int) -> None:
    assert answer(outcome).status_code == status_code


@pytest.mark.parametrize("outcome", EXPECTED_STATUS)
def test_body_is_json_with_status_and_correct_content_length(outcome: str) -> None:
    result = answer(outcome, "some detail")
    headers = _headers(result)
    assert headers[b"content-type"] == b"application/json"
    assert headers[b"content-length"] == str(len(result.body)).encode()
    payload = orjson.loads(result.body)
    assert payload["status"] == outcome
    assert payload["detail"] == "some detail"


@pytest.mark.parametrize(
    ("outcome", "seconds"), [("in_progress", 2), ("unavailable", 5), ("key_unavailable", 30)]
)
def test_retry_after_on_409_and_503(outcome: str, seconds: int) -> None:
    assert _headers(answer(outcome))[b"retry-after"] == str(seconds).encode()


@pytest.mark.parametrize(
    "outcome",
    [o for o in EXPECTED_STATUS if o not in {"in_progress", "unavailable", "key_unavailable"}],
)
def test_no_retry_after_on_other_outcomes(outcome: str) -> None:
    assert b"retry-after" not in _headers(answer(outcome))


def test_accepted_body_carries_event_id_and_source() -> None:
    result = answer("accepted", event_id="evt_1", source="stripe")
    assert orjson.loads(result.body) == {
        "status": "accepted",
        "event_id": "evt_1",
        "source": "stripe",
    }


def test_answer_without_detail_has_only_status() -> None:
    assert orjson.loads(answer("duplicate").body) == {"status": "duplicate"}


def test_non_ascii_detail_gets_byte_exact_content_length() -> None:
    result = answer("malformed", "corps illisible: «é»")
    assert _headers(result)[b"content-length"] == str(len(result.body)).encode()
    assert len(result.body) > len(result.body.decode())
    assert orjson.loads(result.body)["detail"] == "corps illisible: «é»"


def test_unknown_outcome_is_refused() -> None:
    with pytest.raises(KeyError):
        answer("spooled-somewhere")


def test_json_answer_passes_status_body_and_content_type_through() -> None:
    result = json_answer(202, b"challenge-token", content_type=b"text/plain")
    assert result.status_code == 202
    assert result.body == b"challenge-token"
    assert _headers(result) == {b"content-type": b"text/plain", b"content-length": b"15"}


@pytest.mark.parametrize(
    ("error", "outcome", "status_code"),
    [
        (MissingSignature("stripe-signature header is missing"), "missing_signature", 401),
        (InvalidSignature("no v1 signature matches"), "invalid_signature", 401),
        (StaleTimestamp("outside the tolerance"), "stale_timestamp", 401),
        (KeyUnavailable("the signing key is not loaded yet"), "key_unavailable", 503),
        (Malformed("body has no 'id' string"), "malformed", 400),
        (VerificationError("refused"), "invalid_signature", 401),
    ],
)
def test_refusal_maps_a_provider_error_to_its_answer(
    error: VerificationError, outcome: str, status_code: int
) -> None:
    result = refusal(error)
    assert result.status_code == status_code
    assert orjson.loads(result.body) == {"status": outcome, "detail": str(error)}


def test_refusal_with_empty_message_has_no_detail() -> None:
    assert orjson.loads(refusal(InvalidSignature()).body) == {"status": "invalid_signature"}


@pytest.mark.parametrize(
    ("prepared", "outcome"),
    [
        (responses.UNKNOWN_SOURCE, "unknown_source"),
        (responses.TOO_LARGE, "too_large"),
        (responses.HEADERS_TOO_LARGE, "headers_too_large"),
        (responses.READ_TIMEOUT, "read_timeout"),
        (responses.DUPLICATE, "duplicate"),
        (responses.IN_PROGRESS, "in_progress"),
        (responses.ERROR, "error"),
    ],
)
def test_prepared_answers_match_the_table(prepared: Answer, outcome: str) -> None:
    assert prepared.status_code == EXPECTED_STATUS[outcome]
    assert orjson.loads(prepared.body)["status"] == outcome
    assert _headers(prepared)[b"content-length"] == str(len(prepared.body)).encode()


@pytest.mark.parametrize("outcome", list(IngestOutcome))
def test_every_outcome_has_exactly_one_answer_entry(outcome: IngestOutcome) -> None:
    in_table = outcome in responses._TABLE
    assert in_table != (outcome in NOT_FROM_TABLE)
    if in_table:
        assert orjson.loads(answer(outcome).body) == {"status": outcome.value}
    else:
        with pytest.raises(KeyError):
            answer(outcome)


def test_the_answer_table_holds_only_outcomes() -> None:
    assert all(type(key) is IngestOutcome for key in (*responses._TABLE, *NOT_FROM_TABLE))
    assert set(EXPECTED_STATUS) <= set(IngestOutcome)


@pytest.mark.parametrize("error", [MissingSignature, InvalidSignature, StaleTimestamp, Malformed])
def test_every_provider_refusal_is_an_outcome_with_an_answer(
    error: type[VerificationError],
) -> None:
    assert type(error.status) is IngestOutcome
    assert error.status not in NOT_FROM_TABLE
