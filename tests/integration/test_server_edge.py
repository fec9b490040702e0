"""Slow, idle, numerous and bloated clients against a real `hookgate serve`, on raw sockets.

The server runs with a 256-descriptor limit, as in the report that found these: 300 idle
connections used to exhaust it, and every webhook and `/healthz` failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.integration.serve_kit import (
    ServeProcess,
    free_port,
    signed_delivery,
    start_serve,
    write_config,
)

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
HEADER_TIMEOUT = 2.0
CAP = 50
FD_LIMIT = 256
SWEEP_SLACK = 1.5  # the sweeper runs every HEADER_TIMEOUT / 4; a loaded machine adds more


def _limit_descriptors() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))


@pytest.fixture
def edge_server(tmp_path: Path, exchange: str) -> Iterator[ServeProcess]:
    port = free_port()
    config = write_config(
        tmp_path,
        exchange=exchange,
        port=port,
        header_read_timeout_seconds=HEADER_TIMEOUT,
        max_connections=CAP,
    )
    server = start_serve(config, port, preexec_fn=_limit_descriptors)
    yield server
    server.stop()


def _connect(server: ServeProcess, timeout: float) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=timeout)


def _read_until_closed(sock: socket.socket) -> bytes:
    data = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            data += chunk
    return data


def _read_response(sock: socket.socket) -> bytes:
    """One whole response (head and Content-Length body), leaving the connection open."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def _parse(answer: bytes) -> tuple[int, dict[str, str], dict[str, object]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode().split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), headers, orjson.loads(body)


async def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(
    edge_server: ServeProcess,
) -> None:
    def wait_for_close() -> tuple[bytes, float]:
        with _connect(edge_server, timeout=HEADER_TIMEOUT + 10) as sock:
            started = time.monotonic()
            return _read_until_closed(sock), time.monotonic() - started

    answer, waited = await asyncio.to_thread(wait_for_close)
    assert answer == b""  # it asked nothing, so it is told nothing: closed, no 408
    assert HEADER_TIMEOUT - 0.1 <= waited <= HEADER_TIMEOUT + SWEEP_SLACK


async def test_a_slowloris_sending_a_header_byte_a_second_gets_408_and_is_cut_off(
    edge_server: ServeProcess,
) -> None:
    def slowloris() -> tuple[bytes, float]:
        with _connect(edge_server, timeout=1.0) as sock:
            started = time.monotonic()
            sock.sendall(b"POST /webhooks/stripe HTTP/1.1\r\nHost: gw\r\nX-Slow: ")
            while time.monotonic() - started < HEADER_TIMEOUT + 10:
                try:
                    sock.sendall(b"a")
                    first = sock.recv(65536)  # waits up to a second: one byte a second
                except TimeoutError:
                    continue
                except OSError:
                    break
                sock.settimeout(5)
                return first + _read_until_closed(sock), time.monotonic() - started
            return b"", time.monotonic() - started

    answer, waited = await asyncio.to_thread(slowloris)
    status, headers, body = _parse(answer)
    assert status == 408
    assert headers["connection"] == "close"
    assert body["status"] == "read_timeout"
    assert waited <= HEADER_TIMEOUT + SWEEP_SLACK


async def test_idle_connections_past_the_cap_get_503_and_webhooks_answer_once_they_are_cut(
    edge_server: ServeProcess,
) -> None:
    baseline = edge_server.open_fds()
    peak = baseline
    stop_sampling = threading.Event()

    def sample_fds() -> None:
        nonlocal peak
        while not stop_sampling.wait(0.02):
            with contextlib.suppress(OSError):
                peak = max(peak, edge_server.open_fds())

    def flood() -> list[socket.socket]:
        return [_connect(edge_server, timeout=HEADER_TIMEOUT + 10) for _ in range(300)]

    def outcomes(socks: list[socket.socket]) -> list[bytes]:
        return [_read_until_closed(sock) for sock in socks]

    sampler = threading.Thread(target=sample_fds)
    sampler.start()
    socks = await asyncio.to_thread(flood)
    try:
        async with httpx.AsyncClient(base_url=edge_server.url, timeout=5) as client:
            during = await client.get("/healthz")  # while the 300 are held open
        answers = await asyncio.to_thread(outcomes, socks)  # every one is closed by the server
        after_cut = edge_server.open_fds()
        body, headers = signed_delivery()
        async with httpx.AsyncClient(base_url=edge_server.url, timeout=5) as client:
            health = await client.get("/healthz")
            delivery = await client.post("/webhooks/stripe", content=body, headers=headers)
            metrics = (await client.get("/metrics")).text
    finally:
        stop_sampling.set()
        sampler.join()
        for sock in socks:
            sock.close()

    refused = [_parse(answer) for answer in answers if answer]
    silent = answers.count(b"")
    assert silent <= CAP  # admitted, then closed at the header deadline
    assert len(refused) == 300 - silent >= 300 - CAP
    for status, response_headers, response_body in refused:
        assert status == 503
        assert response_headers["retry-after"]
        assert response_body["status"] == "unavailable"
    assert during.status_code == 503  # the cap also speaks to a late health check
    assert during.json()["status"] == "unavailable"
    assert health.status_code == 200
    assert delivery.status_code == 200
    assert delivery.json()["status"] == "accepted"
    counted = 'hookgate_requests_total{outcome="unavailable",source="_unknown"} '
    assert f"{counted}{len(refused) + 1}.0" in metrics  # the 503s, and the late health check
    assert peak < FD_LIMIT  # never ran out of descriptors
    assert after_cut <= baseline + 5
    print(f"fds: baseline {baseline}, peak {peak}, after the cut {after_cut}")


async def test_four_clients_streaming_50_mb_header_values_get_431_and_memory_stays_flat(
    edge_server: ServeProcess,
) -> None:
    value_bytes = 50_000_000
    piece = b"a" * 65536

    def stream_header() -> tuple[bytes, int]:
        sent = 0
        with _connect(edge_server, timeout=10) as sock:
            sock.sendall(b"POST /webhooks/stripe HTTP/1.1\r\nHost: gw\r\nX-Big: ")
            deadline = time.monotonic() + 60
            while sent < value_bytes and time.monotonic() < deadline:
                if select.select([sock], [], [], 0)[0]:
                    break  # answered: a polite client stops sending
                try:
                    sock.sendall(piece)
                except OSError:
                    break
                sent += len(piece)
            return _read_until_closed(sock), sent

    before = edge_server.rss_kib()
    results = await asyncio.gather(*(asyncio.to_thread(stream_header) for _ in range(4)))
    growth_mib = (edge_server.rss_kib() - before) / 1024
    for answer, sent in results:
        status, _, body = _parse(answer)
        assert status == 431
        assert body["status"] == "headers_too_large"
        assert sent < 5_000_000  # refused early, not after the whole value
    assert growth_mib < 32
    async with httpx.AsyncClient(base_url=edge_server.url, timeout=5) as client:
        assert (await client.get("/healthz")).status_code == 200
    print(f"RSS growth {growth_mib:.1f} MiB; sent {[sent for _, sent in results]}")


async def test_a_kept_alive_connection_trickling_blank_lines_is_closed_at_the_header_deadline(
    edge_server: ServeProcess,
) -> None:
    # Blank lines before a request line are allowed (RFC 9112 §2.2), and every byte used to
    # restart uvicorn's keep-alive timer: the connection was held forever.
    def trickle() -> tuple[bytes, bytes, float]:
        with _connect(edge_server, timeout=0.5) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n")
            first = _read_response(sock)
            started = time.monotonic()
            while time.monotonic() - started < HEADER_TIMEOUT + 10:
                try:
                    sock.sendall(b"\r\n")
                    rest = sock.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    rest = b""
                return first, rest, time.monotonic() - started
            return first, b"still open", time.monotonic() - started

    first, rest, waited = await asyncio.to_thread(trickle)
    assert first.startswith(b"HTTP/1.1 200 ")
    assert rest == b""  # closed without an answer: no request was begun
    assert waited <= HEADER_TIMEOUT + SWEEP_SLACK
