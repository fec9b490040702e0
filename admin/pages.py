"""The console's HTML: Jinja2 templates (`admin/templates`), escaped everywhere.

Everything a page shows from the ledger or the broker was chosen by whoever sent a webhook
(event IDs, types, error text, tracebacks): autoescaping is on for every template, values go
into attributes only quoted, and nothing from the ledger is ever marked safe.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse

from admin.sessions import Session
from admin.sparkline import sparkline
from hookgate.status import Status

_KNOWN_STATUSES = frozenset(status.value for status in Status)


class Pages:
    """Renders a template into an answer, with what every page needs (the CSRF token)."""

    def __init__(self) -> None:
        self._env = Environment(
            loader=PackageLoader("admin", "templates"),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters.update(
            status_class=status_class, segment=segment, sparkline=sparkline, query=query
        )
        self._env.globals["statuses"] = [status.value for status in Status]

    def render(
        self,
        request: Request,
        template: str,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        session = getattr(request.state, "session", None)
        html = self._env.get_template(template).render(
            csrf=session.csrf if isinstance(session, Session) else None,
            exchange=getattr(request.app.state, "exchange", "") if "app" in request.scope else "",
            path=request.url.path,
            **context,
        )
        return HTMLResponse(html, status_code, headers=headers)

    def error(
        self, request: Request, status_code: int, title: str, detail: str | None
    ) -> HTMLResponse:
        return self.render(request, "error.html", status_code, title=title, detail=detail)


def status_class(value: object) -> str:
    """The CSS class of a status badge: only for statuses this version knows."""
    return f"s-{value}" if value in _KNOWN_STATUSES else "s-unknown"


def segment(value: object) -> str:
    """`value` as one percent-encoded URL path segment (`/` included)."""
    return quote(str(value), safe="")


def query(params: dict[str, Any]) -> str:
    """A query string of the non-empty `params`, percent-encoded."""
    return "&".join(
        f"{quote(str(k), safe='')}={quote(str(v), safe='')}" for k, v in params.items() if v
    )
