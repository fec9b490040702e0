"""Graceful drain on SIGTERM: readiness goes 503 first, then uvicorn stops accepting.

uvicorn stops listening the moment it gets SIGTERM, while a load balancer keeps sending to a
pod until its readiness probe fails. So the gateway wraps uvicorn's SIGTERM handler: the first
SIGTERM only marks the gateway draining (`/readyz` answers 503) and hands the signal on to
uvicorn `drain_seconds` later; uvicorn then closes its listeners, lets in-flight requests finish
(bounded by `gateway.shutdown_timeout_seconds`) and runs the shutdown. A second SIGTERM is handed
on at once. SIGINT (Ctrl-C) is left to uvicorn as it is.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

_log = logging.getLogger("hookgate.app")

Handler = Callable[[int, FrameType | None], Any] | int | None


class Drain:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.draining = False
        self._previous: Handler = None
        self._timer: threading.Timer | None = None
        self._installed = False

    def install(self) -> None:
        """Wrap the current SIGTERM handler: uvicorn's, when it runs the app. Without a server
        handling SIGTERM (tests driving the app directly), there is nothing to delay."""
        if threading.current_thread() is not threading.main_thread():
            return
        previous = signal.getsignal(signal.SIGTERM)
        if not callable(previous):
            return
        self._previous = previous
        signal.signal(signal.SIGTERM, self._on_sigterm)
        self._installed = True

    def uninstall(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._installed and signal.getsignal(signal.SIGTERM) == self._on_sigterm:
            signal.signal(signal.SIGTERM, self._previous)
        self._installed = False

    def _on_sigterm(self, sig: int, frame: FrameType | None) -> None:
        if self.draining or not self.seconds:
            self.draining = True
            self._hand_on(sig, frame)
            return
        self.draining = True
        _log.info(
            "draining: /readyz answers 503; stopping in a moment",
            extra={"fields": {"drain_seconds": self.seconds}},
        )
        self._timer = threading.Timer(self.seconds, self._hand_on, args=(sig, frame))
        self._timer.daemon = True
        self._timer.start()

    def _hand_on(self, sig: int, frame: FrameType | None) -> None:
        previous = self._previous
        if callable(previous):
            previous(sig, frame)
