"""The admin API and console as an ASGI app: `create_admin_app` builds it from what it is given.

    GET  /api/events                          a page of events, newest first (filters)
    GET  /api/events/{source}/{event_id}      one event: services, timeline, duplicates
    POST /api/events/{source}/{event_id}/replay   from the dead-letter queues, else the archive
    POST /api/events/{source}/{event_id}/cancel   skip it wherever it waits, 202 (409 done)
    POST /api/replay                          many events from the archive to one service
    GET  /api/services                        announced services and their queue depths
    GET  /api/sources                         events per source
    GET  /metrics                             the registry given: the recorder's, queue depths

Event IDs may hold any character, `/` included (a `path` converter; an ID ending in
`/replay` is still shown by GET, since only POST replays). Refusals come from one table
(`admin.answers`); a ledger that is down answers 503 with Retry-After. The web console's pages
(`admin.console`) sit beside the API; `admin.auth` says who gets in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from admin.answers import ApiError, Refusal, refusal
from admin.api import AdminApi, Record
from admin.archive import ArchiveView
from admin.archive_api import ArchiveReplays
from admin.auth import AdminAuth, Token
from admin.cancel import CancelSender
from admin.console import Console
from admin.headers import SecurityHeaders
from admin.ledger import LedgerStore, LedgerUnavailable
from admin.queues import BrokerUnavailable, BrokerView
from admin.sessions import Sessions
from hookgate.secret import Secret


def create_admin_app(
    ledger: LedgerStore,
    *,
    token: Secret | str,
    broker_url: str,
    exchange: str,
    message_keys: Sequence[str] = (),
    broker_timeout: float = 10.0,
    record: Record | None = None,
    metrics: CollectorRegistry | None = None,
    archive: bool = False,
) -> ASGIApp:
    """The admin API and console over `ledger`, behind the bearer `token` (the console signs
    in with it). `broker_url` and `message_keys` (`[broker] message_key`: a dead letter that
    does not verify is not replayed) are for the queues; `exchange` names the deployment.
    `record` (the recorder's) records an operator's replay so that the event is queued again
    for its services; `metrics` (the recorder's `hookgate_ledger_*`, the queue depths of
    `admin.queue_metrics`, build info and `process_*`) is served at `/metrics`,
    behind the token like every API route (Prometheus: `authorization: {credentials: …}` in
    the scrape config). `archive`: replay from `{exchange}.archive` too (`[ledger] archive`)."""
    replays = None
    if archive:
        view = ArchiveView(broker_url, exchange, message_keys)
        replays = ArchiveReplays(ledger, view, record or ledger.record)
    broker = BrokerView(broker_url, message_keys, timeout=broker_timeout)
    api = AdminApi(
        ledger,
        broker,
        record,
        CancelSender(broker_url, exchange, timeout=broker_timeout),
        archive=replays,
    )
    sessions, secret = Sessions(), Token(token.reveal() if isinstance(token, Secret) else token)
    console = Console(api, broker, sessions, secret)
    event = "/api/events/{source}/{event_id:path}"
    routes = [
        Route("/api/events", api.list_events, methods=["GET"]),
        Route(event + "/replay", api.replay, methods=["POST"]),
        Route("/api/replay", api.replay_range, methods=["POST"]),
        Route(event + "/cancel", api.cancel, methods=["POST"]),
        Route(event, api.show_event, methods=["GET"]),
        Route("/api/services", api.services, methods=["GET"]),
        Route("/api/sources", api.sources, methods=["GET"]),
    ]
    if metrics is not None:
        routes.append(Route("/metrics", _metrics_endpoint(metrics), methods=["GET"]))
    app = Starlette(
        routes=[*routes, *console.routes()],
        exception_handlers={
            ApiError: _api_error,
            LedgerUnavailable: _ledger_unavailable,
            BrokerUnavailable: _broker_unavailable,
            HTTPException: _http_error,
        },
    )
    app.state.exchange = exchange
    return SecurityHeaders(AdminAuth(app, secret, sessions, console.sign_in_required))


async def _api_error(_: Request, err: Exception) -> Response:
    assert isinstance(err, ApiError)
    return refusal(err.refusal, err.detail)


async def _ledger_unavailable(_: Request, err: Exception) -> Response:
    return refusal(Refusal.UNAVAILABLE, "the ledger is unavailable; try again shortly")


async def _broker_unavailable(_: Request, err: Exception) -> Response:
    return refusal(Refusal.UNAVAILABLE, f"the broker is unavailable: {err}")


async def _http_error(_: Request, err: Exception) -> Response:
    assert isinstance(err, HTTPException)
    if err.status_code == 405:
        return refusal(Refusal.METHOD_NOT_ALLOWED)
    if err.status_code == 404:
        return refusal(Refusal.NOT_FOUND)
    return refusal(Refusal.BAD_REQUEST, err.detail)


def _metrics_endpoint(registry: CollectorRegistry) -> Callable[[Request], Awaitable[Response]]:
    async def metrics(_: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return metrics
