"""The example plugin (providers/examples/acme) installs with pip and loads by its entry point.

It is installed into a temporary directory, then used from fresh interpreters that see it only
through that directory: `hookgate`'s registry must find it in the `hookgate.providers` group,
and the plugin's own `ProviderContract` tests must pass.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "providers" / "examples" / "acme"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    work = tmp_path_factory.mktemp("acme")
    source = work / "src"
    # Building writes into the tree: keep the repository clean.
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    target = work / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), str(ROOT)])}
    return source, env


def test_installed_plugin_is_listed_and_loaded_through_its_entry_point(
    installed: tuple[Path, dict[str, str]],
) -> None:
    _, env = installed
    script = (
        "from providers import installed, load\n"
        "[acme] = [p for p in installed() if p.name == 'acme']\n"
        "cls = load('acme')\n"
        "print(acme.distribution, acme.target, cls.family, cls.__module__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "hookgate-acme",
        "hookgate_acme:AcmeProvider",
        "timestamped-hmac",
        "hookgate_acme",
    ]


def test_plugin_passes_its_own_contract_tests(installed: tuple[Path, dict[str, str]]) -> None:
    source, env = installed
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(source / "tests")],
        cwd=source,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    # The 13 ProviderContract rules, the entry-point check and the ping handshake.
    assert result.stdout.splitlines()[-1].startswith("17 passed"), result.stdout
