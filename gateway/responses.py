"""The one table from outcome to HTTP answer. Every answer is JSON with a `status` field."""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from hookgate.observe import IngestOutcome
from providers import Handshake, VerificationError


@dataclass(frozen=True, slots=True)
class Answer:
    status_code: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


#: outcome → (HTTP status, extra headers). The outcome is also the body's `status`.
_TABLE: dict[IngestOutcome, tuple[int, tuple[tuple[bytes, bytes], ...]]] = {
    IngestOutcome.ACCEPTED: (200, ()),
    IngestOutcome.DUPLICATE: (200, ()),
    IngestOutcome.SPOOLED: (200, ()),
    IngestOutcome.IN_PROGRESS: (409, ((b"retry-after", b"2"),)),
    IngestOutcome.MISSING_SIGNATURE: (401, ()),
    IngestOutcome.INVALID_SIGNATURE: (401, ()),
    IngestOutcome.STALE_TIMESTAMP: (401, ()),
    IngestOutcome.MALFORMED: (400, ()),
    IngestOutcome.FORBIDDEN: (403, ()),
    IngestOutcome.UNKNOWN_SOURCE: (404, ()),
    IngestOutcome.METHOD_NOT_ALLOWED: (405, ()),
    IngestOutcome.READ_TIMEOUT: (408, ()),
    IngestOutcome.TOO_LARGE: (413, ()),
    IngestOutcome.HEADERS_TOO_LARGE: (431, ()),
    IngestOutcome.UNAVAILABLE: (503, ((b"retry-after", b"5"),)),
    IngestOutcome.ERROR: (500, ()),
    IngestOutcome.KEY_UNAVAILABLE: (503, ((b"retry-after", b"30"),)),
}
#: The outcomes whose answer is not built from the table, and what is sent instead.
NOT_FROM_TABLE: dict[IngestOutcome, str] = {
    IngestOutcome.HANDSHAKE: "the provider's own answer (providers.Handshake)",
    # The request log shows these with ERROR's 500, as it always has.
    IngestOutcome.DISCONNECTED: "nothing: the client hung up",
}


def answer(outcome: IngestOutcome, detail: str | None = None, **fields: str) -> Answer:
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


def provider_answer(reply: Handshake) -> Answer:
    """A provider's own answer (a handshake, or its `acknowledgement` of a delivery taken)."""
    headers = tuple((name.encode(), value.encode()) for name, value in reply.headers)
    return json_answer(
        reply.status_code, reply.body, headers, content_type=reply.content_type.encode()
    )


def refusal(err: VerificationError) -> Answer:
    """The answer to a provider's refusal: its status, and its message as the detail."""
    return answer(err.status, str(err) or None)


# Answers that never change, built once.
UNKNOWN_SOURCE = answer(IngestOutcome.UNKNOWN_SOURCE, "no source with this name is configured")
FORBIDDEN = answer(
    IngestOutcome.FORBIDDEN, "this source does not accept requests from this address"
)
TOO_LARGE = answer(IngestOutcome.TOO_LARGE, "request body exceeds gateway.max_body_bytes")
HEADERS_TOO_LARGE = answer(
    IngestOutcome.HEADERS_TOO_LARGE,
    "request headers exceed gateway.max_header_bytes or gateway.max_header_count",
)
READ_TIMEOUT = answer(IngestOutcome.READ_TIMEOUT, "request body was not received in time")
DUPLICATE = answer(IngestOutcome.DUPLICATE)
IN_PROGRESS = answer(
    IngestOutcome.IN_PROGRESS, "this event ID is being published right now; retry shortly"
)
ERROR = answer(IngestOutcome.ERROR, "the provider failed unexpectedly; nothing was published")
