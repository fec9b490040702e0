"""Turns: the calls made while one group is being answered go together in the next group.

A store that talks to something slow (a SQLite file on a thread of its own, a Redis server) hands
it work in turns: while a group of calls is under way, new calls queue; when its answers come,
the queued calls go in one hop (one thread switch, one pipelined round trip), not one hop each.
Every caller gets its own answer, and no caller is ever left waiting: when a group cannot run at
all (the thread is gone, the task is cancelled, anything unforeseen), every waiting caller hears.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

_C = TypeVar("_C")

Answer = tuple[bool, Any]
"""One call's answer: `(True, result)`, or `(False, exception)` for its caller to raise."""


class Turns(Generic[_C]):
    """Queue calls of type `_C` and answer them in groups.

    `run_group(calls)` answers one group, one `Answer` per call, in order; `failed(err)` is the
    exception each waiting caller gets when `run_group` itself raises `err`.
    """

    def __init__(
        self,
        run_group: Callable[[list[_C]], Awaitable[list[Answer]]],
        failed: Callable[[BaseException], Exception],
    ) -> None:
        self._run_group = run_group
        self._failed = failed
        self._queue: list[tuple[_C, asyncio.Future[Any]]] = []
        self._turn: asyncio.Task[None] | None = None

    def submit(self, call: _C) -> asyncio.Future[Any]:
        """Queue `call` for the next group; the future gets its answer."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        # Nobody may await it (a release sent after a cancelled claim): never "never retrieved".
        future.add_done_callback(_retrieve)
        self._queue.append((call, future))
        if self._turn is None:
            self._turn = asyncio.create_task(self._turns())
        return future

    async def idle(self) -> None:
        """Return once every call queued so far has its answer."""
        if self._turn is not None:
            await asyncio.gather(self._turn, return_exceptions=True)

    async def _turns(self) -> None:
        group: list[tuple[_C, asyncio.Future[Any]]] = []
        try:
            while self._queue:
                group, self._queue = self._queue, []
                answers = await self._run_group([call for call, _ in group])
                for (_, future), (ok, value) in zip(group, answers, strict=True):
                    if future.done():  # its caller was cancelled
                        continue
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)
                group = []
        except BaseException as err:
            for _, future in [*group, *self._queue]:
                if not future.done():
                    future.set_exception(self._failed(err))
            self._queue = []
            if not isinstance(err, Exception):
                raise
        finally:
            self._turn = None


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
