"""The test kit's progress-bounded wait: slow but moving is waited for; stuck fails fast."""

from __future__ import annotations

import os
import time

import pytest

from tests.integration.consumer_kit import cpu_ticks, eventually, while_progressing

pytestmark = pytest.mark.anyio


async def test_a_slow_but_progressing_wait_outlasts_its_stall_time() -> None:
    started = time.monotonic()

    def check() -> bool:
        return time.monotonic() - started > 1.2

    def progress() -> int:
        return int((time.monotonic() - started) * 10)  # moves every 0.1 s

    with pytest.raises(AssertionError, match="timed out"):  # a wall-clock wait gives up
        await eventually(check, 0.4, "the slow thing")
    assert await while_progressing(check, progress, stall=0.4, what="the slow thing")


async def test_a_wait_without_progress_fails_after_the_stall_time() -> None:
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"no progress for 0.3s waiting for nothing"):
        await while_progressing(lambda: False, lambda: 1, stall=0.3, what="nothing")
    assert time.monotonic() - started < 2


def test_cpu_ticks_grow_while_a_process_works_and_are_zero_once_it_is_gone() -> None:
    before = cpu_ticks(os.getpid())
    deadline = time.process_time() + 0.1
    while time.process_time() < deadline:
        pass
    assert cpu_ticks(os.getpid()) > before
    assert cpu_ticks(2**22 + 12345) == 0
