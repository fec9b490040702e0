"""Every gateway outcome reaches every observer once (`create_app(observers=…)`), through the
same door as the metrics and the request log; an observer that raises changes no answer."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from gateway.app import create_app
from gateway.config import SpoolSettings, parse_config
from gateway.forwarder import Forwarder
from gateway.metrics import GatewayMetrics
from gateway.spool import Spool, SpooledEvent
from gateway.testing import MemoryPublisher
from hookgate.observe import (
    BaseObserver,
    ForwardOutcome,
    ForwardRecord,
    IngestOutcome,
    IngestRecord,
    Observer,
    Observers,
    PublishFailure,
)
from providers.testing import sign_request

pytestmark = pytest.mark.anyio

SECRET = "whsec_" + "ef" * 16


class Recording(BaseObserver):
    def __init__(self) -> None:
        self.ingested: list[IngestRecord] = []
        self.forwarded: list[ForwardRecord] = []

    def on_ingest(self, record: IngestRecord) -> None:
        self.ingested.append(record)

    def on_forwarded(self, record: ForwardRecord) -> None:
        self.forwarded.append(record)


class Raising(BaseObserver):
    def on_ingest(self, record: IngestRecord) -> None:
        raise RuntimeError("a broken observer")

    def on_forwarded(self, record: ForwardRecord) -> None:
        raise RuntimeError("a broken observer")


class Gateway:
    def __init__(self, client: httpx.AsyncClient, registry: CollectorRegistry, app: Any) -> None:
        self.client = client
        self.registry = registry
        self.observers: Observers = app.state.observers

    def requests(self, source: str, outcome: str) -> float | None:
        labels = {"source": source, "outcome": outcome}
        return self.registry.get_sample_value("hookgate_requests_total", labels)


@contextlib.asynccontextmanager
async def gateway(
    observers: Sequence[Observer], publisher: MemoryPublisher, spool: Path | None = None
) -> AsyncIterator[Gateway]:
    raw: dict[str, Any] = {
        "broker": {"exchange": "hg-unit"},
        "dedupe": {"backend": "memory"},
        "spool": {"enabled": spool is not None, "path": str(spool or "unused")},
        "sources": {"stripe": {"provider": "stripe", "secrets": [SECRET]}},
    }
    registry = CollectorRegistry()
    app = create_app(
        parse_config(raw, {}), registry=registry, publisher=publisher, observers=observers
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as client:
            yield Gateway(client, registry, app)


def _stripe(event_id: str, secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    body = f'{{"id":"{event_id}","type":"invoice.paid","object":"event"}}'.encode()
    headers = sign_request("stripe", body, secret, timestamp=int(time.time()))
    return body, {**headers, "content-type": "application/json"}


async def _four_outcomes(gw: Gateway) -> list[tuple[int, Any]]:
    """accepted, duplicate, invalid_signature, unknown_source: each answer's status and body."""
    body, headers = _stripe("evt_obs_1")
    _, forged = _stripe("evt_obs_1", secret="whsec_" + "00" * 16)
    answers = [
        await gw.client.post("/webhooks/stripe", content=body, headers=headers),
        await gw.client.post("/webhooks/stripe", content=body, headers=headers),
        await gw.client.post("/webhooks/stripe", content=body, headers=forged),
        await gw.client.post("/webhooks/nowhere", content=body, headers=headers),
    ]
    return [(a.status_code, a.json()) for a in answers]


EXPECTED_ANSWERS = [
    (200, {"status": "accepted", "event_id": "evt_obs_1", "source": "stripe"}),
    (200, {"status": "duplicate"}),
    (
        401,
        {"status": "invalid_signature", "detail": "stripe-signature matches no configured secret"},
    ),
    (404, {"status": "unknown_source", "detail": "no source with this name is configured"}),
]


async def test_each_outcome_is_recorded_once_with_what_an_observer_needs() -> None:
    recording = Recording()
    async with gateway([recording], MemoryPublisher()) as gw:
        answers = await _four_outcomes(gw)
    assert answers == EXPECTED_ANSWERS
    accepted, duplicate, forged, unknown = recording.ingested  # one record per request
    assert [r.outcome for r in recording.ingested] == [
        IngestOutcome.ACCEPTED,
        IngestOutcome.DUPLICATE,
        IngestOutcome.INVALID_SIGNATURE,
        IngestOutcome.UNKNOWN_SOURCE,
    ]
    assert [r.status_code for r in recording.ingested] == [200, 200, 401, 404]
    assert (accepted.source, accepted.provider) == ("stripe", "stripe")
    assert (accepted.event_id, accepted.event_type) == ("evt_obs_1", "invoice.paid")
    assert (duplicate.event_id, duplicate.event_type) == ("evt_obs_1", "invoice.paid")
    assert (forged.event_id, forged.provider) == (None, "stripe")
    assert (unknown.source, unknown.provider, unknown.event_id) == ("_unknown", None, None)
    assert all(r.duration > 0 and r.publish_failure is None for r in recording.ingested)


async def test_the_metrics_count_what_the_observers_hear() -> None:
    recording = Recording()
    async with gateway([recording], MemoryPublisher()) as gw:
        await _four_outcomes(gw)
        for record in recording.ingested:
            assert gw.requests(record.source, record.outcome) == 1.0


async def test_a_raising_observer_changes_no_answer_and_no_other_observer() -> None:
    recording = Recording()
    async with gateway([Raising(), recording], MemoryPublisher()) as gw:
        answers = await _four_outcomes(gw)
        assert gw.requests("stripe", "accepted") == 1.0  # the metrics come first, unharmed
        assert gw.observers.failures == 4  # it was called, every time
    assert answers == EXPECTED_ANSWERS
    assert len(recording.ingested) == 4


async def test_a_broker_outage_records_why_the_publish_failed() -> None:
    recording = Recording()
    publisher = MemoryPublisher()
    async with gateway([recording], publisher) as gw:
        publisher.fail(PublishFailure.BLOCKED)
        body, headers = _stripe("evt_obs_down")
        refused = await gw.client.post("/webhooks/stripe", content=body, headers=headers)
    assert refused.status_code == 503
    [record] = recording.ingested
    assert (record.outcome, record.status_code) == (IngestOutcome.UNAVAILABLE, 503)
    assert (record.event_id, record.publish_failure) == ("evt_obs_down", PublishFailure.BLOCKED)


async def test_a_spooled_event_is_recorded_then_forwarded_once(tmp_path: Path) -> None:
    recording = Recording()
    publisher = MemoryPublisher()
    async with gateway([Raising(), recording], publisher, tmp_path / "spool.sqlite3") as gw:
        publisher.fail(PublishFailure.TIMEOUT)
        body, headers = _stripe("evt_obs_spooled")
        answer = await gw.client.post("/webhooks/stripe", content=body, headers=headers)
        publisher.recover()
        for _ in range(100):  # the forwarder looks at the spool every half second
            if recording.forwarded:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.6)  # one more look: nothing is forwarded twice
        forwarded_total = gw.registry.get_sample_value("hookgate_spool_forwarded_total")
    assert answer.json()["status"] == "spooled"
    [record] = recording.ingested
    assert (record.outcome, record.publish_failure) == (
        IngestOutcome.SPOOLED,
        PublishFailure.TIMEOUT,
    )
    [forwarded] = recording.forwarded
    assert forwarded == ForwardRecord(
        "stripe",
        "evt_obs_spooled",
        ForwardOutcome.FORWARDED,
        record.event_type,
        record.received_at,  # the spool keeps the request's arrival time
        forwarded.sent_at,
    )
    assert forwarded.sent_at is not None
    assert forwarded.sent_at > record.received_at
    assert forwarded_total == 1.0
    assert [m.properties.message_id for m in publisher.messages] == ["evt_obs_spooled"]


async def test_a_quarantined_event_is_recorded_once(tmp_path: Path) -> None:
    spool = Spool(SpoolSettings(path=str(tmp_path / "spool.sqlite3")))
    spool.open()
    for event_id in ("evt_ok", "x" * 300):  # an AMQP message ID holds 255 bytes at most
        await spool.append(
            SpooledEvent(
                source="stripe",
                provider="stripe",
                event_id=event_id,
                event_type="invoice.paid",
                routing_key="stripe.invoice.paid",
                headers={},
                body=b"{}",
                received_at=1000.0,
            )
        )
    recording = Recording()
    metrics = GatewayMetrics(CollectorRegistry(), ["stripe"])
    publisher = MemoryPublisher()
    forwarder = Forwarder(
        spool, publisher, metrics, lease=30, observer=Observers([metrics, Raising(), recording])
    )
    assert await spool.take_lease(30)
    assert await forwarder._forward_batch() == 2
    await spool.close()
    sent_at = recording.forwarded[1].sent_at
    assert recording.forwarded == [
        ForwardRecord("stripe", "x" * 300, ForwardOutcome.QUARANTINED, "invoice.paid", 1000.0),
        ForwardRecord(
            "stripe", "evt_ok", ForwardOutcome.FORWARDED, "invoice.paid", 1000.0, sent_at
        ),
    ]
    assert metrics.registry.get_sample_value("hookgate_spool_forwarded_total") == 1.0
