"""Finding providers: the `hookgate.providers` entry-point group, or `package.module:Class`.

Built-ins register through the same entry-point group as third-party plugins. Entry points are
read once per process; loading a name imports only that provider's module.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from importlib.metadata import EntryPoint, entry_points

from providers.base import ProviderFactory
from providers.errors import ProviderNotFound

GROUP = "hookgate.providers"


@dataclass(frozen=True)
class InstalledProvider:
    """One entry point of the group: its name and the `module:Class` it points at."""

    name: str
    target: str
    distribution: str | None


@cache
def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def installed() -> list[InstalledProvider]:
    """Every provider registered in the entry-point group, sorted by name."""
    return [
        InstalledProvider(ep.name, ep.value, ep.dist.name if ep.dist else None)
        for ep in sorted(_entry_points().values(), key=lambda ep: ep.name)
    ]


def load(name: str) -> ProviderFactory:
    """The provider class for an entry-point name or a `package.module:Class` reference."""
    if ":" in name:
        return _load_reference(name)
    entry_point = _entry_points().get(name)
    if entry_point is None:
        known = ", ".join(sorted(_entry_points())) or "none"
        raise ProviderNotFound(
            f"no provider named {name!r} is installed (installed: {known}); "
            "use an entry-point name or 'package.module:Class'"
        )
    try:
        factory: ProviderFactory = entry_point.load()
    except Exception as err:
        raise ProviderNotFound(
            f"provider {name!r} failed to load from {entry_point.value}: {err}"
        ) from err
    return factory


def _load_reference(reference: str) -> ProviderFactory:
    module_name, _, attribute = reference.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as err:  # ImportError, or a plugin module that fails to execute
        raise ProviderNotFound(f"cannot import module {module_name!r}: {err}") from err
    factory = getattr(module, attribute, None)
    if factory is None or not callable(factory):
        raise ProviderNotFound(f"module {module_name!r} has no provider class {attribute!r}")
    return factory  # type: ignore[no-any-return]
