"""Where a provider's event ID and type live: headers, JSON pointers into the body, batches.

A concrete provider declares its fields as data (`header("x-github-delivery")`,
`body("/event/type")`, `joined(".", body("/type"), body("/action"))`); they are parsed once at
import and read per request. A field that is absent reads as `None`; the provider decides whether
that is `malformed` or a fallback (the hex SHA-256 of the body for IDs).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from providers import _jsonpointer

#: The body did not parse as JSON: every body field reads as absent.
NOT_JSON: Any = object()


class Field(Protocol):
    """One attribute of an event, read from the request's headers and its parsed body."""

    @property
    def needs_body(self) -> bool: ...

    def read(self, headers: Mapping[str, str], document: Any) -> str | None: ...


def parse_json(body: bytes) -> Any:
    """The body as JSON (any value), or `NOT_JSON`."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return NOT_JSON


def as_text(value: object) -> str | None:
    """A usable identifier: a non-empty string, or an integer written in decimal."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value:
        return value
    return None


@dataclass(frozen=True, slots=True)
class _Header:
    name: str
    needs_body = False

    def read(self, headers: Mapping[str, str], document: Any) -> str | None:
        return headers.get(self.name) or None


@dataclass(frozen=True, slots=True)
class _Pointer:
    tokens: tuple[str, ...]
    numbers: bool = True
    needs_body = True

    def read(self, headers: Mapping[str, str], document: Any) -> str | None:
        if document is NOT_JSON:
            return None
        try:
            value = _jsonpointer.resolve(document, self.tokens)
        except LookupError:
            return None
        return as_text(value) if self.numbers or isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class _Const:
    value: str
    needs_body = False

    def read(self, headers: Mapping[str, str], document: Any) -> str | None:
        return self.value


@dataclass(frozen=True, slots=True)
class _First:
    fields: tuple[Field, ...]

    @property
    def needs_body(self) -> bool:
        return any(field.needs_body for field in self.fields)

    def read(self, headers: Mapping[str, str], document: Any) -> str | None:
        for field in self.fields:
            value = field.read(headers, document)
            if value is not None:
                return value
        return None


@dataclass(frozen=True, slots=True)
class _Joined:
    separator: str
    fields: tuple[Field, ...]

    @property
    def needs_body(self) -> bool:
        return any(field.needs_body for field in self.fields)

    def read(self, headers: Mapping[str, str], document: Any) -> str | None:
        # The first part is the field; later parts refine it when present (`push` → `pr.opened`).
        head = self.fields[0].read(headers, document)
        if head is None:
            return None
        parts = [head]
        for field in self.fields[1:]:
            value = field.read(headers, document)
            if value is not None:
                parts.append(value)
        return self.separator.join(parts)


@dataclass(frozen=True, slots=True)
class _Batch:
    """A field of every element of a JSON array (the body, or an array inside it).

    One element: its value. Several: for IDs, a digest of all of them in order (stable for the
    same batch however it is re-serialised); for types, the shared value, else `batch`.
    """

    items: tuple[str, ...]
    key: str
    kind: str  # "id" | "type"
    needs_body = True

    def read(self, headers: Mapping[str, str], document: Any) -> str | None:
        if document is NOT_JSON:
            return None
        try:
            elements = _jsonpointer.resolve(document, self.items)
        except LookupError:
            return None
        if not isinstance(elements, list) or not elements:
            return None
        values = [as_text(e.get(self.key)) if isinstance(e, dict) else None for e in elements]
        return collapse_batch(values, self.kind)


def collapse_batch(values: list[str | None], kind: str) -> str | None:
    """A batch's values as one: None if any is missing; one element's own value; for IDs
    (`kind` "id") a digest of all of them in order, for types the shared value, else `batch`."""
    if any(value is None for value in values):
        return None
    present = [value for value in values if value is not None]
    if len(present) == 1:
        return present[0]
    if kind == "type":
        return present[0] if len(set(present)) == 1 else "batch"
    return "batch-" + hashlib.sha256("\n".join(present).encode()).hexdigest()


def header(name: str) -> Field:
    """A request header (lower-case name)."""
    return _Header(name.lower())


def body(pointer: str, *, numbers: bool = True) -> Field:
    """An RFC 6901 pointer into the JSON body; strings, and integers unless `numbers=False`."""
    return _Pointer(_jsonpointer.parse(pointer), numbers)


def const(value: str) -> Field:
    """A fixed value (a provider whose events have one type)."""
    return _Const(value)


def first(*fields: Field) -> Field:
    """The first of `fields` that is present."""
    return _First(fields)


def joined(separator: str, *fields: Field) -> Field:
    """The first field, refined by each later one that is present, joined by `separator`."""
    return _Joined(separator, fields)


def batch(items: str, key: str, *, kind: str) -> Field:
    """`key` of each element of the array at pointer `items` (`""`: the body is the array)."""
    if kind not in {"id", "type"}:
        raise ValueError("kind is 'id' or 'type'")
    return _Batch(_jsonpointer.parse(items), key, kind)


def header_names(*fields: Field | None) -> frozenset[str]:
    """Every header the fields may read (a provider's unsigned headers are among these)."""
    names: set[str] = set()
    for spec in fields:
        if isinstance(spec, _Header):
            names.add(spec.name)
        elif isinstance(spec, _First | _Joined):
            names |= header_names(*spec.fields)
    return frozenset(names)
