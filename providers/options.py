"""Typed reading of a source's provider-specific options, with errors that name the key path.

Errors name the key and the fix, never the configured value: it may be a token, or a secret
pasted under the wrong key.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TypeVar

from providers.errors import ProviderConfigError

_T = TypeVar("_T")
_MISSING = object()


class Options:
    """The provider-specific keys of one `[sources.NAME]` table.

    Read each option once with a typed getter, then call `finish()`: any key left unread is an
    error, so that a typo (`signature_heder`) stops startup instead of silently using a default.
    """

    def __init__(self, values: Mapping[str, object], path: str) -> None:
        self._values = dict(values)
        self._path = path
        self._read: set[str] = set()

    def path(self, key: str) -> str:
        return f"{self._path}.{key}"

    def error(self, key: str, problem: str) -> ProviderConfigError:
        return ProviderConfigError(f"{self.path(key)}: {problem}")

    def _get(self, key: str) -> object:
        self._read.add(key)
        return self._values.get(key, _MISSING)

    def string(self, key: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self._get(key)
        if value is _MISSING:
            if required:
                raise self.error(key, "required for this provider")
            return default
        if not isinstance(value, str):
            raise self.error(key, "expected a string")
        if not value.strip():
            raise self.error(key, "must not be empty or blank (is its variable empty?)")
        return value

    def strings(self, key: str, *, required: bool = False) -> tuple[str, ...]:
        """A string or a list of strings (several keys during a rotation), as a tuple."""
        value = self._get(key)
        if value is _MISSING:
            if required:
                raise self.error(key, "required for this provider")
            return ()
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not values:
            raise self.error(key, "expected a string or a non-empty list of strings")
        for i, item in enumerate(values):
            if not isinstance(item, str) or not item.strip():
                where = key if isinstance(value, str) else f"{key}[{i}]"
                raise self.error(where, "expected non-empty, non-blank strings")
        return tuple(values)

    def boolean(self, key: str, default: bool = False) -> bool:
        value = self._get(key)
        if value is _MISSING:
            return default
        if not isinstance(value, bool):
            raise self.error(key, "expected true or false")
        return value

    def choice(self, key: str, choices: Collection[str], default: str) -> str:
        value = self.string(key, default)
        assert value is not None
        if value not in choices:
            allowed = ", ".join(sorted(choices))
            # The value itself is never shown: a mistyped key may hold a secret.
            raise self.error(key, f"expected one of {allowed}")
        return value

    def integer(self, key: str) -> int | None:
        """A whole number (TOML integer, or a string of digits from an environment variable)."""
        value = self._get(key)
        if value is _MISSING:
            return None
        if isinstance(value, str) and value.isascii() and value.strip().isdigit():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self.error(key, "expected a whole number")
        return value

    def finish(self) -> None:
        """Refuse every option the provider did not read."""
        unknown = sorted(set(self._values) - self._read)
        if unknown:
            raise self.error(unknown[0], "unknown option for this provider")
