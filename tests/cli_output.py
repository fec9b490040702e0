"""Shared by CLI tests: the one-line error contract of every `hookgate` command."""

from __future__ import annotations

import pytest


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The single `hookgate: error: …` line on stderr, with nothing on stdout."""
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("hookgate: error: ")
    return lines[0]
