"""gateway.http_protocol, fed byte chunks directly: the cases a socket test cannot aim at
(a read holding one request's end and the next one's start, pipelining, the sweeper)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from prometheus_client import CollectorRegistry
from uvicorn.server import ServerState

from gateway.http_protocol import EdgeConfig, EdgeLimits, GatewayHttpProtocol
from gateway.metrics import GatewayMetrics

pytestmark = pytest.mark.anyio
SLACK = 65_536  # gateway.http_protocol._SLACK


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closing = self.eof = self.aborted = self.paused = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default
        )

    def write(self, data: bytes | bytearray | memoryview) -> None:
        assert not self.eof, "write after write_eof"
        self.written += data

    def write_eof(self) -> None:
        self.eof = True

    def can_write_eof(self) -> bool:
        return True

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = self.aborted = True

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False


async def _ok(scope: Any, receive: Any, send: Any) -> None:
    while (await receive()).get("more_body"):
        pass
    headers = [(b"content-length", b"2")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"ok"})


class _GatewayLikeApp:
    """An ASGI app carrying `state.metrics`, as the gateway's app does."""

    def __init__(self, metrics: GatewayMetrics) -> None:
        self.state = SimpleNamespace(metrics=metrics)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await _ok(scope, receive, send)


def _connection(
    limits: EdgeLimits, state: ServerState | None = None, app: Any = _ok
) -> tuple[GatewayHttpProtocol, FakeTransport]:
    config = EdgeConfig(app, limits=limits, lifespan="off", log_config=None)
    protocol = GatewayHttpProtocol(config, state or ServerState(), {})
    transport = FakeTransport()
    protocol.connection_made(transport)
    return protocol, transport


def _status(written: bytes) -> int:
    return int(written.split(b" ", 2)[1])


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_headers_past_the_limit_are_refused_before_their_end() -> None:
    protocol, transport = _connection(EdgeLimits(max_header_bytes=1000))
    protocol.data_received(b"POST /webhooks/x HTTP/1.1\r\nHost: gw\r\nX-Big: ")
    fed = 0
    while not transport.written:
        protocol.data_received(b"a" * 16384)
        fed += 16384
        assert fed < 1000 + SLACK + 32768, "still buffering"
    assert _status(transport.written) == 431
    assert b"connection: close" in transport.written
    assert orjson.loads(transport.written.split(b"\r\n\r\n")[1])["status"] == "headers_too_large"
    assert transport.eof  # FIN after the answer; reading goes on, to drop the rest
    protocol.data_received(b"a" * 16384)  # dropped, not parsed, not answered twice
    assert transport.written.count(b"HTTP/1.1") == 1


async def test_headers_under_the_limit_pass_in_many_reads() -> None:
    protocol, transport = _connection(EdgeLimits(max_header_bytes=60_000))
    protocol.data_received(b"POST /x HTTP/1.1\r\nHost: gw\r\n")
    for i in range(50):  # 50 headers of ~1 KB, one read each: 50 KB, under the limit
        protocol.data_received(f"X-H{i}: ".encode() + b"v" * 1000 + b"\r\n")
    protocol.data_received(b"Content-Length: 0\r\n\r\n")
    await _settle()
    assert _status(transport.written) == 200


async def test_a_read_holding_a_large_body_and_the_next_requests_start_is_not_refused() -> None:
    protocol, transport = _connection(EdgeLimits(max_header_bytes=1000))
    body = b"b" * 200_000  # far more than max_header_bytes + slack, in the same read
    protocol.data_received(
        b"POST /x HTTP/1.1\r\nHost: gw\r\nContent-Length: 200000\r\n\r\n"
        + body
        + b"GET /healthz HTTP/1.1\r\nHost: gw\r\n"
    )
    await _settle()
    protocol.data_received(b"X-More: 1\r\n")  # its headers go on in another read
    protocol.data_received(b"\r\n")
    await _settle()
    assert b"431" not in transport.written
    assert transport.written.count(b"HTTP/1.1 200 ") == 2


async def test_pipelined_headers_past_the_limit_wait_for_the_answer_before_them() -> None:
    protocol, transport = _connection(EdgeLimits(max_header_bytes=1000))
    protocol.data_received(b"POST /x HTTP/1.1\r\nHost: gw\r\nContent-Length: 0\r\n\r\n")
    protocol.data_received(b"GET /y HTTP/1.1\r\nX-Big: ")  # the first is not answered yet
    protocol.data_received(b"a" * (1000 + SLACK))
    assert transport.written == b""  # nothing spliced into the first answer
    assert transport.paused
    await _settle()  # the first is answered, then the second refused at once
    assert _status(transport.written) == 200
    assert transport.written.count(b"HTTP/1.1 431 ") == 1  # even if the client sends no more
    protocol.data_received(b"a")
    assert transport.written.count(b"HTTP/1.1 431 ") == 1


async def test_the_sweeper_closes_a_silent_connection_without_an_answer() -> None:
    _, transport = _connection(EdgeLimits(header_timeout=0.05))
    await asyncio.sleep(0.2)
    assert transport.closing
    assert transport.written == b""


async def test_the_sweeper_answers_408_to_a_connection_stuck_in_its_headers() -> None:
    protocol, transport = _connection(EdgeLimits(header_timeout=0.05))
    protocol.data_received(b"POST /x HTTP/1.1\r\nHost: g")
    await asyncio.sleep(0.2)
    assert _status(transport.written) == 408
    assert orjson.loads(transport.written.split(b"\r\n\r\n")[1])["status"] == "read_timeout"


async def test_complete_headers_and_a_sent_answer_rearm_the_deadline() -> None:
    protocol, transport = _connection(EdgeLimits(header_timeout=5))
    protocol.data_received(b"POST /x HTTP/1.1\r\nHost: gw\r\nContent-Length: 4\r\n\r\n")
    assert protocol.deadline == 0.0  # the body read is the endpoint's to time out
    protocol.data_received(b"body")
    await _settle()
    assert _status(transport.written) == 200
    assert protocol.deadline > asyncio.get_running_loop().time() + 4  # waiting for the next


async def test_connections_past_the_cap_get_503_at_once_and_are_closed_after_lingering() -> None:
    state = ServerState()
    limits = EdgeLimits(max_connections=2, header_timeout=0.05)
    admitted = [_connection(limits, state) for _ in range(2)]
    protocol, transport = _connection(limits, state)
    assert all(t.written == b"" for _, t in admitted)
    assert _status(transport.written) == 503
    assert b"retry-after: " in transport.written
    assert orjson.loads(transport.written.split(b"\r\n\r\n")[1])["status"] == "unavailable"
    assert transport.eof
    assert not transport.closing  # lingering: reads what the client sent
    protocol.data_received(b"POST /x HTTP/1.1\r\n\r\n")  # dropped
    assert transport.written.count(b"HTTP/1.1") == 1
    await asyncio.sleep(1.3)  # the linger (1 s) ends at the next sweep
    assert transport.aborted


async def test_refusals_are_counted_under_the_unknown_source() -> None:
    registry = CollectorRegistry()
    app = _GatewayLikeApp(GatewayMetrics(registry, ["stripe"]))
    protocol, transport = _connection(EdgeLimits(max_header_bytes=1000), app=app)
    protocol.data_received(b"POST /webhooks/stripe HTTP/1.1\r\nX-Big: " + b"a" * (1000 + SLACK))
    assert _status(transport.written) == 431
    labels = {"source": "_unknown", "outcome": "headers_too_large"}
    assert registry.get_sample_value("hookgate_requests_total", labels) == 1
