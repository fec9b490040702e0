"""What a chaos scenario counted, by event ID, and how it is reported.

`count_delivery` turns the load generator's answers and the consumer's records into figures;
`Figures.report` prints one summary line and stores every figure in the test report
(`record_property`), and the suite's terminal summary repeats the lines.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field

SUMMARY_KEY = "chaos_summary"


@dataclass
class Figures:
    """sent: events sent; ok: answered 2xx (at any attempt); unavailable: 503 answers;
    other: any other answer (or none); delivered: 2xx events a handler completed (or, where
    counted, dead-lettered); lost: 2xx events never delivered (must be 0); duplicates:
    completions beyond the first, summed over events; dlq: messages in the service's DLQ."""

    scenario: str
    sent: int = 0
    ok: int = 0
    unavailable: int = 0
    other: int = 0
    delivered: int = 0
    lost: int = 0
    duplicates: int = 0
    dlq: int = 0
    extra: dict[str, object] = field(default_factory=dict)
    lost_ids: list[str] = field(default_factory=list)

    def line(self) -> str:
        parts = [
            f"scenario={self.scenario}",
            f"sent={self.sent}",
            f"2xx={self.ok}",
            f"503={self.unavailable}",
            f"other={self.other}",
            f"delivered={self.delivered}",
            f"lost={self.lost}",
            f"duplicates={self.duplicates}",
            f"dlq={self.dlq}",
            *(f"{key}={value}" for key, value in self.extra.items()),
        ]
        return "CHAOS " + " ".join(parts)

    def report(self, record_property: Callable[[str, object], None]) -> None:
        print(self.line())
        record_property(SUMMARY_KEY, self.line())
        for key in ("sent", "ok", "unavailable", "other", "delivered", "lost", "duplicates"):
            record_property(key, getattr(self, key))
        record_property("dlq", self.dlq)
        for key, value in self.extra.items():
            record_property(key, value)


def count_delivery(
    figures: Figures,
    accepted: Collection[str],
    records: Iterable[tuple[str, str, int]],
    *,
    dead: Collection[str] = (),
) -> None:
    """Fill delivered/lost/duplicates from the consumer's `(start|done, id, pid)` records:
    an accepted event is delivered when a handler finished it or it is in `dead` (the DLQ)."""
    done = collections.Counter(event_id for kind, event_id, _ in records if kind == "done")
    reached = set(done) | set(dead)
    lost = sorted(event_id for event_id in accepted if event_id not in reached)
    figures.delivered = len(accepted) - len(lost)
    figures.lost = len(lost)
    figures.lost_ids = lost[:20]
    figures.duplicates = sum(count - 1 for count in done.values() if count > 1)
    figures.extra["completed_without_2xx"] = len(set(done) - set(accepted))
