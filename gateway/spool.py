"""The disk spool: events RabbitMQ could not confirm, kept on local disk until it can.

When a publish fails (broker unreachable, blocked, no confirm in time), the gateway appends the
event here and answers `200 spooled` only once the row is fsynced: SQLite in WAL mode with
`synchronous = FULL`, so a commit returns after the write-ahead log reached the disk. Appends
from concurrent requests are group-committed: one transaction (one fsync) per batch, written by
one thread, so the event loop never waits on the disk. `gateway.forwarder` drains the spool to
RabbitMQ in arrival order and deletes each row only after its confirm.

Every worker process on a host shares one spool file; a lease row lets only one of them
forward at a time. The size bound covers waiting and quarantined rows (both take disk) and is
checked against the totals last read from the file plus this process's own appends since, so
with several workers it may be overshot by a little. The file's tables and statements live in
`gateway.spool_file`; the file is private (0600, see `hookgate.datafiles`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from gateway import spool_file
from gateway.config import SpoolSettings
from gateway.errors import ConfigError, GatewayError
from gateway.spool_file import SpooledEvent, SpoolTotals

__all__ = ["Spool", "SpoolFull", "SpoolTotals", "SpoolUnavailable", "SpooledEvent"]

T = TypeVar("T")


class SpoolFull(GatewayError):
    """The spool holds `spool.max_bytes` already."""


class SpoolUnavailable(GatewayError):
    """The spool file cannot be written (disk full, I/O error, locked too long)."""


class Spool:
    """The spool file of one host. `open()` before use, `close()` after."""

    def __init__(self, settings: SpoolSettings) -> None:
        self.path = settings.path
        self.max_bytes = settings.max_bytes
        self._db: sqlite3.Connection | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hookgate-spool")
        self._pending: list[tuple[SpooledEvent, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.totals = SpoolTotals(0, 0, None)
        self._reserved = 0  # bytes of this process's appends not yet committed
        self._commits = 0  # this process's committed batches, so a stale refresh is dropped
        self._refusing = False
        self._failing = False

    def check(self) -> None:
        """Open and close the file: `ConfigError` if it cannot be used."""
        self.open()
        if self._db is not None:
            self._db.close()
            self._db = None
        self._executor.shutdown(wait=False)

    def open(self) -> None:
        """Open (and create) the file; raise `ConfigError` naming `spool.path` if impossible."""
        try:
            self._db = spool_file.connect(self.path)
            self.totals = spool_file.read_totals(self._db)
        except (OSError, sqlite3.Error) as err:
            raise ConfigError(f"spool.path: cannot open SQLite spool {self.path!r}: {err}") from err

    @property
    def backlog(self) -> bool:
        """Events are waiting: new ones must queue behind them to keep arrival order.
        Quarantined rows are not waiting: nothing queues behind them."""
        return self.totals.events > 0 or bool(self._pending)

    @property
    def full(self) -> bool:
        """No room (the last event offered did not fit, and nothing has left the spool since),
        or the last write failed (disk full, I/O error) and none has succeeded since."""
        return self._refusing or self._failing or self._used() >= self.max_bytes

    async def append(self, event: SpooledEvent) -> None:
        """Return once `event` is fsynced. Raises `SpoolFull` or `SpoolUnavailable`."""
        size = event.size()
        if self._used() + size > self.max_bytes:
            self._refusing = True
            raise SpoolFull(f"the spool holds {self._used()} bytes")
        self._reserved += size
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((event, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_pending(), name="hookgate-spool-writer")
        # Shielded: a client that hangs up must not cancel a write others share.
        await asyncio.shield(done)

    async def _write_pending(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            batch, self._pending = self._pending, []
            size = sum(e.size() for e, _ in batch)
            try:
                await loop.run_in_executor(self._executor, self._insert, [e for e, _ in batch])
            except Exception as err:
                self._reserved -= size
                self._failing = True
                failure = SpoolUnavailable(f"spool write failed: {err}")
                for _, done in batch:
                    if not done.done():
                        done.set_exception(failure)
            else:
                self._reserved -= size
                self._failing = False
                self._commits += 1
                self.totals = dataclasses.replace(
                    self.totals,
                    events=self.totals.events + len(batch),
                    bytes=self.totals.bytes + size,
                    oldest_received_at=self.totals.oldest_received_at or batch[0][0].received_at,
                )
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)

    async def refresh(self) -> SpoolTotals:
        """Re-read the totals from the file (other workers and `hookgate spool` change it)."""
        commits = self._commits
        totals = await self._run(spool_file.read_totals)
        if commits == self._commits:  # else an append landed meanwhile: keep the newer count
            if totals.bytes + totals.quarantined_bytes < self._used() - self._reserved:
                self._refusing = False
            self.totals = totals
        return self.totals

    async def release_lease(self) -> None:
        """Hand the forwarding on at once (at shutdown), instead of when the lease runs out."""
        await self._run(
            lambda db: db.execute("DELETE FROM forwarder WHERE owner = ?", (self._owner,))
        )

    async def take_lease(self, seconds: float) -> bool:
        """Become (or stay) the one forwarder of this file for `seconds`."""
        now = time.time()
        row = await self._run(
            lambda db: db.execute(spool_file.LEASE, (self._owner, now + seconds, now)).fetchone()
        )
        return row is not None

    async def oldest(self, limit: int) -> list[SpooledEvent]:
        return await self._run(lambda db: spool_file.oldest(db, limit))

    async def delete(self, seqs: Sequence[int]) -> None:
        await self._run(lambda db: spool_file.delete(db, seqs))
        self._refusing = False

    async def strike(self, seq: int) -> int:
        """Count one strike against a waiting row (see `gateway.forwarder`); its new count."""
        return await self._run(lambda db: spool_file.strike(db, seq))

    async def quarantine(self, seq: int, reason: str) -> bool:
        """Move a waiting row aside, in one transaction; False if it was no longer waiting."""
        moved = await self._run(lambda db: spool_file.quarantine(db, seq, reason))
        self._refusing = False
        return moved

    async def close(self) -> None:
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)
        if self._db is not None:
            db, self._db = self._db, None
            await asyncio.get_running_loop().run_in_executor(self._executor, db.close)
        self._executor.shutdown(wait=False)

    def _used(self) -> int:
        """Bytes the spool holds or is about to: waiting, quarantined and being written."""
        return self.totals.bytes + self.totals.quarantined_bytes + self._reserved

    async def _run(self, call: Callable[[sqlite3.Connection], T]) -> T:
        """Run `call` on the spool's own thread; SQLite errors become `SpoolUnavailable`."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, lambda: call(self._connection()))
        except sqlite3.Error as err:
            raise SpoolUnavailable(f"spool: {err}") from err

    def _insert(self, events: list[SpooledEvent]) -> None:
        spool_file.insert(self._connection(), events)

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            raise SpoolUnavailable("the spool is closed")
        return self._db
