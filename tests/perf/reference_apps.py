"""The yardsticks hookgate's gateway is measured against, run under the same uvicorn settings.

- `bare`: a Starlette endpoint that reads the body and answers JSON. The HTTP ceiling.
- `lean`: Starlette + Stripe signature check (HMAC-SHA256 over `t.body`, 300 s tolerance) +
  orjson parse of `id` and `type` + in-memory dedupe + aiormq confirmed persistent publish
  (mandatory), nothing else. The "least a correct gateway must do" reference from DESIGN.md.

Both read BENCH_AMQP_URL, BENCH_EXCHANGE and BENCH_SECRET from the environment.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import time
from collections.abc import AsyncIterator

import aiormq
import orjson
from pamqp.commands import Basic
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_TOLERANCE = 300


def bare() -> Starlette:
    async def endpoint(request: Request) -> Response:
        await request.body()
        return Response(b'{"status":"accepted"}', media_type="application/json")

    return Starlette(routes=[Route("/webhooks/{source}", endpoint, methods=["POST"])])


def _stripe_verified(key: bytes, header: str, body: bytes) -> bool:
    timestamp, signatures = "", []
    for pair in header.split(","):
        name, _, value = pair.partition("=")
        if name == "t":
            timestamp = value
        elif name == "v1":
            signatures.append(value.encode())
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > _TOLERANCE:
        return False
    expected = hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest().encode()
    return any(hmac.compare_digest(expected, given) for given in signatures)


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
        if not _stripe_verified(key, request.headers.get("stripe-signature", ""), body):
            return Response(b'{"status":"invalid_signature"}', status_code=401)
        event = orjson.loads(body)
        event_id, event_type = event["id"], event["type"]
        if event_id in seen:
            return Response(b'{"status":"duplicate"}', media_type="application/json")
        seen.add(event_id)
        confirm = await state["channel"].basic_publish(
            body,
            exchange=exchange,
            routing_key=f"stripe.{event_type}",
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
