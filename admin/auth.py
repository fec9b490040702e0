"""Authentication in front of every admin route (a pure ASGI middleware).

A request is let in with `Authorization: Bearer <token>` (scripts, Prometheus) or with the
cookie of a console session (`admin.sessions`). What is refused depends on the path:

- `/api/*` and `/metrics`: `401 {"status": "unauthorized"}` with `WWW-Authenticate: Bearer`;
- every other route (the console's pages): the sign-in page, also with status 401;
- `/static/*` and `/login` are open (styles, script, and the sign-in form itself).

A state-changing request (any method but GET, HEAD, OPTIONS) let in by the cookie alone must
also carry the session's CSRF token in `X-CSRF-Token`, and come from this origin when the
browser says where it comes from (`Origin`, `Sec-Fetch-Site`); otherwise `403 forbidden`.
A bearer request needs neither: no browser attaches that header by itself.

The token is compared in constant time, as SHA-256 digests (so not even its length leaks
through timing). It lives only in `Token`, as a digest; reprs, logs and answers never show it.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from admin.answers import UNAUTHORIZED_BODY, Refusal, refusal
from admin.sessions import CSRF_HEADER, Session, Sessions, session_id

_HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(UNAUTHORIZED_BODY)).encode()),
    (b"www-authenticate", b"Bearer"),
]
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_OPEN_PREFIXES = ("/static/",)
_OPEN_PATHS = frozenset({"/login"})


class Token:
    """The admin token, held as a digest, compared in constant time."""

    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("the admin token is empty")
        self._digest = hashlib.sha256(token.encode()).digest()

    def __repr__(self) -> str:
        return "Token('**********')"

    def matches(self, given: bytes) -> bool:
        return hmac.compare_digest(hashlib.sha256(given).digest(), self._digest)

    def in_header(self, scope: Scope) -> bool:
        """Whether the request carries exactly one `Authorization: Bearer <token>`."""
        values = [value for name, value in scope["headers"] if name == b"authorization"]
        if len(values) != 1:
            return False
        scheme, _, credentials = values[0].strip().partition(b" ")
        return scheme.lower() == b"bearer" and self.matches(credentials.strip())


class AdminAuth:
    """Lets in a bearer or a console session (see the module's docstring); `sign_in` is the
    ASGI app answering a console route without either."""

    def __init__(self, app: ASGIApp, token: Token, sessions: Sessions, sign_in: ASGIApp) -> None:
        self._app = app
        self._token = token
        self._sessions = sessions
        self._sign_in = sign_in

    def __repr__(self) -> str:
        return "AdminAuth(token='**********')"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and not self._token.in_header(scope):
            await send({"type": "websocket.close", "code": 1008})  # policy violation
            return
        if scope["type"] != "http" or _is_open(scope["path"]):
            await self._app(scope, receive, send)
            return
        if self._token.in_header(scope):
            await self._app(scope, receive, send)
            return
        session = self._sessions.find(session_id(header(scope, b"cookie")))
        if session is None:
            if is_api(scope["path"]):
                await send({"type": "http.response.start", "status": 401, "headers": _HEADERS})
                await send({"type": "http.response.body", "body": UNAUTHORIZED_BODY})
            else:
                await self._sign_in(scope, receive, send)
            return
        problem = _csrf_problem(scope, session)
        if problem:
            await refusal(Refusal.FORBIDDEN, problem)(scope, receive, send)
            return
        scope.setdefault("state", {})["session"] = session
        await self._app(scope, receive, send)


def is_api(path: str) -> bool:
    """Whether `path` is the JSON API's (answered 401, never the sign-in page)."""
    return path == "/api" or path.startswith("/api/") or path == "/metrics"


def header(scope: Scope, name: bytes) -> str | None:
    """The one value of header `name` (lower case), None when absent or repeated."""
    values = [value for key, value in scope["headers"] if key == name]
    return values[0].decode("latin-1") if len(values) == 1 else None


def cross_origin(scope: Scope) -> bool:
    """Whether the browser says the request comes from another site or origin."""
    if header(scope, b"sec-fetch-site") in ("cross-site", "same-site"):
        return True
    origin = header(scope, b"origin")
    if origin is None:
        return False  # an older browser: SameSite=Strict and the CSRF token still hold
    host = (header(scope, b"host") or "").lower()
    return origin == "null" or urlsplit(origin).netloc.lower() != host


def _csrf_problem(scope: Scope, session: Session) -> str | None:
    if scope["method"] in _SAFE_METHODS:
        return None
    if cross_origin(scope):
        return "origin: the request comes from another site"
    if not session.csrf_ok(header(scope, CSRF_HEADER.encode())):
        return f"csrf: missing or wrong {CSRF_HEADER} header; reload the page and try again"
    return None


def _is_open(path: str) -> bool:
    return path in _OPEN_PATHS or path.startswith(_OPEN_PREFIXES)
