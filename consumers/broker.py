"""Short-lived broker connections for the command-line tools (`dlq`, `peek`, `topology`), and
what AMQP alone can tell about a queue or an exchange.

AMQP answers a passive declare with a queue's ready messages and consumer count, and only for
a name it is given: it cannot list queues or bindings, nor count unacked messages. That is what
the tools can see without the management plugin; their help says so.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiormq

from consumers.errors import ConsumerError
from hookgate.connect import BrokerNodes
from hookgate.errors import describe

TIMEOUT = 15.0
AMQP_ERRORS = (aiormq.exceptions.AMQPError, ConnectionError, OSError, TimeoutError)


@dataclass(frozen=True)
class QueueState:
    """A queue as a passive declare sees it. `problem` is set when it could not be seen."""

    name: str
    ready: int = 0
    consumers: int = 0
    problem: str = ""  # "missing", or why the broker would not say

    @property
    def exists(self) -> bool:
        return not self.problem


async def connect(url: str, name: str = "hookgate-cli") -> aiormq.abc.AbstractConnection:
    try:
        async with asyncio.timeout(TIMEOUT):
            return await BrokerNodes(url).connect(name)
    except AMQP_ERRORS as err:
        raise ConsumerError(f"cannot connect to the broker: {describe(err, url)}") from err


async def close(connection: aiormq.abc.AbstractConnection) -> None:
    with contextlib.suppress(Exception):
        async with asyncio.timeout(5):
            await connection.close()


@contextlib.asynccontextmanager
async def connection(
    url: str, name: str = "hookgate-cli"
) -> AsyncIterator[aiormq.abc.AbstractConnection]:
    """A connection closed on exit; broker errors inside become one-line `ConsumerError`s."""
    conn = await connect(url, name)
    try:
        yield conn
    except AMQP_ERRORS as err:
        raise ConsumerError(f"{type(err).__name__}: {err}") from err
    finally:
        await close(conn)


async def queue_state(conn: aiormq.abc.AbstractConnection, name: str) -> QueueState:
    """Ready messages and consumers of queue `name` (a channel of its own: a passive declare
    of a missing queue closes the channel it is made on)."""
    channel = await conn.channel()
    try:
        declared = await channel.queue_declare(name, passive=True, timeout=TIMEOUT)
    except aiormq.exceptions.ChannelNotFoundEntity:
        return QueueState(name, problem="missing")
    except aiormq.exceptions.ChannelAccessRefused:
        return QueueState(name, problem="access refused to these credentials")
    finally:
        if not channel.is_closed:
            await channel.close()
    return QueueState(name, int(declared.message_count or 0), int(declared.consumer_count or 0))


async def exchange_exists(conn: aiormq.abc.AbstractConnection, name: str) -> str:
    """ "" when exchange `name` exists, else "missing" or why it cannot be seen."""
    channel = await conn.channel()
    try:
        await channel.exchange_declare(name, passive=True, timeout=TIMEOUT)
    except aiormq.exceptions.ChannelNotFoundEntity:
        return "missing"
    except aiormq.exceptions.ChannelAccessRefused:
        return "access refused to these credentials"
    finally:
        if not channel.is_closed:
            await channel.close()
    return ""
