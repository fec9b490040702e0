"""Which `hookgate_requests_total{source, outcome}` label sets can happen, so that only those
are created up front.

A label set created at startup is a series at 0 from the first scrape: `rate()` and
`increase()` see its first event, and a dashboard shows a zero rather than a gap. A label set
that can never happen (a handshake for a provider that has none, `unknown_source` for a
configured source, `spooled` with the spool off) is only noise: a dashboard row of zeros that
invites the wrong question, and more series per source. Outcomes not listed here are still
counted: `GatewayMetrics` creates their label set the first time one happens.
"""

from __future__ import annotations

from gateway.sources import Source
from hookgate.observe import IngestOutcome

#: What any configured source can answer, whatever its provider and options.
COMMON_OUTCOMES = frozenset(
    {
        IngestOutcome.ACCEPTED,
        IngestOutcome.DUPLICATE,
        IngestOutcome.IN_PROGRESS,
        IngestOutcome.MISSING_SIGNATURE,
        IngestOutcome.INVALID_SIGNATURE,
        IngestOutcome.MALFORMED,
        IngestOutcome.METHOD_NOT_ALLOWED,
        IngestOutcome.TOO_LARGE,
        IngestOutcome.HEADERS_TOO_LARGE,  # the event's AMQP properties overflow a frame
        IngestOutcome.READ_TIMEOUT,  # the body did not arrive in time
        IngestOutcome.UNAVAILABLE,  # neither broker nor spool took it, or dedupe is down
        IngestOutcome.DISCONNECTED,
        IngestOutcome.ERROR,  # a provider bug: rare, and exactly what an alert must see from 0
    }
)

#: What `source="_unknown"` can count: a path naming no configured source, and what the HTTP
#: layer refuses before any source is known (headers too slow or too large, a connection past
#: `gateway.max_connections`).
UNKNOWN_SOURCE_OUTCOMES = frozenset(
    {
        IngestOutcome.UNKNOWN_SOURCE,
        IngestOutcome.HEADERS_TOO_LARGE,
        IngestOutcome.READ_TIMEOUT,
        IngestOutcome.UNAVAILABLE,
    }
)


def possible_outcomes(source: Source, *, spool: bool) -> frozenset[IngestOutcome]:
    """The outcomes `source` can produce with this config. A handshake is listed only for a
    provider that takes GET (Meta's, Dropbox's `challenge`): whether a POST-only provider
    answers handshakes is its own business, known when the first one happens."""
    outcomes = set(COMMON_OUTCOMES)
    if spool:
        outcomes.add(IngestOutcome.SPOOLED)
    if source.allowed_ips:
        outcomes.add(IngestOutcome.FORBIDDEN)
    if source.signed_timestamp:
        outcomes.add(IngestOutcome.STALE_TIMESTAMP)
    if "GET" in source.methods:
        outcomes.add(IngestOutcome.HANDSHAKE)
    return frozenset(outcomes)
