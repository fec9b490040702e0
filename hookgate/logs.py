"""JSON-lines logging for every hookgate process: one object per line, structured fields under
`extra={"fields": …}`. `hookgate serve`, `hookgate consume` and the tools configure it alike."""

from __future__ import annotations

import logging
import sys
from typing import Any

import orjson

from hookgate.envelope import rfc3339_ms


def log_timestamp(unix_time: float) -> str:
    """RFC 3339, UTC, milliseconds: the one format of every time hookgate writes."""
    return rfc3339_ms(unix_time)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": log_timestamp(record.created),
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
    """Send every log line to stderr as JSON: hookgate's and every library's.

    The handler sits on the root logger, so aiormq's, asyncio's and any other library's records
    are formatted like ours. Without a root handler, Python prints them through its plain-text
    "last resort" handler, and one such line breaks a JSON-lines log pipeline. Warnings go
    through logging too (`py.warnings`), for the same reason.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logger = logging.getLogger("hookgate")
    logger.handlers.clear()  # an earlier configuration's handler would print lines twice
    logger.setLevel(level.upper())
    logger.propagate = True
    logging.captureWarnings(True)
