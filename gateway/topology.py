"""Every exchange, queue and argument the gateway declares, in one place.

The gateway owns the ingress exchange and its alternate exchange: an event that no consumer
binding matches is routed to `<exchange>.unrouted` and kept there, never dropped. Consumer
services declare their own queues (`consumers`).
"""

from __future__ import annotations

import asyncio
import re
from functools import lru_cache

import aiormq
from pamqp.common import FieldTable

from gateway.errors import GatewayError, describe
from providers import Secret

_NOT_ROUTABLE = re.compile(r"[^A-Za-z0-9_.-]")
_MAX_ROUTING_KEY = 255  # AMQP shortstr


def unrouted_name(exchange: str) -> str:
    """The alternate exchange and the queue that keeps unmatched events."""
    return f"{exchange}.unrouted"


def exchange_arguments(exchange: str) -> FieldTable:
    return {"alternate-exchange": unrouted_name(exchange)}


def unrouted_queue_arguments() -> FieldTable:
    return {"x-queue-type": "quorum"}


@lru_cache(maxsize=4096)
def routing_key(source: str, event_type: str) -> str:
    """`{source}.{event_type}`, the type normalised to `[A-Za-z0-9_.-]` (`unknown` if empty)."""
    normalised = _NOT_ROUTABLE.sub("_", event_type) or "unknown"
    return f"{source}.{normalised}"[:_MAX_ROUTING_KEY]


async def declare_gateway_topology(channel: aiormq.abc.AbstractChannel, exchange: str) -> None:
    """Declare (idempotently) the ingress exchange, its alternate exchange and unrouted queue."""
    unrouted = unrouted_name(exchange)
    await channel.exchange_declare(unrouted, exchange_type="fanout", durable=True)
    await channel.queue_declare(unrouted, durable=True, arguments=unrouted_queue_arguments())
    await channel.queue_bind(unrouted, unrouted, routing_key="")
    await channel.exchange_declare(
        exchange, exchange_type="topic", durable=True, arguments=exchange_arguments(exchange)
    )


async def declare_all(url: Secret, exchange: str) -> list[str]:
    """Connect, declare the gateway topology, and describe what now exists."""
    try:
        async with asyncio.timeout(15):
            connection = await aiormq.connect(url.reveal())
            try:
                channel = await connection.channel()
                await declare_gateway_topology(channel, exchange)
            finally:
                await connection.close()
    except (OSError, TimeoutError, aiormq.exceptions.AMQPError) as err:
        reason = describe(err, url.reveal())
        raise GatewayError(f"cannot declare the topology on the broker: {reason}") from err
    unrouted = unrouted_name(exchange)
    return [
        f"exchange {exchange} (topic, durable, alternate-exchange={unrouted})",
        f"exchange {unrouted} (fanout, durable)",
        f"queue    {unrouted} (quorum, durable) bound to {unrouted}",
    ]
