"""providers._jsonpointer against the examples of RFC 6901 section 5."""

from __future__ import annotations

from typing import Any

import pytest

from providers._jsonpointer import parse, resolve

# RFC 6901 section 5, the example document (Python spelling of its JSON).
DOCUMENT = {
    "foo": ["bar", "baz"],
    "": 0,
    "a/b": 1,
    "c%d": 2,
    "e^f": 3,
    "g|h": 4,
    "i\\j": 5,
    'k"l': 6,
    " ": 7,
    "m~n": 8,
}


@pytest.mark.parametrize(
    ("pointer", "expected"),
    [
        ("", DOCUMENT),
        ("/foo", ["bar", "baz"]),
        ("/foo/0", "bar"),
        ("/", 0),
        ("/a~1b", 1),
        ("/c%d", 2),
        ("/e^f", 3),
        ("/g|h", 4),
        ("/i\\j", 5),
        ('/k"l', 6),
        ("/ ", 7),
        ("/m~0n", 8),
    ],
)
def test_rfc6901_examples_resolve(pointer: str, expected: Any) -> None:
    assert resolve(DOCUMENT, parse(pointer)) == expected


def test_escaped_tilde_before_one_is_not_read_as_a_slash() -> None:
    # "~01" is "~" followed by "1", not "/".
    assert parse("/~01") == ("~1",)


@pytest.mark.parametrize("pointer", ["foo", "/~", "/a~2", "/~x"])
def test_invalid_pointers_are_refused(pointer: str) -> None:
    with pytest.raises(ValueError, match=r"JSON pointer|'~'"):
        parse(pointer)


@pytest.mark.parametrize("pointer", ["/foo/2", "/foo/-", "/foo/01", "/foo/x", "/nope", "/foo/0/x"])
def test_absent_values_raise_lookup_error(pointer: str) -> None:
    with pytest.raises(LookupError):
        resolve(DOCUMENT, parse(pointer))
