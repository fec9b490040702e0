"""What the consumer CLI prints comes from the internet: it must not drive the terminal."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiormq
import pytest

from consumers import Service
from hookgate.cli import main as cli
from hookgate.topology import all_queues, dead_queue, declare_service_topology
from tests.integration.broker import AMQP_URL
from tests.integration.consumer_kit import (
    broker_config,
    delete_queues,
    publish_raw,
    service_name,
)

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

# ESC, the C1 CSI, BEL, CR and a bidi override: none may reach the terminal raw.
_DANGEROUS = re.compile("[\x1b\x9b\x07\r\u202e]")
HOSTILE_ID = "evt_\x1b]0;owned\x07\u202e"
HOSTILE_HEADERS = {
    "hookgate-source": "shop\x1b[2J",
    "hookgate-event-type": "order.\x9b31mcreated",
    "hookgate-event-id": HOSTILE_ID,
    "hookgate-http-headers": {"x-note": "\x1b[8mhidden\x1b[0m"},
    "hookgate-attempt": 2,
    "hookgate-error-type": "ValueError\x1b[1A",
    "hookgate-error-message": "bad\rFORGED LINE",
    "hookgate-error-traceback": "Traceback\n  line\x1b[31m\n",
    "hookgate-handler": "order",
    "hookgate-dead-reason": "retries_exhausted",
}


@pytest.fixture
async def hostile_dead_letter(exchange: str) -> AsyncIterator[Service]:
    service = Service(service_name(), retry_delays=(1,))
    service.handler("shop.#")(lambda event: None)
    connection = await aiormq.connect(AMQP_URL)
    try:
        await declare_service_topology(connection, service, exchange)
        channel = await connection.channel(publisher_confirms=True)
        await publish_raw(
            channel, dead_queue(service), b'{"x": "\x1b[2J\x1b]52;c;AAAA\x07"}', HOSTILE_HEADERS
        )
    finally:
        await connection.close()
    yield service
    await delete_queues(all_queues(service))


async def test_dlq_list_and_show_escape_control_sequences(
    hostile_dead_letter: Service, exchange: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = broker_config(tmp_path, exchange)
    name = hostile_dead_letter.name
    assert await asyncio.to_thread(cli, ["dlq", "list", name, "-c", config]) == 0
    listing = capsys.readouterr().out
    assert not _DANGEROUS.search(listing), listing
    assert "evt_\\x1b]0;owned\\x07\\u202e" in listing

    assert await asyncio.to_thread(cli, ["dlq", "show", name, HOSTILE_ID, "-c", config]) == 0
    shown = capsys.readouterr().out
    assert not _DANGEROUS.search(shown), shown
    assert "bad\\rFORGED LINE" in shown
    assert "\\x1b[8mhidden" in shown
    assert '{"x": "\\x1b[2J\\x1b]52;c;AAAA\\x07"}' in shown  # the body, escaped
    assert "Traceback\n  line\\x1b[31m" in shown  # tracebacks keep their lines
