"""What an event's timeline adds up to: each service's state and the event's status.

Pure and shared by every ledger backend, so that they all agree: a backend stores the
changes and the state `EventState.apply` computes from them, nothing else.

Cancel: the admin API records `cancelled` for a service (no attempt, "cancelled by api") when
the operator asks; the consumer's skip, later, is the same change (`StatusChange.key`) and is
recorded once. A `running` or `retrying` on either side of a `cancelled` never undoes it,
whatever their order (a handler that was running when the cancel came may still fail; its
next delivery is skipped): the service stays `cancelled`. A later `completed` or `failed`
(the running handler finished after all) and a `queued` (a replay) do replace it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from hookgate.status import SERVICE_STATUSES, Status, StatusChange, overall

_GATEWAY_STEPS = (Status.ACCEPTED, Status.SPOOLED, Status.FORWARDED)
_FAILING = (Status.RETRYING, Status.FAILED)
_NEVER = (-1.0, 0, 0)
_ACTIVE = frozenset((Status.RUNNING, Status.RETRYING))  # what a cancel outranks


@dataclass(frozen=True, slots=True)
class ServiceState:
    """Where one service is with one event."""

    status: Status
    attempts: int = 0
    last_error: str | None = None
    next_attempt_at: float | None = None
    #: The `order` of the change this state comes from: an older change arriving late
    #: (status messages are not ordered across processes) does not overwrite it.
    since: tuple[float, int, int] = (0.0, 0, 0)
    #: The same for `last_error`: the latest failure's, in whatever order they arrive.
    error_since: tuple[float, int, int] = (-1.0, 0, 0)


@dataclass(frozen=True, slots=True)
class EventState:
    """One event as the ledger sees it."""

    source: str
    event_id: str
    type: str | None = None
    received_at: float | None = None
    #: The gateway's latest step (`accepted`, `spooled`, `forwarded`), None before any.
    gateway: Status | None = None
    duplicates: int = 0
    services: dict[str, ServiceState] = field(default_factory=dict)
    updated_at: float = 0.0

    @property
    def status(self) -> Status:
        """The event's status: from its services (`hookgate.status.overall`), else the
        gateway's last step, else `queued` (a service changed before the gateway's
        message arrived)."""
        from_services = overall(state.status for state in self.services.values())
        return from_services or self.gateway or Status.QUEUED

    def apply(self, change: StatusChange) -> EventState:
        """The state after `change`. A ledger applies a change only the first time it sees
        its `key`; changes may arrive in any order, and a service's state follows the
        latest by `StatusChange.order` (but a cancel outranks `running` and `retrying`: see the
        module's docstring)."""
        state = replace(
            self,
            type=self.type or change.event_type,
            received_at=self.received_at or change.received_at,
            updated_at=max(self.updated_at, change.at),
        )
        if change.service is None:
            if change.status is Status.DUPLICATE:
                return replace(state, duplicates=state.duplicates + 1)
            if change.status in _GATEWAY_STEPS:
                return replace(state, gateway=change.status)
            return state  # `replayed`: on the timeline only
        if change.status not in SERVICE_STATUSES:
            return state
        current = state.services.get(change.service)
        attempts = max(change.attempt or 0, current.attempts if current else 0)
        error, error_since = (
            (current.last_error, current.error_since) if current else (None, _NEVER)
        )
        if change.status in _FAILING and change.detail and change.order > error_since:
            error, error_since = change.detail, change.order
        if current is None or _outranks(change, current):
            updated = ServiceState(
                status=change.status,
                attempts=attempts,
                last_error=error,
                next_attempt_at=change.next_attempt_at
                if change.status is Status.RETRYING
                else None,
                since=change.order,
                error_since=error_since,
            )
        else:  # an older change arriving late adds its attempt and error, not its status
            updated = replace(current, attempts=attempts, last_error=error, error_since=error_since)
        return replace(state, services={**state.services, change.service: updated})


def _outranks(change: StatusChange, current: ServiceState) -> bool:
    """Whether `change` sets the service's status: the latest by order, except that a
    `cancelled` outranks a `running` or `retrying` whatever their order."""
    pair = (change.status, current.status)
    if Status.CANCELLED in pair and _ACTIVE.intersection(pair):
        return change.status is Status.CANCELLED
    return change.order >= current.since
