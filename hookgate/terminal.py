"""Untrusted text made safe to print on a terminal.

Dead letters, peeked messages and their headers carry bytes from the internet (bodies, HTTP
headers, event IDs) and from whoever can publish to the broker. Printed raw, an escape
sequence in them can rewrite the screen, set the window title, hide lines or fake a prompt;
bidirectional-override characters can reorder what is shown. Every CLI line that contains such
data goes through `safe`. Stdlib only, so any command may use it.
"""

from __future__ import annotations

import unicodedata
from typing import Any

# Format characters that reorder or hide text (bidi overrides and isolates, zero-width
# joiners and marks) and the Unicode line breaks a terminal may honour.
_INVISIBLE = frozenset(
    "\u061c\u200b\u200c\u200d\u200e\u200f\u2028\u2029\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2066\u2067\u2068\u2069\ufeff"
)
_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def safe(value: Any, *, multiline: bool = False) -> str:
    """`value` as printable text: control characters (C0, DEL, C1, so every escape sequence
    loses its ESC/CSI introducer) and invisible formatting characters become `\\x1b`,
    `\\u202e`, … Bytes are decoded as UTF-8, invalid bytes shown as `\\xNN`. With `multiline`,
    newlines and tabs are kept (bodies, tracebacks); a carriage return never is, since it lets
    a line overwrite itself."""
    if isinstance(value, bytes | bytearray):
        text = bytes(value).decode("utf-8", "backslashreplace")
    else:
        text = value if isinstance(value, str) else str(value)
    if text.isprintable() and not _INVISIBLE.intersection(text):
        return text  # the common case: nothing to do
    return "".join(_escape(char, multiline) for char in text)


def _escape(char: str, multiline: bool) -> str:
    if multiline and char in "\n\t":
        return char
    if char in _SHORT:
        return _SHORT[char]
    if char in _INVISIBLE or unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Cs"):
        code = ord(char)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return char
