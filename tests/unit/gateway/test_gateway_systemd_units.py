"""The shipped systemd units keep data private and allow enough descriptors."""

from __future__ import annotations

from pathlib import Path

import pytest

UNITS = sorted((Path(__file__).resolve().parents[3] / "deploy" / "systemd").glob("*.service"))


def _service_settings(unit: Path) -> dict[str, str]:
    settings, section = {}, ""
    for line in unit.read_text().splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            settings[key.strip()] = value.strip()
    return settings


def test_both_units_are_shipped() -> None:
    assert [unit.name for unit in UNITS] == [
        "hookgate-consumer@.service",
        "hookgate-gateway.service",
    ]


@pytest.mark.parametrize("unit", UNITS, ids=[unit.name for unit in UNITS])
def test_unit_sets_a_private_umask_state_directory_and_descriptor_limit(unit: Path) -> None:
    settings = _service_settings(unit)
    assert settings["UMask"] == "0077"
    assert settings["StateDirectoryMode"] == "0700"
    assert settings["LimitNOFILE"] == "65536"
