"""gateway.drain: the first SIGTERM or SIGINT only fails readiness; uvicorn hears of it later."""

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
    """Stands in for uvicorn's SIGTERM and SIGINT handler and records what reaches it."""
    received: list[int] = []

    def handler(sig: int, frame: FrameType | None) -> None:
        received.append(sig)

    original_term = signal.signal(signal.SIGTERM, handler)
    original_int = signal.signal(signal.SIGINT, handler)
    try:
        yield received
    finally:
        signal.signal(signal.SIGTERM, original_term)
        signal.signal(signal.SIGINT, original_int)


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
    assert signal.getsignal(signal.SIGTERM) is not getattr(drain, "_on_signal", None)


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


async def test_sigint_drains_like_sigterm(server_handler: list[int]) -> None:
    drain = Drain(0.3)
    drain.install()
    try:
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C in a terminal
        await asyncio.sleep(0.05)
        assert drain.draining
        assert server_handler == []  # not straight to uvicorn: readiness fails first
        # With several workers, uvicorn's parent passes the Ctrl-C on as SIGTERM: same stop.
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.sleep(0.5)
        assert server_handler == [signal.SIGINT]
    finally:
        drain.uninstall()
    assert signal.getsignal(signal.SIGINT) is not getattr(drain, "_on_signal", None)


async def test_a_second_sigint_stops_at_once_and_a_third_reaches_uvicorn_again(
    server_handler: list[int],
) -> None:
    drain = Drain(30)
    drain.install()
    try:
        os.kill(os.getpid(), signal.SIGINT)
        await asyncio.sleep(0.05)
        assert server_handler == []
        os.kill(os.getpid(), signal.SIGINT)  # at once, however soon: a person asking again
        await asyncio.sleep(0.05)
        assert server_handler == [signal.SIGINT]
        os.kill(os.getpid(), signal.SIGINT)  # uvicorn stops without waiting for requests
        await asyncio.sleep(0.05)
        assert server_handler == [signal.SIGINT, signal.SIGINT]
    finally:
        drain.uninstall()


async def test_the_drain_timer_does_not_hand_on_again_after_a_second_signal(
    server_handler: list[int],
) -> None:
    drain = Drain(0.3)
    drain.install()
    try:
        os.kill(os.getpid(), signal.SIGINT)
        await asyncio.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)
        await asyncio.sleep(0.5)  # past the drain window
        assert server_handler == [signal.SIGINT]  # once: a second would force uvicorn's exit
    finally:
        drain.uninstall()


async def test_without_a_server_ctrl_c_still_raises_keyboard_interrupt() -> None:
    original = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        drain = Drain(5)
        drain.install()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        drain.uninstall()
    finally:
        signal.signal(signal.SIGTERM, original)
