"""A provider's `acknowledgement`: the sender's own answer to a delivery the gateway took.

Dropbox Sign retries a callback until the answer's body is `Hello API Event Received`; the
gateway answers that text for `accepted`, `spooled` and `duplicate` (a retry must stop too),
keeps its JSON answer for every refusal, and still records the real outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from prometheus_client import CollectorRegistry

from gateway.app import create_app
from gateway.config import SourceSettings, parse_config
from gateway.errors import ConfigError
from gateway.sources import build_source
from gateway.testing import MemoryPublisher
from providers import Handshake, Secret, VerifiedEvent
from providers.builtin.dropbox_sign import event_hash

pytestmark = pytest.mark.anyio

API_KEY = "dropbox-sign-api-key-0123456789"
ACK = b"Hello API Event Received"


@contextlib.asynccontextmanager
async def gateway(
    publisher: MemoryPublisher, registry: CollectorRegistry, spool: Path | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    raw: dict[str, Any] = {
        "broker": {"exchange": "hg-unit"},
        "dedupe": {"backend": "memory"},
        "spool": {"enabled": spool is not None, "path": str(spool or "unused")},
        "sources": {"sign": {"provider": "dropbox-sign", "secrets": [API_KEY]}},
    }
    app = create_app(parse_config(raw, {}), registry=registry, publisher=publisher)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as client:
            yield client


def _callback(request_id: str, key: str = API_KEY) -> bytes:
    event = {"event_type": "signature_request_sent", "event_time": "1733200000"}
    event["event_hash"] = event_hash(key, event["event_time"], event["event_type"])
    callback = {"event": event, "signature_request": {"signature_request_id": request_id}}
    return json.dumps(callback).encode()


def _count(registry: CollectorRegistry, outcome: str) -> float:
    labels = {"source": "sign", "outcome": outcome}
    return registry.get_sample_value("hookgate_requests_total", labels) or 0.0


async def test_accepted_and_duplicate_are_answered_with_the_senders_text() -> None:
    publisher, registry = MemoryPublisher(), CollectorRegistry()
    async with gateway(publisher, registry) as client:
        body = _callback("sr1")
        first = await client.post("/webhooks/sign", content=body)
        again = await client.post("/webhooks/sign", content=body)
        forged = await client.post("/webhooks/sign", content=_callback("sr2", key="other"))

    for response in (first, again):
        assert (response.status_code, response.content) == (200, ACK)
        assert response.headers["content-type"] == "text/plain"
    assert (forged.status_code, forged.json()["status"]) == (401, "invalid_signature")
    [message] = publisher.messages
    assert message.properties.message_id == "1733200000:signature_request_sent:sr1"
    assert (_count(registry, "accepted"), _count(registry, "duplicate")) == (1.0, 1.0)


async def test_a_spooled_delivery_is_acknowledged_too(tmp_path: Path) -> None:
    publisher, registry = MemoryPublisher(), CollectorRegistry()
    async with gateway(publisher, registry, spool=tmp_path / "spool.sqlite3") as client:
        publisher.fail("timeout")
        response = await client.post("/webhooks/sign", content=_callback("sr3"))
        publisher.recover()
        for _ in range(100):  # the forwarder looks at the spool every half second
            if publisher.messages:
                break
            await asyncio.sleep(0.05)

    assert (response.status_code, response.content) == (200, ACK)
    assert _count(registry, "spooled") == 1.0
    assert len(publisher.messages) == 1


class _Declares:
    family = "test"
    methods: ClassVar[frozenset[str]] = frozenset({"POST"})

    def __init__(self, acknowledgement: object) -> None:
        self.acknowledgement = acknowledgement

    def verify(self, request: object) -> VerifiedEvent:
        return VerifiedEvent("e", "t")


@pytest.mark.parametrize("acknowledgement", [Handshake(b"no", status_code=400), b"text"])
def test_an_acknowledgement_that_is_no_2xx_handshake_stops_startup(
    monkeypatch: pytest.MonkeyPatch, acknowledgement: object
) -> None:
    monkeypatch.setattr(
        "gateway.sources.load", lambda name: lambda spec: _Declares(acknowledgement)
    )
    settings = SourceSettings(
        name="odd", provider="x", secrets=(Secret("s"),), tolerance_seconds=None, options={}
    )

    with pytest.raises(ConfigError, match=r"sources\.odd: the provider's acknowledgement"):
        build_source(settings)
