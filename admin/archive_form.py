"""The form an event takes in the archive stream, and back.

RabbitMQ 3.10 stores a stream's messages as AMQP 1.0 and drops header values that are tables,
so the forwarded HTTP headers (`hookgate-http-headers`) travel in the stream as one JSON string
(`archived_form`, applied by `admin.archiver`) and are put back as the table they were
(`restored`, by `admin.archive`): a replayed copy is the message the gateway published, and
its `hookgate-signature` verifies.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import orjson
from pamqp.commands import Basic

from hookgate import envelope

#: Where an archived copy keeps the forwarded HTTP headers (`hookgate-http-headers`).
HTTP_HEADERS_JSON = "hookgate-http-headers-json"


def archived_form(properties: Basic.Properties) -> Basic.Properties:
    """The copy the stream keeps: the forwarded HTTP headers table as one JSON string (left
    as it is when it cannot be: a non-UTF-8 value; the stream then drops it)."""
    archived = copy.copy(properties)
    headers = dict(properties.headers or {})
    table = headers.get(envelope.HTTP_HEADERS)
    if isinstance(table, Mapping):
        try:
            text = orjson.dumps(dict(table)).decode()
        except TypeError:  # orjson.JSONEncodeError: bytes, lone surrogates
            return archived
        del headers[envelope.HTTP_HEADERS]
        headers[HTTP_HEADERS_JSON] = text
    archived.headers = headers
    return archived


def restored(headers: Mapping[str, Any]) -> dict[str, Any]:
    """The headers as the gateway published them, from an archived copy's."""
    result = dict(headers)
    text = result.pop(HTTP_HEADERS_JSON, None)
    if isinstance(text, str | bytes):
        try:
            table = orjson.loads(text)
        except orjson.JSONDecodeError:
            table = None
        if isinstance(table, dict):
            result[envelope.HTTP_HEADERS] = table
    return result
