"""The recorder's metrics (`hookgate_ledger_*`), every label set initialised up front."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from hookgate.status import Status

#: The `kind` label: a change's status, `service` for an announcement, `tally` for the
#: gateway's counts of refusals.
KINDS = (*(status.value for status in Status), "service", "tally")


class RecorderMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        counter = Counter(
            "hookgate_ledger_status_messages",
            "Status messages recorded into the ledger, by kind (a status, service, or tally)",
            ["kind"],
            registry=registry,
        )
        self.messages = {kind: counter.labels(kind=kind) for kind in KINDS}
        self.bad_messages = Counter(
            "hookgate_ledger_bad_messages",
            "Messages on the status exchange that were not status messages (acked away)",
            registry=registry,
        )
        self.store_errors = Counter(
            "hookgate_ledger_store_errors",
            "Ledger calls that failed (the batch is held and retried; pruning tries later)",
            registry=registry,
        )
        self.lag = Gauge(
            "hookgate_ledger_lag_seconds",
            "Now minus the time of the last change recorded, when it was recorded",
            registry=registry,
        )
