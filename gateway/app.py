"""The app factory: a config in, a Starlette app out. No globals."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from gateway.config import Config
from gateway.deadlines import ReadDeadlines
from gateway.dedupe import DedupeStore, check_dedupe_store, open_dedupe_store
from gateway.drain import Drain
from gateway.forwarder import Forwarder
from gateway.ingest import IngestEndpoint
from gateway.logs import RequestLog
from gateway.metric_labels import possible_outcomes
from gateway.metrics import GatewayMetrics
from gateway.publisher import EventPublisher, Publisher
from gateway.sources import build_sources, replay_warnings
from gateway.spool import Spool
from gateway.status_observer import GatewayStatus
from hookgate.observe import IngestOutcome, Observer, Observers
from hookgate.status_publisher import StatusPublisher

_log = logging.getLogger("hookgate.app")
_PURGE_INTERVAL = 60.0


def create_app(
    config: Config,
    *,
    registry: CollectorRegistry | None = None,
    dedupe: DedupeStore | None = None,
    multiprocess_metrics: bool = False,
    connect_wait: float = 3.0,
    spool_stall_seconds: float = 60.0,
    publisher: EventPublisher | None = None,
    observers: Iterable[Observer] = (),
    status: StatusPublisher | None = None,
) -> Starlette:
    """Build the gateway. Raises `ConfigError` when a source's provider cannot be built.

    `publisher`: RabbitMQ's (`Publisher`) by default; `gateway.testing.MemoryPublisher` runs
    the whole gateway in memory for unit tests.

    `observers` hear every request's outcome and every forwarded spooled event
    (`hookgate.observe`), after the metrics and the request log.

    `status`: emit each event's status (`hookgate.status`) through this publisher, which the
    app starts and closes with its lifespan (`hookgate serve` passes one when the config has
    an `[admin]` table).

    `spool_stall_seconds`: how long the spool may hold events, with the broker connected and
    none leaving, before `/readyz` says it is not draining."""
    sources = build_sources(config.sources)
    for warning in replay_warnings(sources):
        _log.warning(warning)
    spooling = config.spool.enabled
    metrics = GatewayMetrics(
        registry if registry is not None else CollectorRegistry(),
        {name: possible_outcomes(source, spool=spooling) for name, source in sources.items()},
        multiprocess=multiprocess_metrics,
        spool_max_bytes=config.spool.max_bytes if spooling else 0,
    )
    if status is not None:
        status.counts = metrics.status_counts
    request_log = RequestLog()
    observer = Observers(
        [
            metrics,
            *([request_log] if request_log.enabled else []),
            *([GatewayStatus(status)] if status is not None else []),
            *observers,
        ]
    )
    gateway = config.gateway
    # A claim lease longer than any publish can take, so a live publisher never loses its claim.
    lease = max(30.0, 3 * gateway.publish_timeout_seconds)
    store = dedupe if dedupe is not None else open_dedupe_store(config.dedupe, lease)
    if publisher is None:
        publisher = Publisher(
            config.broker.url,
            config.broker.exchange,
            timeout=gateway.publish_timeout_seconds,
            metrics=metrics,
        )
    deadlines = ReadDeadlines(gateway.body_read_timeout_seconds)
    drain = Drain(gateway.drain_seconds)
    spool = None
    if config.spool.enabled:
        spool = Spool(config.spool)
        spool.open()  # fail closed: an unusable spool path stops startup
    message_keys = config.broker.message_keys
    message_key = message_keys[0].reveal().encode() if message_keys else None
    forwarder = (
        Forwarder(
            spool,
            publisher,
            metrics,
            lease=2 * gateway.publish_timeout_seconds + 10,
            message_key=message_key,
            observer=observer,
        )
        if spool is not None
        else None
    )
    ingest = IngestEndpoint(
        gateway, sources, store, publisher, observer, deadlines, spool, message_key
    )

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        if drain.draining:
            return JSONResponse(
                {"status": IngestOutcome.UNAVAILABLE, "detail": "shutting down"},
                status_code=503,
                headers={"retry-after": "5"},
            )
        if publisher.connected:
            stalled = forwarder.stalled_seconds if forwarder is not None else 0.0
            if stalled < spool_stall_seconds:
                return JSONResponse({"status": "ready"})
            # Still 200: every request is still made durable (spooled behind the backlog, or
            # published when the spool is full), so taking this gateway out of the load
            # balancer would only turn a forwarding problem into refused webhooks (GitHub never
            # retries), and a restart does not fix what stays in the file. The detail and
            # hookgate_spool_stalled_seconds are for the person who must look.
            waiting = spool.totals.events if spool is not None else 0
            return JSONResponse(
                {
                    "status": "ready",
                    "detail": f"spool not draining: {waiting} event(s) waiting, none forwarded "
                    f"for {stalled:.0f}s with the broker connected (hookgate spool list)",
                }
            )
        # Wrong credentials need an operator, not patience: say so.
        broker = "the broker refused the login" if publisher.login_refused else "broker down"
        if spool is not None and not spool.full:
            return JSONResponse({"status": "ready", "detail": f"{broker}: spooling to disk"})
        detail = (
            "the broker refused the login"
            if publisher.login_refused
            else "not connected to the broker"
        ) + (" and the spool is full" if spool else "")
        return JSONResponse(
            {"status": IngestOutcome.UNAVAILABLE, "detail": detail},
            status_code=503,
            headers={"retry-after": "5"},
        )

    async def metrics_endpoint(_: Request) -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if status is not None:
            await status.start()
        await publisher.start(wait=connect_wait)
        if not publisher.connected:
            _log.warning(
                "starting without a broker connection; "
                + ("spooling events until it is up" if spool else "answering 503 until it is up")
            )
        background = [asyncio.create_task(_purge_forever(store), name="hookgate-dedupe-purge")]
        if forwarder is not None:
            background.append(asyncio.create_task(forwarder.run(), name="hookgate-forwarder"))
        deadlines.start()
        drain.install()
        try:
            yield
        finally:
            drain.uninstall()
            await deadlines.stop()
            for task in background:
                task.cancel()
            for task in background:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await publisher.close()
            if status is not None:
                await status.close()
            if spool is not None:
                await spool.close()
            await store.close()

    app = GatewayApp(
        ingest,
        gateway.path_prefix,
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
        ],
        exception_handlers={HTTPException: _json_error},
        lifespan=lifespan,
    )
    app.state.metrics = metrics
    app.state.observers = observer
    app.state.publisher = publisher
    app.state.spool = spool
    app.state.forwarder = forwarder
    app.state.drain = drain
    return app


def check_stores(config: Config) -> None:
    """Open and close the spool and the dedupe store once: raise `ConfigError` if unusable."""
    if config.spool.enabled:
        Spool(config.spool).check()
    check_dedupe_store(config.dedupe)


class GatewayApp(Starlette):
    """Starlette for everything but webhook deliveries, which go straight to the endpoint.

    Deliveries skip Starlette's middleware stack and router: the endpoint answers every error
    itself, and the detour cost about a fifth of the gateway's throughput.
    """

    def __init__(self, ingest: IngestEndpoint, path_prefix: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._ingest = ingest
        self._prefix = path_prefix + "/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self._prefix):
            await self._ingest(scope, receive, send, scope["path"][len(self._prefix) :])
            return
        await super().__call__(scope, receive, send)


async def _json_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    status = "not_found" if exc.status_code == 404 else IngestOutcome.METHOD_NOT_ALLOWED
    return JSONResponse({"status": status}, status_code=exc.status_code, headers=exc.headers)


async def _purge_forever(store: DedupeStore) -> None:
    while True:
        await asyncio.sleep(_PURGE_INTERVAL)
        try:
            # Small batches, yielding between them, so no purge holds the loop for long.
            purged = await store.purge(time.time())
            while purged:
                await asyncio.sleep(0.01)
                purged = await store.purge(time.time())
        except Exception:
            _log.exception("dedupe purge failed; will retry")
