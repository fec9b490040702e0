"""The admin API's routes: events from the ledger, replay from dead-letter queues (else from
the archive of accepted events, `admin.archive_api`), cancel, services' queues and sources.
Every route sits behind `admin.auth.AdminAuth` (see `admin.app`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from admin.answers import ApiError, Refusal, json
from admin.archive_api import ArchiveReplays
from admin.cancel import CancelSender, cancellable, cancelled_change, new_cancel
from admin.ledger import LedgerStore, LedgerUnavailable
from admin.query import event_query
from admin.queues import BrokerView
from admin.recorder import replayed_change
from admin.views import (
    SERVICE_OUTCOMES,
    WINDOW_MINUTES,
    detail_json,
    outcomes_json,
    sources_json,
    summary_json,
)
from hookgate.status import StatusChange

Record = Callable[[Sequence[StatusChange]], Awaitable[object]]

_MAX_BODY = 4096  # bytes: a replay's body is `{"service": NAME}`


def _no_outcomes() -> dict[str, object]:
    return {
        "outcomes_last_hour": dict.fromkeys(SERVICE_OUTCOMES, 0),
        "per_minute": [0] * WINDOW_MINUTES,
    }


class AdminApi:
    """The route handlers, over one ledger and one broker view."""

    def __init__(
        self,
        ledger: LedgerStore,
        broker: BrokerView,
        record: Record | None = None,
        cancels: CancelSender | None = None,
        *,
        archive: ArchiveReplays | None = None,
    ) -> None:
        self._cancels = cancels
        self._ledger = ledger
        self._broker = broker
        # The recorder's `record` queues a replayed event again for its services.
        self._record = record or ledger.record
        #: None with `[ledger] archive = false`: only dead letters can be replayed.
        self.archive = archive

    async def list_events(self, request: Request) -> Response:
        query = event_query(request.query_params)
        try:
            page, cursor = await self._ledger.events(query)
        except ValueError:  # the only caller-made value a ledger checks is the cursor
            raise ApiError(Refusal.BAD_REQUEST, "cursor: not a cursor from this ledger") from None
        return json({"events": [summary_json(s) for s in page], "next": cursor})

    async def show_event(self, request: Request) -> Response:
        source, event_id = _event(request)
        detail = await self._ledger.event(source, event_id)
        if detail is None:
            raise ApiError(Refusal.NOT_FOUND, "no such event in the ledger")
        return json(detail_json(detail))

    async def replay(self, request: Request) -> Response:
        source, event_id = _event(request)
        wanted = await _service_asked(request)
        candidates = await self._candidates(source, event_id)
        if wanted is not None and wanted not in candidates:
            # Only a service that announced itself or saw the event: a name alone must not
            # let a token holder move any `<name>.dead` queue of the vhost.
            raise ApiError(
                Refusal.NOT_FOUND,
                "no announced service, nor one that saw this event, has that name",
            )
        services = [wanted] if wanted else candidates
        event_type = await self._event_type(source, event_id)
        at = time.time()  # stamped before the copy is republished: it sorts before the run
        result = await self._broker.replay(source, event_id, services)
        if not result.replayed and result.refused:
            raise ApiError(
                Refusal.REFUSED,
                "its signature does not verify with [broker] message_key; it stays in the "
                "dead-letter queue (hookgate dlq replay --allow-unauthenticated moves it)",
            )
        if not result.replayed and self.archive is not None:
            names, archived = await self.archive.replay_one(source, event_id, wanted, services)
            return await self._answer(names, archived, "archive")
        if not result.replayed:
            raise ApiError(
                Refusal.NOT_IN_DEAD_LETTER_QUEUE,
                f"no dead-letter queue of {_names(services)} holds it, and there is no "
                "archive to replay it from (turn on [ledger] archive to keep one)",
            )
        answer: dict[str, Any] = {
            "replayed": result.replayed,
            "from": dict.fromkeys(result.replayed, "dead-letter queue"),
        }
        if result.refused:
            answer["refused"] = sorted(result.refused)
        changes = [
            replayed_change(
                source,
                event_id,
                by="api",
                event_type=event_type,
                service=name,
                replay=result.rounds.get(name, 1),
                at=at,
            )
            for name in result.replayed
        ]
        return await self._answer(result.replayed, changes, "dead-letter queue", answer)

    async def _answer(
        self,
        names: list[str],
        changes: list[StatusChange],
        origin: str,
        answer: dict[str, Any] | None = None,
    ) -> Response:
        answer = answer or {"replayed": names, "from": dict.fromkeys(names, origin)}
        try:
            await self._record(changes)
        except LedgerUnavailable:  # the event moved: that is the answer; the ledger is a view
            answer["detail"] = "replayed, but the ledger could not record it"
        return json(answer, 202)

    async def replay_range(self, request: Request) -> Response:
        if self.archive is None:
            raise ApiError(
                Refusal.NOT_FOUND,
                "no archive to replay from (turn on [ledger] archive to keep one)",
            )
        return await self.archive.replay_range(request)

    async def cancel(self, request: Request) -> Response:
        """Tell every consumer of the services still busy with the event to skip it, and
        record `cancelled` for them (`admin.cancel`)."""
        source, event_id = _event(request)
        wanted = await _service_asked(request)
        detail = await self._ledger.event(source, event_id)
        if detail is None:
            raise ApiError(Refusal.NOT_FOUND, "no such event in the ledger")
        if self._cancels is None:
            raise ApiError(Refusal.NOT_FOUND, "cancel is not configured here")
        if wanted is not None and wanted not in await self._candidates(source, event_id):
            raise ApiError(
                Refusal.NOT_FOUND,
                "no announced service, nor one that saw this event, has that name",
            )
        rounds = cancellable(detail, [wanted] if wanted else sorted(detail.services))
        if not rounds:
            raise ApiError(
                Refusal.ALREADY_FINISHED,
                f"{_names([wanted] if wanted else sorted(detail.services))} already completed "
                "or failed it (a dead letter is replayed or purged, not cancelled)",
            )
        cancel = new_cancel(source, event_id, rounds)
        await self._cancels.send(cancel)
        answer: dict[str, Any] = {"cancelled": sorted(rounds)}
        changes = [cancelled_change(cancel, name, detail.summary.type) for name in rounds]
        try:
            await self._record(changes)
        except LedgerUnavailable:  # sent: that is the answer; the consumers' skips record it
            answer["detail"] = "cancelled, but the ledger could not record it"
        return json(answer, 202)

    async def _event_type(self, source: str, event_id: str) -> str | None:
        """The event's type as the ledger knows it (None when it does not, or is down)."""
        try:
            detail = await self._ledger.event(source, event_id)
        except LedgerUnavailable:
            return None
        return detail.summary.type if detail is not None else None

    async def services(self, request: Request) -> Response:
        """Each announced service's queues, and what its handlers did in the last hour (a
        service the ledger saw but that never announced itself: the outcomes alone)."""
        announced = await self._ledger.services()
        now = time.time()
        outcomes = outcomes_json(await self._ledger.activity(now - 60 * WINDOW_MINUTES), now)
        rows = await self._broker.depths(announced)
        for row in rows:
            row.update(outcomes.pop(row["name"], _no_outcomes()))
        rows.extend({"name": name, **row} for name, row in sorted(outcomes.items()))
        return json({"services": rows})

    async def sources(self, request: Request) -> Response:
        """Per source: accepted, duplicates and refusals by reason in the last hour, and its
        latest event."""
        now = time.time()
        activity = await self._ledger.activity(now - 60 * WINDOW_MINUTES)
        return json({"sources": sources_json(activity, now)})

    async def _candidates(self, source: str, event_id: str) -> list[str]:
        """Every announced service, and any other the ledger saw with this event."""
        names = {a.service for a in await self._ledger.services()}
        detail = await self._ledger.event(source, event_id)
        if detail is not None:
            names.update(detail.services)
        return sorted(names)


def _event(request: Request) -> tuple[str, str]:
    source, event_id = request.path_params["source"], request.path_params["event_id"]
    if not isinstance(source, str) or not isinstance(event_id, str) or not event_id:
        raise ApiError(Refusal.NOT_FOUND)
    return source, event_id


async def _service_asked(request: Request) -> str | None:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_BODY:
            raise ApiError(Refusal.BAD_REQUEST, f"body: larger than {_MAX_BODY} bytes")
    if not body.strip():
        return None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ApiError(Refusal.BAD_REQUEST, 'body: expected JSON, {"service": NAME}') from None
    if not isinstance(data, dict) or set(data) - {"service"}:
        raise ApiError(Refusal.BAD_REQUEST, 'body: expected {"service": NAME} or nothing')
    service = data.get("service")
    if service is None:
        return None
    if (
        not isinstance(service, str)
        or not service.isprintable()
        or not 0 < len(service.encode()) < 200
    ):
        raise ApiError(Refusal.BAD_REQUEST, "service: expected a service name")
    return service


def _names(services: list[str]) -> str:
    return ", ".join(services) if services else "any announced service"
