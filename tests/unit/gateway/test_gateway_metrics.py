"""gateway.metrics: names, pre-initialised label sets, counting into the right sample."""

from __future__ import annotations

import platform

import pytest
from prometheus_client import CollectorRegistry

from gateway.metric_labels import COMMON_OUTCOMES
from gateway.metrics import UNKNOWN_SOURCE, GatewayMetrics
from hookgate.observe import (
    ForwardOutcome,
    ForwardRecord,
    IngestOutcome,
    IngestRecord,
    PublishFailure,
)
from hookgate.process_metrics import version

SOURCES = ("stripe", "github-app")


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def metrics(registry: CollectorRegistry) -> GatewayMetrics:
    return GatewayMetrics(registry, SOURCES)


def _request(metrics: GatewayMetrics, source: str, outcome: str, seconds: float) -> None:
    metrics.on_ingest(IngestRecord(source, "stripe", IngestOutcome(outcome), 200, seconds))


def _requests(registry: CollectorRegistry, source: str, outcome: str) -> float | None:
    return registry.get_sample_value(
        "hookgate_requests_total", {"source": source, "outcome": outcome}
    )


@pytest.mark.usefixtures("metrics")
@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("outcome", list(IngestOutcome))
def test_request_counter_starts_at_zero_only_for_outcomes_a_source_can_have(
    registry: CollectorRegistry, source: str, outcome: IngestOutcome
) -> None:
    expected = 0.0 if outcome in COMMON_OUTCOMES else None
    assert _requests(registry, source, outcome) == expected


@pytest.mark.usefixtures("metrics")
@pytest.mark.parametrize("outcome", list(IngestOutcome))
def test_unknown_source_starts_at_zero_only_for_what_can_reach_it(
    registry: CollectorRegistry, outcome: IngestOutcome
) -> None:
    can = {"unknown_source", "headers_too_large", "read_timeout", "unavailable"}
    assert _requests(registry, UNKNOWN_SOURCE, outcome) == (0.0 if outcome in can else None)


def test_outcomes_given_per_source_are_the_ones_created(registry: CollectorRegistry) -> None:
    outcomes = {IngestOutcome.ACCEPTED, IngestOutcome.SPOOLED}
    GatewayMetrics(registry, {"slack": outcomes | {IngestOutcome.HANDSHAKE}, "stripe": outcomes})
    assert _requests(registry, "slack", "handshake") == 0.0
    assert _requests(registry, "stripe", "handshake") is None
    assert _requests(registry, "stripe", "spooled") == 0.0
    assert _requests(registry, "stripe", "invalid_signature") is None


def test_an_outcome_not_foreseen_is_still_counted(
    registry: CollectorRegistry, metrics: GatewayMetrics
) -> None:
    # A POST-only plugin may answer handshakes: not pre-created, counted when it happens.
    assert _requests(registry, "stripe", "handshake") is None
    _request(metrics, "stripe", "handshake", 0.001)
    _request(metrics, "stripe", "handshake", 0.001)
    assert _requests(registry, "stripe", "handshake") == 2.0


@pytest.mark.usefixtures("metrics")
@pytest.mark.parametrize("source", [*SOURCES, UNKNOWN_SOURCE])
def test_request_duration_starts_empty_for_each_source(
    registry: CollectorRegistry, source: str
) -> None:
    labels = {"source": source}
    assert registry.get_sample_value("hookgate_request_duration_seconds_count", labels) == 0.0
    assert registry.get_sample_value("hookgate_request_duration_seconds_sum", labels) == 0.0


@pytest.mark.usefixtures("metrics")
@pytest.mark.parametrize("reason", list(PublishFailure))
def test_publish_failures_start_at_zero_for_each_reason(
    registry: CollectorRegistry, reason: str
) -> None:
    value = registry.get_sample_value("hookgate_publish_failures_total", {"reason": reason})
    assert value == 0.0


@pytest.mark.usefixtures("metrics")
def test_broker_starts_disconnected(registry: CollectorRegistry) -> None:
    assert registry.get_sample_value("hookgate_broker_connected") == 0.0


def test_no_label_set_for_unconfigured_sources(
    registry: CollectorRegistry, metrics: GatewayMetrics
) -> None:
    assert _requests(registry, "gitlab", "accepted") is None


def test_request_increments_only_its_own_sample(
    registry: CollectorRegistry, metrics: GatewayMetrics
) -> None:
    _request(metrics, "stripe", "accepted", 0.02)
    _request(metrics, "stripe", "accepted", 0.03)
    _request(metrics, "github-app", "invalid_signature", 0.001)

    assert _requests(registry, "stripe", "accepted") == 2.0
    assert _requests(registry, "github-app", "invalid_signature") == 1.0
    assert _requests(registry, "stripe", "invalid_signature") == 0.0
    assert _requests(registry, "github-app", "accepted") == 0.0
    assert _requests(registry, UNKNOWN_SOURCE, "accepted") is None


def test_request_observes_duration_for_its_source(
    registry: CollectorRegistry, metrics: GatewayMetrics
) -> None:
    _request(metrics, "stripe", "accepted", 0.02)
    _request(metrics, "stripe", "duplicate", 0.5)

    labels = {"source": "stripe"}
    assert registry.get_sample_value("hookgate_request_duration_seconds_count", labels) == 2.0
    assert registry.get_sample_value(
        "hookgate_request_duration_seconds_sum", labels
    ) == pytest.approx(0.52)
    bucket = {"source": "stripe", "le": "0.025"}
    assert registry.get_sample_value("hookgate_request_duration_seconds_bucket", bucket) == 1.0
    other = {"source": "github-app"}
    assert registry.get_sample_value("hookgate_request_duration_seconds_count", other) == 0.0


def test_unknown_source_requests_count_under_the_unknown_label(
    registry: CollectorRegistry, metrics: GatewayMetrics
) -> None:
    _request(metrics, UNKNOWN_SOURCE, "unknown_source", 0.0001)
    assert _requests(registry, UNKNOWN_SOURCE, "unknown_source") == 1.0


def test_request_for_an_unconfigured_source_never_creates_a_label(
    registry: CollectorRegistry, metrics: GatewayMetrics
) -> None:
    with pytest.raises(KeyError):
        _request(metrics, "attacker-chosen", "accepted", 0.01)
    with pytest.raises(KeyError):
        _request(metrics, "attacker-chosen", "handshake", 0.01)
    assert _requests(registry, "attacker-chosen", "accepted") is None
    assert _requests(registry, "attacker-chosen", "handshake") is None


def test_spool_limit_is_a_metric(registry: CollectorRegistry) -> None:
    GatewayMetrics(registry, SOURCES, spool_max_bytes=5_000_000)
    assert registry.get_sample_value("hookgate_spool_max_bytes") == 5_000_000


@pytest.mark.usefixtures("metrics")
def test_spool_limit_is_zero_when_not_given(registry: CollectorRegistry) -> None:
    assert registry.get_sample_value("hookgate_spool_max_bytes") == 0


@pytest.mark.usefixtures("metrics")
def test_build_info_and_process_metrics_are_exported(registry: CollectorRegistry) -> None:
    labels = {"version": version(), "component": "gateway", "python": platform.python_version()}
    assert registry.get_sample_value("hookgate_build_info", labels) == 1
    assert registry.get_sample_value("process_resident_memory_bytes")
    assert registry.get_sample_value("process_cpu_seconds_total") is not None
    assert registry.get_sample_value("process_open_fds")


def test_publish_failed_increments_its_reason(
    registry: CollectorRegistry, metrics: GatewayMetrics
) -> None:
    metrics.publish_failed(PublishFailure.TIMEOUT)
    metrics.publish_failed(PublishFailure.TIMEOUT)
    metrics.publish_failed(PublishFailure.NACKED)

    def value(reason: str) -> float | None:
        return registry.get_sample_value("hookgate_publish_failures_total", {"reason": reason})

    assert value("timeout") == 2.0
    assert value("nacked") == 1.0
    assert value("disconnected") == 0.0


def test_publish_duration_is_observed_directly(
    registry: CollectorRegistry, metrics: GatewayMetrics
) -> None:
    metrics.publish_duration.observe(0.004)
    assert registry.get_sample_value("hookgate_publish_duration_seconds_count") == 1.0


def test_broker_connected_gauge_follows_set(
    registry: CollectorRegistry, metrics: GatewayMetrics
) -> None:
    metrics.broker_connected.set(1)
    assert registry.get_sample_value("hookgate_broker_connected") == 1.0


def test_exposition_contains_every_gateway_metric_name(metrics: GatewayMetrics) -> None:
    _request(metrics, "stripe", "accepted", 0.01)
    text = metrics.exposition().decode()
    for name in (
        "hookgate_requests_total",
        "hookgate_request_duration_seconds_bucket",
        "hookgate_publish_duration_seconds_count",
        "hookgate_publish_failures_total",
        "hookgate_broker_connected",
    ):
        assert f"\n{name}" in text, name
    assert 'hookgate_requests_total{outcome="accepted",source="stripe"} 1.0' in text
    assert "# TYPE hookgate_requests_total counter" in text


def test_each_instance_owns_its_registry(metrics: GatewayMetrics) -> None:
    # No global state: a second instance on a fresh registry neither collides nor shares values.
    other_registry = CollectorRegistry()
    other = GatewayMetrics(other_registry, ["stripe"])
    _request(metrics, "stripe", "accepted", 0.01)
    assert _requests(other_registry, "stripe", "accepted") == 0.0
    assert other.registry is other_registry


def test_forwarded_events_are_counted_and_quarantined_ones_are_not(
    registry: CollectorRegistry, metrics: GatewayMetrics
) -> None:
    metrics.on_forwarded(ForwardRecord("stripe", "evt_1", ForwardOutcome.FORWARDED))
    metrics.on_forwarded(ForwardRecord("stripe", "evt_2", ForwardOutcome.FORWARDED))
    metrics.on_forwarded(ForwardRecord("stripe", "evt_3", ForwardOutcome.QUARANTINED))
    assert registry.get_sample_value("hookgate_spool_forwarded_total") == 2.0
