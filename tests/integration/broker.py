"""Test-side RabbitMQ access: inspect what the gateway published, on a real broker."""

from __future__ import annotations

import asyncio
import os
import uuid

import aiormq
from aiormq.abc import DeliveredMessage

AMQP_URL = os.environ.get("HOOKGATE_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


async def ping(url: str = AMQP_URL) -> None:
    async with asyncio.timeout(10):
        connection = await aiormq.connect(url)
        await connection.close()


async def bind_queue(channel: aiormq.abc.AbstractChannel, exchange: str, pattern: str = "#") -> str:
    """A private queue bound to `exchange`, to count what the gateway routed there."""
    name = f"hg-test-q-{uuid.uuid4().hex[:10]}"
    await channel.queue_declare(name, exclusive=True, auto_delete=True)
    await channel.queue_bind(name, exchange, routing_key=pattern)
    return name


async def drain(channel: aiormq.abc.AbstractChannel, queue: str) -> list[DeliveredMessage]:
    """Every message currently in `queue`, removed from it."""
    messages = []
    while True:
        message = await channel.basic_get(queue, no_ack=True)
        if message.delivery_tag is None:  # Basic.GetEmpty
            return messages
        messages.append(message)
