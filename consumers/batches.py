"""Batches: the calls a store gets while it is answering go together in its next answer.

A worker at concurrency 256 asks its idempotency store about hundreds of events at once. Asked
one by one, the store pays a hop to its thread (SQLite) or a reply to parse (Redis) per event,
on the event loop's thread, which is the busy one. `Batches` queues the calls made while a
batch is being answered and hands them to the store in one call, one statement, one command.
At low load a batch is one call and waits for nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from consumers.errors import IdempotencyUnavailable

_Item = TypeVar("_Item")
_Result = TypeVar("_Result")


class Batches(Generic[_Item, _Result]):
    """Calls answered in batches by `answer(items)`, one result per item, in order. `add` queues
    a call; the calls queued while a batch is being answered make the next batch. Every caller
    hears its own result, or the error its batch raised; a cancelled caller does not stop its
    batch. `answer` must not raise anything but `Exception`s (cancellation aside)."""

    def __init__(self, answer: Callable[[list[_Item]], Awaitable[list[_Result]]]) -> None:
        self._answer = answer
        self._waiting: list[tuple[_Item, asyncio.Future[_Result]]] = []
        self._pump: asyncio.Task[None] | None = None

    def add(self, item: _Item) -> asyncio.Future[_Result]:
        future: asyncio.Future[_Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._pump is None:
            self._pump = asyncio.ensure_future(self._batches())
        return future

    async def idle(self) -> None:
        """Return once every call made so far is answered."""
        if self._pump is not None:
            await asyncio.gather(self._pump, return_exceptions=True)

    async def _batches(self) -> None:
        batch: list[tuple[_Item, asyncio.Future[_Result]]] = []
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    results = await self._answer([item for item, _ in batch])
                except Exception as err:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(err)
                else:
                    for (_, future), result in zip(batch, results, strict=True):
                        if not future.done():  # its caller was cancelled
                            future.set_result(result)
                batch = []
        except BaseException:  # cancelled: nobody is left waiting
            for _, future in [*batch, *self._waiting]:
                if not future.done():
                    future.set_exception(_cancelled())
            self._waiting = []
            raise
        finally:
            self._pump = None


def _cancelled() -> IdempotencyUnavailable:
    return IdempotencyUnavailable("idempotency store: the call was cancelled")
