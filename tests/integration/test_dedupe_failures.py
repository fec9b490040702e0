"""A failing dedupe store never costs an event: no claim → 503; no commit → still accepted."""

from __future__ import annotations

import time
import uuid

import aiormq
import pytest

from gateway.dedupe import Claim, MemoryDedupeStore
from gateway.errors import DedupeUnavailable
from tests.integration.broker import bind_queue, drain
from tests.integration.cases import CASES
from tests.integration.conftest import make_config, running_gateway

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
CASE = CASES["stripe"]


class BrokenStore(MemoryDedupeStore):
    def __init__(self, *, fail: str) -> None:
        super().__init__(ttl_seconds=60, lease_seconds=30)
        self.fail = fail

    async def claim(self, key: str, now: float) -> Claim:
        if self.fail == "claim":
            raise DedupeUnavailable("database is locked")
        return await super().claim(key, now)

    async def commit(self, key: str, now: float) -> None:
        if self.fail == "commit":
            raise DedupeUnavailable("disk I/O error")
        await super().commit(key, now)


def _signed() -> tuple[bytes, dict[str, str]]:
    event_id = f"evt_{uuid.uuid4().hex}"
    body = CASE.body(event_id)
    return body, CASE.sign(body, CASE.secrets[0], event_id, int(time.time()))


async def test_claim_failure_is_503_and_nothing_is_published(
    exchange: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    config = make_config(exchange, {"stripe": CASE.source_table()})
    async with running_gateway(config, dedupe=BrokenStore(fail="claim")) as gw:
        queue = await bind_queue(amqp, exchange)
        body, headers = _signed()
        response = await gw.client.post("/webhooks/stripe", content=body, headers=headers)
        assert response.status_code == 503
        assert response.json()["status"] == "unavailable"
        assert await drain(amqp, queue) == []


async def test_commit_failure_after_the_confirm_is_still_accepted(
    exchange: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    config = make_config(exchange, {"stripe": CASE.source_table()})
    async with running_gateway(config, dedupe=BrokenStore(fail="commit")) as gw:
        queue = await bind_queue(amqp, exchange)
        body, headers = _signed()
        response = await gw.client.post("/webhooks/stripe", content=body, headers=headers)
        assert response.status_code == 200
        assert response.json()["status"] == "accepted"
        assert len(await drain(amqp, queue)) == 1
