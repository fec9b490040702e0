"""`hookgate serve`: check everything that can be checked, then run uvicorn with the app factory.

Before any worker starts, in this order, each failure one line and exit 2: the config and its
sources, the spool and dedupe paths, the listen address (the socket is bound here and handed to
uvicorn), and the broker login (wrong credentials never fix themselves; a broker that is merely
down is not an error: the gateway spools). Workers rebuild the app from the same file
(`HOOKGATE_CONFIG`). With several workers, Prometheus metrics are aggregated through a
multiprocess directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import shutil
import signal
import socket
import tempfile
from types import FrameType
from typing import Any

import uvicorn
from prometheus_client import disable_created_metrics
from starlette.applications import Starlette
from uvicorn.supervisors import Multiprocess

from gateway.app import check_stores, create_app
from gateway.config import Config, load_config
from gateway.http_protocol import EdgeConfig, EdgeLimits
from gateway.publisher import check_login
from gateway.sources import build_sources
from hookgate.listen import bind_listener
from hookgate.logs import configure_logging
from hookgate.settings import read_toml, status_enabled
from hookgate.status_publisher import StatusPublisher

_MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_BACKLOG = 2048  # uvicorn's default
_log = logging.getLogger("hookgate.serve")


def serve(config_path: str, *, host: str | None, port: int | None, workers: int) -> int:
    config = load_config(config_path)
    build_sources(config.sources)  # fail closed before any worker starts
    check_stores(config)  # an unusable spool or dedupe path too, not a worker restart loop
    configure_logging(config.gateway.log_level)
    host = host or config.gateway.host
    listener = bind_listener(host, config.gateway.port if port is None else port, _BACKLOG)
    metrics_dir = None
    try:
        asyncio.run(check_login(config.broker.url, config.broker.display_url()))
        os.environ["HOOKGATE_CONFIG"] = os.path.abspath(config_path)
        if workers > 1:
            metrics_dir = tempfile.mkdtemp(prefix="hookgate-metrics-")
            os.environ[_MULTIPROC_ENV] = metrics_dir
        address = _address(host, listener.getsockname()[1])
        _log.info("listening", extra={"fields": {"address": address, "workers": workers}})
        return _run(_server_config(config, workers), listener)
    finally:
        listener.close()
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _server_config(config: Config, workers: int) -> EdgeConfig:
    return EdgeConfig(
        "gateway.serve:app_from_environment",
        limits=EdgeLimits.from_settings(config.gateway),
        factory=True,
        workers=workers,
        backlog=_BACKLOG,
        log_config=_uvicorn_log_config(config.gateway.log_level),
        access_log=False,  # the gateway writes its own line per request
        server_header=False,
        # Never let uvicorn rewrite the client address from X-Forwarded-For: the gateway
        # decides whom to believe (gateway.trusted_proxies, gateway.clientip).
        proxy_headers=False,
        # In-flight requests get this long to finish after SIGTERM (plus drain_seconds);
        # keep the sum below the orchestrator's kill timeout (30 s in Kubernetes).
        timeout_graceful_shutdown=math.ceil(config.gateway.shutdown_timeout_seconds),
    )


def _run(server_config: EdgeConfig, listener: socket.socket) -> int:
    """Serve on `listener` until stopped, as `uvicorn.run` would with a socket bound for it."""
    if server_config.workers > 1:
        Multiprocess(server_config, sockets=[listener]).run()
        return 0
    server = uvicorn.Server(server_config)
    # After a graceful stop uvicorn raises the stop signal again, for its default effect:
    # KeyboardInterrupt for SIGINT, death by signal for SIGTERM. A stop asked for is a
    # success: exit 0 either way, as with several workers.
    previous = signal.signal(signal.SIGTERM, _exit_cleanly)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            server.run(sockets=[listener])
    finally:
        signal.signal(signal.SIGTERM, previous)
    # Not started: the app's startup failed, and uvicorn logged why. Its exit status for it.
    return 0 if server.started else 3


def app_from_environment() -> Starlette:
    """The uvicorn factory each worker calls: rebuilds the app from `HOOKGATE_CONFIG`."""
    path = os.environ["HOOKGATE_CONFIG"]
    config = load_config(path)
    configure_logging(config.gateway.log_level)
    # `*_created` series double the exposition and no dashboard reads them.
    disable_created_metrics()  # type: ignore[no-untyped-call]
    # With `hookgate admin` in the deployment ([admin]), each worker emits event status.
    status = (
        StatusPublisher(config.broker.url.reveal(), config.broker.exchange)
        if status_enabled(read_toml(path))
        else None
    )
    return create_app(
        config, multiprocess_metrics=bool(os.environ.get(_MULTIPROC_ENV)), status=status
    )


def _uvicorn_log_config(level: str) -> dict[str, Any]:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "hookgate.logs.JsonFormatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
        },
        # Every other library too (aiormq, asyncio), from the moment a worker starts.
        "root": {"handlers": ["stderr"], "level": level.upper()},
    }


def _exit_cleanly(sig: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def _address(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
