"""`hookgate serve`: validate the config, then run uvicorn with the app factory.

The config is validated in this process first, so a broken source stops startup with one line
before any worker starts. Workers rebuild the app from the same file (`HOOKGATE_CONFIG`). With
several workers, Prometheus metrics are aggregated through a multiprocess directory.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from typing import Any

import uvicorn
from prometheus_client import disable_created_metrics
from starlette.applications import Starlette

from gateway.app import check_stores, create_app
from gateway.config import load_config
from gateway.logs import configure_logging
from gateway.sources import build_sources

_MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def serve(config_path: str, *, host: str | None, port: int | None, workers: int) -> int:
    config = load_config(config_path)
    build_sources(config.sources)  # fail closed before any worker starts
    check_stores(config)  # an unusable spool or dedupe path too, not a worker restart loop
    configure_logging(config.gateway.log_level)
    os.environ["HOOKGATE_CONFIG"] = os.path.abspath(config_path)
    metrics_dir = None
    if workers > 1:
        metrics_dir = tempfile.mkdtemp(prefix="hookgate-metrics-")
        os.environ[_MULTIPROC_ENV] = metrics_dir
    try:
        uvicorn.run(
            "gateway.serve:app_from_environment",
            factory=True,
            host=host or config.gateway.host,
            port=config.gateway.port if port is None else port,
            workers=workers,
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
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def app_from_environment() -> Starlette:
    """The uvicorn factory each worker calls: rebuilds the app from `HOOKGATE_CONFIG`."""
    config = load_config(os.environ["HOOKGATE_CONFIG"])
    configure_logging(config.gateway.log_level)
    # `*_created` series double the exposition and no dashboard reads them.
    disable_created_metrics()  # type: ignore[no-untyped-call]
    return create_app(config, multiprocess_metrics=bool(os.environ.get(_MULTIPROC_ENV)))


def _uvicorn_log_config(level: str) -> dict[str, Any]:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "gateway.logs.JsonFormatter"}},
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
    }
