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

`message_for(provider, body, headers, secrets=[…])` is the message the gateway publishes for
one signed request, verified by the real provider: hand it to `consumers.testing.deliver` to
test a handler with exactly what `hookgate serve` would send it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pamqp.commands import Basic

from gateway.config import SourceSettings
from gateway.errors import PublishFailed
from gateway.message import MAX_PROPERTIES_BYTES, build_properties
from gateway.provider_io import verify_after_load
from gateway.sources import build_source
from hookgate.observe import PublishFailure
from hookgate.routing import routing_key
from hookgate.secret import Secret
from providers import Handshake, KeyUnavailable, VerifiedEvent, WebhookRequest


@dataclass(frozen=True)
class PublishedMessage:
    """One message the gateway published (and the broker would have confirmed)."""

    body: bytes
    routing_key: str
    properties: Basic.Properties

    @property
    def headers(self) -> dict[str, Any]:
        return dict(self.properties.headers or {})

    @property
    def content_type(self) -> str | None:
        return self.properties.content_type

    @property
    def message_id(self) -> str | None:
        return self.properties.message_id


def message_for(
    provider: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    secrets: Iterable[str],
    source: str | None = None,
    options: Mapping[str, Any] | None = None,
    message_key: str | None = None,
) -> PublishedMessage:
    """The message the gateway publishes for this signed request to `[sources.<source>]`
    (`source` defaults to the provider's name): verified by the real `provider`, with the HTTP
    headers the gateway keeps (credentials and hop-by-hop headers dropped) and, with
    `message_key`, signed as `[broker] message_key` signs it. Raises the provider's
    `VerificationError` when the signature does not hold."""
    name = source or provider
    settings = SourceSettings(
        name, provider, tuple(Secret(s) for s in secrets), None, options=dict(options or {})
    )
    built = build_source(settings)
    lowered = {key.lower(): value for key, value in headers.items()}
    received_at = time.time()
    request = WebhookRequest(
        method="POST",
        url=f"http://127.0.0.1:8000/webhooks/{name}",
        headers=lowered,
        query={},
        body=body,
        received_at=received_at,
    )
    try:
        verified = built.provider.verify(request)
    except KeyUnavailable as missing:  # fetch the key as the gateway would, then verify again
        verified = _run(verify_after_load(built.provider, request, missing))
    if isinstance(verified, Handshake):
        raise ValueError("that request is a provider handshake, not an event")
    properties = build_properties(
        source=name,
        provider=provider,
        event=verified,
        headers=lowered,
        received_at=received_at,
        drop=built.drop_headers,
        message_key=message_key.encode() if message_key is not None else None,
        body=body,
    )
    return PublishedMessage(body, routing_key(name, verified.type), properties)


def _run(
    work: Coroutine[object, object, VerifiedEvent | Handshake],
) -> VerifiedEvent | Handshake:
    """Run `work` to its end from synchronous code, inside a running event loop or not."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(work)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result()


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
