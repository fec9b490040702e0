"""Redis for tests: the shared server on 127.0.0.1:6379, and private servers a test may kill.

Tests on the shared server use a key prefix of their own and delete its keys; they never
FLUSHALL. `deploy/dev/test.sh` starts the shared server when none answers (ensure-redis.sh):
a test that finds none fails, it does not skip.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import redis

REDIS_URL = os.environ.get("HOOKGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def unique_prefix() -> str:
    return f"hookgate-test:{uuid.uuid4().hex[:12]}:"


def shared_redis() -> redis.Redis:
    """A client of the shared server; fails (never skips) when it does not answer."""
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as err:
        client.close()
        raise AssertionError(
            f"no Redis answers at {REDIS_URL} ({err}); run deploy/dev/ensure-redis.sh"
        ) from err
    return client


def delete_prefix(client: redis.Redis, prefix: str) -> int:
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    return int(client.delete(*keys)) if keys else 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateRedis:
    """A `redis-server` of the test's own (own port, own directory, no persistence): the one
    a test may stop and start again on the same port."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise AssertionError("redis-server is not installed; run deploy/dev/ensure-redis.sh")
        self._binary = binary
        self.port = port or _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            [
                self._binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self._directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        client = redis.Redis.from_url(self.url, socket_timeout=1, socket_connect_timeout=1)
        try:
            while True:
                try:
                    client.ping()
                    return
                except redis.ConnectionError as err:
                    if time.monotonic() > deadline or self._process.poll() is not None:
                        raise AssertionError(
                            f"private redis-server on {self.port} did not start"
                        ) from err
                    time.sleep(0.05)
        finally:
            client.close()

    def kill(self) -> None:
        """SIGKILL this server only (its own pid), and wait for it."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=10)
        self._process = None


@contextlib.contextmanager
def private_redis(directory: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(directory)
    server.start()
    try:
        yield server
    finally:
        server.kill()
