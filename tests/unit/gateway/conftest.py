"""Shared fixtures for the gateway unit tests."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    """Write a TOML config (dedented) to a fresh file and return its path."""

    def write(text: str) -> Path:
        path = tmp_path / "hookgate.toml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write
