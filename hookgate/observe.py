"""Outcomes, each recorded once and heard by every observer.

Every request the gateway answers, every spooled event it forwards and every delivery a
consumer answers ends in one outcome, a member of an enum below. The code that decides it
builds one small record and hands it to `Observers`, which calls each observer's hook in turn:
the metrics, the JSON log, and whatever else is plugged in (`gateway.app.create_app(observers=…)`,
`consumers.worker.Worker(observers=…)`). Dramatiq's middleware hooks (`after_process_message`)
are the model.

An enum's values are the strings the outside world sees: a gateway answer's JSON `status`, the
`outcome` label of the metrics, the `outcome` field of the logs. Renaming one breaks callers
and dashboards.

Hooks run on the hot path, after the answer is sent or the delivery acked: each is a plain
synchronous call that must not block (no I/O that can wait; hand slow work to a task or queue
of the observer's own). An observer that raises is logged, once per observer and error type,
and skipped: it never changes an answer or an ack.

Standard library only: every hookgate package imports this module, and it imports none of them.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

_log = logging.getLogger("hookgate.observe")


class IngestOutcome(enum.StrEnum):
    """How the gateway answered one request. `gateway.responses` maps each to its HTTP answer."""

    #: Verified, published, and confirmed by the broker.
    ACCEPTED = "accepted"
    #: Its event ID was already committed within the dedupe window; not published again.
    DUPLICATE = "duplicate"
    #: The broker did not confirm it; fsynced to the disk spool, to be forwarded later.
    SPOOLED = "spooled"
    #: Its event ID is being published by another request right now: retry shortly.
    IN_PROGRESS = "in_progress"
    #: A provider handshake (Slack url_verification, Meta hub.challenge, …), answered as the
    #: provider requires; nothing published.
    HANDSHAKE = "handshake"
    #: A header or parameter the provider's scheme requires is absent.
    MISSING_SIGNATURE = "missing_signature"
    #: The signature matches none of the source's secrets, or cannot be parsed.
    INVALID_SIGNATURE = "invalid_signature"
    #: The signed timestamp is outside the source's tolerance.
    STALE_TIMESTAMP = "stale_timestamp"
    #: The body lacks what the provider needs (event ID, type), or they cannot travel as AMQP.
    MALFORMED = "malformed"
    #: The source does not accept requests from the client's address.
    FORBIDDEN = "forbidden"
    #: No source with the name in the path is configured.
    UNKNOWN_SOURCE = "unknown_source"
    #: A method the source does not take.
    METHOD_NOT_ALLOWED = "method_not_allowed"
    #: The body is over `gateway.max_body_bytes`.
    TOO_LARGE = "too_large"
    #: The headers are too many or too large, or the event's AMQP properties overflow a frame.
    HEADERS_TOO_LARGE = "headers_too_large"
    #: The request's headers or body did not arrive in time.
    READ_TIMEOUT = "read_timeout"
    #: Neither the broker nor the spool could take the event, the dedupe store is down, or the
    #: connection is past `gateway.max_connections`: the caller should retry.
    UNAVAILABLE = "unavailable"
    #: The client hung up before its body was read: nothing was answered. (The broker
    #: connection being down is `PublishFailure.DISCONNECTED`, another thing.)
    DISCONNECTED = "disconnected"
    #: The provider failed unexpectedly (a bug): answered 500, nothing published.
    ERROR = "error"
    #: The key or certificate the signature needs could not be fetched (yet): answered 503,
    #: nothing published; the sender retries.
    KEY_UNAVAILABLE = "key_unavailable"


class PublishFailure(enum.StrEnum):
    """Why the broker did not confirm a publish: the `reason` of
    `hookgate_publish_failures_total`."""

    #: No connection to the broker. (A client hanging up is `IngestOutcome.DISCONNECTED`.)
    DISCONNECTED = "disconnected"
    #: The broker blocks publishers (a memory or disk alarm).
    BLOCKED = "blocked"
    #: No confirm within `gateway.publish_timeout_seconds`.
    TIMEOUT = "timeout"
    #: The connection or channel closed while the publish was in flight.
    CONNECTION_LOST = "connection_lost"
    #: The broker answered `Basic.Nack`.
    NACKED = "nacked"
    #: The broker returned the message (no alternate exchange: the topology is broken).
    UNROUTABLE = "unroutable"
    #: Too many publishes are awaiting confirms.
    OVERLOADED = "overloaded"
    #: The broker refused the gateway's login (credentials changed or revoked).
    AUTH_REFUSED = "auth_refused"


class ForwardOutcome(enum.StrEnum):
    """What the spool forwarder did with one spooled event."""

    #: Published and confirmed by the broker; deleted from the spool.
    FORWARDED = "forwarded"
    #: It can never be published as it is: moved to the spool's quarantine (`hookgate spool`).
    QUARANTINED = "quarantined"


class ConsumeOutcome(enum.StrEnum):
    """How a consumer service answered one delivery (`consumers.dispatch` decides)."""

    #: The handler returned: acked.
    SUCCESS = "success"
    #: The handler failed and a retry tier remains: a copy waits in that tier, then returns.
    RETRY = "retry"
    #: The handler failed and the tiers are used up: dead-lettered.
    DEAD_LETTERED = "dead_lettered"
    #: The handler raised `Reject`: dead-lettered at once.
    REJECTED = "rejected"
    #: The idempotency store says the event was completed already: acked, not run again.
    DUPLICATE = "duplicate"
    #: No handler of the service matches the event: dead-lettered, never dropped.
    UNMATCHED = "unmatched"
    #: The message's signature did not verify: dead-lettered, never handed to a handler.
    UNAUTHENTICATED = "unauthenticated"
    #: An operator cancelled the event (`hookgate events cancel`): acked, not run.
    CANCELLED = "cancelled"


# Records are made per request and per delivery: plain slotted classes, not frozen ones (a
# frozen dataclass sets each field through object.__setattr__, about 4 us more per record).
# Observers read them and never change them.
@dataclass(slots=True)
class IngestRecord:
    """One request the gateway answered."""

    #: The `source` metric label: a configured source's name, or `_unknown`.
    source: str
    #: The source's provider; None when the source is unknown.
    provider: str | None
    outcome: IngestOutcome
    #: The HTTP status answered (for `DISCONNECTED`, none was sent).
    status_code: int
    #: Seconds from the request's start to its answer.
    duration: float
    #: The event's ID and type, once it is verified and its ID claimed.
    event_id: str | None = None
    event_type: str | None = None
    #: Why the broker did not confirm, when it did not (`SPOOLED`, `UNAVAILABLE`).
    publish_failure: PublishFailure | None = None
    #: When the request arrived (Unix seconds).
    received_at: float | None = None


@dataclass(slots=True)
class ForwardRecord:
    """One spooled event the forwarder is done with."""

    source: str
    event_id: str
    outcome: ForwardOutcome
    event_type: str | None = None
    #: When the gateway received the event (Unix seconds).
    received_at: float | None = None
    #: When its publish began (Unix seconds): a consumer may start it before the confirm.
    sent_at: float | None = None


@dataclass(slots=True)
class StartRecord:
    """A handler is about to run one delivery: after the message was authenticated and the
    idempotency store said the event is not done yet."""

    service: str
    handler: str
    event_id: str
    source: str
    event_type: str
    attempt: int
    #: When the gateway received the event (Unix seconds), if the message says.
    received_at: float | None = None
    #: Times an operator replayed it (its attempts count again from 1 after each).
    replays: int = 0


@dataclass(slots=True)
class ConsumeRecord:
    """One delivery a consumer service answered (its copy confirmed, the original acked).

    The source, type and ID of an `UNAUTHENTICATED` message are only what it claims."""

    service: str
    #: The handler's name, or `_unmatched` / `_unauthenticated`.
    handler: str
    event_id: str
    source: str
    event_type: str
    attempt: int
    outcome: ConsumeOutcome
    #: Seconds from the delivery's arrival to its ack.
    duration: float
    #: The retry tier it waits in (`RETRY`).
    retry_delay: float | None = None
    #: The error's type and message, when the handler (or the message) failed.
    failure_type: str | None = None
    failure_message: str | None = None
    #: When the gateway received the event (Unix seconds), if the message says.
    received_at: float | None = None
    #: Times an operator replayed it (its attempts count again from 1 after each).
    replays: int = 0


class Observer(Protocol):
    """Hears every outcome. Hooks are synchronous, run on the hot path, and must not block."""

    def on_ingest(self, record: IngestRecord) -> None: ...
    def on_forwarded(self, record: ForwardRecord) -> None: ...
    def on_started(self, record: StartRecord) -> None: ...
    def on_consumed(self, record: ConsumeRecord) -> None: ...


class BaseObserver:
    """Every hook does nothing: subclass it and override only the hooks you need (`Observers`
    then never calls the others)."""

    def on_ingest(self, record: IngestRecord) -> None:
        pass

    def on_forwarded(self, record: ForwardRecord) -> None:
        pass

    def on_started(self, record: StartRecord) -> None:
        pass

    def on_consumed(self, record: ConsumeRecord) -> None:
        pass


class Observers(BaseObserver):
    """The fan-out: one call per outcome reaches every observer, in the order given.

    The hooks each observer overrides are looked up once, here: the hot path calls only
    those. An observer that raises is skipped, and logged the first time each observer type
    fails with each error type; `failures` counts every time.
    """

    def __init__(self, observers: Iterable[Observer]) -> None:
        self.observers = tuple(observers)
        self.failures = 0
        self._ingest = _hooks(self.observers, "on_ingest")
        self._forwarded = _hooks(self.observers, "on_forwarded")
        # Optional: an observer written before the hook existed still plugs in.
        self._started = _hooks(self.observers, "on_started", optional=True)
        self._consumed = _hooks(self.observers, "on_consumed")
        self._logged: set[tuple[type, type]] = set()

    def on_ingest(self, record: IngestRecord) -> None:
        self._call(self._ingest, record)

    def on_forwarded(self, record: ForwardRecord) -> None:
        self._call(self._forwarded, record)

    def on_started(self, record: StartRecord) -> None:
        self._call(self._started, record)

    def on_consumed(self, record: ConsumeRecord) -> None:
        self._call(self._consumed, record)

    def _call(self, hooks: tuple[Callable[..., None], ...], record: object) -> None:
        for hook in hooks:
            try:
                hook(record)
            except Exception as err:
                self._failed(hook, err)

    def _failed(self, hook: Callable[..., None], err: Exception) -> None:
        self.failures += 1
        owner = type(getattr(hook, "__self__", hook))
        if (owner, type(err)) in self._logged:
            return
        self._logged.add((owner, type(err)))
        _log.error(
            "an observer failed; the outcome stands (logged once per observer and error type)",
            exc_info=err,
            extra={
                "fields": {
                    "observer": owner.__qualname__,
                    "hook": getattr(hook, "__name__", "?"),
                    "error": f"{type(err).__name__}: {err}"[:300],
                }
            },
        )


def _hooks(
    observers: tuple[Observer, ...], name: str, *, optional: bool = False
) -> tuple[Callable[..., None], ...]:
    noop = getattr(BaseObserver, name)
    return tuple(
        getattr(o, name)
        for o in observers
        if getattr(type(o), name, None) is not noop and (not optional or hasattr(o, name))
    )
