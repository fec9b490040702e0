"""The offline checkers the deploy/ tests run, found on PATH or failed loudly (never skipped):
deploy/dev/ensure-deploy-tools.sh installs them (`.ci/run` calls it through test.sh)."""

from __future__ import annotations

import shutil

import pytest


def promtool() -> str:
    """The path of promtool (Debian's `prometheus` package)."""
    found = shutil.which("promtool") or shutil.which("promtool", path="/usr/bin:/usr/sbin")
    if found is None:
        pytest.fail("promtool is not installed: deploy/dev/ensure-deploy-tools.sh installs it")
    return found
