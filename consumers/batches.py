"""Batches: the calls a store gets while it is answering go together in its next answer.

A worker at concurrency 256 asks its idempotency store about hundreds of events at once. Asked
one by one, the store pays a hop to its thread (SQLite) or a reply to parse (Redis) per event,
on the event loop's thread, which is the busy one. `Batches` queues the calls made while a
call is being answered and hands them to the store in one call, one statement, one command.
A call made while none is under way goes alone, by the store's one-key path: at concurrency 1
batching would only add turns of the event loop (each one a system call or two).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from consumers.errors import IdempotencyUnavailable

_Item = TypeVar("_Item")
_Result = TypeVar("_Result")


class Batches(Generic[_Item, _Result]):
    """Calls answered by `one(item)` when nothing else is under way, else in batches by
    `answer(items)` (one result per item, in order): the calls made while others are being
    answered make the next batch. Every caller hears its own result, or the error its batch
    raised; a cancelled caller does not stop its batch. `answer` raises only `Exception`s
    (cancellation aside)."""

    def __init__(
        self,
        answer: Callable[[list[_Item]], Awaitable[list[_Result]]],
        one: Callable[[_Item], Awaitable[_Result]],
    ) -> None:
        self._answer = answer
        self._one = one
        self._alone = 0  # calls under way by `one`
        self._waiting: list[tuple[_Item, asyncio.Future[_Result]]] = []
        self._pump: asyncio.Task[None] | None = None

    async def call(self, item: _Item) -> _Result:
        """`item`'s result: alone if nothing else is under way, else in the next batch."""
        if self._alone or self._pump is not None:
            return await self._add(item)
        self._alone += 1
        try:
            return await self._one(item)
        finally:
            self._alone -= 1

    def _add(self, item: _Item) -> asyncio.Future[_Result]:
        future: asyncio.Future[_Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._pump is None:
            self._pump = asyncio.ensure_future(self._batches())
        return future

    async def idle(self) -> None:
        """Return once every batch queued so far is answered (a call made alone is awaited
        by its caller)."""
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
