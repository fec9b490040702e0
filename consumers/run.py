"""`hookgate consume MODULE:SERVICE`: load a service, serve its metrics, run its worker.

SIGTERM or SIGINT starts a graceful stop (stop consuming, let in-flight handlers finish up to
the drain timeout, leave the rest for redelivery); a second signal stops at once.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterable, Sequence

from prometheus_client import CollectorRegistry, start_http_server

from consumers.cancellations import CancelReader, CancelSet
from consumers.errors import ConsumerError
from consumers.metrics import ConsumerMetrics
from consumers.service import Service
from consumers.status_observer import ConsumerStatus
from consumers.worker import Worker
from hookgate.observe import Observer
from hookgate.status_publisher import StatusPublisher


def load_service(reference: str) -> Service:
    """The `Service` named by `module:attribute` (the current directory is importable)."""
    module_name, sep, attribute = reference.partition(":")
    if not sep or not module_name or not attribute:
        raise ConsumerError(f"{reference!r}: expected MODULE:SERVICE, e.g. myapp.billing:billing")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except Exception as err:  # ImportError, or a module that fails while executing
        raise ConsumerError(f"cannot import {module_name!r}: {type(err).__name__}: {err}") from err
    service = getattr(module, attribute, None)
    if not isinstance(service, Service):
        raise ConsumerError(
            f"{reference!r} is not a consumers.Service (got {type(service).__name__})"
        )
    if not service.handlers:
        raise ConsumerError(
            f"service {service.name!r} has no handlers; add @{attribute}.handler(...)"
        )
    return service


def log_handlers_too(level: str) -> None:
    """Let a handler's own loggers (`logging.getLogger("myapp")`) print, in the same JSON lines
    as hookgate's: the root logger gets the handlers the CLI gave the `hookgate` logger. Without
    this, Python's default drops their info lines and prints warnings as bare text."""
    ours = logging.getLogger("hookgate")
    root = logging.getLogger()
    if ours.handlers and not ours.propagate:  # else hookgate's lines already reach the root
        root.handlers[:] = list(ours.handlers)
    root.setLevel(level.upper())


def run_service(
    service: Service,
    *,
    url: str,
    exchange: str,
    concurrency: int | None = None,
    metrics_host: str = "127.0.0.1",
    metrics_port: int = 0,
    drain_timeout: float = 30.0,
    message_keys: Sequence[str | bytes] = (),
    observers: Iterable[Observer] = (),
    emit_status: bool = False,
) -> int:
    """Run until signalled. Returns the exit status.

    With `message_keys` (`[broker] message_key`), only messages signed with one of them reach
    a handler; the rest are dead-lettered as `Unauthenticated`. `observers` hear every answered
    delivery after the metrics and the log (`hookgate.observe`). With `emit_status` (the
    config has an `[admin]` table), the worker emits each event's status and announces the
    service on the status exchange (`consumers.status_observer`), and reads operators' cancels
    (`consumers.cancellations`) before it consumes work."""
    registry = CollectorRegistry()
    metrics = ConsumerMetrics(
        registry, service, authenticates=bool(message_keys), cancellations=emit_status
    )
    if metrics_port:
        try:
            start_http_server(metrics_port, addr=metrics_host, registry=registry)
        except OSError as err:
            raise ConsumerError(
                f"cannot serve metrics on {metrics_host}:{metrics_port}: {err.strerror or err}; "
                "pass another --metrics-port (0 turns metrics off)"
            ) from err
    status = StatusPublisher(url, exchange) if emit_status else None
    hooks = [*observers]
    if status is not None:
        status.counts = metrics.status_counts
        announcer = ConsumerStatus(status, service)
        hooks.append(announcer)
    cancels = CancelReader(url, exchange, CancelSet()) if emit_status else None
    worker = Worker(
        service,
        url=url,
        exchange=exchange,
        metrics=metrics,
        concurrency=concurrency,
        drain_timeout=drain_timeout,
        message_keys=message_keys,
        observers=hooks,
        cancellations=cancels.cancels if cancels is not None else None,
    )

    # A background job of a script has SIGINT ignored (so Ctrl-C reaches only the script, which
    # then sends SIGTERM): keep it ignored, or one Ctrl-C would count as two signals.
    signals = [signal.SIGTERM]
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signals.append(signal.SIGINT)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in signals:
            loop.add_signal_handler(sig, worker.stop)
        if status is None:
            await worker.run()
            return
        await status.start()
        announcing = asyncio.create_task(announcer.announce_forever())
        reading = asyncio.create_task(cancels.run()) if cancels is not None else None
        try:
            if cancels is not None:
                await cancels.wait_caught_up()
            await worker.run()
        finally:
            announcing.cancel()
            if reading is not None:
                reading.cancel()
            await status.close()

    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(main())
    _exit_past_stuck_threads(worker)
    return 0


def _exit_past_stuck_threads(worker: Worker) -> None:
    """A sync handler still running past the drain timeout cannot be stopped (Python has no way
    to), and the interpreter would wait for its thread at exit. Its event was not acked and is
    redelivered; leave now instead of blocking the orchestrator until it kills us. Idle pool
    threads exit on their own once the pool is shut down: only running handlers count."""
    running = worker.sync_handlers_running
    if running:
        logging.getLogger("hookgate.consumer").warning(
            "exiting with sync handlers still running; their events will be redelivered",
            extra={"fields": {"handlers": running}},
        )
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] installs it
        return None
    return uvloop.new_event_loop
