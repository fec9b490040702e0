"""`hookgate spool list|show|drop|retry`, in-process, on a real spool file: what each prints,
what it changes, what it refuses (one line, non-zero), and that request text is escaped."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway import spool_file
from gateway.spool_file import SpooledEvent
from hookgate.cli import main
from tests.cli_output import one_error_line

EVIL = "\x1b]0;owned\x07\x1b[2J\u202e"  # a title change, a screen clear, a bidi override


def _event(n: int, **changes: object) -> SpooledEvent:
    fields: dict[str, object] = {
        "source": "github",
        "provider": "github",
        "event_id": f"evt-{n}",
        "event_type": "push",
        "routing_key": "github.push",
        "headers": {"content-type": "application/json", "x-github-delivery": f"evt-{n}"},
        "body": b'{"n": %d}' % n,
        "received_at": 1_764_660_000.0 + n,
        **changes,
    }
    return SpooledEvent(**fields)  # type: ignore[arg-type]


@pytest.fixture
def spool(tmp_path: Path) -> Iterator[tuple[Path, sqlite3.Connection, list[int]]]:
    """A spool with three waiting events, the second quarantined (its type and a header
    carry terminal escapes), and a config whose sources need a secret that is not set."""
    path = tmp_path / "var" / "spool.sqlite3"
    db = spool_file.connect(str(path))
    spool_file.insert(
        db,
        [
            _event(1),
            _event(2, event_type="push" + EVIL, headers={"x-evil": EVIL, "x-ok": "fine"}),
            _event(3),
        ],
    )
    seqs = [e.seq for e in spool_file.oldest(db, 10)]
    assert spool_file.quarantine(db, seqs[1], "ConnectionFrameError: FRAME_ERROR" + EVIL)
    (tmp_path / "hookgate.toml").write_text(
        f'[spool]\npath = "{path}"\n\n[sources.gh]\nprovider = "github"\n'
        'secrets = ["${HOOKGATE_TEST_UNSET_SECRET}"]\n'
    )
    yield path, db, seqs
    db.close()


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HOOKGATE_CONFIG", raising=False)
    monkeypatch.delenv("HOOKGATE_TEST_UNSET_SECRET", raising=False)


def _state(db: sqlite3.Connection, seq: int) -> str | None:
    row = spool_file.row(db, seq)
    return row.state if row else None


@pytest.mark.parametrize("command", ["list", "show", "drop", "retry"])
def test_help_of_each_spool_command_states_its_purpose(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["spool", command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: hookgate spool {command}")
    assert "--config" in out
    assert "--path" in out


def test_spool_without_a_command_prints_usage_and_exits_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["spool"]) == 2
    assert capsys.readouterr().err.startswith("usage: hookgate spool")


def test_list_reads_only_the_spool_table_and_shows_quarantined_rows_first_escaped(
    spool: tuple[Path, sqlite3.Connection, list[int]], capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, seqs = spool
    assert main(["spool", "list"]) == 0  # no source secret needed
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("2 waiting, 1 quarantined (")
    assert lines[1].split()[:4] == ["SEQ", "STATE", "SOURCE", "EVENT"]
    assert [line.split()[:2] for line in lines[2:]] == [
        [str(seqs[1]), "quarantined"],
        [str(seqs[0]), "queued"],
        [str(seqs[2]), "queued"],
    ]
    assert "ConnectionFrameError: FRAME_ERROR" in lines[2]
    assert "2025-12-02T07:20:02Z" in lines[2]
    assert "\x1b" not in out
    assert "\x07" not in out
    assert "\u202e" not in out


def test_show_prints_metadata_reason_and_headers_with_control_characters_escaped(
    spool: tuple[Path, sqlite3.Connection, list[int]], capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, seqs = spool
    assert main(["spool", "show", str(seqs[1]), "--body"]) == 0
    out = capsys.readouterr().out
    assert "state        quarantined" in out
    assert "type         push\\x1b]0;owned\\x07\\x1b[2J\\u202e" in out
    assert "  x-evil: \\x1b]0;owned\\x07\\x1b[2J\\u202e" in out
    assert "  x-ok: fine" in out
    assert "reason       ConnectionFrameError: FRAME_ERROR\\x1b" in out
    assert 'body (8 bytes):\n{"n": 2}' in out
    assert "\x1b" not in out


def test_show_of_an_unknown_seq_is_one_error_line(
    spool: tuple[Path, sqlite3.Connection, list[int]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["spool", "show", "999"]) == 2
    assert "no event with seq 999" in one_error_line(capsys)


def test_drop_needs_yes_and_refuses_waiting_rows_unless_forced(
    spool: tuple[Path, sqlite3.Connection, list[int]], capsys: pytest.CaptureFixture[str]
) -> None:
    _, db, seqs = spool
    assert main(["spool", "drop", str(seqs[1])]) == 2
    assert "add --yes" in one_error_line(capsys)
    assert _state(db, seqs[1]) == "quarantined"

    assert main(["spool", "drop", str(seqs[0]), "--yes"]) == 2
    assert "not quarantined; add --force" in one_error_line(capsys)
    assert _state(db, seqs[0]) == "queued"

    assert main(["spool", "drop", str(seqs[1]), "--yes"]) == 0
    assert capsys.readouterr().out == f"deleted quarantined event {seqs[1]} (evt-2)\n"
    assert _state(db, seqs[1]) is None

    assert main(["spool", "drop", str(seqs[0]), "--yes", "--force"]) == 0
    assert _state(db, seqs[0]) is None
    totals = spool_file.read_totals(db)
    assert (totals.events, totals.quarantined) == (1, 0)


def test_retry_moves_quarantined_rows_back_and_names_the_ones_that_were_not(
    spool: tuple[Path, sqlite3.Connection, list[int]], capsys: pytest.CaptureFixture[str]
) -> None:
    _, db, seqs = spool
    assert main(["spool", "retry"]) == 2
    assert "SEQ (one or more) or --all" in one_error_line(capsys)

    assert main(["spool", "retry", str(seqs[1]), str(seqs[0])]) == 2
    out, err = capsys.readouterr()
    assert f"seq {seqs[1]}: back in the queue" in out
    assert err == f"hookgate: error: not quarantined: seq {seqs[0]}\n"
    assert [e.seq for e in spool_file.oldest(db, 10)] == seqs  # back in its place in line

    spool_file.quarantine(db, seqs[2], "x")
    assert main(["spool", "retry", "--all"]) == 0
    assert "1 event(s) moved back" in capsys.readouterr().out
    assert spool_file.read_totals(db).quarantined == 0


def test_a_missing_spool_file_is_an_error_and_is_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["spool", "list", "--path", str(tmp_path / "nope.sqlite3")]) == 2
    assert "no spool file at" in one_error_line(capsys)
    assert not (tmp_path / "nope.sqlite3").exists()


def test_a_spool_path_with_a_variable_asks_for_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "hookgate.toml").write_text('[spool]\npath = "${STATE}/spool.sqlite3"\n')
    assert main(["spool", "list"]) == 2
    assert one_error_line(capsys) == (
        "hookgate: error: spool.path: expected a plain file name here; pass --path FILE"
    )
