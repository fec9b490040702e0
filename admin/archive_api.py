"""Replay from the archive of accepted events: the admin API's half that reads the stream.

`replay_one` is where `POST /api/events/{source}/{event_id}/replay` goes when no dead-letter
queue holds the event; `replay_range` answers `POST /api/replay` (`admin.bulk`). Either way a
copy whose signature does not verify with `[broker] message_key` is not replayed, each copy is
publisher-confirmed before it counts, and the ledger gets the same `replayed` step a
dead-letter replay adds, stamped before the copy is published (it sorts before the run), with
the next replay round of that service (the copy carries it, so the run's steps are told apart
from earlier rounds').
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from admin.answers import ApiError, Refusal, json
from admin.archive import Archived, ArchiveSession, ArchiveView, ScanReport
from admin.bulk import MAX_BODY, parse_bulk
from admin.ledger import EventDetail, LedgerStore, LedgerUnavailable
from admin.queues import ServiceShape
from admin.recorder import replayed_change
from hookgate.envelope import Envelope, rfc3339_ms
from hookgate.routing import routing_key, topic_matches
from hookgate.status import ServiceAnnouncement, StatusChange
from hookgate.topology import work_queue

Record = Callable[[Sequence[StatusChange]], Awaitable[object]]

_RECORD_BATCH = 500
#: A bulk replay may read for this long (a replay by ID: `Bounds.seconds`).
BULK_SECONDS = 240.0


class ArchiveReplays:
    """What the admin API replays from the archive, over its ledger and `ArchiveView`."""

    def __init__(self, ledger: LedgerStore, archive: ArchiveView, record: Record) -> None:
        self._ledger = ledger
        self._archive = archive
        self._record = record

    async def replay_one(
        self, source: str, event_id: str, wanted: str | None, services: Sequence[str]
    ) -> tuple[list[str], list[StatusChange]]:
        """Republish the archived event to `wanted`, else to each of `services` (announced or
        seen) that saw it or binds it. The names replayed and the ledger steps to record."""
        detail = await self._ledger.event(source, event_id)
        received_at = detail.summary.received_at if detail is not None else None
        async with self._archive.session() as session:
            found, report = await session.find(source, event_id, received_at)
            if found is None:
                cut = "" if report.complete else f" (stopped at a bound: {report.ended})"
                raise ApiError(
                    Refusal.NOT_IN_ARCHIVE,
                    "no dead-letter queue holds it, and the archive does not either (it keeps "
                    "events for [ledger] retention_days); "
                    f"{report.scanned} archived events read{cut}",
                )
            if found.refusal:
                raise ApiError(
                    Refusal.REFUSED,
                    f"the archived copy was not replayed: {found.refusal}",
                )
            if wanted is not None:
                targets = [wanted]
            else:
                announced = await self._announced()
                targets = [
                    name
                    for name in services
                    if (detail is not None and name in detail.services)
                    or _binds(announced.get(name), found.event)
                ]
            if not targets:
                raise ApiError(
                    Refusal.NOT_FOUND,
                    'no service saw this event or binds it now; name one with {"service": NAME}',
                )
            changes = []
            for name in targets:
                change = _change(source, event_id, detail, name, found.event.type)
                await session.republish(found, work_queue(ServiceShape(name)), change.replay)
                changes.append(change)
        return targets, changes

    async def replay_range(self, request: Request) -> Response:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                break
        bulk = parse_bulk(body, time.time())
        announcement = (await self._announced()).get(bulk.service)
        if announcement is None:
            raise ApiError(Refusal.NOT_FOUND, "service: no announced service has that name")

        def wanted(event: Envelope) -> bool:
            return bulk.matches(event) and _binds(announcement, event)

        report, seen, refused, replayed = ScanReport(), set(), 0, 0
        pending: list[StatusChange] = []
        answer: dict[str, Any] = {"service": bulk.service}
        bounds = replace(self._archive.bounds, seconds=BULK_SECONDS)
        try:
            async with self._archive.session() as session:
                scan = session.scan(
                    bulk.since, report, until=bulk.until, match=wanted, bounds=bounds
                )
                async with contextlib.aclosing(scan):
                    async for archived in scan:
                        key = (archived.event.source, archived.event.id)
                        if key in seen:  # a publish retried by the gateway: replay it once
                            continue
                        seen.add(key)
                        if archived.refusal:
                            refused += 1
                            continue
                        await self._republish(session, archived, bulk.service, pending)
                        replayed += 1
                        if len(pending) >= _RECORD_BATCH:
                            await self._flush(pending, answer)
                        if replayed >= bulk.limit:
                            report.ended = "limit"
                            break
        finally:
            await self._flush(pending, answer)
        answer.update(
            replayed=replayed, refused=refused, scanned=report.scanned, stopped=report.ended
        )
        if report.ended not in ("end", "horizon") and report.last_received is not None:
            # Where to go on from (stream order is nearly receipt order: an event received in
            # that same millisecond may be replayed again).
            answer["next_since"] = rfc3339_ms(report.last_received)
        return json(answer, 202)

    async def _republish(
        self,
        session: ArchiveSession,
        archived: Archived,
        service: str,
        pending: list[StatusChange],
    ) -> None:
        event = archived.event
        try:
            detail = await self._ledger.event(event.source, event.id)
        except LedgerUnavailable:
            detail = None
        change = _change(event.source, event.id, detail, service, event.type)
        await session.republish(archived, work_queue(ServiceShape(service)), change.replay)
        pending.append(change)

    async def _flush(self, pending: list[StatusChange], answer: dict[str, Any]) -> None:
        if not pending:
            return
        try:
            await self._record(list(pending))
        except LedgerUnavailable:  # the events moved: that is the answer; the ledger is a view
            answer["detail"] = "replayed, but the ledger could not record every replay"
        pending.clear()

    async def _announced(self) -> dict[str, ServiceAnnouncement]:
        return {a.service: a for a in await self._ledger.services()}


def _binds(announcement: ServiceAnnouncement | None, event: Envelope) -> bool:
    if announcement is None:
        return False
    key = tuple(routing_key(event.source, event.type).split("."))
    return any(topic_matches(tuple(p.split(".")), key) for p in announcement.patterns)


def _change(
    source: str,
    event_id: str,
    detail: EventDetail | None,
    service: str,
    event_type: str | None = None,
) -> StatusChange:
    """The `replayed` step for `service`, in the round after the last one the ledger saw."""
    rounds = [c.replay for c in detail.timeline if c.service == service] if detail else []
    return replayed_change(
        source,
        event_id,
        by="api",
        event_type=(detail.summary.type if detail is not None else None) or event_type,
        service=service,
        replay=max(rounds, default=0) + 1,
    )
