"""An operator's cancel of an event, as it travels from `hookgate admin` to the consumers.

The admin API appends one `Cancellation` per request, with a publisher confirm, to the stream
`{exchange}.cancellations` (`hookgate.topology.cancel_stream`). Every consumer process that
emits status reads that stream from its start and keeps what it read in memory
(`consumers.cancellations`): a delivery of a cancelled event is then acked without running,
whether it came from the work queue or back from a retry tier.

`services` maps each service to the replay round the cancel is for (`hookgate-replays`, 0
before any replay): an operator's later replay of the event runs again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

VERSION = 1


@dataclass(frozen=True, slots=True)
class Cancellation:
    source: str
    event_id: str
    #: service → the replay round cancelled (deliveries with `replays` up to it are skipped)
    services: dict[str, int]
    at: float
    by: str = "api"

    def encode(self) -> bytes:
        return orjson.dumps(
            {
                "v": VERSION,
                "source": self.source,
                "event_id": self.event_id,
                "services": self.services,
                "at": self.at,
                "by": self.by,
            }
        )


def decode(body: bytes) -> Cancellation:
    """A stream message read back; `ValueError` for anything that is not one."""
    try:
        data: Any = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise ValueError(f"not JSON: {err}") from None
    if not isinstance(data, dict) or data.get("v") != VERSION:
        raise ValueError("not a cancellation of a known version")
    source, event_id, services = data.get("source"), data.get("event_id"), data.get("services")
    at, by = data.get("at"), data.get("by", "api")
    if not (isinstance(source, str) and source and isinstance(event_id, str) and event_id):
        raise ValueError("source, event_id: expected non-empty strings")
    if not isinstance(services, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v >= 0
        for k, v in services.items()
    ):
        raise ValueError("services: expected {name: replay round}")
    if not isinstance(at, int | float) or isinstance(at, bool) or not isinstance(by, str):
        raise ValueError("at, by: expected a Unix time and a string")
    return Cancellation(source, event_id, dict(services), float(at), by)
