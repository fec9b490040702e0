"""The admin API's answers: JSON bodies, and the one table from refusal to HTTP status.

Every refusal is `{"status": REFUSAL}`, with a `detail` saying what to change when there is
something to say. A detail never holds the token or a broker password.
"""

from __future__ import annotations

import enum
from typing import Any

import orjson
from starlette.responses import Response


class Refusal(enum.StrEnum):
    UNAUTHORIZED = "unauthorized"
    BAD_REQUEST = "bad_request"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    NOT_IN_DEAD_LETTER_QUEUE = "not_in_dead_letter_queue"
    NOT_IN_ARCHIVE = "not_in_archive"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    REFUSED = "refused"
    #: A cancel of an event that every service already completed (or failed): 409.
    ALREADY_FINISHED = "already_finished"
    UNAVAILABLE = "unavailable"


#: refusal → (HTTP status, extra headers)
_TABLE: dict[Refusal, tuple[int, dict[str, str]]] = {
    Refusal.UNAUTHORIZED: (401, {"www-authenticate": "Bearer"}),
    Refusal.BAD_REQUEST: (400, {}),
    Refusal.FORBIDDEN: (403, {}),
    Refusal.NOT_FOUND: (404, {}),
    Refusal.NOT_IN_DEAD_LETTER_QUEUE: (404, {}),
    Refusal.NOT_IN_ARCHIVE: (404, {}),
    Refusal.METHOD_NOT_ALLOWED: (405, {}),
    Refusal.REFUSED: (409, {}),
    Refusal.ALREADY_FINISHED: (409, {}),
    Refusal.UNAVAILABLE: (503, {"retry-after": "5"}),
}


class ApiError(Exception):
    """Raised by a route to answer with a refusal (mapped by `refusal`)."""

    def __init__(self, refusal: Refusal, detail: str | None = None) -> None:
        super().__init__(detail or refusal.value)
        self.refusal = refusal
        self.detail = detail


def status_code(kind: Refusal) -> int:
    """The HTTP status a refusal is answered with (the console's error pages use it too)."""
    return _TABLE[kind][0]


def refusal(kind: Refusal, detail: str | None = None) -> Response:
    status_code, headers = _TABLE[kind]
    payload: dict[str, Any] = {"status": kind.value}
    if detail:
        payload["detail"] = detail
    return json(payload, status_code, headers)


def json(payload: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(payload), status_code, headers=headers, media_type="application/json"
    )


#: Answers that never change, built once (the 401 is sent straight from the auth layer).
UNAUTHORIZED_BODY = orjson.dumps({"status": Refusal.UNAUTHORIZED.value})
