"""gateway.spool_file: a row moves between the queue and the quarantine whole, in one
transaction, keeping its seq; totals stay exact; an older spool file opens and keeps its rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import pytest

from gateway import spool_file
from gateway.spool_file import SpooledEvent


def _event(n: int) -> SpooledEvent:
    return SpooledEvent(
        source="github",
        provider="github",
        event_id=f"evt-{n}",
        event_type="push",
        routing_key="github.push",
        headers={"content-type": "application/json", "x-n": str(n)},
        body=bytes(range(n, n + 20)),
        received_at=1000.0 + n,
    )


@pytest.fixture
def db(tmp_path: Path) -> sqlite3.Connection:
    connection = spool_file.connect(str(tmp_path / "spool.sqlite3"))
    spool_file.insert(connection, [_event(n) for n in range(4)])
    return connection


def _seqs(db: sqlite3.Connection) -> list[int]:
    return [e.seq for e in spool_file.oldest(db, 100)]


def test_quarantine_moves_the_whole_row_and_keeps_the_totals_exact(
    db: sqlite3.Connection,
) -> None:
    first, second, *_ = _seqs(db)
    before = spool_file.read_totals(db)
    assert spool_file.quarantine(db, second, "cannot be encoded")
    after = spool_file.read_totals(db)
    assert after.events == before.events - 1
    assert after.bytes == before.bytes - _event(1).size()
    assert (after.quarantined, after.quarantined_bytes) == (1, _event(1).size())
    assert after.removed == before.removed + 1  # other workers see the spool move
    assert second not in _seqs(db)
    row = spool_file.row(db, second)
    assert row is not None
    assert (row.state, row.reason, row.event.seq) == ("quarantined", "cannot be encoded", second)
    assert row.event.body == _event(1).body
    assert row.event.headers == _event(1).headers
    assert not spool_file.quarantine(db, second, "again")  # not waiting any more
    assert spool_file.read_totals(db) == after
    assert spool_file.row(db, first) is not None


def test_requeue_puts_rows_back_under_their_own_seq_without_strikes(
    db: sqlite3.Connection,
) -> None:
    seqs = _seqs(db)
    assert spool_file.strike(db, seqs[2]) == 1
    assert spool_file.quarantine(db, seqs[2], "closed the connection")
    assert spool_file.requeue(db, [seqs[2], 999]) == [seqs[2]]
    assert _seqs(db) == seqs
    [event] = [e for e in spool_file.oldest(db, 10) if e.seq == seqs[2]]
    assert event.strikes == 0
    totals = spool_file.read_totals(db)
    assert (totals.events, totals.quarantined) == (4, 0)
    assert totals.bytes == sum(_event(n).size() for n in range(4))


def test_drop_deletes_only_quarantined_rows_unless_told(db: sqlite3.Connection) -> None:
    seqs = _seqs(db)
    spool_file.quarantine(db, seqs[0], "x")
    assert spool_file.drop(db, seqs[1]) is None  # waiting: refused
    assert spool_file.drop(db, seqs[0]) == "quarantined"
    assert spool_file.drop(db, seqs[0]) is None
    assert spool_file.drop(db, seqs[1], queued_too=True) == "queued"
    totals = spool_file.read_totals(db)
    assert (totals.events, totals.quarantined) == (2, 0)
    assert totals.bytes == _event(2).size() + _event(3).size()


def test_rows_lists_quarantined_rows_first_then_the_oldest_waiting(
    db: sqlite3.Connection,
) -> None:
    seqs = _seqs(db)
    spool_file.quarantine(db, seqs[3], "x")
    listed = spool_file.rows(db, 3)
    assert [(r.event.seq, r.state) for r in listed] == [
        (seqs[3], "quarantined"),
        (seqs[0], "queued"),
        (seqs[1], "queued"),
    ]
    assert spool_file.quarantined_seqs(db) == [seqs[3]]


def test_a_spool_file_from_before_the_quarantine_opens_with_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        """
        CREATE TABLE events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, provider TEXT NOT NULL,
            event_id TEXT NOT NULL, event_type TEXT NOT NULL, routing_key TEXT NOT NULL,
            headers BLOB NOT NULL, body BLOB NOT NULL, received_at REAL NOT NULL,
            size INTEGER NOT NULL);
        CREATE TABLE totals (id INTEGER PRIMARY KEY CHECK (id = 1), events INTEGER NOT NULL,
            bytes INTEGER NOT NULL);
        INSERT INTO totals VALUES (1, 1, 150);
        """
    )
    old.execute(
        "INSERT INTO events (source, provider, event_id, event_type, routing_key, headers, body,"
        " received_at, size) VALUES ('github', 'github', 'evt-old', 'push', 'github.push', ?,"
        " x'7b7d', 5.0, 150)",
        (orjson.dumps({"content-type": "application/json"}),),
    )
    old.commit()
    old.close()

    db = spool_file.connect(str(path))
    [event] = spool_file.oldest(db, 10)
    assert (event.event_id, event.body, event.strikes) == ("evt-old", b"{}", 0)
    totals = spool_file.read_totals(db)
    assert (totals.events, totals.bytes, totals.quarantined, totals.removed) == (1, 150, 0, 0)
    assert spool_file.quarantine(db, event.seq, "x")
    db.close()
    spool_file.connect(str(path)).close()  # a second open finds everything in place
