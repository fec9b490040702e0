"""A throwaway vhost with throwaway users made with `rabbitmqctl` (deleted afterwards), and a
way to ask which attempts the broker refuses: the permission tests' tools."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import subprocess
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aiormq
import pytest

from consumers.permissions import Permissions

Attempt = Callable[[aiormq.abc.AbstractChannel], Awaitable[Any]]


class Broker:
    """A vhost of its own on the local broker, and users made with `rabbitmqctl`."""

    def __init__(self) -> None:
        self.vhost = f"hg-perm-{uuid.uuid4().hex[:8]}"
        self.users: list[str] = []

    def ctl(self, *args: str) -> None:
        subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)

    def user(self, role: str, permissions: Permissions) -> str:
        """A new user with `permissions` on the vhost; its AMQP URL (random password)."""
        name = f"{self.vhost}-{role}"
        password = secrets.token_hex(16)
        self.ctl("add_user", name, password)
        self.users.append(name)
        self.ctl("set_permissions", "-p", self.vhost, name, *permissions)
        return f"amqp://{name}:{password}@127.0.0.1:5672/{self.vhost}"


@contextlib.contextmanager
def throwaway_broker() -> Iterator[Broker]:
    """A `Broker` whose vhost and users are deleted on exit."""
    if shutil.which("rabbitmqctl") is None:
        pytest.fail("rabbitmqctl is needed to create the throwaway vhost and users")
    b = Broker()
    b.ctl("add_vhost", b.vhost)
    try:
        yield b
    finally:
        for name in b.users:
            subprocess.run(["rabbitmqctl", "-q", "delete_user", name], capture_output=True)
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", b.vhost], capture_output=True)


async def refusals(
    connection: aiormq.abc.AbstractConnection, attempts: dict[str, Attempt]
) -> set[str]:
    """The attempts the broker refused with ACCESS_REFUSED (each on a channel of its own)."""
    refused = set()
    for what, attempt in attempts.items():
        channel = await connection.channel(publisher_confirms=True)
        try:
            await attempt(channel)
            await asyncio.sleep(0.1)  # a refused publish closes the channel asynchronously
            if channel.is_closed:
                refused.add(what)
        except aiormq.exceptions.ChannelAccessRefused:
            refused.add(what)
        finally:
            if not channel.is_closed:
                await channel.close()
    return refused
