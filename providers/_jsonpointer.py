"""RFC 6901 JSON pointers (`/data/object/id`), parsed once at startup, resolved per request."""

from __future__ import annotations

from typing import Any


def parse(pointer: str) -> tuple[str, ...]:
    """Split a pointer into its unescaped reference tokens, or raise `ValueError`.

    `""` is the whole document; every other pointer starts with `/`. `~1` stands for `/` and
    `~0` for `~`; any other `~` sequence is invalid.
    """
    if not pointer:
        return ()
    if not pointer.startswith("/"):
        raise ValueError("a JSON pointer starts with '/' (e.g. '/data/id')")
    tokens = pointer[1:].split("/")
    for token in tokens:
        if "~" in token.replace("~0", "").replace("~1", ""):
            raise ValueError("'~' must be escaped as '~0' ('~1' stands for '/')")
    # ~1 first: "~01" is the literal "~1", which decoding ~0 first would turn into "/".
    return tuple(token.replace("~1", "/").replace("~0", "~") for token in tokens)


def resolve(document: Any, tokens: tuple[str, ...]) -> Any:
    """The value the tokens point at, or `LookupError` when any step is absent."""
    value = document
    for token in tokens:
        if isinstance(value, dict):
            value = value[token]
        elif isinstance(value, list):
            value = value[_index(token)]
        else:
            raise LookupError(token)
    return value


def _index(step: str) -> int:
    # RFC 6901 array indices are "0" or digits without a leading zero; "-" (one past the end)
    # never names an existing element.
    if not step.isascii() or not step.isdigit() or (step != "0" and step.startswith("0")):
        raise LookupError(step)
    return int(step)
