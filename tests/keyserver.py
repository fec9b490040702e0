"""A loopback HTTP server that serves keys and certificates to `providers.keyfetch` in tests,
and the test-only URL policy that lets a fetcher reach it (never a config option).

    with KeyServer({"/cert.pem": pem}) as server:
        rule = LoopbackRule(server.port)          # http://127.0.0.1:<port>/... only
        url = server.url("/cert.pem")

Paths: anything in `files` (200, `cache_control` if set); `/slow` waits `slow_seconds` before
answering; `/drip` sends a byte every 0.2 s; `/redirect` answers 302 to `/cert.pem`; `/big`
serves `big_bytes` bytes; `/missing` and anything else 404; `/fail` 500. `hits[path]` counts
requests.
"""

from __future__ import annotations

import http.server
import threading
import time
from collections import Counter
from types import TracebackType

from providers.errors import InvalidSignature


class LoopbackRule:
    """Allows `http://127.0.0.1:<port>/<path>` for one port (with a query when `query`): for
    tests only."""

    def __init__(self, port: int, *, query: bool = False) -> None:
        self.prefix = f"http://127.0.0.1:{port}/"
        self.query = query

    def check(self, url: str) -> str:
        if not url.startswith(self.prefix) or "#" in url or "@" in url:
            raise InvalidSignature("the key URL is not on the loopback test server")
        if "?" in url and not self.query:
            raise InvalidSignature("the key URL has a query string")
        return url


class KeyServer:
    def __init__(
        self,
        files: dict[str, bytes] | None = None,
        *,
        cache_control: str = "",
        slow_seconds: float = 3.0,
        big_bytes: int = 200_000,
    ) -> None:
        self.files = dict(files or {})
        self.cache_control = cache_control
        self.slow_seconds = slow_seconds
        self.big_bytes = big_bytes
        self.hits: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with server._lock:
                    server.hits[self.path] += 1
                server._answer(self)

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _answer(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        path = handler.path
        if path in self.files:
            self._send(handler, 200, self.files[path])
        elif path == "/slow":
            self._stop.wait(self.slow_seconds)
            self._send(handler, 200, b"late")
        elif path == "/drip":
            handler.send_response(200)
            handler.send_header("content-type", "application/octet-stream")
            handler.end_headers()
            for _ in range(100):
                if self._stop.wait(0.2):
                    return
                handler.wfile.write(b"x")
                handler.wfile.flush()
        elif path == "/redirect":
            handler.send_response(302)
            handler.send_header("location", self.url("/cert.pem"))
            handler.send_header("content-length", "0")
            handler.end_headers()
        elif path == "/big":
            self._send(handler, 200, b"x" * self.big_bytes)
        elif path == "/big-chunked":
            handler.send_response(200)
            handler.end_headers()  # no length: read until close
            handler.wfile.write(b"x" * self.big_bytes)
            handler.close_connection = True
        elif path == "/fail":
            self._send(handler, 500, b"")
        else:
            self._send(handler, 404, b"")

    def _send(self, handler: http.server.BaseHTTPRequestHandler, code: int, body: bytes) -> None:
        handler.send_response(code)
        handler.send_header("content-length", str(len(body)))
        if self.cache_control:
            handler.send_header("cache-control", self.cache_control)
        handler.end_headers()
        handler.wfile.write(body)

    def __enter__(self) -> KeyServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)
        time.sleep(0)
