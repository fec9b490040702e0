"""The gateway's side of event status: each outcome that puts an event on the broker (or the
spool) becomes one `hookgate.status.StatusChange`, handed to a `StatusPublisher` that never
waits; refusals are counted per source, reason and minute and sent as a `Tally` every
`TALLY_SECONDS` (a flood of forged requests costs a few messages, not one each). Emitted only
when the deployment runs `hookgate admin` (an `[admin]` table)."""

from __future__ import annotations

import asyncio
import contextlib
import time

from hookgate.observe import (
    BaseObserver,
    ForwardOutcome,
    ForwardRecord,
    IngestOutcome,
    IngestRecord,
)
from hookgate.status import Status, StatusChange, Tally
from hookgate.status_publisher import StatusPublisher

_STATUS = {
    IngestOutcome.ACCEPTED: Status.ACCEPTED,
    IngestOutcome.SPOOLED: Status.SPOOLED,
    IngestOutcome.DUPLICATE: Status.DUPLICATE,
}
#: Not refusals: answered as the provider wants, or a status change of its own.
_UNCOUNTED = frozenset((*_STATUS, IngestOutcome.HANDSHAKE))
TALLY_SECONDS = 5.0


class GatewayStatus(BaseObserver):
    """accepted, spooled, duplicate (verified events with an ID only), forwarded; and the
    tallies of refusals."""

    def __init__(self, publisher: StatusPublisher) -> None:
        self._emit = publisher.emit
        self._refused: dict[tuple[str, int, str], int] = {}
        publisher.before_close.append(self.flush)

    def on_ingest(self, record: IngestRecord) -> None:
        status = _STATUS.get(record.outcome)
        if status is None:
            if record.outcome not in _UNCOUNTED:
                self._count(record)
            return
        if record.event_id is None:
            return
        # Stamped with the request's arrival: always before any consumer could start it.
        self._emit(
            StatusChange(
                source=record.source,
                event_id=record.event_id,
                status=status,
                at=record.received_at or time.time(),
                event_type=record.event_type,
                received_at=record.received_at,
            )
        )

    def on_forwarded(self, record: ForwardRecord) -> None:
        if record.outcome is not ForwardOutcome.FORWARDED:
            return
        self._emit(
            StatusChange(
                source=record.source,
                event_id=record.event_id,
                status=Status.FORWARDED,
                # When its publish began: a consumer may start it before the confirm arrives.
                at=record.sent_at or time.time(),
                event_type=record.event_type,
                received_at=record.received_at,
            )
        )

    def _count(self, record: IngestRecord) -> None:
        # `source` is a configured source or `_unknown`: never what a request made up.
        key = (record.source, int(time.time() // 60), record.outcome.value)
        if not self._refused:
            with contextlib.suppress(RuntimeError):  # no loop (a test's direct call): at close
                asyncio.get_running_loop().call_later(TALLY_SECONDS, self.flush)
        self._refused[key] = self._refused.get(key, 0) + 1

    def flush(self) -> None:
        """Emit the refusals counted since the last flush, one `Tally` per source and minute."""
        refused, self._refused = self._refused, {}
        tallies: dict[tuple[str, int], list[tuple[str, int]]] = {}
        for (source, minute, reason), n in refused.items():
            tallies.setdefault((source, minute), []).append((reason, n))
        for (source, minute), counts in sorted(tallies.items()):
            self._emit(Tally(source, minute, tuple(sorted(counts))))
