"""admin.ledger_sqlite beyond the contract: every search runs on an index, in paging order."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from admin import ledger_sql
from admin.ledger import EventQuery
from admin.ledger_sqlite import SqliteLedger
from hookgate.status import Status

QUERIES = [
    EventQuery(),
    EventQuery(source="stripe"),
    EventQuery(status=Status.FAILED),
    EventQuery(type="invoice.paid"),
    EventQuery(service="billing"),
    EventQuery(since=1_700_000_000.0),
    EventQuery(source="stripe", status=Status.FAILED, type="invoice.paid", service="billing"),
]


@pytest.mark.anyio
@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("after", [None, (1_700_000_000.0, "stripe", "evt_1")])
async def test_a_search_reads_an_index_in_paging_order_never_the_whole_table_sorted(
    tmp_path: Path, query: EventQuery, after: tuple[float, str, str] | None
) -> None:
    path = tmp_path / "ledger.sqlite3"
    ledger = SqliteLedger(str(path))
    await ledger.services()  # creates the file and its schema
    await ledger.close()
    text, params = ledger_sql.search(query, after, 50, lambda _: "?")
    db = sqlite3.connect(path)
    try:
        plan = [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {text}", params)]
    finally:
        db.close()
    assert "USING INDEX ledger_events_" in plan[0], plan
    assert not any("TEMP B-TREE" in step for step in plan), plan
