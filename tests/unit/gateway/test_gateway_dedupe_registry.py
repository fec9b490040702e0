"""gateway.dedupe_registry: backends by name, a client library loaded only when configured."""

from __future__ import annotations

import subprocess
import sys

from gateway.dedupe_registry import BACKEND_NAMES, DedupeBackend, dedupe_backend


def test_every_registered_name_resolves_to_a_backend() -> None:
    assert BACKEND_NAMES == ("memory", "sqlite", "redis")
    for name in BACKEND_NAMES:
        assert isinstance(dedupe_backend(name), DedupeBackend)


def test_a_gateway_without_redis_dedupe_never_imports_the_redis_client() -> None:
    code = (
        "import sys, gateway.app, gateway.config\n"
        "from gateway.dedupe_registry import dedupe_backend\n"
        "dedupe_backend('sqlite')\n"
        "assert 'redis' not in sys.modules, 'redis imported'\n"
        "dedupe_backend('redis')\n"
        "assert 'redis' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
