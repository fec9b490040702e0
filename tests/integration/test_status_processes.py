"""`hookgate consume` as a real process emits status when the shared config has an `[admin]`
table (its token never read: the variable is unset here), announces its service, and stops
cleanly; without `[admin]` it opens no status connection at all."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from pathlib import Path

import aiormq
import pytest

from consumers import Service
from hookgate.topology import all_queues, status_exchange
from tests.integration.consumer_kit import (
    ConsumerProcess,
    delete_queues,
    eventually,
    publish_event,
    service_name,
)
from tests.integration.status_kit import running_recorder, steps, timeline

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
ADMIN = '\n[admin]\ntoken = "${HOOKGATE_ADMIN_TOKEN}"\n'


@pytest.fixture
async def name() -> AsyncIterator[str]:
    name = service_name()
    yield name
    await delete_queues(all_queues(Service(name, retry_delays=(1,))))


async def test_a_consumer_process_with_admin_announces_and_emits(
    tmp_path: Path, exchange: str, name: str, confirm_channel: aiormq.abc.AbstractChannel
) -> None:
    async with running_recorder(exchange) as (_, ledger):
        process = ConsumerProcess(tmp_path, exchange, {"HG_TEST_SERVICE": name}, broker_toml=ADMIN)
        try:
            await process.wait_consuming()

            async def announced() -> bool:
                return name in {a.service for a in await ledger.services()}

            await eventually(announced, 20, "the service's announcement")
            event_id = await publish_event(confirm_channel, exchange, source="shop")

            async def completed() -> bool:
                return ("completed", 1) in steps(await timeline(ledger, "shop", event_id), name)

            await eventually(completed, 20, "the event's completion")
            process.kill(signal.SIGTERM)
            assert await process.wait_exit() == 0, process.output()
        finally:
            process.stop()
    changes = await timeline(ledger, "shop", event_id)
    assert steps(changes, name) == [("running", 1), ("completed", 1)]


async def test_without_admin_a_consumer_process_declares_no_status_exchange(
    tmp_path: Path, exchange: str, name: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    process = ConsumerProcess(tmp_path, exchange, {"HG_TEST_SERVICE": name})
    try:
        await process.wait_consuming()
    finally:
        process.stop()
    with pytest.raises(aiormq.exceptions.ChannelNotFoundEntity):
        await amqp.exchange_declare(status_exchange(exchange), passive=True)
