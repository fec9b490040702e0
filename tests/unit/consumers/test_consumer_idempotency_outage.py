"""A service's idempotency store down mid-delivery (Redis, the real server): no event is lost.

Down before the handler: the event cannot be known to be new, so it is neither run nor acked as
a duplicate; it is retried along the service's tiers (dead-lettered, replayable, once they are
used up). Down after the handler returned: the work is done, so the event is acked as a success
and the failed mark is logged; a redelivery may run it again (at least once).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from consumers import Event, IdempotencyUnavailable, Service, idempotency_store
from consumers.testing import deliver_async, make_event
from tests.redis_kit import PrivateRedis, private_redis

pytestmark = pytest.mark.anyio
PASSWORD = "s3cret-pa55word"


def _service(runs: list[int], server: PrivateRedis | None = None) -> Service:
    service = Service("billing", retry_delays=(5, 30))

    @service.handler("#")
    async def handle(event: Event) -> None:
        runs.append(event.attempt)
        if server is not None and event.json().get("kill_redis"):
            server.kill()  # the store goes down while the handler runs

    return service


async def test_store_down_before_the_handler_retries_the_event_without_running_it(
    tmp_path: Path,
) -> None:
    with private_redis(tmp_path / "redis") as server:
        url = server.url.replace("redis://", f"redis://:{PASSWORD}@")
        store = idempotency_store(url, service="billing")
        server.kill()
        runs: list[int] = []
        service = _service(runs)
        event = make_event(b"{}", type="invoice.paid", id="evt_1")
        try:
            first = await deliver_async(service, event, idempotency=store)
            assert (first.kind, first.delay, first.acked) == ("retry", 5.0, False)
            assert first.failure is not None
            assert first.failure.type == IdempotencyUnavailable.__name__
            assert PASSWORD not in first.failure.message
            assert "Redis at redis://:***@127.0.0.1:" in first.failure.message
            last = await deliver_async(
                service, event.next_attempt().next_attempt(), idempotency=store
            )
            assert (last.kind, last.acked) == ("dead_lettered", False)  # parked, replayable
            assert runs == []  # never run on a guess, never acked as a duplicate

            server.start()  # back (empty: no persistence): the retry runs it, once
            retried = await deliver_async(service, event.next_attempt(), idempotency=store)
            assert retried.kind == "success"
            again = await deliver_async(service, event.next_attempt(), idempotency=store)
            assert again.kind == "duplicate"
            assert runs == [2]
        finally:
            await store.close()


async def test_store_down_after_the_handler_acks_the_done_work_and_logs_the_lost_mark(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with private_redis(tmp_path / "redis") as server:
        store = idempotency_store(server.url, service="billing")
        runs: list[int] = []
        service = _service(runs, server)
        event = make_event({"kill_redis": True}, type="invoice.paid", id="evt_1")
        try:
            with caplog.at_level(logging.ERROR, logger="hookgate.consumer"):
                outcome = await deliver_async(service, event, idempotency=store)
            assert (outcome.kind, outcome.acked) == ("success", True)
            assert [r.getMessage() for r in caplog.records] == ["idempotency store failed"]
            server.start()
            # The mark was lost with the server: a redelivery runs the handler again.
            redelivered = await deliver_async(
                service, make_event({}, type="invoice.paid", id="evt_1"), idempotency=store
            )
            assert redelivered.kind == "success"
            assert runs == [1, 1]
        finally:
            await store.close()
