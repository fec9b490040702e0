"""Backends by name: a table of "module:attribute" references, imported only when named.

The gateway's dedupe stores and a service's idempotency stores are each picked by name from
one such table. A reference has the shape of an entry point, so the table imports no backend:
a process loads a backend's module (and its client library) only when its config or service
names it.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Generic, TypeVar

_T = TypeVar("_T")


class Registry(Generic[_T]):
    """Objects of type `kind` by name; `references` maps each name to "module:attribute"."""

    def __init__(self, kind: type[_T], references: Mapping[str, str]) -> None:
        self._kind = kind
        self._references = dict(references)
        self.names = tuple(self._references)

    def get(self, name: str) -> _T:
        """The object registered as `name`, its module imported now. `KeyError` for a name
        not in the table (check it against `names` first, with an error saying what is)."""
        reference = self._references[name]
        module, _, attribute = reference.partition(":")
        found = getattr(importlib.import_module(module), attribute)
        if not isinstance(found, self._kind):
            raise TypeError(f"{reference} is not a {self._kind.__name__}")
        return found
