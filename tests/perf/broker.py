"""The run's own corner of the shared RabbitMQ: its exchange, counting, the broker ceiling, and
deleting everything it declared (also after Ctrl-C or an error).

Every contender publishes to `hg-perf-<random>`, declared as hookgate declares its exchange
(`hookgate.topology.declare_gateway_topology`): nothing binds it, so each persistent message
lands in the quorum queue `<exchange>.unrouted`, which is purged (and counted) after a round.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import time

import aiormq
from pamqp.commands import Basic

from hookgate.topology import declare_gateway_topology, unrouted_name

AMQP_URL = os.environ.get("HOOKGATE_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


def run_exchange() -> str:
    return f"hg-perf-{secrets.token_hex(4)}"


async def _channel() -> tuple[aiormq.abc.AbstractConnection, aiormq.abc.AbstractChannel]:
    try:
        connection = await aiormq.connect(AMQP_URL)
    except (OSError, aiormq.exceptions.AMQPError) as err:
        raise SystemExit(f"RabbitMQ does not answer at {AMQP_URL}: {err}") from err
    return connection, await connection.channel()


async def _declare_and_purge(exchange: str) -> int:
    connection, channel = await _channel()
    try:
        await declare_gateway_topology(channel, exchange)
        purged = await channel.queue_purge(unrouted_name(exchange))
        return int(purged.message_count or 0)
    finally:
        await connection.close()


def purge(exchange: str) -> int:
    """Declare the run's topology (idempotent) and empty its queue: how many messages it held."""
    return asyncio.run(_declare_and_purge(exchange))


async def _delete(exchange: str, queues: list[str], exchanges: list[str]) -> None:
    connection, channel = await _channel()
    try:
        for queue in queues:
            await channel.queue_delete(queue)
        for name in exchanges:
            await channel.exchange_delete(name)
    finally:
        await connection.close()


def delete_everything(exchange: str) -> list[str]:
    """Delete every queue and exchange whose name starts with `exchange` (the run's, and those
    `hookgate admin` declared from it); the names deleted."""
    queues = _listed("list_queues", exchange)
    exchanges = _listed("list_exchanges", exchange)
    asyncio.run(_delete(exchange, queues, exchanges))
    return queues + exchanges


def _listed(what: str, prefix: str) -> list[str]:
    done = subprocess.run(
        ["rabbitmqctl", "-q", what, "name"], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:  # no rabbitmqctl here: the names the harness knows it declared
        return [unrouted_name(prefix)] if what == "list_queues" else [unrouted_name(prefix), prefix]
    names = [line.strip() for line in done.stdout.splitlines()]
    return [name for name in names if name == prefix or name.startswith(prefix + ".")]


def rabbitmq_version() -> str:
    done = subprocess.run(
        ["rabbitmqctl", "-q", "version"], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() if done.returncode == 0 else "unknown (rabbitmqctl unavailable)"


async def _ceiling(
    exchange: str, seconds: float, publishers: int, body_bytes: int, url: str = AMQP_URL
) -> int:
    connection = await aiormq.connect(url)
    channel = await connection.channel(publisher_confirms=True)
    body = b"x" * body_bytes
    properties = Basic.Properties(delivery_mode=2, content_type="application/json")
    deadline = time.monotonic() + seconds
    confirmed = 0

    async def publisher() -> None:
        nonlocal confirmed
        while time.monotonic() < deadline:
            confirm = await channel.basic_publish(
                body,
                exchange=exchange,
                routing_key="perf.ceiling",
                properties=properties,
                mandatory=True,
            )
            if isinstance(confirm, Basic.Ack):
                confirmed += 1

    try:
        await asyncio.gather(*(publisher() for _ in range(publishers)))
    finally:
        await connection.close()
    return confirmed


def broker_ceiling(
    exchange: str,
    seconds: float,
    publishers: int = 32,
    body_bytes: int = 1024,
    url: str = AMQP_URL,
) -> tuple[float, int]:
    """Confirmed persistent publishes per second into the run's quorum queue, and how many.
    `publishers` coroutines on one channel, each waiting for its confirm before the next."""
    import uvloop

    started = time.monotonic()
    confirmed = uvloop.run(_ceiling(exchange, seconds, publishers, body_bytes, url))
    return confirmed / (time.monotonic() - started), confirmed
