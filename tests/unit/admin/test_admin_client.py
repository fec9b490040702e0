"""admin.client: the token goes to the admin API and nowhere else, and never into a message."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from admin.client import AdminClient, AdminClientError

TOKEN = "t0ken-0123456789abcdef-secret"


class _Recorder(BaseHTTPRequestHandler):
    seen: list[str | None] = []  # noqa: RUF012 - shared by the handler instances on purpose

    def do_GET(self) -> None:
        type(self).seen.append(self.headers.get("Authorization"))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"events": [], "next": null}')

    def log_message(self, *args: object) -> None:
        pass


def _serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def elsewhere() -> Iterator[str]:
    _Recorder.seen = []
    yield from _serve(_Recorder)


def test_a_redirect_is_not_followed_so_the_token_stays_home(elsewhere: str) -> None:
    class Redirect(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", elsewhere + "/api/events")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    for url in _serve(Redirect):
        with pytest.raises(AdminClientError, match="redirect, not followed") as info:
            AdminClient(url, TOKEN).events()
        assert TOKEN not in str(info.value)
    assert _Recorder.seen == []


def test_the_token_reaches_the_api_it_is_meant_for(elsewhere: str) -> None:
    assert AdminClient(elsewhere, TOKEN + "\r\n").events() == {"events": [], "next": None}
    assert _Recorder.seen == [f"Bearer {TOKEN}"]  # a CRLF .env's line end is not the token


@pytest.mark.parametrize("token", ["", "abc\rdef-0123456789", "abc def-0123456789", "tök-en"])
def test_a_token_that_cannot_be_a_header_is_refused_without_showing_it(token: str) -> None:
    with pytest.raises(AdminClientError, match="set HOOKGATE_ADMIN_TOKEN") as info:
        AdminClient("http://127.0.0.1:1", token)
    assert "abc" not in str(info.value)
