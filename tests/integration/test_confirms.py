"""`ConfirmChannel` against the real broker: what it publishes arrives byte for byte, and every
way a confirm can fail to come reaches the publisher as the error the gateway maps."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiormq
import pytest
from pamqp.commands import Basic

from gateway.amqp_encoding import EventProperties
from gateway.confirms import ConfirmChannel
from tests.integration.broker import AMQP_URL, bind_queue, drain

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


def _properties(message_id: str) -> EventProperties:
    return EventProperties(
        content_type="application/json",
        delivery_mode=2,
        message_id=message_id,
        timestamp=datetime(2026, 12, 2, tzinfo=UTC),
        app_id="hookgate",
        headers={"hookgate-source": "test", "hookgate-http-headers": {"x-n": message_id}},
    )


@pytest.fixture
async def connection() -> AsyncIterator[aiormq.abc.AbstractConnection]:
    connection = await aiormq.connect(AMQP_URL)
    try:
        yield connection
    finally:
        await connection.close()


async def _declared(channel: aiormq.abc.AbstractChannel, exchange: str) -> None:
    await channel.exchange_declare(exchange, exchange_type="topic", auto_delete=True)


async def _publishing(
    connection: aiormq.abc.AbstractConnection,
    amqp: aiormq.abc.AbstractChannel,
    confirm_timeout: float = 10,
) -> tuple[ConfirmChannel, str]:
    """A ConfirmChannel on a fresh exchange, and a queue that takes everything sent to it."""
    exchange = f"hg-test-{uuid.uuid4().hex[:10]}"
    await _declared(amqp, exchange)
    queue = await bind_queue(amqp, exchange)
    channel = await connection.channel(publisher_confirms=True)
    assert isinstance(channel, aiormq.Channel)
    return ConfirmChannel(connection, channel, exchange, timeout=confirm_timeout), queue


async def test_concurrent_publishes_arrive_whole_in_order_and_confirmed(
    connection: aiormq.abc.AbstractConnection, amqp: aiormq.abc.AbstractChannel
) -> None:
    confirm, queue = await _publishing(connection, amqp)
    # Empty, small, and bodies of several frames (frame_max is 128 KiB).
    bodies = [b"", b"{}", *(bytes([i % 251]) * (i * 9_973) for i in range(1, 40))]
    results = await asyncio.gather(
        *(
            confirm.publish(body, f"test.k{i}", _properties(f"m{i}"))
            for i, body in enumerate(bodies)
        )
    )
    assert all(isinstance(result, Basic.Ack) for result in results)
    messages = await drain(amqp, queue)
    assert [m.body for m in messages] == bodies
    assert [m.header.properties.message_id for m in messages] == [
        f"m{i}" for i in range(len(bodies))
    ]
    assert [m.routing_key for m in messages] == [f"test.k{i}" for i in range(len(bodies))]
    assert messages[3].header.properties.headers == {
        "hookgate-source": "test",
        "hookgate-http-headers": {"x-n": "m3"},
    }
    await amqp.queue_delete(queue)


async def test_an_unroutable_message_is_returned_as_a_publish_error(
    connection: aiormq.abc.AbstractConnection, amqp: aiormq.abc.AbstractChannel
) -> None:
    exchange = f"hg-test-{uuid.uuid4().hex[:10]}"
    await _declared(amqp, exchange)  # nothing bound, no alternate exchange
    queue = await bind_queue(amqp, exchange, "bound.#")  # keeps the auto-delete exchange
    channel = await connection.channel(publisher_confirms=True)
    assert isinstance(channel, aiormq.Channel)
    confirm = ConfirmChannel(connection, channel, exchange, timeout=10)
    with pytest.raises(aiormq.exceptions.PublishError):
        await confirm.publish(b"lost?", "nowhere", _properties("returned"))
    # The channel is still usable, and the next publish is confirmed on its own tag.
    assert isinstance(await confirm.publish(b"ok", "bound.x", _properties("ok")), Basic.Ack)
    assert [m.body for m in await drain(amqp, queue)] == [b"ok"]
    await amqp.queue_delete(queue)


async def test_a_channel_closed_by_the_broker_fails_every_waiting_publish(
    connection: aiormq.abc.AbstractConnection,
) -> None:
    channel = await connection.channel(publisher_confirms=True)
    assert isinstance(channel, aiormq.Channel)
    missing = f"hg-test-missing-{uuid.uuid4().hex[:10]}"  # 404 NOT_FOUND closes the channel
    confirm = ConfirmChannel(connection, channel, missing, timeout=10)
    results = await asyncio.gather(
        *(confirm.publish(b"x", "k", _properties(f"c{i}")) for i in range(5)),
        return_exceptions=True,
    )
    assert all(isinstance(result, ConnectionError) for result in results), results
    with pytest.raises(ConnectionError):
        await confirm.publish(b"x", "k", _properties("after"))


async def test_a_confirm_that_does_not_come_in_time_fails_with_timeout_error(
    connection: aiormq.abc.AbstractConnection, amqp: aiormq.abc.AbstractChannel
) -> None:
    # No broker answers within a microsecond: the timer fires before any confirm can arrive.
    confirm, queue = await _publishing(connection, amqp, confirm_timeout=1e-6)
    results = await asyncio.gather(
        *(confirm.publish(b"slow", "k", _properties(f"t{i}")) for i in range(3)),
        return_exceptions=True,
    )
    assert all(isinstance(result, TimeoutError) for result in results), results
    # Not confirmed in time is not "not published": the broker has them (the gateway answers
    # 503 all the same, and the provider's retry may publish a duplicate, never a loss).
    got: list[object] = []
    async with asyncio.timeout(5):
        while len(got) < 3:
            got += await drain(amqp, queue)
            await asyncio.sleep(0.05)
    assert [m.body for m in got] == [b"slow"] * 3  # type: ignore[attr-defined]
    await amqp.queue_delete(queue)


class _Unencodable(EventProperties):
    def marshal(self) -> bytes:
        raise TypeError("cannot encode")


async def test_a_publish_that_cannot_be_encoded_takes_no_delivery_tag(
    connection: aiormq.abc.AbstractConnection, amqp: aiormq.abc.AbstractChannel
) -> None:
    confirm, queue = await _publishing(connection, amqp)
    bad = _Unencodable(message_id="bad", delivery_mode=2)
    with pytest.raises(TypeError):
        await confirm.publish(b"never", "k", bad)
    # Had the failed publish taken a tag, the broker's confirm of this one would answer it
    # and this one would wait until it timed out.
    assert isinstance(await confirm.publish(b"next", "k", _properties("next")), Basic.Ack)
    assert [m.body for m in await drain(amqp, queue)] == [b"next"]
    await amqp.queue_delete(queue)
