"""SQLite data files: the one way hookgate opens them, and the one thread a store uses them from.

`open_sqlite` is the setup the spool, the gateway's dedupe store and a service's idempotency
store share: a private file (0600 in a 0700 directory, `hookgate.datafiles`), the WAL journal
(readers and one writer at a time share the file across processes), the caller's `synchronous`
level and busy timeout, then the schema. The level is the caller's durability promise: the spool
says `FULL` (a commit returns after the fsync, before the provider is answered); the stores say
`NORMAL` (a power cut may lose the last writes, which only lets a duplicate through).

`StoreThread` runs a connection's statements on one dedicated thread, so a slow disk or a lock
held by another process never blocks the event loop; see its docstring.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, TypeVar

from hookgate.datafiles import private_sqlite_file
from hookgate.turns import Answer, Turns

_T = TypeVar("_T")
_Call = tuple[bool, Callable[[sqlite3.Connection], Any]]  # (in the turn's transaction, call)
_SYNCHRONOUS = {
    "FULL": "PRAGMA synchronous = FULL",
    "NORMAL": "PRAGMA synchronous = NORMAL",
}


def open_sqlite(
    path: str,
    *,
    synchronous: Literal["FULL", "NORMAL"],
    busy_timeout: float,
    schema: str,
    migrate: Callable[[sqlite3.Connection], None] | None = None,
) -> sqlite3.Connection:
    """Open (creating it private if needed) the file at `path`: WAL, `synchronous`, a busy
    timeout of `busy_timeout` seconds, `schema` run, then `migrate`. The connection is in
    autocommit mode and may be used from any one thread at a time. Raises `OSError` or
    `sqlite3.Error`, and closes what it opened first."""
    private_sqlite_file(path)  # 0600 in a 0700 directory: bodies, signatures, event IDs
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=busy_timeout)
    try:
        _journal_wal(db, busy_timeout)
        db.execute(_SYNCHRONOUS[synchronous])
        db.executescript(schema)
        if migrate is not None:
            migrate(db)
    except BaseException:
        db.close()
        raise
    return db


def _journal_wal(db: sqlite3.Connection, busy_timeout: float) -> None:
    # Two processes creating the file at once (the workers of a service starting together):
    # the switch to WAL answers "locked" without waiting on the busy handler. Wait here instead,
    # as long as a busy timeout; once the file is in WAL mode (it stays so) this returns at once.
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as err:
            if err.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class StoreThread:
    """A SQLite connection and the one thread that uses it, fed by coroutines in turns.

    `run(call)` runs `call(db)` alone, as its own transaction; `write(call)` runs it inside the
    turn's one transaction, with every other write queued in that turn: one commit for the group
    (group commit), and one thread hop for all the calls that arrived while the thread was busy
    (`hookgate.turns`). A turn runs its `run` calls first, then its writes; a write that raises
    rolls the whole group's transaction back, and each of its callers gets the error.

    The connection comes from `connect()`, called on the thread at the first call (and again
    at the next, if it raised). `sqlite3.Error` and `OSError` reach the caller as `error(detail)`,
    and so does a call after `close()`: never a caller left waiting.
    """

    def __init__(
        self,
        name: str,
        connect: Callable[[], sqlite3.Connection],
        error: Callable[[str], Exception],
    ) -> None:
        self._connect = connect
        self._error = error
        self._db: sqlite3.Connection | None = None
        self._closed = False
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._turns: Turns[_Call] = Turns(self._run_group, lambda err: error(repr(err)))

    async def run(self, call: Callable[[sqlite3.Connection], _T]) -> _T:
        """`call(db)` on the store's thread, as a transaction of its own."""
        result: _T = await self._submit((False, call))
        return result

    async def write(self, call: Callable[[sqlite3.Connection], _T]) -> _T:
        """`call(db)` on the store's thread, in one transaction with the turn's other writes."""
        result: _T = await self._submit((True, call))
        return result

    async def close(self) -> None:
        """Answer the calls already queued, close the connection on its thread, stop it."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._turns.idle()
            if self._db is not None:
                await asyncio.get_running_loop().run_in_executor(self._executor, self._db.close)
        finally:
            self._db = None
            self._executor.shutdown(wait=True)

    def close_unused(self) -> None:
        """Close a store that never ran a call (a startup check), without an event loop."""
        self._closed = True
        if self._db is not None:
            self._db.close()
            self._db = None
        self._executor.shutdown(wait=True)

    async def _submit(self, call: _Call) -> Any:
        if self._closed:
            # A request that outlived the shutdown.
            raise self._error("closed")
        return await self._turns.submit(call)

    async def _run_group(self, calls: list[_Call]) -> list[Answer]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._run_on_thread, calls)

    def _run_on_thread(self, calls: list[_Call]) -> list[Answer]:
        try:
            if self._db is None:
                self._db = self._connect()
            db = self._db
        except Exception as err:
            return [(False, self._mapped(err))] * len(calls)
        answers: list[Answer] = [(False, None)] * len(calls)
        writes = [i for i, (in_transaction, _) in enumerate(calls) if in_transaction]
        for i, (in_transaction, call) in enumerate(calls):
            if not in_transaction:
                try:
                    answers[i] = (True, call(db))
                except Exception as err:  # handed to the caller's future
                    answers[i] = (False, self._mapped(err))
        if writes:
            try:
                results = _in_transaction(db, [calls[i][1] for i in writes])
            except Exception as err:
                for i in writes:
                    answers[i] = (False, self._mapped(err))
            else:
                for i, result in zip(writes, results, strict=True):
                    answers[i] = (True, result)
        return answers

    def _mapped(self, err: Exception) -> Exception:
        return self._error(str(err)) if isinstance(err, sqlite3.Error | OSError) else err


def _in_transaction(
    db: sqlite3.Connection, calls: list[Callable[[sqlite3.Connection], Any]]
) -> list[Any]:
    # IMMEDIATE: the write lock is taken (waiting up to the busy timeout) before any statement,
    # so a call that reads before it writes cannot find its snapshot stale at the write.
    db.execute("BEGIN IMMEDIATE")
    try:
        results = [call(db) for call in calls]
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:  # never leave the connection inside a transaction
            db.execute("ROLLBACK")
        raise
    return results


_ELSEWHERE: Any = object()  # the loop's connection could not answer: ask the thread
# Checkpoint after this many rows or transactions written on the loop, whichever comes first.
_CHECKPOINT_ROWS, _CHECKPOINT_TRANSACTIONS = 2000, 250


class LoopFirst:
    """A store's SQLite file used first from the event loop, never waiting; from its thread
    (`StoreThread`) whenever that would mean waiting.

    A hop to a thread costs more CPU than a small statement, and far worse, milliseconds of
    latency: the thread must win the GIL back from a busy loop (a claim's hop cost the gateway
    over half its throughput). So the loop gets a connection of its own, whose busy timeout is
    zero and which never checkpoints (`wal_autocheckpoint = 0`); with WAL and `synchronous =
    NORMAL` a commit appends to the WAL in the page cache and never fsyncs.

    - `write(call)`: the writes asked for in one turn of the loop run together at its end, in
      one transaction; each caller gets its own result once it is committed.
    - `read(call)`: at once, outside any transaction (WAL readers wait for nobody).
    - `write_now(call, rows)`: a batch written at once, in a transaction of its own.

    The moment the loop's connection meets a lock held elsewhere (another process, the store's
    own purge) or any other SQLite error, the calls go to the thread instead, whose connection
    waits out the busy timeout: a locked file delays the calls that need it, never the loop.
    The thread checkpoints the WAL every 2,000 rows or 250 transactions written here, whichever
    comes first: TRUNCATE, not PASSIVE, which never caught up with a loop that keeps writing
    (the WAL grew to 190 MB for 20 thousand keys). Meanwhile writes queue on the thread, behind
    it (milliseconds), so that it never competes with this process's own writers.

    The loop's connection is opened by `connect_here()` on the thread, at the first call (calls
    go to the thread until it is open), or handed over open (`here`).
    """

    def __init__(
        self,
        thread: StoreThread,
        connect_here: Callable[[], sqlite3.Connection],
        *,
        here: sqlite3.Connection | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.thread = thread
        self._connect_here = connect_here
        self._here = _never_checkpoints(here) if here is not None else None
        self._opening: asyncio.Task[None] | None = None
        self._warn = warn
        self._turn: list[tuple[Callable[[sqlite3.Connection], Any], asyncio.Future[Any]]] = []
        self._written = self._transactions = 0
        self._checkpoint: asyncio.Task[None] | None = None
        self._closed = False

    async def write(self, call: Callable[[sqlite3.Connection], _T]) -> _T:
        """`call(db)` in the transaction of this loop turn's writes, or on the thread."""
        if self._here is None or self._checkpoint is not None:
            self._open_here()
            return await self.thread.write(call)  # behind the checkpoint, if one is running
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._turn:
            loop.call_soon(self._run_turn)
        self._turn.append((call, future))
        result = await future
        if result is _ELSEWHERE:
            return await self.thread.write(call)
        return result  # type: ignore[no-any-return]

    async def read(self, call: Callable[[sqlite3.Connection], _T]) -> _T:
        """`call(db)` at once on the loop's connection (a statement that only reads), or on
        the thread."""
        if self._here is not None:
            try:
                return call(self._here)
            except sqlite3.Error:
                pass
        else:
            self._open_here()
        return await self.thread.run(call)

    def write_now(self, call: Callable[[sqlite3.Connection], Any], rows: int) -> bool:
        """Write `rows` rows with `call(db)` at once, in a transaction of its own; False when
        the loop's connection cannot (then hand it to the thread)."""
        if self._here is None or self._checkpoint is not None:
            return False
        try:
            self._in_transaction([call], rows)
        except sqlite3.Error:
            return False
        return True

    async def close(self) -> None:
        """Close both connections and the thread (the calls already queued are answered)."""
        self._closed = True
        try:
            for task in (self._opening, self._checkpoint):
                if task is not None:
                    await asyncio.gather(task, return_exceptions=True)
        finally:
            self._close_here()
            await self.thread.close()

    def close_unused(self) -> None:
        """Close a store that never ran a call (a startup check), without an event loop."""
        self._closed = True
        self._close_here()
        self.thread.close_unused()

    def _close_here(self) -> None:
        here, self._here = self._here, None
        if here is not None:
            here.close()

    def _run_turn(self) -> None:
        calls, self._turn = self._turn, []
        try:
            results = self._in_transaction([call for call, _ in calls], len(calls))
        except sqlite3.Error:
            results = [_ELSEWHERE] * len(calls)  # locked elsewhere, or worse: the thread waits
        except Exception as err:  # a call's own bug: every caller hears it, none waits forever
            for _, future in calls:
                if not future.done():
                    future.set_exception(err)
            return
        for (_, future), result in zip(calls, results, strict=True):
            if not future.done():  # its caller was cancelled
                future.set_result(result)

    def _in_transaction(
        self, calls: list[Callable[[sqlite3.Connection], Any]], rows: int
    ) -> list[Any]:
        db = self._here
        if db is None:
            raise sqlite3.ProgrammingError("closed")
        results = _in_transaction(db, calls)
        self._written += rows
        self._transactions += 1
        if self._checkpoint is None and (
            self._written >= _CHECKPOINT_ROWS or self._transactions >= _CHECKPOINT_TRANSACTIONS
        ):
            self._written = self._transactions = 0
            self._checkpoint = asyncio.get_running_loop().create_task(self._checkpoint_wal())
        return results

    def _open_here(self) -> None:
        if self._here is None and self._opening is None and not self._closed:
            self._opening = asyncio.get_running_loop().create_task(self._open_on_thread())

    async def _open_on_thread(self) -> None:
        def connect(_: sqlite3.Connection) -> sqlite3.Connection:
            return _never_checkpoints(self._connect_here())

        try:
            here = await self.thread.run(connect)
        except Exception:
            self._opening = None  # the thread's call failed, and its caller heard why
            return
        if self._closed:
            here.close()
        else:
            self._here = here

    async def _checkpoint_wal(self) -> None:
        try:
            # fetchall: a statement left on its result row would block the thread's COMMITs.
            await self.thread.run(
                lambda db: db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            )
        except Exception as err:
            if self._warn is not None:
                self._warn(f"checkpoint failed: {err}")
        finally:
            self._checkpoint = None


def _never_checkpoints(db: sqlite3.Connection) -> sqlite3.Connection:
    db.execute("PRAGMA wal_autocheckpoint = 0")  # the store's thread checkpoints
    return db
