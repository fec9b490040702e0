"""consumers.batches: a call alone when nothing else is under way, else in the next batch."""

from __future__ import annotations

import asyncio

import pytest

from consumers.batches import Batches
from consumers.errors import IdempotencyUnavailable

pytestmark = pytest.mark.anyio


class _Store:
    def __init__(self) -> None:
        self.alone: list[int] = []
        self.batches: list[list[int]] = []
        self.fail = False
        self.batching = Batches(self.answer, self.one)

    async def one(self, item: int) -> int:
        self.alone.append(item)
        await asyncio.sleep(0.01)
        return item * 10

    async def answer(self, items: list[int]) -> list[int]:
        self.batches.append(items)
        await asyncio.sleep(0.01)
        if self.fail:
            raise IdempotencyUnavailable("down")
        return [item * 10 for item in items]


async def test_one_call_at_a_time_goes_alone() -> None:
    store = _Store()
    assert [await store.batching.call(i) for i in range(3)] == [0, 10, 20]
    assert store.alone == [0, 1, 2]
    assert store.batches == []


async def test_calls_made_meanwhile_go_together_in_order() -> None:
    store = _Store()
    assert await asyncio.gather(*(store.batching.call(i) for i in range(50))) == [
        i * 10 for i in range(50)
    ]
    assert store.alone == [0]
    assert store.batches == [list(range(1, 50))]


async def test_every_caller_of_a_failed_batch_hears_its_error() -> None:
    store = _Store()
    store.fail = True
    answers = await asyncio.gather(
        *(store.batching.call(i) for i in range(5)), return_exceptions=True
    )
    assert answers[0] == 0  # alone, before the failure
    assert all(isinstance(answer, IdempotencyUnavailable) for answer in answers[1:])


async def test_a_cancelled_caller_leaves_its_batch_answered() -> None:
    store = _Store()
    first = asyncio.ensure_future(store.batching.call(0))
    await asyncio.sleep(0)
    batched = [asyncio.ensure_future(store.batching.call(i)) for i in (1, 2)]
    await asyncio.sleep(0)
    batched[0].cancel()
    assert await first == 0
    assert await batched[1] == 20
    await store.batching.idle()
    assert store.batches == [[1, 2]]
