"""Message authentication on the real broker: with `message_key` set, only signed events reach
handlers (retries included), the rest are dead-lettered as `Unauthenticated`, and `dlq replay`
refuses to send them back."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import aiormq
import pytest

from consumers import Event, Reject, Service
from consumers.dlq import peek
from hookgate.cli import main as cli
from hookgate.topology import dead_queue
from tests.integration.broker import AMQP_URL
from tests.integration.consumer_kit import (
    broker_config,
    depth_is,
    eventually,
    publish_event,
    running_worker,
)

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

KEY = "test-message-key-0123456789abcdef"
SECRET_BODY = "4111-1111-1111-1111"


async def test_only_signed_events_reach_handlers_and_retries_stay_signed(
    exchange: str,
    make_service: Callable[..., Service],
    confirm_channel: aiormq.abc.AbstractChannel,
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = make_service(retry_delays=(0.3,))
    attempts: list[tuple[str, int]] = []

    @service.handler("shop.#")
    async def order(event: Event) -> None:
        attempts.append((event.id, event.attempt))
        if event.attempt == 1:
            raise RuntimeError("first attempt fails")

    caplog.set_level(logging.INFO, logger="hookgate.consumer")
    async with running_worker(service, exchange, message_keys=[KEY]) as worker:
        signed = await publish_event(confirm_channel, exchange, key=KEY)
        forged = await publish_event(
            confirm_channel, exchange, body={"card": SECRET_BODY}, key="someone-elses-key-000000"
        )
        unsigned = await publish_event(confirm_channel, exchange)
        await eventually(lambda: worker.count("order", "success") == 1, 15, "the retried event")
        await eventually(
            lambda: worker.count("_unauthenticated", "unauthenticated") == 2, 10, "two refusals"
        )
    # The signed event went through its retry tier and came back still verifying.
    assert attempts == [(signed, 1), (signed, 2)]

    total, letters = await peek(AMQP_URL, dead_queue(service), 10)
    assert total == 2
    assert {letter.event_id for letter in letters} == {forged, unsigned}
    for letter in letters:
        assert letter.error_type == "Unauthenticated"
        assert letter.reason == "unauthenticated"
        assert letter.attempt == 1  # never retried
    refusals = [r for r in caplog.records if r.getMessage().startswith("message failed auth")]
    assert len(refusals) == 2
    assert all(r.levelno == logging.ERROR for r in refusals)
    assert all(SECRET_BODY not in str(getattr(r, "fields", "")) for r in refusals)


async def test_dlq_replay_refuses_unverified_messages_unless_allowed(
    exchange: str,
    make_service: Callable[..., Service],
    confirm_channel: aiormq.abc.AbstractChannel,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    service = make_service(retry_delays=(1,))
    handled: list[str] = []
    fixed = asyncio.Event()

    @service.handler("shop.#")
    async def order(event: Event) -> None:
        if not fixed.is_set():
            raise Reject("not yet")
        handled.append(event.id)

    async with running_worker(service, exchange, message_keys=[KEY]) as worker:
        signed = await publish_event(confirm_channel, exchange, key=KEY)
        unsigned = await publish_event(confirm_channel, exchange)
        await eventually(lambda: worker.count("order", "rejected") == 1, 10, "the rejection")
        await eventually(
            lambda: depth_is(confirm_channel, dead_queue(service), 2), 10, "two dead letters"
        )
        fixed.set()
        config = broker_config(tmp_path, exchange, f'message_key = "{KEY}"\n')
        argv = ["dlq", "replay", service.name, "--all", "-c", config]
        assert await asyncio.to_thread(cli, argv) == 1
        out, err = capsys.readouterr()
        assert f"replayed {signed}" in out
        assert unsigned not in out
        [refused, summary] = err.splitlines()
        assert refused.startswith(f"hookgate: refused {unsigned}: no hookgate-signature header")
        assert summary.startswith("hookgate: error: 1 event(s) not replayed")
        assert KEY not in err
        await eventually(lambda: handled == [signed], 10, "the replayed signed event")
        await eventually(  # still parked: handed back when the CLI's channel closed
            lambda: depth_is(confirm_channel, dead_queue(service), 1), 10, "the refused one"
        )

        argv.append("--allow-unauthenticated")
        assert await asyncio.to_thread(cli, argv) == 0
        assert f"replayed {unsigned}" in capsys.readouterr().out
        # Replayed on purpose, it is still unsigned: the worker parks it again.
        await eventually(
            lambda: worker.count("_unauthenticated", "unauthenticated") == 2, 10, "the re-refusal"
        )
    assert handled == [signed]
