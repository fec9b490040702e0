"""The admin API from the command line: standard library only (`urllib.request`), so the
`events` commands need nothing beyond hookgate's own dependencies.

Errors are one line (`AdminClientError`): a refused token, an unreachable URL, or the API's
own `detail`. The token travels only in the Authorization header; no message shows it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from hookgate.errors import HookgateError
from hookgate.terminal import safe

_TIMEOUT = 30.0  # seconds: a replay scans dead-letter queues, then the archive
_BULK_TIMEOUT = 300.0  # a bulk replay reads the archive for up to 240 s


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, never followed: urllib would send the Authorization header,
    the token, on to wherever it points."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


class AdminClientError(HookgateError):
    """The admin API could not be reached, refused the token, or refused the request."""

    def __init__(self, message: str, status: str | None = None) -> None:
        super().__init__(message)
        self.status = status


class AdminClient:
    def __init__(self, url: str, token: str, *, timeout: float = _TIMEOUT) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise AdminClientError(f"--admin-url: expected an http:// or https:// URL, not {url!r}")
        token = token.strip()
        if not token or not all(" " < c <= "~" for c in token):
            # Never echo it: a CR or LF in it would otherwise end up in an error message.
            raise AdminClientError(
                "the admin token holds a space, a control character or a non-ASCII character "
                "(a CRLF .env file?); set HOOKGATE_ADMIN_TOKEN to [admin] token exactly"
            )
        self.url = url.rstrip("/")
        self._token = token
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"AdminClient({self.url!r}, token='**********')"

    def events(self, **filters: Any) -> dict[str, Any]:
        query = urlencode({k: v for k, v in filters.items() if v is not None})
        return self._call("GET", "/api/events" + (f"?{query}" if query else ""))

    def event(self, source: str, event_id: str) -> dict[str, Any]:
        return self._call("GET", _event_path(source, event_id))

    def replay(self, source: str, event_id: str, service: str | None) -> dict[str, Any]:
        body = {"service": service} if service else {}
        return self._call("POST", _event_path(source, event_id) + "/replay", body)

    def replay_range(self, **request: Any) -> dict[str, Any]:
        """`POST /api/replay` with the given keys (None left out): see `admin.bulk`."""
        body = {k: v for k, v in request.items() if v is not None}
        return self._call("POST", "/api/replay", body, timeout=max(self._timeout, _BULK_TIMEOUT))

    def cancel(self, source: str, event_id: str, service: str | None) -> dict[str, Any]:
        body = {"service": service} if service else {}
        return self._call("POST", _event_path(source, event_id) + "/cancel", body)

    def _call(
        self, method: str, path: str, body: Any = None, *, timeout: float | None = None
    ) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
            self.url + path, data=data, method=method
        )
        request.add_header("Authorization", f"Bearer {self._token}")
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with _OPENER.open(request, timeout=timeout or self._timeout) as response:
                return _json(response.read())
        except urllib.error.HTTPError as err:
            try:
                raise _refusal(err) from None
            finally:
                err.close()
        except urllib.error.URLError as err:
            raise AdminClientError(
                f"cannot reach the admin API at {self.url}: {_reason(err.reason)} "
                "(is `hookgate admin` running? --admin-url sets where)"
            ) from None
        except (OSError, ValueError) as err:
            # Not the error's text: http.client's may quote the Authorization header.
            raise AdminClientError(
                f"the admin API at {self.url} failed: {type(err).__name__}"
            ) from None


def _event_path(source: str, event_id: str) -> str:
    return f"/api/events/{quote(source, safe='')}/{quote(event_id, safe='')}"


def _refusal(err: urllib.error.HTTPError) -> AdminClientError:
    if 300 <= err.code < 400:
        return AdminClientError(
            f"the admin API answered {err.code} (a redirect, not followed: it would carry the "
            "token elsewhere); point --admin-url at `hookgate admin` itself"
        )
    if err.code == 401:
        return AdminClientError(
            "the admin API refused the token (HOOKGATE_ADMIN_TOKEN must be [admin] token)",
            "unauthorized",
        )
    try:
        answer = _json(err.read())
    except (OSError, ValueError):
        answer = {}
    status = answer.get("status")
    detail = answer.get("detail") or status or err.reason
    return AdminClientError(f"the admin API answered {err.code}: {safe(detail)}", status)


def _json(raw: bytes) -> dict[str, Any]:
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("the admin API answered something other than a JSON object")
    return data


def _reason(reason: object) -> str:
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, TimeoutError):
        return "timed out"
    return str(reason) or type(reason).__name__
