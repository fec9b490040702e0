"""consumers.dispatch through consumers.testing: every outcome a handler can lead to."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from consumers import Event, MemoryIdempotencyStore, Reject, Retry, Service
from consumers.dispatch import Dispatcher
from consumers.testing import deliver, deliver_until_settled, make_event


def _service(**options: object) -> Service:
    return Service("svc", retry_delays=(5, 30, 120), **options)  # type: ignore[arg-type]


def test_returning_handler_succeeds_with_the_event_it_was_given() -> None:
    service = _service()
    seen: list[Event] = []

    @service.handler("stripe.invoice.*")
    async def invoice(event: Event) -> None:
        seen.append(event)

    event = make_event({"id": "evt_1", "amount": 42}, source="stripe", type="invoice.paid")
    outcome = deliver(service, event)

    assert (outcome.kind, outcome.handler, outcome.acked) == ("success", "invoice", True)
    assert seen == [event]
    assert seen[0].json() == {"id": "evt_1", "amount": 42}


def test_sync_handlers_run_in_a_worker_thread() -> None:
    service = _service()
    threads: list[str] = []

    @service.handler("#")
    def sync(event: Event) -> None:
        threads.append(threading.current_thread().name)

    assert deliver(service, make_event(b"{}", type="x")).kind == "success"
    assert threads
    assert threads[0] != threading.main_thread().name


def test_an_exception_retries_on_the_tier_for_the_attempt() -> None:
    service = _service()

    @service.handler("#")
    async def broken(event: Event) -> None:
        raise ValueError("boom")

    first = deliver(service, make_event(b"{}", type="x", attempt=1))
    third = deliver(service, make_event(b"{}", type="x", attempt=3))
    last = deliver(service, make_event(b"{}", type="x", attempt=4))

    assert (first.kind, first.delay) == ("retry", 5)
    assert (third.kind, third.delay) == ("retry", 120)
    assert (last.kind, last.delay, last.dead_lettered) == ("dead_lettered", None, True)
    assert last.failure is not None
    assert last.failure.type == "ValueError"
    assert last.failure.message == "boom"
    assert 'raise ValueError("boom")' in last.failure.traceback


def test_retries_follow_the_tiers_until_dead_lettered() -> None:
    service = _service()
    attempts: list[int] = []

    @service.handler("#")
    async def broken(event: Event) -> None:
        attempts.append(event.attempt)
        raise RuntimeError("still down")

    outcomes = deliver_until_settled(service, make_event(b"{}", type="x"))
    assert [(o.kind, o.delay) for o in outcomes] == [
        ("retry", 5),
        ("retry", 30),
        ("retry", 120),
        ("dead_lettered", None),
    ]
    assert attempts == [1, 2, 3, 4]


def test_retry_with_a_delay_picks_the_matching_tier() -> None:
    service = _service()

    @service.handler("#")
    async def later(event: Event) -> None:
        raise Retry(delay=25, reason="rate limited")

    outcome = deliver(service, make_event(b"{}", type="x"))
    assert (outcome.kind, outcome.delay) == ("retry", 30)
    assert outcome.failure is not None
    assert (outcome.failure.type, outcome.failure.message) == ("Retry", "rate limited")


def test_reject_dead_letters_at_once_with_the_reason() -> None:
    service = _service()

    @service.handler("#")
    async def picky(event: Event) -> None:
        raise Reject("unknown customer")

    outcome = deliver(service, make_event(b"{}", type="x"))
    assert (outcome.kind, outcome.dead_lettered) == ("rejected", True)
    assert outcome.failure is not None
    assert (outcome.failure.type, outcome.failure.message) == ("Reject", "unknown customer")


def test_a_handler_past_its_timeout_fails_and_retries() -> None:
    service = _service(handler_timeout=0.05)

    @service.handler("#")
    async def slow(event: Event) -> None:
        await asyncio.sleep(5)

    started = time.monotonic()
    outcome = deliver(service, make_event(b"{}", type="x"))
    assert time.monotonic() - started < 2
    assert (outcome.kind, outcome.delay) == ("retry", 5)
    assert outcome.failure is not None
    assert outcome.failure.type == "TimeoutError"
    assert "did not finish within 0.05s" in outcome.failure.message


def test_per_handler_timeout_overrides_the_service_default() -> None:
    service = _service(handler_timeout=60)

    @service.handler("#", timeout=0.05)
    def slow_sync(event: Event) -> None:
        time.sleep(0.5)

    outcome = deliver(service, make_event(b"{}", type="x"))
    assert outcome.failure is not None
    assert outcome.failure.type == "TimeoutError"


def test_a_timeout_raised_by_the_handler_itself_is_reported_as_its_own() -> None:
    service = _service()

    @service.handler("#")
    async def upstream(event: Event) -> None:
        raise TimeoutError("upstream API timed out")

    outcome = deliver(service, make_event(b"{}", type="x"))
    assert outcome.failure is not None
    assert outcome.failure.message == "upstream API timed out"


def test_unmatched_events_are_dead_lettered_with_the_reason_not_retried() -> None:
    service = _service()
    service.handler("github.push")(lambda event: None)
    outcome = deliver(service, make_event(b"{}", source="stripe", type="charge.failed"))
    assert (outcome.kind, outcome.handler, outcome.acked) == ("unmatched", "_unmatched", False)
    assert outcome.dead_lettered
    assert outcome.failure is not None
    assert outcome.failure.type == "NoHandler"
    assert outcome.failure.message == "no handler of service svc matches stripe.charge.failed"


@pytest.mark.parametrize(
    ("event_type", "pattern"),
    [("orders/create", "shopify.orders_create"), ("", "shopify.unknown"), ("a b", "shopify.a_b")],
)
def test_handlers_match_the_routing_key_the_gateway_published_under(
    event_type: str, pattern: str
) -> None:
    service = _service()
    seen: list[str] = []

    @service.handler(pattern)
    async def handler(event: Event) -> None:
        seen.append(event.type)

    assert deliver(service, make_event(b"{}", source="shopify", type=event_type)).kind == "success"
    assert seen == [event_type]  # the handler still sees the provider's own type


def test_idempotency_store_skips_completed_events_only() -> None:
    store = MemoryIdempotencyStore()
    service = _service(idempotency=MemoryIdempotencyStore())
    runs: list[str] = []

    @service.handler("#")
    async def once(event: Event) -> None:
        runs.append(event.id)
        if event.json().get("fail"):
            raise RuntimeError("nope")

    done = make_event({"fail": False}, type="x", id="evt_done")
    failing = make_event({"fail": True}, type="x", id="evt_failing")
    assert deliver(service, done, idempotency=store).kind == "success"
    assert deliver(service, done, idempotency=store).kind == "duplicate"
    assert deliver(service, failing, idempotency=store).kind == "retry"
    assert deliver(service, failing, idempotency=store).kind == "retry"
    assert deliver(service, done).kind == "success"  # testing leaves the service's store alone
    assert runs == ["evt_done", "evt_failing", "evt_failing", "evt_done"]


def test_same_event_id_from_another_source_is_not_a_duplicate() -> None:
    store = MemoryIdempotencyStore()
    service = _service()
    service.handler("#")(lambda event: None)
    first = make_event(b"{}", source="a", type="x", id="1")
    assert deliver(service, first, idempotency=store).kind == "success"
    second = make_event(b"{}", source="b", type="x", id="1")
    assert deliver(service, second, idempotency=store).kind == "success"


def test_a_broken_idempotency_store_fails_the_event_instead_of_skipping_it(tmp_path) -> None:
    from consumers import SqliteIdempotencyStore

    store = SqliteIdempotencyStore(str(tmp_path / "missing-dir" / "x" / "done.sqlite3"))
    (tmp_path / "missing-dir").write_text("a file where a directory should be")
    service = _service()
    service.handler("#")(lambda event: None)
    outcome = deliver(service, make_event(b"{}", type="x"), idempotency=store)
    assert outcome.kind == "retry"
    assert outcome.failure is not None
    assert "cannot open" in outcome.failure.message


class _BrokenStore(MemoryIdempotencyStore):
    async def is_done(self, key: str, now: float) -> bool:
        raise OSError("redis: connection refused")


def test_any_error_from_a_users_store_fails_the_event_instead_of_losing_it() -> None:
    service = _service()
    service.handler("#")(lambda event: None)
    outcome = deliver(service, make_event(b"{}", type="x"), idempotency=_BrokenStore())
    assert outcome.kind == "retry"
    assert outcome.failure is not None
    assert (outcome.failure.type, outcome.failure.message) == (
        "OSError",
        "redis: connection refused",
    )


def test_long_tracebacks_keep_their_end() -> None:
    service = _service()

    @service.handler("#")
    async def verbose(event: Event) -> None:
        raise ValueError("x" * 20_000 + " the-real-cause")

    outcome = deliver(service, make_event(b"{}", type="x"))
    assert outcome.failure is not None
    assert len(outcome.failure.message) == 1000
    assert len(outcome.failure.traceback) <= 8001
    assert outcome.failure.traceback.startswith("…")
    assert "the-real-cause" in outcome.failure.traceback


def test_cancellation_is_not_an_outcome() -> None:
    service = _service()

    @service.handler("#")
    async def cancelled(event: Event) -> None:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        deliver(service, make_event(b"{}", type="x"))


def test_only_running_sync_handlers_are_counted_not_idle_pool_threads() -> None:
    service = _service()
    release = threading.Event()

    @service.handler("slow.#")
    def slow(event: Event) -> None:
        release.wait(10)

    @service.handler("#")
    def quick(event: Event) -> None:
        return None

    async def run() -> list[int]:
        pool = ThreadPoolExecutor(max_workers=4)
        dispatcher = Dispatcher(service, executor=pool)
        counts = []
        await dispatcher.process(make_event(b"{}", type="x"))  # leaves an idle thread
        counts.append(dispatcher.sync_handlers_running)
        task = asyncio.create_task(dispatcher.process(make_event(b"{}", source="slow", type="x")))
        while dispatcher.sync_handlers_running == 0:
            await asyncio.sleep(0.01)
        counts.append(dispatcher.sync_handlers_running)
        release.set()
        await task
        counts.append(dispatcher.sync_handlers_running)
        pool.shutdown()
        return counts

    assert asyncio.run(asyncio.wait_for(run(), 10)) == [0, 1, 0]
