"""Graceful drain on SIGTERM or SIGINT: readiness goes 503 first, then uvicorn stops accepting.

uvicorn stops listening the moment it gets SIGTERM, while a load balancer keeps sending to a
pod until its readiness probe fails. So the gateway wraps uvicorn's handler: the first stop
signal only marks the gateway draining (`/readyz` answers 503) and hands the signal on to
uvicorn `drain_seconds` later; uvicorn then closes its listeners, lets in-flight requests finish
(bounded by `gateway.shutdown_timeout_seconds`) and runs the shutdown.

SIGINT (Ctrl-C in a terminal) is a stop like SIGTERM: it drains too. A second stop:
- SIGTERM within a second of the first is the same stop arriving twice (a supervisor passing on
  a signal its process group already got; with several workers, uvicorn's parent passes on a
  Ctrl-C as SIGTERM) and is ignored; a later one is handed on at once, ending the drain.
- SIGINT is always a person asking again: handed on at once, ending the drain; once more, and
  uvicorn stops without waiting for in-flight requests.
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

_Handler = Callable[[int, FrameType | None], Any]


class Drain:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.draining = False
        self._previous: dict[int, _Handler] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._first = 0.0
        self._handed_on = False

    def install(self) -> None:
        """Wrap the current SIGTERM and SIGINT handlers: uvicorn's, when it runs the app.
        Without a server handling SIGTERM (tests driving the app directly), there is nothing
        to delay, and Ctrl-C keeps raising KeyboardInterrupt."""
        if threading.current_thread() is not threading.main_thread():
            return
        term = signal.getsignal(signal.SIGTERM)
        if not callable(term):
            return
        self._previous[signal.SIGTERM] = term
        interrupt = signal.getsignal(signal.SIGINT)
        if callable(interrupt) and interrupt is not signal.default_int_handler:
            self._previous[signal.SIGINT] = interrupt
        self._loop = asyncio.get_running_loop()
        for sig in self._previous:
            signal.signal(sig, self._on_signal)

    def uninstall(self) -> None:
        for sig, previous in self._previous.items():
            if signal.getsignal(sig) == self._on_signal:
                signal.signal(sig, previous)
        self._previous = {}

    def _on_signal(self, sig: int, frame: FrameType | None) -> None:
        # A signal handler does as little as possible: no locks, no threads, no logging.
        now = time.monotonic()
        if self.draining:
            if sig == signal.SIGINT or now - self._first > _REPEAT:
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
            extra={"fields": {"drain_seconds": self.seconds, "signal": signal.Signals(sig).name}},
        )
        assert self._loop is not None
        self._loop.call_later(self.seconds, self._drained, sig, frame)

    def _drained(self, sig: int, frame: FrameType | None) -> None:
        if not self._handed_on:  # else a second signal ended the drain already
            self._hand_on(sig, frame)

    def _hand_on(self, sig: int, frame: FrameType | None) -> None:
        previous = self._previous.get(sig)
        # uvicorn needs a stop once; only a repeated SIGINT means more (stop without waiting).
        if previous is None or (self._handed_on and sig != signal.SIGINT):
            return
        self._handed_on = True
        previous(sig, frame)
