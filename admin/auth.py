"""Bearer-token authentication in front of every admin route (a pure ASGI middleware).

The token is compared in constant time, as SHA-256 digests (so not even its length leaks
through timing). It lives only in this object, as a digest; the object's repr, logs and
answers never show it.
"""

from __future__ import annotations

import hashlib
import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from admin.answers import UNAUTHORIZED_BODY

_HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(UNAUTHORIZED_BODY)).encode()),
    (b"www-authenticate", b"Bearer"),
]


class BearerAuth:
    """Answers `401 {"status": "unauthorized"}` with `WWW-Authenticate: Bearer` unless the
    request carries exactly one `Authorization: Bearer <token>` with the right token."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        if not token:
            raise ValueError("the admin token is empty")
        self._app = app
        self._digest = hashlib.sha256(token.encode()).digest()

    def __repr__(self) -> str:
        return "BearerAuth(token='**********')"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._allowed(scope):
            await send({"type": "http.response.start", "status": 401, "headers": _HEADERS})
            await send({"type": "http.response.body", "body": UNAUTHORIZED_BODY})
            return
        if scope["type"] == "websocket" and not self._allowed(scope):
            await send({"type": "websocket.close", "code": 1008})  # policy violation
            return
        await self._app(scope, receive, send)

    def _allowed(self, scope: Scope) -> bool:
        values = [value for name, value in scope["headers"] if name == b"authorization"]
        if len(values) != 1:
            return False
        scheme, _, credentials = values[0].strip().partition(b" ")
        if scheme.lower() != b"bearer":
            return False
        given = hashlib.sha256(credentials.strip()).digest()
        return hmac.compare_digest(given, self._digest)
