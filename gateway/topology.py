"""Routing keys, and `hookgate topology declare`.

The names and arguments of every exchange and queue live in `consumers.topology`, shared by
the gateway (which declares the ingress exchange) and the consumer services (their queues).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import aiormq

from consumers.errors import TopologyError
from consumers.routing import routing_key
from consumers.service import Service
from consumers.topology import (
    declare_gateway_topology,
    declare_service_topology,
    describe_service_topology,
    ensure_gateway_topology,
    exchange_arguments,
    unrouted_name,
    unrouted_queue_arguments,
)
from gateway.errors import GatewayError, describe
from providers import Secret

__all__ = [
    "TopologyError",
    "declare_all",
    "declare_gateway_topology",
    "ensure_gateway_topology",
    "exchange_arguments",
    "routing_key",
    "unrouted_name",
    "unrouted_queue_arguments",
]


async def declare_all(url: Secret, exchange: str, services: Sequence[Service] = ()) -> list[str]:
    """Connect, declare the gateway topology (and each service's), and describe what exists."""
    try:
        async with asyncio.timeout(15):
            connection = await aiormq.connect(url.reveal())
            try:
                channel = await connection.channel()
                await declare_gateway_topology(channel, exchange)
                for service in services:
                    await declare_service_topology(connection, service, exchange)
            finally:
                await connection.close()
    except TopologyError as err:
        raise GatewayError(str(err)) from err
    except (OSError, TimeoutError, aiormq.exceptions.AMQPError) as err:
        reason = describe(err, url.reveal())
        raise GatewayError(f"cannot declare the topology on the broker: {reason}") from err
    unrouted = unrouted_name(exchange)
    return [
        f"exchange {exchange} (topic, durable, alternate-exchange={unrouted})",
        f"exchange {unrouted} (fanout, durable)",
        f"queue    {unrouted} (quorum, durable) bound to {unrouted}",
        *(line for service in services for line in describe_service_topology(service, exchange)),
    ]
