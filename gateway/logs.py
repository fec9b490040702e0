"""JSON-lines logging: one object per line, structured fields under `extra={"fields": …}`."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import orjson


def _timestamp(unix_time: float) -> str:
    milliseconds = int(unix_time * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(unix_time)) + f".{milliseconds:03d}Z"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if fields:
            entry.update(fields)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure_logging(level: str) -> None:
    """Send every `hookgate.*` log line to stderr as JSON."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("hookgate")
    logger.handlers[:] = [handler]
    logger.setLevel(level.upper())
    logger.propagate = False


class RequestLog:
    """The one line per request, in the same JSON shape as every other log line.

    It bypasses `logging` (LogRecord, handlers, formatter): on the hot path that machinery
    cost about a tenth of the gateway's throughput. It is on when the `hookgate.request`
    logger is enabled for INFO, and writes to the current `sys.stderr` (line-buffered).
    """

    def __init__(self) -> None:
        self.enabled = logging.getLogger("hookgate.request").isEnabledFor(logging.INFO)

    def write(self, fields: dict[str, Any]) -> None:
        entry = {
            "ts": _timestamp(time.time()),
            "level": "info",
            "logger": "hookgate.request",
            "msg": "request",
            **fields,
        }
        sys.stderr.write(orjson.dumps(entry).decode() + "\n")
