"""Consumer services on the real broker, in-process: end to end from a signed request, retry
tiers, the dead-letter queue and its CLI, Reject, Retry(delay), duplicates."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

import aiormq
import orjson
import pytest

from consumers import Event, MemoryIdempotencyStore, Reject, Retry, Service
from consumers.dlq import peek
from hookgate.cli import main as cli
from hookgate.topology import dead_queue
from providers.testing import sign_request
from tests.integration.broker import AMQP_URL
from tests.integration.conftest import make_config, running_gateway
from tests.integration.consumer_kit import (
    depth_is,
    eventually,
    publish_event,
    queue_depth,
    running_worker,
)

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


async def test_signed_request_reaches_the_handler_once_with_every_field(
    exchange: str, make_service: Callable[..., Service]
) -> None:
    service = make_service()
    seen: list[Event] = []

    @service.handler("stripe.invoice.*")
    async def invoice(event: Event) -> None:
        seen.append(event)

    secret = "whsec_" + uuid.uuid4().hex
    event_id = f"evt_{uuid.uuid4().hex}"
    body = b'{"id": "%s", "type": "invoice.paid", "data": {"object": {"caf\\u00e9": 1}}}  ' % (
        event_id.encode()
    )
    headers = sign_request("stripe", body, secret)
    headers["x-request-id"] = "req-1"
    config = make_config(exchange, {"stripe": {"provider": "stripe", "secrets": [secret]}})
    async with running_worker(service, exchange) as worker, running_gateway(config) as gw:
        response = await gw.client.post("/webhooks/stripe", content=body, headers=headers)
        assert response.status_code == 200, response.text
        await eventually(lambda: worker.count("invoice", "success") == 1, 10, "the handler")

    [event] = seen
    assert event.body == body  # byte for byte, trailing spaces and escapes included
    assert (event.id, event.source, event.provider, event.type) == (
        event_id,
        "stripe",
        "stripe",
        "invoice.paid",
    )
    assert event.attempt == 1
    assert event.content_type == headers["content-type"]
    assert event.headers["stripe-signature"] == headers["stripe-signature"]
    assert event.headers["x-request-id"] == "req-1"
    assert abs(event.received_at.timestamp() - time.time()) < 10
    assert event.json()["data"]["object"] == {"café": 1}


async def test_failing_twice_then_succeeding_follows_the_tiers(
    exchange: str, make_service: Callable[..., Service], confirm_channel: aiormq.abc.AbstractChannel
) -> None:
    service = make_service(retry_delays=(0.5, 1.5))
    attempts: list[tuple[int, float]] = []

    @service.handler("shop.#")
    async def flaky(event: Event) -> None:
        attempts.append((event.attempt, time.monotonic()))
        if event.attempt < 3:
            raise ConnectionError("upstream down")

    async with running_worker(service, exchange) as worker:
        await publish_event(confirm_channel, exchange)
        await eventually(lambda: worker.count("flaky", "success") == 1, 15, "the third attempt")
        assert worker.count("flaky", "retry") == 2
        assert worker.count("flaky", "dead_lettered") == 0

    assert [attempt for attempt, _ in attempts] == [1, 2, 3]
    first_wait = attempts[1][1] - attempts[0][1]
    second_wait = attempts[2][1] - attempts[1][1]
    assert 0.45 <= first_wait < 2.5, first_wait
    assert 1.45 <= second_wait < 4.0, second_wait


async def test_always_failing_event_is_dead_lettered_listed_shown_and_replayed(
    exchange: str,
    make_service: Callable[..., Service],
    confirm_channel: aiormq.abc.AbstractChannel,
    capsys: pytest.CaptureFixture[str],
) -> None:
    service = make_service(retry_delays=(0.2, 0.2))
    fixed = asyncio.Event()
    processed: list[Event] = []

    @service.handler("shop.order.*")
    async def order(event: Event) -> None:
        if not fixed.is_set():
            raise ValueError("order total is negative")
        processed.append(event)

    async with running_worker(service, exchange) as worker:
        event_id = await publish_event(confirm_channel, exchange, body={"total": -1})
        await eventually(lambda: worker.count("order", "dead_lettered") == 1, 15, "dead-letter")
        assert worker.count("order", "retry") == 2

        total, [letter] = await peek(AMQP_URL, dead_queue(service), 10)
        assert total == 1
        assert (letter.event_id, letter.attempt, letter.handler) == (event_id, 3, "order")
        assert (letter.error_type, letter.error_message) == (
            "ValueError",
            "order total is negative",
        )
        assert "order total is negative" in letter.traceback
        assert letter.reason == "retries_exhausted"
        assert letter.failed_at.endswith("Z")
        assert orjson.loads(letter.body) == {"total": -1}

        broker = ["--config", "/nonexistent.toml"]
        env_free = ["--config", _broker_config(exchange)]
        assert await _cli(["dlq", "list", service.name, *env_free]) == 0
        listing = capsys.readouterr().out
        assert f"1 event(s) in {service.name}.dead" in listing
        assert event_id in listing
        assert "ValueError: order total is negative" in listing
        # Listing took nothing: the message is handed back when the CLI's channel closes.
        await eventually(
            lambda: depth_is(confirm_channel, dead_queue(service), 1), 5, "the DLQ to hold it"
        )

        assert await _cli(["dlq", "show", service.name, event_id, *env_free]) == 0
        shown = capsys.readouterr().out
        assert "traceback:" in shown
        assert "raise ValueError" in shown
        assert '{"total":-1}' in shown
        assert "hookgate-attempt: 3" in shown

        assert await _cli(["dlq", "show", service.name, "evt_missing", *broker]) == 2
        assert "cannot read config file" in capsys.readouterr().err
        assert await _cli(["dlq", "show", service.name, "evt_missing", *env_free]) == 2
        assert f"no event 'evt_missing' in {service.name}.dead" in capsys.readouterr().err

        fixed.set()
        assert await _cli(["dlq", "replay", service.name, "--event-id", event_id, *env_free]) == 0
        assert f"replayed {event_id}" in capsys.readouterr().out
        await eventually(lambda: len(processed) == 1, 10, "the replayed event")
        assert processed[0].attempt == 1
        assert processed[0].id == event_id
        assert await queue_depth(confirm_channel, dead_queue(service)) == 0


async def test_reject_goes_straight_to_the_dead_letter_queue(
    exchange: str, make_service: Callable[..., Service], confirm_channel: aiormq.abc.AbstractChannel
) -> None:
    service = make_service(retry_delays=(0.2,))
    calls: list[int] = []

    @service.handler("#")
    async def strict(event: Event) -> None:
        calls.append(event.attempt)
        raise Reject("customer unknown")

    async with running_worker(service, exchange) as worker:
        event_id = await publish_event(confirm_channel, exchange)
        await eventually(lambda: worker.count("strict", "rejected") == 1, 10, "the rejection")
        await asyncio.sleep(0.5)  # a retry tier would have brought it back by now

    assert calls == [1]
    total, [letter] = await peek(AMQP_URL, dead_queue(service), 10)
    assert total == 1
    assert (letter.event_id, letter.reason, letter.error_type) == (event_id, "rejected", "Reject")
    assert letter.error_message == "customer unknown"


async def test_retry_with_a_delay_waits_in_the_matching_tier(
    exchange: str, make_service: Callable[..., Service], confirm_channel: aiormq.abc.AbstractChannel
) -> None:
    service = make_service(retry_delays=(0.2, 2.0, 6.0))
    times: list[float] = []

    @service.handler("#")
    async def throttled(event: Event) -> None:
        times.append(time.monotonic())
        if event.attempt == 1:
            raise Retry(delay=1.5, reason="rate limited")

    async with running_worker(service, exchange) as worker:
        await publish_event(confirm_channel, exchange)
        await eventually(lambda: worker.count("throttled", "success") == 1, 15, "the retry")

    waited = times[1] - times[0]
    assert 1.95 <= waited < 5.5, waited  # the 2s tier: not 0.2s (attempt 1's), not 6s


async def test_event_types_are_matched_as_the_gateway_routed_them(
    exchange: str, make_service: Callable[..., Service], confirm_channel: aiormq.abc.AbstractChannel
) -> None:
    service = make_service()
    seen: list[str] = []

    @service.handler("shopify.orders_create")
    async def orders(event: Event) -> None:
        seen.append(event.type)

    async with running_worker(service, exchange) as worker:
        await publish_event(confirm_channel, exchange, source="shopify", event_type="orders/create")
        await eventually(lambda: worker.count("orders", "success") == 1, 10, "the handler")
    assert seen == ["orders/create"]


async def test_an_event_no_handler_matches_is_dead_lettered_not_dropped(
    exchange: str, make_service: Callable[..., Service], confirm_channel: aiormq.abc.AbstractChannel
) -> None:
    service = make_service()
    service.handler("shop.#")(lambda event: None)
    async with running_worker(service, exchange):
        pass  # declares the queue with the binding shop.#
    service.handlers.clear()  # the handler is removed; its binding stays on the broker
    service.handler("shop.order.*")(lambda event: None)
    service._match.cache_clear()
    async with running_worker(service, exchange) as worker:
        event_id = await publish_event(confirm_channel, exchange, event_type="refund.created")
        await eventually(lambda: worker.count("_unmatched", "unmatched") == 1, 10, "dead-letter")
    total, [letter] = await peek(AMQP_URL, dead_queue(service), 10)
    assert (total, letter.event_id, letter.reason) == (1, event_id, "unmatched")
    assert (
        letter.error_message == f"no handler of service {service.name} matches shop.refund.created"
    )


async def test_duplicate_deliveries_are_skipped_with_an_idempotency_store(
    exchange: str, make_service: Callable[..., Service], confirm_channel: aiormq.abc.AbstractChannel
) -> None:
    service = make_service(idempotency=MemoryIdempotencyStore())
    runs: list[str] = []

    @service.handler("#")
    def record(event: Event) -> None:  # a sync handler, in the thread pool
        runs.append(event.id)

    async with running_worker(service, exchange) as worker:
        event_id = await publish_event(confirm_channel, exchange)
        await publish_event(confirm_channel, exchange, event_id=event_id)
        await eventually(lambda: worker.count("record", "duplicate") == 1, 10, "the duplicate")
        assert worker.count("record", "success") == 1
    assert runs == [event_id]


async def test_queue_depths_are_sampled_into_metrics(
    exchange: str, make_service: Callable[..., Service], confirm_channel: aiormq.abc.AbstractChannel
) -> None:
    service = make_service(retry_delays=(30,))

    @service.handler("#")
    async def never(event: Event) -> None:
        raise Reject("parked")

    async with running_worker(service, exchange, sample_interval=0.1) as worker:
        await publish_event(confirm_channel, exchange)
        await publish_event(confirm_channel, exchange)

        def dead_depth() -> float | None:
            return worker.registry.get_sample_value(
                "hookgate_queue_messages", {"queue": dead_queue(service)}
            )

        await eventually(lambda: dead_depth() == 2, 10, "the sampled DLQ depth")
        await eventually(
            lambda: (
                worker.registry.get_sample_value(
                    "hookgate_consumer_in_flight", {"service": service.name}
                )
                == 0
            ),
            5,
            "nothing in flight",
        )


async def _cli(argv: list[str]) -> int:
    """The real `hookgate` CLI, in a thread (it runs its own event loop)."""
    return await asyncio.to_thread(cli, argv)


def _broker_config(exchange: str) -> str:
    import tempfile

    handle = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)  # noqa: SIM115
    with handle:
        handle.write(f'[broker]\nurl = "{AMQP_URL}"\nexchange = "{exchange}"\n')
    return handle.name
