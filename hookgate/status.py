"""Event status: the status model, and the status-change message both sides emit.

Per event (source + event ID) and per consumer service, a status moves `queued` → `running` →
`completed`, or `retrying` (→ `running` again), or `failed` (dead-lettered), or `cancelled` (an
operator skipped it). The gateway's own steps (`accepted`, `spooled`, `forwarded`, `duplicate`)
and an operator's `replayed` join the same timeline with no service.

The gateway and the consumers publish each change, without waiting for a confirm, on the
exchange `{broker.exchange}.status` (`hookgate.topology.status_exchange`); `hookgate admin`
records them. The ledger is a view: losing a status message never loses an event, the broker
stays the source of truth. A change is identified by `StatusChange.key`, so a message sent
twice is recorded once.

Messages on that exchange: a change travels under the routing key `change.{status}`
(`StatusChange.routing_key`); a consumer service announces itself, its queue and its handlers'
patterns under `service.{name}` (`ServiceAnnouncement`) when it starts, which is how the
recorder knows that an accepted event is `queued` for every service whose patterns match it.
The gateway's refusals (a bad signature, an unknown source, ...) are no event's change: it
counts them per source, reason and minute and sends the counts every few seconds (`Tally`,
routing key `tally`), for the admin's per-source rates. Several messages may travel as one,
under `batch` (`encode_batch`: one JSON message per line,
`decode_batch` reads them back): a message per change would double the broker work of every
event, and the recorder binds `#` anyway.

The overall status of an event (`overall`): `failed` if any service failed; else `running`,
`retrying` or `queued` while any service is; `completed` when all completed; `cancelled` when
every service that did not complete was cancelled.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

#: The version of the message format below; a recorder skips versions it does not know.
VERSION = 1
_TEXT_MAX = 2000  # detail and error text are cut to this many characters
_INT_MAX = 2**31 - 1  # attempts and replay rounds: what every ledger's integer column holds


class Status(enum.StrEnum):
    """A step on an event's timeline. The first six are a service's; the rest the gateway's
    (`service` None) or an operator's."""

    QUEUED = "queued"
    RUNNING = "running"
    RETRYING = "retrying"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ACCEPTED = "accepted"
    SPOOLED = "spooled"
    FORWARDED = "forwarded"
    DUPLICATE = "duplicate"
    REPLAYED = "replayed"


#: A service's statuses, in the order they usually happen (ties on one timestamp sort by it).
SERVICE_STATUSES = (
    Status.QUEUED,
    Status.RUNNING,
    Status.RETRYING,
    Status.COMPLETED,
    Status.FAILED,
    Status.CANCELLED,
)
_PENDING = (Status.RUNNING, Status.RETRYING, Status.QUEUED)  # most active first
_RANK = {
    status: rank
    for rank, status in enumerate(
        (
            Status.ACCEPTED,
            Status.SPOOLED,
            Status.FORWARDED,
            Status.DUPLICATE,
            Status.REPLAYED,
            *SERVICE_STATUSES,
        )
    )
}


@dataclass(slots=True)  # not frozen: made per event and service step, on the hot paths
class StatusChange:
    """One step on one event's timeline.

    `at` and the other times are Unix seconds. `attempt` counts a service's deliveries (1 on
    the first); `detail` is a short human-readable reason (an error's type and message, who
    replayed); `next_attempt_at` is when a `retrying` event runs again. `event_type` and
    `received_at` travel with every change, so the first one recorded can describe the event.
    `replay` counts the operator's replays before a service's change (a replayed event's
    attempts start again at 1, so its second `running` 1 is a step of its own, not a resend);
    on a `replayed` change, which replay it is.
    """

    source: str
    event_id: str
    status: Status
    at: float
    service: str | None = None
    event_type: str | None = None
    received_at: float | None = None
    attempt: int | None = None
    detail: str | None = None
    next_attempt_at: float | None = None
    replay: int = 0

    @property
    def key(self) -> tuple[str, str, str, str, int, float]:
        """What makes a change unique: the same event, service, status, attempt and replay
        round is the same change, however many times its message arrives (a redelivered
        attempt that runs again is still one `running`). Duplicates absorbed and replays are
        events of their own, told apart by their time. The last element is that time for
        them, else the replay round (0.0 before any replay: the key of every change that
        predates rounds is unchanged, and a stored key keeps its shape)."""
        repeatable = self.status in (Status.DUPLICATE, Status.REPLAYED)
        return (
            self.source,
            self.event_id,
            self.service or "",
            self.status.value,
            self.attempt or 0,
            self.at if repeatable else float(self.replay),
        )

    @property
    def order(self) -> tuple[float, int, int]:
        """How a timeline sorts: by time, then attempt, then the usual order of statuses."""
        return (self.at, self.attempt or 0, _RANK[self.status])

    @property
    def routing_key(self) -> str:
        return f"change.{self.status.value}"

    def encode(self) -> bytes:
        """The message body (JSON)."""
        return orjson.dumps(
            {
                "v": VERSION,
                "kind": "change",
                "source": self.source,
                "event_id": self.event_id,
                "status": self.status.value,
                "at": self.at,
                "service": self.service,
                "event_type": self.event_type,
                "received_at": self.received_at,
                "attempt": self.attempt,
                "detail": _cut(self.detail),
                "next_attempt_at": self.next_attempt_at,
                "replay": self.replay,
            }
        )


@dataclass(frozen=True, slots=True)
class ServiceAnnouncement:
    """A consumer service, as it announces itself when a worker starts: enough for the
    recorder to queue events for it (`patterns`) and for the admin API to name its queues
    (`hookgate.topology`, from `tiers` and `delivery_limit`)."""

    service: str
    patterns: tuple[str, ...]
    at: float
    tiers: tuple[float, ...] = ()
    delivery_limit: int = 10

    @property
    def routing_key(self) -> str:
        return f"service.{self.service}"

    def encode(self) -> bytes:
        return orjson.dumps(
            {
                "v": VERSION,
                "kind": "service",
                "service": self.service,
                "patterns": list(self.patterns),
                "at": self.at,
                "tiers": list(self.tiers),
                "delivery_limit": self.delivery_limit,
            }
        )


@dataclass(frozen=True, slots=True)
class Tally:
    """How many of one source's requests the gateway answered with each refusal (an
    `IngestOutcome` value) in one minute (`minute`: Unix seconds // 60)."""

    source: str
    minute: int
    counts: tuple[tuple[str, int], ...]

    routing_key = "tally"

    def encode(self) -> bytes:
        return orjson.dumps(
            {
                "v": VERSION,
                "kind": "tally",
                "source": self.source,
                "minute": self.minute,
                "counts": dict(self.counts),
            }
        )


#: Anything that travels on the status exchange.
Message = StatusChange | ServiceAnnouncement | Tally


def decode(body: bytes) -> Message:
    """A message from the status exchange read back. `ValueError` for anything that is not
    one (the recorder counts and drops those; a status message is never worth a crash)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise ValueError(f"not JSON: {err}") from None
    if not isinstance(data, dict) or data.get("v") != VERSION:
        raise ValueError("not a status message of a known version")
    if data.get("kind") == "service":
        return _announcement(data)
    if data.get("kind") == "tally":
        return _tally(data)
    if data.get("kind") != "change":
        raise ValueError("not a status message of a known kind")
    try:
        return StatusChange(
            source=_text(data, "source"),
            event_id=_text(data, "event_id"),
            status=Status(_text(data, "status")),
            at=_time(data, "at"),
            service=_text(data, "service", optional=True),
            event_type=_text(data, "event_type", optional=True),
            received_at=_time(data, "received_at", optional=True),
            attempt=_attempt(data.get("attempt")),
            detail=_cut(_text(data, "detail", optional=True)),
            next_attempt_at=_time(data, "next_attempt_at", optional=True),
            replay=_count(data.get("replay", 0)),
        )
    except (TypeError, ValueError) as err:
        raise ValueError(f"bad status change: {err}") from None


BATCH_ROUTING_KEY = "batch"


def encode_batch(messages: Iterable[Message]) -> tuple[bytes, int]:
    """Several messages as one body, one JSON message per line, and how many were left out
    because JSON cannot carry them (a lone surrogate in an ID): one such message never holds
    the others back."""
    lines: list[bytes] = []
    skipped = 0
    for message in messages:
        try:
            lines.append(message.encode())
        except (TypeError, ValueError):
            skipped += 1
    return b"\n".join(lines), skipped


def decode_batch(body: bytes) -> tuple[list[Message], int]:
    """Every message of a body (one, or a batch of lines) and the number of lines that were
    not status messages (skipped: one bad line costs only itself)."""
    found: list[Message] = []
    bad = 0
    for line in body.split(b"\n"):
        try:
            found.append(decode(line))
        except ValueError:
            bad += 1
    return found, bad


def _announcement(data: dict[str, Any]) -> ServiceAnnouncement:
    patterns = data.get("patterns")
    tiers = data.get("tiers", [])
    limit = data.get("delivery_limit", 10)
    if not isinstance(patterns, list) or not all(isinstance(p, str) and p for p in patterns):
        raise ValueError("bad service announcement: patterns: expected a list of strings")
    if not isinstance(tiers, list) or not all(
        isinstance(s, int | float) and not isinstance(s, bool) and 0 < s < 1e9 for s in tiers
    ):
        raise ValueError("bad service announcement: tiers: expected a list of positive numbers")
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ValueError("bad service announcement: delivery_limit: expected a positive integer")
    try:
        service, at = _text(data, "service"), _time(data, "at")
    except ValueError as err:
        raise ValueError(f"bad service announcement: {err}") from None
    return ServiceAnnouncement(service, tuple(patterns), at, tuple(map(float, tiers)), limit)


_REASON = re.compile(r"[a-z][a-z_]{0,39}")
_TALLY_MAX = 64  # reasons in one tally: far more than there are refusals


def _tally(data: dict[str, Any]) -> Tally:
    counts, minute = data.get("counts"), data.get("minute")
    if not isinstance(minute, int) or isinstance(minute, bool) or not 0 <= minute < 1e10:
        raise ValueError("bad tally: minute: expected a Unix minute")
    if (
        not isinstance(counts, dict)
        or not 0 < len(counts) <= _TALLY_MAX
        or not all(
            isinstance(reason, str)
            and _REASON.fullmatch(reason)
            and isinstance(n, int)
            and not isinstance(n, bool)
            and 1 <= n <= _INT_MAX
            for reason, n in counts.items()
        )
    ):
        raise ValueError("bad tally: counts: expected {reason: positive integer}")
    try:
        source = _text(data, "source")
    except ValueError as err:
        raise ValueError(f"bad tally: {err}") from None
    return Tally(source, minute, tuple(sorted(counts.items())))


def overall(services: Iterable[Status]) -> Status | None:
    """The event's status from each service's: None when no service has it (yet)."""
    seen = set(services)
    if not seen:
        return None
    if Status.FAILED in seen:
        return Status.FAILED
    for pending in _PENDING:
        if pending in seen:
            return pending
    if seen == {Status.COMPLETED}:
        return Status.COMPLETED
    return Status.CANCELLED


def _text(data: dict[str, Any], key: str, *, optional: bool = False) -> Any:
    value = data.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key}: expected a non-empty string")
    if "\x00" in value:  # no store takes it (PostgreSQL text cannot hold NUL)
        raise ValueError(f"{key}: holds a NUL character")
    return value


def _time(data: dict[str, Any], key: str, *, optional: bool = False) -> Any:
    value = data.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value < 1e11:
        raise ValueError(f"{key}: expected a Unix time")
    return float(value)


def _attempt(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= _INT_MAX:
        raise ValueError("attempt: expected a positive 32-bit integer")
    return value


def _count(value: Any) -> int:
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= _INT_MAX:
        raise ValueError("replay: expected a non-negative 32-bit integer")
    return value


def _cut(text: str | None) -> str | None:
    """Free text (an error message) made storable: bounded, without NUL or lone surrogates
    (which JSON cannot carry and PostgreSQL cannot store)."""
    if text is None:
        return None
    text = text[:_TEXT_MAX].replace("\x00", "\ufffd")
    return text.encode("utf-8", "replace").decode("utf-8")
