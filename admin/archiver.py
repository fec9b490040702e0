"""The archiver: events from the archive's inbox into the archive stream (`hookgate admin`).

Each inbox message is published to the stream in its archived form (`admin.archive.
archived_form`), publisher-confirmed, and only then acked: a crash or a lost connection hands
it back, so an event may be archived twice (a replay reads each event once) but never lost.
Several copies are in flight at once, bounded by the prefetch. While `hookgate admin` is down
the inbox keeps what arrives (watch its depth like any queue's).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any, Protocol

import aiormq
from aiormq.abc import DeliveredMessage
from pamqp.commands import Basic

from admin.archive_form import archived_form
from hookgate.connect import BrokerNodes
from hookgate.errors import TopologyError
from hookgate.status import StatusChange
from hookgate.topology import (
    archive_inbox,
    archive_name,
    declare_archive,
    ensure_gateway_topology,
)

_log = logging.getLogger("hookgate.archiver")
_RECONNECT_MIN, _RECONNECT_MAX = 0.25, 5.0
_CONNECT_TIMEOUT = 10.0
_ERRORS = (
    aiormq.exceptions.AMQPError,
    ConnectionError,
    OSError,
    RuntimeError,
    TimeoutError,
    TopologyError,
)


class Archiver:
    """Moves the inbox into the stream until `stop()`."""

    def __init__(
        self,
        url: str,
        exchange: str,
        *,
        retention_days: float = 14.0,
        max_bytes: int = 10_000_000_000,
        prefetch: int = 256,
    ) -> None:
        self._url = url
        self._nodes = BrokerNodes(url)
        self._exchange = exchange
        self._retention = (retention_days, max_bytes)
        self._inbox = archive_inbox(exchange)
        self._stream = archive_name(exchange)
        self._prefetch = prefetch
        self._stopping = asyncio.Event()
        #: Set while consuming the inbox.
        self.consuming = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Archive until `stop()`, reconnecting with backoff."""
        delay = _RECONNECT_MIN
        while not self._stopping.is_set():
            try:
                await self._session()
                delay = _RECONNECT_MIN
            except _ERRORS as err:
                self.consuming.clear()
                _log.warning(
                    "archiver: broker unreachable or the archive missing; retrying",
                    extra={"fields": {"error": f"{type(err).__name__}: {err}"[:300]}},
                )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._stopping.wait()
            delay = min(delay * 2, _RECONNECT_MAX)

    async def _session(self) -> None:
        async with asyncio.timeout(_CONNECT_TIMEOUT):
            connection = await self._nodes.connect("hookgate-archiver")
        try:
            async with asyncio.timeout(_CONNECT_TIMEOUT):  # idempotent: a broker that was reset
                await ensure_gateway_topology(connection, self._exchange)
                channel = await connection.channel()
                await declare_archive(channel, self._exchange, *self._retention)
            publisher = await connection.channel(publisher_confirms=True)
            await channel.basic_qos(prefetch_count=self._prefetch)

            async def archive(message: DeliveredMessage) -> None:
                try:
                    result = await publisher.basic_publish(
                        message.body,
                        routing_key=self._stream,
                        properties=archived_form(message.header.properties),
                        mandatory=True,
                        timeout=_CONNECT_TIMEOUT,
                    )
                    if not isinstance(result, Basic.Ack):
                        raise RuntimeError(f"the broker answered {type(result).__name__}")
                    await channel.basic_ack(message.delivery_tag or 0)
                except Exception as err:  # the stream is gone or refuses: start over
                    _log.warning(
                        "archiver: could not archive a message; reconnecting",
                        extra={"fields": {"error": f"{type(err).__name__}: {err}"[:300]}},
                    )
                    if not channel.is_closed:  # hands every unacked message back
                        await channel.close()

            await channel.basic_consume(self._inbox, archive)
            self.consuming.set()
            stopping = asyncio.create_task(self._stopping.wait())
            try:
                await asyncio.wait(
                    [connection.closing, channel.closing, publisher.closing, stopping],
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                stopping.cancel()
        finally:
            self.consuming.clear()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await connection.close()


class _Recorder(Protocol):
    async def run(self) -> Any: ...
    def stop(self) -> Any: ...
    async def record(self, changes: Sequence[StatusChange]) -> None: ...


class WithArchiver:
    """The recorder and the archiver as one (what `admin.serve` runs): both run, both stop;
    either ending ends the run (the process stops, a supervisor restarts it)."""

    def __init__(self, recorder: _Recorder, archiver: Archiver) -> None:
        self.recorder = recorder
        self.archiver = archiver

    async def record(self, changes: Sequence[StatusChange]) -> None:
        await self.recorder.record(changes)

    def stop(self) -> Any:
        self.archiver.stop()
        return self.recorder.stop()

    async def run(self) -> None:
        tasks = [
            asyncio.create_task(self.recorder.run(), name="hookgate-recorder"),
            asyncio.create_task(self.archiver.run(), name="hookgate-archiver"),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # a crash is the run's
        finally:
            self.archiver.stop()
            self.recorder.stop()
            await asyncio.gather(*tasks, return_exceptions=True)
