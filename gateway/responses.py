"""The one table from outcome to HTTP answer. Every answer is JSON with a `status` field."""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from providers import VerificationError


@dataclass(frozen=True, slots=True)
class Answer:
    status_code: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


#: outcome → (HTTP status, extra headers). The outcome is also the body's `status`.
_TABLE: dict[str, tuple[int, tuple[tuple[bytes, bytes], ...]]] = {
    "accepted": (200, ()),
    "duplicate": (200, ()),
    "spooled": (200, ()),
    "in_progress": (409, ((b"retry-after", b"2"),)),
    "missing_signature": (401, ()),
    "invalid_signature": (401, ()),
    "stale_timestamp": (401, ()),
    "malformed": (400, ()),
    "forbidden": (403, ()),
    "unknown_source": (404, ()),
    "method_not_allowed": (405, ()),
    "read_timeout": (408, ()),
    "too_large": (413, ()),
    "headers_too_large": (431, ()),
    "unavailable": (503, ((b"retry-after", b"5"),)),
    "error": (500, ()),
}


def answer(outcome: str, detail: str | None = None, **fields: str) -> Answer:
    """The answer for an outcome; `detail` is a human-readable reason (never a secret)."""
    status_code, extra = _TABLE[outcome]
    payload: dict[str, str] = {"status": outcome, **fields}
    if detail:
        payload["detail"] = detail
    return json_answer(status_code, orjson.dumps(payload), extra)


def json_answer(
    status_code: int,
    body: bytes,
    extra: tuple[tuple[bytes, bytes], ...] = (),
    content_type: bytes = b"application/json",
) -> Answer:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    return Answer(status_code, [*headers, *extra], body)


def refusal(err: VerificationError) -> Answer:
    """The answer to a provider's refusal: its status, and its message as the detail."""
    return answer(err.status, str(err) or None)


# Answers that never change, built once.
UNKNOWN_SOURCE = answer("unknown_source", "no source with this name is configured")
FORBIDDEN = answer("forbidden", "this source does not accept requests from this address")
TOO_LARGE = answer("too_large", "request body exceeds gateway.max_body_bytes")
HEADERS_TOO_LARGE = answer(
    "headers_too_large",
    "request headers exceed gateway.max_header_bytes or gateway.max_header_count",
)
READ_TIMEOUT = answer("read_timeout", "request body was not received in time")
DUPLICATE = answer("duplicate")
IN_PROGRESS = answer("in_progress", "this event ID is being published right now; retry shortly")
ERROR = answer("error", "the provider failed unexpectedly; nothing was published")
