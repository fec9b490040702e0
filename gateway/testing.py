"""Run the gateway without RabbitMQ, for unit tests: an in-memory publisher.

    from gateway.app import create_app
    from gateway.testing import MemoryPublisher

    publisher = MemoryPublisher()
    app = create_app(config, publisher=publisher)
    ...                                   # POST through httpx.ASGITransport, within the lifespan
    [message] = publisher.messages        # what RabbitMQ would have confirmed
    publisher.fail()                      # the next publishes fail as in a broker outage

It encodes each message's properties as the AMQP client would and refuses what would not fit
one frame, so a test sees what the broker would take. It is not a broker: integration tests run
against a real RabbitMQ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pamqp.commands import Basic

from gateway.errors import PublishFailed
from gateway.message import MAX_PROPERTIES_BYTES
from hookgate.observe import PublishFailure


@dataclass(frozen=True)
class PublishedMessage:
    """One message the gateway published (and the broker would have confirmed)."""

    body: bytes
    routing_key: str
    properties: Basic.Properties

    @property
    def headers(self) -> dict[str, Any]:
        return dict(self.properties.headers or {})


class MemoryPublisher:
    """Records publishes instead of sending them; `fail()` and `recover()` play an outage."""

    def __init__(self) -> None:
        self.messages: list[PublishedMessage] = []
        self.connected = True
        self.login_refused = False
        self.max_properties_bytes = MAX_PROPERTIES_BYTES
        self._failure: PublishFailure | None = None

    async def start(self, wait: float = 0.0) -> None:
        """Nothing to connect to."""

    async def close(self) -> None:
        """Nothing to close."""

    def fail(self, reason: str = PublishFailure.DISCONNECTED) -> None:
        """From now on every publish fails with `reason` (a `PublishFailure`)."""
        self._failure = PublishFailure(reason)
        self.connected = False

    def recover(self) -> None:
        self._failure = None
        self.connected = True

    async def publish(self, body: bytes, routing_key: str, properties: Basic.Properties) -> None:
        if self._failure is not None:
            raise PublishFailed(self._failure, "the in-memory publisher was told to fail")
        if len(properties.marshal()) > self.max_properties_bytes:
            # What RabbitMQ does with a frame that is too large: close the connection.
            raise PublishFailed(PublishFailure.CONNECTION_LOST, "properties larger than one frame")
        self.messages.append(PublishedMessage(body, routing_key, properties))
