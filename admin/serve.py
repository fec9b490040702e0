"""`hookgate admin`'s process: the admin API on its own listener, the recorder beside it.

Background jobs (`hookgate admin`'s queue-depth sampler, `admin.queue_metrics`) run beside
them and are stopped with them; one that ends does not stop the process.

SIGINT or SIGTERM stops both: uvicorn stops accepting and finishes in-flight requests, the
recorder stops, the ledger closes; a second SIGINT stops without waiting. The signals are
handled here, not by uvicorn (which raises them again after its own graceful stop, so the
recorder would be torn down by a KeyboardInterrupt instead of stopped).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import signal
import socket
from collections.abc import Generator, Sequence
from typing import Any, Protocol

import uvicorn
from prometheus_client import CollectorRegistry

from admin.app import create_admin_app
from admin.config import AdminConfig
from admin.ledger import LedgerStore

log = logging.getLogger("hookgate.admin")
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class RecorderLike(Protocol):
    """What the process needs of `admin.recorder.Recorder`: run until stopped."""

    async def run(self) -> Any: ...
    def stop(self) -> Any: ...


class Background(Protocol):
    """A job beside the API that runs until stopped and handles its own failures."""

    async def run(self) -> None: ...
    def stop(self) -> None: ...


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # `serve` handles SIGINT and SIGTERM itself


async def serve(
    config: AdminConfig,
    ledger: LedgerStore,
    recorder: RecorderLike | None = None,
    *,
    sockets: Sequence[socket.socket] | None = None,
    handle_signals: bool = True,
    metrics: CollectorRegistry | None = None,
    background: Sequence[Background] = (),
) -> int:
    """Serve on `sockets` (else bind `[admin]` host:port) until SIGINT or SIGTERM. 0 after a
    clean stop, 3 when the listener could not start (uvicorn logged why)."""
    app = create_admin_app(
        ledger,
        token=config.admin.token,
        broker_url=config.broker.url.reveal(),
        exchange=config.broker.exchange,
        message_keys=[key.reveal() for key in config.broker.message_keys],
        record=getattr(recorder, "record", None),
        metrics=metrics,
        archive=config.ledger.archive,
    )
    server = _Server(
        uvicorn.Config(
            app,
            host=config.admin.host,
            port=config.admin.port,
            lifespan="off",
            log_config=None,  # hookgate.logs configured the root logger
            timeout_graceful_shutdown=10,
        )
    )
    loop = asyncio.get_running_loop()
    if handle_signals:
        for sig in _SIGNALS:
            loop.add_signal_handler(sig, _stop, server)
    jobs = [asyncio.create_task(job.run()) for job in background]
    recording = asyncio.create_task(recorder.run()) if recorder is not None else None
    if recording is not None:
        recording.add_done_callback(lambda task: _recorder_ended(task, server))
    try:
        await server.serve(sockets=list(sockets) if sockets else None)
    finally:
        if handle_signals:
            for sig in _SIGNALS:
                loop.remove_signal_handler(sig)
        if recorder is not None and recording is not None:
            await _stop_recorder(recorder, recording)
        await _stop_background(background, jobs)
        await ledger.close()
    if not server.started:
        return 3
    crashed = (
        recording is not None
        and recording.done()
        and not recording.cancelled()
        and recording.exception() is not None
    )
    return 1 if crashed else 0  # a supervisor restarts what failed


def _stop(server: uvicorn.Server) -> None:
    if server.should_exit:
        server.force_exit = True  # a second signal: stop without waiting
    server.should_exit = True


def _recorder_ended(task: asyncio.Task[Any], server: uvicorn.Server) -> None:
    if task.cancelled() or server.should_exit:
        return
    error = task.exception()
    log.error(
        "the recorder stopped: %s; stopping",
        f"{type(error).__name__}: {error}" if error else "it returned",
    )
    server.should_exit = True


async def _stop_background(background: Sequence[Background], jobs: list[asyncio.Task[Any]]) -> None:
    for job in background:
        job.stop()
    if not jobs:
        return
    _, late = await asyncio.wait(jobs, timeout=10)
    for task in late:
        task.cancel()
    await asyncio.gather(*jobs, return_exceptions=True)


async def _stop_recorder(recorder: RecorderLike, recording: asyncio.Task[Any]) -> None:
    stopped = recorder.stop()
    if inspect.isawaitable(stopped):
        await stopped
    try:
        await asyncio.wait_for(recording, timeout=10)
    except TimeoutError:
        log.warning("the recorder did not stop within 10 s; cancelled")
    except Exception:  # noqa: S110 - already logged by _recorder_ended
        pass
