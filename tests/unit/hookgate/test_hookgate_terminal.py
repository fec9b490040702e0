"""hookgate.terminal: untrusted text printed by the CLI cannot drive the terminal."""

from __future__ import annotations

import pytest

from hookgate.terminal import safe


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("evt_\x1b]0;owned\x07", "evt_\\x1b]0;owned\\x07"),  # OSC: set the window title
        ("\x1b[2J\x1b[H", "\\x1b[2J\\x1b[H"),  # clear the screen
        ("a\x9b31mb", "a\\x9b31mb"),  # C1 CSI, no ESC needed
        ("ok\rFAKED", "ok\\rFAKED"),  # a line that overwrites itself
        ("line\nforged line", "line\\nforged line"),
        ("admin\u202eexe.txt", "admin\\u202eexe.txt"),  # bidi override
        ("zero\u200bwidth", "zero\\u200bwidth"),
        ("del\x7f", "del\\x7f"),
        ("café ✓ 日本", "café ✓ 日本"),  # printable text is left alone
    ],
)
def test_control_and_invisible_characters_are_escaped(raw: str, shown: str) -> None:
    assert safe(raw) == shown


def test_multiline_keeps_newlines_and_tabs_but_not_carriage_returns() -> None:
    assert safe("a\n\tb\rc\x1b", multiline=True) == "a\n\tb\\rc\\x1b"


def test_bytes_are_decoded_and_invalid_bytes_shown_as_hex() -> None:
    assert safe(b"ok \xe9\x1b[31m") == "ok \\xe9\\x1b[31m"


def test_other_values_are_printed_through_str_and_escaped() -> None:
    assert safe({"k": "\x1b"}) == "{'k': '\\x1b'}"
    assert safe(3) == "3"
