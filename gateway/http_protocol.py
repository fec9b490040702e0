"""The gateway's HTTP/1.1 connections: uvicorn's httptools protocol, with limits at the edge.

Why a subclass: uvicorn bounds neither how long a client may take to send a request's headers
nor, with httptools (the parser `uvicorn[standard]` selects), how large they grow. httptools
holds the URL and each header value in memory until its line ends, so four clients streaming
50 MB header values made the process hold 200 MB, and 300 clients that never sent a byte held
300 sockets until the process ran out of descriptors. uvicorn's h11 protocol stops at
`h11_max_incomplete_event_size`, with a plain-text 400; its `limit_concurrency` is only checked
once a request's headers are complete (idle connections are never refused) and answers plain
text. So the gateway selects this protocol, which adds, per worker process:

- A header deadline, `gateway.header_read_timeout_seconds`: from the moment a connection waits
  for a request (it was just accepted, or its previous response was sent) until that request's
  headers are complete. A connection that has not started a request is closed without an
  answer: RFC 9112 §9.5 lets a server close an idle connection at any time, and an unasked-for
  408 could be taken by a proxy as the answer to a request it sends at that moment. One that
  sent part of its headers gets `408 read_timeout`. Idle keep-alive connections are closed by
  uvicorn after `timeout_keep_alive` (5 s) unless they start sending.
- A bound on header bytes: the bytes read while a request's headers are incomplete are counted
  read by read; past `gateway.max_header_bytes` plus slack for the request line and line
  framing, `431 headers_too_large`. A connection never holds more than that plus one read
  (256 KiB) of unfinished headers. Complete headers are checked exactly by the endpoint.
- A connection cap, `gateway.max_connections`: a connection beyond it is answered
  `503 unavailable` (with `Retry-After`) as soon as it is accepted, before reading anything.

Every refusal is JSON with `connection: close`. The write side is then shut (FIN) and what the
client still sends is read and dropped for up to a second, or until the client closes: closing
a socket with unread input sends a reset, which can destroy the answer before the client has
read it. Past the cap, at most 64 refused connections linger at once; beyond that they are
answered and closed at once, so a flood costs at most cap + 64 descriptors.

Writes are gathered per turn of the event loop (`_TurnWriter`): uvicorn writes a response's
head and body separately, two system calls per request; the protocol hands the real transport
one joined write at the end of the turn instead, and before any close or EOF.

Cost on the hot path: a few attribute writes per request. Deadlines are a float on each
connection; one timer per worker sweeps the connections about once a second. No task or timer
is created per request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from gateway.config import GatewaySettings
from gateway.metrics import GatewayMetrics
from gateway.responses import Answer, answer
from hookgate.observe import IngestOutcome

# Room beyond max_header_bytes (which counts names and values only) for the request line and
# ": " and CRLF around every header: a request the endpoint would accept is never cut here.
_SLACK = 65_536
_LINGER = 1.0  # seconds a refused connection is read (and dropped) before it is closed
# Connections past the cap that may linger at once. Beyond, the answer is written and the
# connection closed at once: under a flood, descriptors matter more than a clean goodbye.
_MAX_LINGERING = 64


@dataclass(frozen=True, slots=True)
class EdgeLimits:
    header_timeout: float = 10.0
    max_header_bytes: int = 65_536
    max_connections: int = 1000

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> EdgeLimits:
        return cls(
            header_timeout=settings.header_read_timeout_seconds,
            max_header_bytes=settings.max_header_bytes,
            max_connections=settings.max_connections,
        )


class EdgeConfig(uvicorn.Config):
    """uvicorn's `Config` with the gateway's protocol and limits. It is pickled to each worker
    process, so the limits travel with it; each worker then starts its own sweeper."""

    def __init__(self, app: Any, *, limits: EdgeLimits, **kwargs: Any) -> None:
        super().__init__(app, http=GatewayHttpProtocol, **kwargs)
        self.limits = limits
        self._sweeper: _Sweeper | None = None
        self._count: Callable[[IngestOutcome], None] | None = None

    def sweeper(self, loop: asyncio.AbstractEventLoop, connections: set[Any]) -> _Sweeper:
        if self._sweeper is None:
            interval = min(1.0, self.limits.header_timeout / 4)
            self._sweeper = _Sweeper(loop, connections, interval)
        return self._sweeper

    def refusal_counter(self) -> Callable[[IngestOutcome], None]:
        """Where refusals are counted: the gateway app's metrics (`app.state.metrics`, set by
        `create_app`), as `hookgate_requests_total{source="_unknown"}`."""
        if self._count is None:
            self._count = _ignore
            app = self.loaded_app
            for _ in range(4):  # through the middleware uvicorn may wrap around it
                metrics = getattr(getattr(app, "state", None), "metrics", None)
                if isinstance(metrics, GatewayMetrics):
                    self._count = metrics.refused_at_edge
                    break
                app = getattr(app, "app", None)
        return self._count

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_sweeper"] = None  # a worker has its own loop, connections and app
        state["_count"] = None
        return state


class GatewayHttpProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        if not isinstance(config, EdgeConfig):
            raise TypeError("GatewayHttpProtocol runs under gateway.http_protocol.EdgeConfig")
        self._limits = config.limits
        self._header_limit = config.limits.max_header_bytes + _SLACK
        self._sweeper = config.sweeper(self.loop, self.connections)
        self._count = config.refusal_counter()
        #: Loop time by which this connection must have sent a request's headers (0: none).
        self.deadline = 0.0
        self._reading_headers = False  # a request has begun and its headers are incomplete
        self._header_bytes = 0
        self._message_ended = False  # a request ended within the current read
        self._refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = _TurnWriter(transport, self.loop)  # type: ignore[assignment]
        self._sweeper.ensure_running()
        # This connection is already counted: more than the cap means it is one too many.
        over = len(self.connections) - self._limits.max_connections
        if over > 0:
            self._refuse(IngestOutcome.UNAVAILABLE, linger=over <= _MAX_LINGERING)
            return
        self.deadline = self.loop.time() + self._limits.header_timeout

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # answered already: drop what the client still sends
        self._message_ended = False
        super().data_received(data)
        if self._reading_headers:
            # A read in which an earlier request ended may hold that request's body too: it is
            # not counted, so pipelined requests are never refused for their predecessor's
            # bytes. Every later read is counted whole.
            if not self._message_ended:
                self._header_bytes += len(data)
            if self._header_bytes > self._header_limit:
                if self.cycle is not None and not self.cycle.response_complete:
                    # Pipelined behind a request still being answered: an answer now would be
                    # spliced into that response. Read no more; refused once it is answered.
                    self.flow.pause_reading()
                else:
                    self._refuse(IngestOutcome.HEADERS_TOO_LARGE)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reading_headers = True
        self._header_bytes = 0

    def on_headers_complete(self) -> None:
        self._reading_headers = False
        self.deadline = 0.0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._message_ended = True

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._reading_headers and self._header_bytes > self._header_limit:
            # The pipelined request whose headers overran the limit while its predecessor was
            # being answered (reading paused): refuse it now, not at the header deadline.
            self._refuse(IngestOutcome.HEADERS_TOO_LARGE)
            return
        cycle = self.cycle
        # A pipelined request may have started: its headers are complete, it has no deadline.
        if not self.transport.is_closing() and (cycle is None or cycle.response_complete):
            self.deadline = self.loop.time() + self._limits.header_timeout

    def expire(self) -> None:
        """The sweeper found this connection past its deadline."""
        self.deadline = 0.0
        if self._refused:
            self.transport.abort()  # done lingering
        elif self.cycle is not None and not self.cycle.response_complete:
            return  # a request is being served: its body read has its own deadline
        elif self._reading_headers:
            self._refuse(IngestOutcome.READ_TIMEOUT)
        else:
            self.transport.close()

    def _refuse(self, outcome: IngestOutcome, *, linger: bool = True) -> None:
        if self.transport.is_closing():
            return
        self._refused = True
        self._reading_headers = False
        self.transport.write(_ANSWERS[outcome])
        self._count(outcome)
        if not linger:
            self.transport.close()
            return
        self.deadline = self.loop.time() + _LINGER
        self.transport.write_eof()
        self.flow.resume_reading()  # keep reading, to drop what still comes


class _TurnWriter:
    """A transport whose writes of one event-loop turn go out as one write, at the turn's end
    (or at once, before `close`, `write_eof` or `abort` would cut them off). Everything else is
    the real transport's."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(data)

    def _flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _Sweeper:
    """One repeating timer per worker: expires connections that are past their deadline."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, connections: set[Any], interval: float
    ) -> None:
        self._loop = loop
        self._connections = connections
        self._interval = interval
        self._timer: asyncio.TimerHandle | None = None

    def ensure_running(self) -> None:
        if self._timer is None:
            self._timer = self._loop.call_later(self._interval, self._sweep)

    def _sweep(self) -> None:
        self._timer = None
        now = self._loop.time()
        for connection in list(self._connections):
            if isinstance(connection, GatewayHttpProtocol) and 0.0 < connection.deadline <= now:
                connection.expire()
        if self._connections:
            self.ensure_running()


def _raw(answer: Answer) -> bytes:
    phrase = HTTPStatus(answer.status_code).phrase
    lines = [f"HTTP/1.1 {answer.status_code} {phrase}".encode()]
    lines += [name + b": " + value for name, value in answer.headers]
    lines.append(b"connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + answer.body


def _ignore(outcome: IngestOutcome) -> None:
    pass


_ANSWERS = {
    outcome: _raw(answer(outcome, detail))
    for outcome, detail in (
        (IngestOutcome.READ_TIMEOUT, "request headers were not received in time"),
        (IngestOutcome.HEADERS_TOO_LARGE, "request headers exceed gateway.max_header_bytes"),
        (IngestOutcome.UNAVAILABLE, "too many connections; retry shortly"),
    )
}
