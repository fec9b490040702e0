"""gateway.metric_labels: a source's request counters exist up front only for the outcomes its
provider and options can produce."""

from __future__ import annotations

import ipaddress

from gateway.metric_labels import COMMON_OUTCOMES, UNKNOWN_SOURCE_OUTCOMES, possible_outcomes
from gateway.sources import Source
from hookgate.observe import IngestOutcome


def _source(**options: object) -> Source:
    fields: dict[str, object] = {
        "name": "s",
        "provider_name": "hmac",
        "provider": object(),
        "methods": frozenset({"POST"}),
        "allow_header": "POST",
    }
    fields.update(options)
    return Source(**fields)  # type: ignore[arg-type]


def test_a_plain_source_can_produce_only_the_common_outcomes() -> None:
    assert possible_outcomes(_source(), spool=False) == COMMON_OUTCOMES


def test_never_unknown_source_for_a_configured_source() -> None:
    assert IngestOutcome.UNKNOWN_SOURCE not in possible_outcomes(_source(), spool=True)


def test_spooled_only_with_the_spool_on() -> None:
    assert IngestOutcome.SPOOLED in possible_outcomes(_source(), spool=True)
    assert IngestOutcome.SPOOLED not in possible_outcomes(_source(), spool=False)


def test_forbidden_only_with_allowed_ips() -> None:
    limited = _source(allowed_ips=(ipaddress.ip_network("192.0.2.0/24"),))
    assert IngestOutcome.FORBIDDEN in possible_outcomes(limited, spool=False)
    assert IngestOutcome.FORBIDDEN not in possible_outcomes(_source(), spool=False)


def test_stale_timestamp_only_for_signed_timestamps() -> None:
    assert IngestOutcome.STALE_TIMESTAMP in possible_outcomes(
        _source(signed_timestamp=True), spool=False
    )
    assert IngestOutcome.STALE_TIMESTAMP not in possible_outcomes(_source(), spool=False)


def test_handshake_up_front_only_for_a_get_handshake() -> None:
    meta = _source(methods=frozenset({"GET", "POST"}), allow_header="GET, POST")
    assert IngestOutcome.HANDSHAKE in possible_outcomes(meta, spool=False)
    assert IngestOutcome.HANDSHAKE not in possible_outcomes(_source(), spool=False)


def test_the_unknown_source_label_counts_only_edge_refusals() -> None:
    assert {
        IngestOutcome.UNKNOWN_SOURCE,
        IngestOutcome.HEADERS_TOO_LARGE,
        IngestOutcome.READ_TIMEOUT,
        IngestOutcome.UNAVAILABLE,
    } == UNKNOWN_SOURCE_OUTCOMES
