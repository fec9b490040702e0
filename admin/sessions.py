"""The console's sign-in sessions: an opaque random ID in a cookie, the rest in memory.

Signing in with the admin token creates a session; its ID travels in an HttpOnly,
SameSite=Strict cookie (Secure over https), never the token. The table keeps only a digest of
each ID (a lookup leaks nothing through timing) with the session's CSRF token and expiry.
Sessions live in this process: restarting `hookgate admin` signs everyone out.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

COOKIE = "hookgate_session"
CSRF_HEADER = "x-csrf-token"
LIFETIME = 12 * 3600.0  # seconds
MAX_SESSIONS = 1000  # the oldest goes first: a token holder cannot grow the table forever


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in browser. `csrf` goes into pages, for the console's script to send back."""

    csrf: str
    expires_at: float

    def csrf_ok(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.csrf.encode())


class Sessions:
    """The session table, with expiry (`clock` for tests)."""

    def __init__(self, lifetime: float = LIFETIME, clock: Callable[[], float] = time.time) -> None:
        self._lifetime = lifetime
        self._clock = clock
        self._table: dict[bytes, Session] = {}

    def __repr__(self) -> str:
        return f"Sessions({len(self._table)} open)"

    def create(self) -> tuple[str, Session]:
        """A new session and its ID (for the cookie; kept here only as a digest)."""
        now = self._clock()
        self._table = {k: s for k, s in self._table.items() if s.expires_at > now}
        while len(self._table) >= MAX_SESSIONS:
            del self._table[next(iter(self._table))]
        session_id = secrets.token_urlsafe(32)
        session = Session(csrf=secrets.token_urlsafe(32), expires_at=now + self._lifetime)
        self._table[_digest(session_id)] = session
        return session_id, session

    def find(self, session_id: str | None) -> Session | None:
        """The live session with this ID, else None (an expired one is dropped)."""
        if not session_id:
            return None
        key = _digest(session_id)
        session = self._table.get(key)
        if session is not None and session.expires_at <= self._clock():
            del self._table[key]
            return None
        return session

    def drop(self, session_id: str | None) -> None:
        if session_id:
            self._table.pop(_digest(session_id), None)

    @property
    def lifetime(self) -> float:
        return self._lifetime


def cookie(session_id: str, *, secure: bool, max_age: float) -> str:
    """The `Set-Cookie` value carrying a session ID (max_age 0: the one that clears it)."""
    flags = f"; Max-Age={int(max_age)}; Path=/; HttpOnly; SameSite=Strict"
    return f"{COOKIE}={session_id}{flags}{'; Secure' if secure else ''}"


def session_id(cookie_header: str | None) -> str | None:
    """The session ID in a `Cookie` header; None when absent or given twice."""
    if not cookie_header:
        return None
    found = [
        value.strip()
        for name, _, value in (part.partition("=") for part in cookie_header.split(";"))
        if name.strip() == COOKIE
    ]
    return found[0] if len(found) == 1 and found[0] else None


def _digest(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode()).digest()
