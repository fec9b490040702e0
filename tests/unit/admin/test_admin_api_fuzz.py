"""No input makes the admin API answer 500: random paths, query strings and bodies, handed to
the ASGI app as uvicorn would (already-decoded path, raw query bytes)."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from admin.app import create_admin_app
from admin.ledger_memory import MemoryLedger
from hookgate.status import Status, StatusChange

TOKEN = "fuzz-token-0123456789abcdef"
_LEDGER = MemoryLedger()
asyncio.run(
    _LEDGER.record([StatusChange("stripe", "evt_1", Status.ACCEPTED, 1.0, received_at=1.0)])
)
# No announced service, so replay never needs the (absent) broker.
_APP = create_admin_app(_LEDGER, token=TOKEN, broker_url="amqp://127.0.0.1:1/", exchange="w")

_PARAMS = st.sampled_from(["source", "status", "type", "service", "since", "limit", "cursor", "x"])
_QUERY = st.lists(
    st.tuples(_PARAMS, st.text(max_size=30)).map(lambda kv: f"{kv[0]}={kv[1]}")
    | st.binary(max_size=30).map(lambda b: b.decode("latin-1")),
    max_size=4,
).map("&".join)
_PATH = st.one_of(
    st.text(max_size=40).map(lambda t: "/api/events/" + t),
    st.text(max_size=40).map(lambda t: "/api/events/stripe/" + t + "/replay"),
    st.text(max_size=40).map(lambda t: "/" + t),
    st.sampled_from(["/api/events", "/api/services", "/api/sources", "/api/events//"]),
)


async def _call(method: str, path: str, query: bytes, body: bytes) -> int:
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("utf-8", "surrogatepass"),
        "root_path": "",
        "query_string": query,
        "headers": [(b"authorization", f"Bearer {TOKEN}".encode()), (b"host", b"admin")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8081),
    }
    sent = [{"type": "http.request", "body": body, "more_body": False}]
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return sent.pop() if sent else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await _APP(scope, receive, send)
    return statuses[0]


@settings(max_examples=400, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "HEAD"]),
    path=_PATH,
    query=_QUERY,
    body=st.binary(max_size=64) | st.sampled_from([b'{"service": "x"}', b"{}", b"null"]),
)
def test_no_request_gets_a_500(method: str, path: str, query: str, body: bytes) -> None:
    status = asyncio.run(_call(method, path, query.encode("utf-8", "surrogatepass"), body))
    assert status < 500 or status == 503, (method, path, query, body)
