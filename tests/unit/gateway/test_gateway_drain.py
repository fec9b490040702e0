"""gateway.drain: the first SIGTERM only fails readiness; uvicorn hears of it later, once."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from types import FrameType

import pytest

from gateway.drain import Drain

pytestmark = pytest.mark.anyio


@pytest.fixture
def server_handler() -> Iterator[list[int]]:
    """Stands in for uvicorn's SIGTERM handler and records what reaches it."""
    received: list[int] = []

    def handler(sig: int, frame: FrameType | None) -> None:
        received.append(sig)

    original = signal.signal(signal.SIGTERM, handler)
    try:
        yield received
    finally:
        signal.signal(signal.SIGTERM, original)


async def test_sigterm_drains_first_then_reaches_the_server_once(
    server_handler: list[int],
) -> None:
    drain = Drain(0.3)
    drain.install()
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.sleep(0.05)
        assert drain.draining
        assert server_handler == []  # still serving, readiness already 503
        os.kill(os.getpid(), signal.SIGTERM)  # the same stop, passed on by a supervisor
        await asyncio.sleep(0.5)
        assert server_handler == [signal.SIGTERM]
    finally:
        drain.uninstall()
    assert signal.getsignal(signal.SIGTERM) is not drain._on_sigterm


async def test_a_later_sigterm_stops_without_waiting(server_handler: list[int]) -> None:
    drain = Drain(30)
    drain.install()
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.sleep(0.05)
        drain._first -= 2  # the operator asks again, later
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.sleep(0.05)
        assert server_handler == [signal.SIGTERM]
    finally:
        drain.uninstall()


async def test_no_drain_window_hands_on_at_once(server_handler: list[int]) -> None:
    drain = Drain(0)
    drain.install()
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.sleep(0.05)
        assert server_handler == [signal.SIGTERM]
    finally:
        drain.uninstall()


async def test_without_a_server_handler_nothing_is_installed() -> None:
    original = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        drain = Drain(5)
        drain.install()
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
        drain.uninstall()
    finally:
        signal.signal(signal.SIGTERM, original)
