"""The same event ID arriving concurrently is published exactly once: never twice, never zero."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter

import aiormq
import pytest

from tests.integration.broker import bind_queue, drain
from tests.integration.cases import CASES
from tests.integration.conftest import make_config, running_gateway

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


@pytest.mark.parametrize("copies", [2, 25])
async def test_concurrent_same_event_id_is_published_exactly_once(
    copies: int, exchange: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    case = CASES["stripe"]
    config = make_config(exchange, {"stripe": case.source_table()})
    async with running_gateway(config) as gw:
        queue = await bind_queue(amqp, exchange)
        event_id = f"evt_{uuid.uuid4().hex}"
        body = case.body(event_id)
        headers = case.sign(body, case.secrets[0], event_id, int(time.time()))

        responses = await asyncio.gather(
            *(
                gw.client.post("/webhooks/stripe", content=body, headers=headers)
                for _ in range(copies)
            )
        )

        outcomes = Counter((r.status_code, r.json()["status"]) for r in responses)
        assert outcomes[200, "accepted"] == 1
        assert set(outcomes) <= {(200, "accepted"), (409, "in_progress"), (200, "duplicate")}
        for response in responses:
            if response.status_code == 409:
                assert int(response.headers["retry-after"]) > 0
        assert len(await drain(amqp, queue)) == 1
        # A retry after the dust settles is a plain duplicate.
        again = await gw.client.post("/webhooks/stripe", content=body, headers=headers)
        assert again.json()["status"] == "duplicate"
