"""The SQL ledgers' schema and statements, shared by `ledger_sqlite` and `ledger_postgres`
(written with `?` placeholders; `numbered` turns them into PostgreSQL's `$n`), and the one
search query, which pages with the memory ledger's cursors (`ledger_memory`).

Tables:
- `ledger_events`: one row per event: its `EventState` columns, the overall `status`, and
  `sort_at` (`received_at`, else the latest change's time), the paging order with source and ID.
- `ledger_states`: one row per event and service: a `ServiceState`.
- `ledger_timeline`: every change, unique on its key (`StatusChange.key`: the event's row, then
  service, status, attempt and, for repeatable changes, time).
- `ledger_services`: the latest announcement of each service.
- `ledger_counts`: outcomes per source or service and minute (`admin.ledger.Count`), for rates
  and charts; pruned with the events.
- `ledger_sources`: each source's latest event time (a silent source still shows when it last
  sent, however long ago).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from admin.ledger import EventQuery

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger_events (
    id {id},
    source {text} NOT NULL,
    event_id {text} NOT NULL,
    type {text},
    received_at {real},
    gateway {text},
    duplicates INTEGER NOT NULL DEFAULT 0,
    status {text} NOT NULL DEFAULT 'queued',
    sort_at {real} NOT NULL DEFAULT 0,
    updated_at {real} NOT NULL DEFAULT 0,
    UNIQUE (source, event_id)
);
CREATE INDEX IF NOT EXISTS ledger_events_sort ON ledger_events (sort_at, source, event_id);
CREATE INDEX IF NOT EXISTS ledger_events_source ON ledger_events (source, sort_at, event_id);
CREATE INDEX IF NOT EXISTS ledger_events_status
    ON ledger_events (status, sort_at, source, event_id);
CREATE INDEX IF NOT EXISTS ledger_events_type ON ledger_events (type, sort_at, source, event_id);
CREATE INDEX IF NOT EXISTS ledger_events_updated ON ledger_events (updated_at);
CREATE TABLE IF NOT EXISTS ledger_states (
    event BIGINT NOT NULL,
    service {text} NOT NULL,
    status {text} NOT NULL,
    attempts INTEGER NOT NULL,
    last_error {text},
    next_attempt_at {real},
    since_at {real} NOT NULL,
    since_attempt INTEGER NOT NULL,
    since_rank INTEGER NOT NULL,
    error_at {real} NOT NULL,
    error_attempt INTEGER NOT NULL,
    error_rank INTEGER NOT NULL,
    PRIMARY KEY (event, service)
){keyed};
CREATE INDEX IF NOT EXISTS ledger_states_service ON ledger_states (service, event);
CREATE TABLE IF NOT EXISTS ledger_timeline (
    event BIGINT NOT NULL,
    service {text} NOT NULL,
    status {text} NOT NULL,
    attempt INTEGER NOT NULL,
    repeat_at {real} NOT NULL,
    at {real} NOT NULL,
    event_type {text},
    received_at {real},
    detail {text},
    next_attempt_at {real},
    PRIMARY KEY (event, service, status, attempt, repeat_at)
){keyed};
CREATE TABLE IF NOT EXISTS ledger_services (
    service {text} PRIMARY KEY,
    patterns {text} NOT NULL,
    at {real} NOT NULL,
    tiers {text} NOT NULL,
    delivery_limit INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger_counts (
    minute BIGINT NOT NULL,
    kind {text} NOT NULL,
    name {text} NOT NULL,
    outcome {text} NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (minute, kind, name, outcome)
){keyed};
CREATE TABLE IF NOT EXISTS ledger_sources (
    source {text} PRIMARY KEY,
    last_event_at {real} NOT NULL
);
"""


def schema(*, id: str, text: str, real: str, keyed: str = "") -> str:
    """The tables and indexes in one dialect: the event row's `id` column, the types of text
    and of floating-point columns, and the options of a table keyed by its primary key."""
    return _SCHEMA.format(id=id, text=text, real=real, keyed=keyed)


#: After the event's row: the change's key, then what else it says.
TIMELINE_COLUMNS = (
    "service, status, attempt, repeat_at, at, event_type, received_at, detail, next_attempt_at"
)
STATE_COLUMNS = (
    "service, status, attempts, last_error, next_attempt_at, "
    "since_at, since_attempt, since_rank, error_at, error_attempt, error_rank"
)
EVENT_COLUMNS = "type, received_at, gateway, duplicates, status, sort_at, updated_at"
SERVICE_COLUMNS = "service, patterns, at, tiers, delivery_limit"
_STATES_OF_EVENT = "ledger_states s WHERE s.event = e.id"  # the search's service filter

# The statements both backends run, with `?` placeholders (`numbered` for PostgreSQL's `$n`).
# The upsert takes the event's row lock (PostgreSQL) and returns the event's row, new or not.
EVENT = f"""
INSERT INTO ledger_events (source, event_id) VALUES (?, ?)
ON CONFLICT (source, event_id) DO UPDATE SET source = excluded.source
RETURNING id, {EVENT_COLUMNS}
"""  # noqa: S608 - constants
FIND_EVENT = f"SELECT id, {EVENT_COLUMNS} FROM ledger_events WHERE source = ? AND event_id = ?"  # noqa: S608
CHANGE = f"""
INSERT INTO ledger_timeline (event, {TIMELINE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING RETURNING event
"""  # noqa: S608 - constants
STATES = f"SELECT {STATE_COLUMNS} FROM ledger_states WHERE event = ?"  # noqa: S608
WRITE_EVENT = """
UPDATE ledger_events SET type = ?, received_at = ?, gateway = ?, duplicates = ?, status = ?,
    sort_at = ?, updated_at = ? WHERE id = ?
"""
WRITE_STATE = f"""
INSERT INTO ledger_states (event, {STATE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (event, service) DO UPDATE SET status = excluded.status,
    attempts = excluded.attempts, last_error = excluded.last_error,
    next_attempt_at = excluded.next_attempt_at, since_at = excluded.since_at,
    since_attempt = excluded.since_attempt, since_rank = excluded.since_rank,
    error_at = excluded.error_at, error_attempt = excluded.error_attempt,
    error_rank = excluded.error_rank
"""  # noqa: S608 - constants
TIMELINE = f"SELECT {TIMELINE_COLUMNS} FROM ledger_timeline WHERE event = ?"  # noqa: S608
ANNOUNCE = f"""
INSERT INTO ledger_services ({SERVICE_COLUMNS}) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (service) DO UPDATE SET patterns = excluded.patterns, at = excluded.at,
    tiers = excluded.tiers, delivery_limit = excluded.delivery_limit
WHERE excluded.at >= ledger_services.at
"""  # noqa: S608 - constants
SERVICES = f"SELECT {SERVICE_COLUMNS} FROM ledger_services ORDER BY service"  # noqa: S608
COUNT = """
INSERT INTO ledger_counts (kind, name, minute, outcome, n) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (minute, kind, name, outcome) DO UPDATE SET n = ledger_counts.n + excluded.n
"""
SEEN = """
INSERT INTO ledger_sources (source, last_event_at) VALUES (?, ?)
ON CONFLICT (source) DO UPDATE SET last_event_at = excluded.last_event_at
WHERE excluded.last_event_at > ledger_sources.last_event_at
"""
COUNTS = "SELECT kind, name, minute, outcome, n FROM ledger_counts WHERE minute >= ?"
LAST_EVENTS = "SELECT source, last_event_at FROM ledger_sources"
PRUNE_COUNTS = "DELETE FROM ledger_counts WHERE minute < ?"


# PostgreSQL only: a whole batch in one statement each (unnest: one array a column), so that a
# batch costs a few round trips, not a few per change.
UPSERT_EVENTS = f"""
INSERT INTO ledger_events (source, event_id) SELECT * FROM unnest($1::text[], $2::text[])
ON CONFLICT (source, event_id) DO UPDATE SET source = excluded.source
RETURNING id, source, event_id, {EVENT_COLUMNS}
"""  # noqa: S608 - constants
INSERT_CHANGES = f"""
INSERT INTO ledger_timeline (event, {TIMELINE_COLUMNS})
SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::int[], $5::float8[],
    $6::float8[], $7::text[], $8::float8[], $9::text[], $10::float8[])
ON CONFLICT DO NOTHING RETURNING event, service, status, attempt, repeat_at
"""  # noqa: S608 - constants
STATES_OF_EVENTS = f"SELECT event, {STATE_COLUMNS} FROM ledger_states WHERE event = ANY($1)"  # noqa: S608


def numbered(sql: str) -> str:
    """`sql` with its `?` placeholders written `$1`, `$2`, ... (PostgreSQL)."""
    parts = sql.split("?")
    return parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))


def search(
    query: EventQuery, after: tuple[float, str, str] | None, limit: int, mark: Callable[[int], str]
) -> tuple[str, list[Any]]:
    """The search as SQL and its parameters, newest first, one row past `limit` (is there a
    next page?). `mark(n)` writes the n-th parameter's placeholder (`?`, `$n`). Source,
    status and type each have an index that also runs in the paging order, so a page reads
    about `limit` rows however many events there are; `since` and the cursor bound the paging
    index; `service` is one primary-key probe of `ledger_states` per event read."""
    where: list[str] = []
    params: list[Any] = []

    def param(value: Any) -> str:
        params.append(value)
        return mark(len(params))

    for column, value in (("source", query.source), ("type", query.type)):
        if value is not None:
            where.append(f"e.{column} = {param(value)}")
    if query.status is not None:
        where.append(f"e.status = {param(query.status.value)}")
    if query.since is not None:
        where.append(f"e.sort_at >= {param(query.since)}")
    if query.service is not None:
        service = param(query.service)
        where.append(f"EXISTS (SELECT 1 FROM {_STATES_OF_EVENT} AND s.service = {service})")  # noqa: S608
    if after is not None:
        at, source, event_id = (param(value) for value in after)
        where.append(f"(e.sort_at, e.source, e.event_id) < ({at}, {source}, {event_id})")
    sql = (  # only constants and placeholders: the values are in `params`
        "SELECT e.source, e.event_id, e.type, e.received_at, e.status, e.sort_at "
        "FROM ledger_events e"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY e.sort_at DESC, e.source DESC, e.event_id DESC"
        + f" LIMIT {param(limit + 1)}"
    )
    return sql, params
