"""The yardsticks hookgate's gateway is measured against, run under the same uvicorn settings.

- `bare`: a Starlette endpoint that reads the body and answers JSON. The HTTP ceiling.
- `lean`: Starlette + HMAC-SHA256 check + in-memory dedupe + aiormq confirmed persistent publish,
  nothing else. The "least a correct gateway must do" reference from DESIGN.md.

Both read BENCH_AMQP_URL, BENCH_EXCHANGE and BENCH_SECRET from the environment.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
from collections.abc import AsyncIterator

import aiormq
import orjson
from pamqp.commands import Basic
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def bare() -> Starlette:
    async def endpoint(request: Request) -> Response:
        await request.body()
        return Response(b'{"status":"accepted"}', media_type="application/json")

    return Starlette(routes=[Route("/webhooks/{source}", endpoint, methods=["POST"])])


def lean() -> Starlette:
    url = os.environ["BENCH_AMQP_URL"]
    exchange = os.environ["BENCH_EXCHANGE"]
    key = os.environ["BENCH_SECRET"].encode()
    seen: set[str] = set()
    state: dict[str, aiormq.abc.AbstractChannel] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        connection = await aiormq.connect(url)
        state["channel"] = await connection.channel(publisher_confirms=True)
        yield
        await connection.close()

    async def endpoint(request: Request) -> Response:
        body = await request.body()
        expected = b"sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest().encode()
        given = request.headers.get("x-hub-signature-256", "").encode()
        if not hmac.compare_digest(expected, given):
            return Response(b'{"status":"invalid_signature"}', status_code=401)
        event_id = request.headers["x-github-delivery"]
        if event_id in seen:
            return Response(b'{"status":"duplicate"}', media_type="application/json")
        seen.add(event_id)
        confirm = await state["channel"].basic_publish(
            body,
            exchange=exchange,
            routing_key="github.pull_request.opened",
            properties=Basic.Properties(delivery_mode=2, message_id=event_id),
            mandatory=True,
        )
        if not isinstance(confirm, Basic.Ack):
            seen.discard(event_id)
            return Response(b'{"status":"unavailable"}', status_code=503)
        answer = orjson.dumps({"status": "accepted", "event_id": event_id})
        return Response(answer, media_type="application/json")

    return Starlette(
        routes=[Route("/webhooks/{source}", endpoint, methods=["POST"])], lifespan=lifespan
    )
