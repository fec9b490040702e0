"""What a user would write by hand: FastAPI, the stripe SDK's `Webhook.construct_event`, and
aio-pika with publisher confirms (a robust connection, persistent messages), plus the same
in-memory dedupe set as `lean`. Run under the same uvicorn settings as the other contenders.

Reads BENCH_AMQP_URL, BENCH_EXCHANGE and BENCH_SECRET from the environment.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator

import aio_pika
import stripe
from fastapi import FastAPI, Request, Response


def app() -> FastAPI:
    url = os.environ["BENCH_AMQP_URL"]
    exchange_name = os.environ["BENCH_EXCHANGE"]
    secret = os.environ["BENCH_SECRET"]
    seen: set[str] = set()
    state: dict[str, aio_pika.abc.AbstractExchange] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        connection = await aio_pika.connect_robust(url)
        channel = await connection.channel(publisher_confirms=True)
        state["exchange"] = await channel.get_exchange(exchange_name, ensure=True)
        yield
        await connection.close()

    api = FastAPI(lifespan=lifespan)

    @api.post("/webhooks/{source}")
    async def webhook(source: str, request: Request) -> Response:
        payload = await request.body()
        try:
            event = stripe.Webhook.construct_event(
                payload, request.headers.get("stripe-signature", ""), secret
            )
        except (ValueError, stripe.SignatureVerificationError):
            return Response('{"status":"invalid_signature"}', status_code=401)
        if event.id in seen:
            return Response('{"status":"duplicate"}', media_type="application/json")
        seen.add(event.id)
        message = aio_pika.Message(
            payload,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=event.id,
            content_type="application/json",
        )
        try:
            await state["exchange"].publish(message, routing_key=f"{source}.{event.type}")
        except aio_pika.exceptions.AMQPError:
            seen.discard(event.id)
            return Response('{"status":"unavailable"}', status_code=503)
        return Response(
            f'{{"status":"accepted","event_id":"{event.id}"}}', media_type="application/json"
        )

    return api
