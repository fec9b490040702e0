"""A counter's children by label values, created on first use for known names only.

Both sides pre-create the label sets that can happen (so rates start at 0) and leave the rest
to first use; what is not pre-created must still stay bounded, so a label set whose first
value (a source, a handler) is not one of `known` is a KeyError, never a new series.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

from prometheus_client import Counter


class CounterChildren(dict[tuple[str, Hashable], Any]):
    """(name, outcome) → `counter.labels(*prefix, name, outcome)`."""

    def __init__(self, counter: Counter, known: Iterable[str] = (), prefix: tuple[str, ...] = ()):
        super().__init__()
        self._counter = counter
        self._prefix = prefix
        self.known: set[str] = set(known)

    def __missing__(self, key: tuple[str, Hashable]) -> Any:
        if key[0] not in self.known:
            raise KeyError(key)
        child = self[key] = self._counter.labels(*self._prefix, *key)
        return child
