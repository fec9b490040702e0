"""Graceful drain on SIGTERM: readiness goes 503 first, then uvicorn stops accepting.

uvicorn stops listening the moment it gets SIGTERM, while a load balancer keeps sending to a
pod until its readiness probe fails. So the gateway wraps uvicorn's SIGTERM handler: the first
SIGTERM only marks the gateway draining (`/readyz` answers 503) and hands the signal on to
uvicorn `drain_seconds` later; uvicorn then closes its listeners, lets in-flight requests finish
(bounded by `gateway.shutdown_timeout_seconds`) and runs the shutdown. A SIGTERM repeated within
a second is the same stop arriving twice (a supervisor passing on a signal its process group
already got) and is ignored; a later one is handed on at once. SIGINT (Ctrl-C) is left to
uvicorn as it is.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

_log = logging.getLogger("hookgate.app")
_REPEAT = 1.0  # seconds within which a second SIGTERM is the same stop


class Drain:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.draining = False
        self._previous: Callable[[int, FrameType | None], Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._first = 0.0
        self._handed_on = False

    def install(self) -> None:
        """Wrap the current SIGTERM handler: uvicorn's, when it runs the app. Without a server
        handling SIGTERM (tests driving the app directly), there is nothing to delay."""
        if threading.current_thread() is not threading.main_thread():
            return
        previous = signal.getsignal(signal.SIGTERM)
        if not callable(previous):
            return
        self._previous = previous
        self._loop = asyncio.get_running_loop()
        signal.signal(signal.SIGTERM, self._on_sigterm)

    def uninstall(self) -> None:
        if self._previous is not None and signal.getsignal(signal.SIGTERM) == self._on_sigterm:
            signal.signal(signal.SIGTERM, self._previous)
        self._previous = None

    def _on_sigterm(self, sig: int, frame: FrameType | None) -> None:
        # A signal handler does as little as possible: no locks, no threads, no logging.
        now = time.monotonic()
        if self.draining:
            if now - self._first > _REPEAT:
                self._hand_on(sig, frame)
            return
        self.draining = True
        self._first = now
        if not self.seconds or self._loop is None:
            self._hand_on(sig, frame)
            return
        self._loop.call_soon_threadsafe(self._schedule, sig, frame)

    def _schedule(self, sig: int, frame: FrameType | None) -> None:
        _log.info(
            "draining: /readyz answers 503; stopping in a moment",
            extra={"fields": {"drain_seconds": self.seconds}},
        )
        assert self._loop is not None
        self._loop.call_later(self.seconds, self._hand_on, sig, frame)

    def _hand_on(self, sig: int, frame: FrameType | None) -> None:
        if self._handed_on or self._previous is None:
            return
        self._handed_on = True
        self._previous(sig, frame)
