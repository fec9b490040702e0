"""The web console: server-rendered pages over the admin API, and signing in and out.

    GET  /                              events, newest first: filters, an ID search, paging
    GET  /events/{source}/{event_id}    one event: its services, timeline, replay / cancel
    GET  /services                      each service's queues, rates and dead letters
    GET  /services/{name}               one service's dead-letter queue (the first 50)
    GET  /sources                       events per source, with rates
    GET  /login   POST /login           the sign-in form; the admin token → a session cookie
    POST /logout                        ends the session (X-CSRF-Token, like every POST)
    GET  /static/...                    the style sheet and the script (open)

A page shows what the JSON API answers: each calls the same `AdminApi` handler the API route
does and renders its JSON, so the two cannot disagree. Buttons (replay, cancel, sign out) are
the console's script posting to `/api/...` with the session's CSRF token (`admin.auth`).
Without a session every page answers 401 with the sign-in form in place (the URL stays, so
signing in comes back to it).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlencode

import orjson
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from admin.answers import ApiError, Refusal, status_code
from admin.api import AdminApi
from admin.auth import Token, cross_origin
from admin.ledger import LedgerUnavailable
from admin.pages import Pages
from admin.queues import BrokerUnavailable, BrokerView
from admin.sessions import Sessions, cookie, session_id
from consumers.dlq import DeadLetter

log = logging.getLogger("hookgate.admin")
Handler = Callable[[Request], Awaitable[Response]]
FILTERS = ("source", "status", "type", "service")
DEAD_LETTERS_SHOWN = 50
_MAX_FORM = 4096  # bytes: the sign-in form is a token and a path


class Console:
    """The console's route handlers, over the API's handlers and the broker view."""

    def __init__(self, api: AdminApi, broker: BrokerView, sessions: Sessions, token: Token) -> None:
        self._api = api
        self._broker = broker
        self._sessions = sessions
        self._token = token
        self._pages = Pages()

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/", self._guarded(self.events), methods=["GET"]),
            Route("/events/{source}/{event_id:path}", self._guarded(self.event), methods=["GET"]),
            Route("/services", self._guarded(self.services), methods=["GET"]),
            Route("/services/{name}", self._guarded(self.service), methods=["GET"]),
            Route("/sources", self._guarded(self.sources), methods=["GET"]),
            Route("/login", self.sign_in_form, methods=["GET"]),
            Route("/login", self.sign_in, methods=["POST"]),
            Route("/logout", self.sign_out, methods=["POST"]),
            Mount("/static", StaticFiles(packages=[("admin", "static")]), name="static"),
        ]

    async def sign_in_required(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI app `admin.auth.AdminAuth` answers a page without a session with."""
        request = Request(scope, receive)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        page = self._pages.render(
            request, "login.html", 401, {"www-authenticate": "Bearer"}, next=target, error=None
        )
        await page(scope, receive, send)

    # -- pages ---------------------------------------------------------------------------

    async def events(self, request: Request) -> Response:
        params = request.query_params
        filters = {key: params.get(key, "").strip() for key in FILTERS}
        wanted = params.get("id", "").strip()
        if wanted:
            rows, cursor = await self._find(request, wanted, filters["source"]), None
        else:
            query = {**filters, "cursor": params.get("cursor", "")}
            page = await _call(self._api.list_events, request, query=query)
            rows, cursor = page["events"], page["next"]
        return self._pages.render(
            request, "events.html", events=rows, filters=filters, id=wanted, cursor=cursor
        )

    async def event(self, request: Request) -> Response:
        detail = await _call(self._api.show_event, request)
        return self._pages.render(request, "event.html", event=detail)

    async def services(self, request: Request) -> Response:
        answer = await _call(self._api.services, request)
        return self._pages.render(request, "services.html", services=answer["services"])

    async def service(self, request: Request) -> Response:
        name = request.path_params["name"]
        answer = await _call(self._api.services, request)
        found = [s for s in answer["services"] if s["name"] == name and "queues" in s]
        if not found:  # only an announced service's queue is ever read
            raise ApiError(Refusal.NOT_FOUND, "no announced service has that name")
        letters: list[DeadLetter] = []
        total, problem = 0, None
        if found[0]["dead"]:
            try:
                total, letters = await self._broker.dead_letters(name, DEAD_LETTERS_SHOWN)
            except BrokerUnavailable as err:
                problem = str(err)
        return self._pages.render(
            request, "service.html", service=found[0], letters=letters, total=total, problem=problem
        )

    async def sources(self, request: Request) -> Response:
        answer = await _call(self._api.sources, request)
        return self._pages.render(request, "sources.html", sources=answer["sources"])

    async def _find(self, request: Request, event_id: str, source: str) -> list[dict[str, Any]]:
        """The event with this ID in `source`, or in any source the ledger knows."""
        if source:
            sources = [source]
        else:
            known = await _call(self._api.sources, request)
            sources = [row["source"] for row in known["sources"]]
        found = []
        for name in sources:
            try:
                params = {"source": name, "event_id": event_id}
                found.append(await _call(self._api.show_event, request, path_params=params))
            except ApiError as err:
                if err.refusal is not Refusal.NOT_FOUND:
                    raise
        return found

    def _guarded(self, page: Handler) -> Handler:
        """`page`, answering a refusal or an outage with an error page instead of JSON."""

        async def guarded(request: Request) -> Response:
            try:
                return await page(request)
            except ApiError as err:
                code = status_code(err.refusal)
                return self._pages.error(request, code, err.refusal.value, err.detail)
            except LedgerUnavailable:
                return self._pages.error(
                    request, 503, "unavailable", "the ledger is unavailable; try again shortly"
                )
            except BrokerUnavailable as err:
                return self._pages.error(request, 503, "unavailable", f"the broker: {err}")

        return guarded

    # -- signing in and out --------------------------------------------------------------

    async def sign_in_form(self, request: Request) -> Response:
        if self._sessions.find(session_id(request.headers.get("cookie"))) is not None:
            return RedirectResponse("/", 303)
        return self._pages.render(request, "login.html", next="/", error=None)

    async def sign_in(self, request: Request) -> Response:
        if cross_origin(request.scope):
            return self._pages.error(request, 403, "forbidden", "sign in from this console")
        form = await _form(request)
        target = _local(form.get("next", "/"))
        if not self._token.matches(form.get("token", "").encode()):
            client = request.client.host if request.client else "?"
            log.warning("console sign-in refused: wrong token (from %s)", client)
            return self._pages.render(
                request, "login.html", 401, next=target, error="That is not the admin token."
            )
        self._sessions.drop(session_id(request.headers.get("cookie")))  # never reuse one
        new_id, _ = self._sessions.create()
        answer = RedirectResponse(target, 303)
        secure = request.url.scheme == "https"
        lifetime = self._sessions.lifetime
        answer.headers["set-cookie"] = cookie(new_id, secure=secure, max_age=lifetime)
        return answer

    async def sign_out(self, request: Request) -> Response:
        """Reached only with the session's CSRF token (or a bearer: then it ends nothing)."""
        self._sessions.drop(session_id(request.headers.get("cookie")))
        answer = Response(status_code=204)
        secure = request.url.scheme == "https"
        answer.headers["set-cookie"] = cookie("", secure=secure, max_age=0)
        return answer


async def _call(
    handler: Handler,
    request: Request,
    *,
    query: dict[str, str] | None = None,
    path_params: dict[str, str] | None = None,
) -> Any:
    """What the API's `handler` answers (its JSON) to `request` with this query string and
    these path parameters instead of the page's own."""
    scope = dict(request.scope)
    if query is not None:
        scope["query_string"] = urlencode({k: v for k, v in query.items() if v}).encode()
    if path_params is not None:
        scope["path_params"] = path_params
    response = await handler(Request(scope, request.receive))
    return orjson.loads(bytes(response.body))


async def _form(request: Request) -> dict[str, str]:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_FORM:
            return {}
    fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
    return {key: values[0] for key, values in fields.items() if len(values) == 1}


def _local(target: str) -> str:
    """`target` when it is a path of this console (no open redirect), else `/`."""
    if (
        not target.startswith("/")
        or target.startswith(("//", "/\\", "/login"))
        or not target.isprintable()
    ):
        return "/"
    return target
