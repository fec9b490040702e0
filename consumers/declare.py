"""`hookgate topology declare`: the ingress exchange and, optionally, services' queues.

The names and arguments come from `hookgate.topology`, the one module that knows them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from consumers import broker
from consumers.errors import ConsumerError
from consumers.service import Service
from hookgate.errors import TopologyError
from hookgate.topology import (
    declare_gateway_topology,
    declare_service_topology,
    describe_service_topology,
    unrouted_name,
)


async def declare_all(url: str, exchange: str, services: Sequence[Service] = ()) -> list[str]:
    """Connect, declare the gateway topology (and each service's), and describe what exists."""
    async with broker.connection(url, "hookgate-topology") as connection:
        try:
            async with asyncio.timeout(broker.TIMEOUT):
                channel = await connection.channel()
                await declare_gateway_topology(channel, exchange)
                for service in services:
                    await declare_service_topology(connection, service, exchange)
        except TopologyError as err:
            raise ConsumerError(str(err)) from err
    unrouted = unrouted_name(exchange)
    return [
        f"exchange {exchange} (topic, durable, alternate-exchange={unrouted})",
        f"exchange {unrouted} (fanout, durable)",
        f"queue    {unrouted} (quorum, durable) bound to {unrouted}",
        *(line for service in services for line in describe_service_topology(service, exchange)),
    ]
