"""`hookgate events` against a real uvicorn serving the admin API (a memory ledger, in a
thread), and `hookgate admin`'s config checks and process (`admin.serve`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.types import ASGIApp

from admin.app import create_admin_app
from admin.commands import GATEWAY_DEFAULT_PORT
from admin.config import parse_admin_config
from admin.ledger_memory import MemoryLedger
from hookgate.cli import main
from hookgate.status import Status, StatusChange
from tests.cli_output import one_error_line
from tests.unit.admin.test_admin_api import TOKEN, filled

ODD_ID = "evt/\x1b[31mred\u202e 100%"


def _bound() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


@pytest.fixture(scope="module")
def admin_url() -> Iterator[str]:
    ledger = asyncio.run(filled())
    asyncio.run(
        ledger.record(
            [
                StatusChange("stripe", ODD_ID, Status.ACCEPTED, 1_700_000_010.0, received_at=1.7e9),
                StatusChange(
                    "stripe",
                    ODD_ID,
                    Status.RETRYING,
                    1_700_000_011.0,
                    service="billing",
                    attempt=1,
                    detail="ValueError: \x1b]0;pwned\x07",
                    next_attempt_at=1_700_000_016.0,
                ),
            ]
        )
    )
    app = create_admin_app(ledger, token=TOKEN, broker_url="amqp://127.0.0.1:1/", exchange="w")
    with served(app) as url:
        yield url


@contextlib.contextmanager
def served(app: ASGIApp) -> Iterator[str]:
    """`app` on uvicorn in a thread, on a free loopback port: its URL."""
    sock = _bound()
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_config=None))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKGATE_ADMIN_TOKEN", TOKEN)


@pytest.mark.usefixtures("token")
def test_list_prints_an_aligned_table_newest_first(
    admin_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["events", "list", "--admin-url", admin_url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["RECEIVED", "AT", "SOURCE", "EVENT", "ID", "TYPE", "STATUS"]
    column = lines[0].index("SOURCE")
    assert [line[column:].split()[0] for line in lines[1:]] == [
        "github",
        "stripe",
        "stripe",
        "stripe",
    ]
    assert "\x1b" not in "".join(lines)
    assert lines[1].split()[1:] == ["github", "gh_1", "push", "completed"]


@pytest.mark.usefixtures("token")
def test_list_filters_and_pages(admin_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["events", "list", "--admin-url", admin_url, "--status", "failed"]) == 0
    out = capsys.readouterr().out
    assert "evt_1" in out
    assert "gh_1" not in out
    assert main(["events", "list", "--admin-url", admin_url, "--limit", "1"]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith("more: --cursor ")
    cursor = last.split()[-1]
    assert (
        main(["events", "list", "--admin-url", admin_url, "--limit", "1", "--cursor", cursor]) == 0
    )
    second = capsys.readouterr().out
    assert "evt_2" in second
    assert "gh_1" not in second


@pytest.mark.usefixtures("token")
def test_a_bad_filter_is_one_line_from_the_api(
    admin_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["events", "list", "--admin-url", admin_url, "--status", "done"]) == 2
    assert "answered 400: status: expected one of" in one_error_line(capsys)


@pytest.mark.usefixtures("token")
def test_show_prints_services_and_the_timeline_escaped(
    admin_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["events", "show", "--admin-url", admin_url, "stripe", ODD_ID]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert "\u202e" not in out
    assert "evt/\\x1b[31mred\\u202e 100%" in out
    timeline = out.split("timeline:\n")[1].splitlines()
    assert timeline[0].split() == ["AT", "SERVICE", "STATUS", "ATTEMPT", "DETAIL"]
    assert timeline[1].split()[1:3] == ["(gateway)", "accepted"]
    assert timeline[2].split()[1:4] == ["billing", "retrying", "1"]
    column = timeline[0].index("STATUS")
    assert timeline[1][column:].startswith("accepted")
    assert timeline[2][column:].startswith("retrying")
    assert "ValueError: \\x1b]0;pwned\\x07" in out


@pytest.mark.usefixtures("token")
def test_show_of_an_unknown_event_is_one_line(
    admin_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["events", "show", "--admin-url", admin_url, "stripe", "nope"]) == 2
    assert "answered 404" in one_error_line(capsys)


@pytest.mark.usefixtures("token")
def test_replay_with_the_broker_down_is_one_line(
    admin_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["events", "replay", "--admin-url", admin_url, "stripe", "evt_1"]) == 2
    assert "answered 503: the broker is unavailable" in one_error_line(capsys)


@pytest.mark.usefixtures("token")
def test_replay_range_without_an_archive_is_one_line(
    admin_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["events", "replay-range", "--admin-url", admin_url, "--service", "billing"]
    assert main([*argv, "--since", "2026-12-01T00:00:00Z", "--type", "invoice.*"]) == 2
    line = one_error_line(capsys)
    assert "answered 404" in line
    assert "turn on [ledger] archive" in line
    with pytest.raises(SystemExit) as exited:  # argparse: --since is required
        main(argv)
    assert exited.value.code == 2
    assert "--since" in capsys.readouterr().err


def test_a_wrong_token_is_one_line(
    admin_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOOKGATE_ADMIN_TOKEN", "wrong-token-wrong-token")
    assert main(["events", "list", "--admin-url", admin_url]) == 2
    line = one_error_line(capsys)
    assert "the admin API refused the token" in line
    assert "wrong-token" not in line


def test_no_token_is_one_line(
    admin_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("HOOKGATE_ADMIN_TOKEN", raising=False)
    assert main(["events", "list", "--admin-url", admin_url]) == 2
    assert "HOOKGATE_ADMIN_TOKEN" in one_error_line(capsys)


@pytest.mark.usefixtures("token")
def test_connection_refused_names_the_url(capsys: pytest.CaptureFixture[str]) -> None:
    sock = _bound()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()
    assert main(["events", "list", "--admin-url", url]) == 2
    line = one_error_line(capsys)
    assert f"cannot reach the admin API at {url}: connection refused" in line


@pytest.mark.usefixtures("token")
def test_the_url_comes_from_the_admin_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "hookgate.toml"
    config.write_text('[admin]\nhost = "0.0.0.0"\nport = 1\ntoken = "${UNSET}"\n')
    assert main(["events", "list", "--config", str(config)]) == 2
    assert "at http://127.0.0.1:1:" in one_error_line(capsys)


def _config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "hookgate.toml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("[broker]\n", "admin: no [admin] table"),
        ("[admin]\nport = 8081\n", "admin.token"),
        ('[admin]\ntoken = "${HOOKGATE_TEST_UNSET}"\n', "admin.token"),
        (f'[admin]\ntoken = "{TOKEN}"\nport = {GATEWAY_DEFAULT_PORT}\n', "admin.port"),
        (f'[gateway]\nport = 9000\n[admin]\ntoken = "{TOKEN}"\nport = 9000\n', "admin.port"),
    ],
)
def test_admin_refuses_bad_config_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, names: str
) -> None:
    assert main(["admin", "--config", _config(tmp_path, text)]) == 2
    assert names in one_error_line(capsys)


def test_the_default_gateway_port_is_the_gateways() -> None:
    from gateway.config import GatewaySettings

    assert GatewaySettings().port == GATEWAY_DEFAULT_PORT


class FakeRecorder:
    def __init__(self) -> None:
        self.running = asyncio.Event()
        self._stop = asyncio.Event()
        self.stopped = False

    async def run(self) -> None:
        self.running.set()
        await self._stop.wait()
        self.stopped = True

    def stop(self) -> None:
        self._stop.set()


class ClosingLedger(MemoryLedger):
    closed = False

    async def close(self) -> None:
        self.closed = True


@pytest.mark.anyio
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
async def test_admin_serves_until_a_signal_then_stops_the_recorder_and_closes_the_ledger(
    sig: signal.Signals,
) -> None:
    from admin.serve import serve

    raw: dict[str, Any] = {"admin": {"token": TOKEN, "port": 0}}
    config = parse_admin_config(raw, {})
    ledger, recorder, sock = ClosingLedger(), FakeRecorder(), _bound()
    serving = asyncio.create_task(serve(config, ledger, recorder, sockets=[sock]))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/api/events"
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            try:
                response = await client.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
                break
            except httpx.ConnectError:
                await asyncio.sleep(0.02)
    assert response.status_code == 200
    await asyncio.wait_for(recorder.running.wait(), 5)
    os.kill(os.getpid(), sig)
    assert await asyncio.wait_for(serving, 10) == 0
    assert recorder.stopped
    assert ledger.closed
    sock.close()


def test_hookgate_admin_opens_the_ledger_runs_the_recorder_and_stops_on_sigint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command's wiring: the ledger checked and opened from [ledger], the recorder made
    with the broker, the ledger, a metrics registry and the retention, run, then stopped."""
    import admin.ledger_registry
    import admin.recorder

    checked: list[Any] = []
    opened: list[Any] = []
    made: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    ledger = ClosingLedger()

    async def check_ledger(settings: Any) -> None:
        checked.append(settings)

    def open_ledger(settings: Any) -> MemoryLedger:
        opened.append(settings)
        return ledger

    class Recorder(FakeRecorder):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__()
            made.append((args, kwargs))

        async def run(self) -> None:
            threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
            await super().run()

    monkeypatch.setattr(admin.ledger_registry, "check_ledger", check_ledger)
    monkeypatch.setattr(admin.ledger_registry, "open_ledger", open_ledger)
    monkeypatch.setattr(admin.recorder, "Recorder", Recorder)
    config = _config(
        tmp_path,
        f'[admin]\ntoken = "{TOKEN}"\nport = 0\n[ledger]\nbackend = "memory"\n'
        "retention_days = 3\narchive = false\n"
        '[broker]\nurl = "amqp://u:p@127.0.0.1:5672/"\nexchange = "hooks"\n',
    )
    assert main(["admin", "--config", config, "--log-level", "error"]) == 0
    assert [settings.backend for settings in checked] == ["memory"]
    assert [settings.backend for settings in opened] == ["memory"]
    args, kwargs = made[0]
    assert args[:3] == ("amqp://u:p@127.0.0.1:5672/", "hooks", ledger)
    assert kwargs == {"retention_days": 3.0, "on_announce": None}
    assert ledger.closed


def test_a_taken_port_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    taken = _bound()
    port = taken.getsockname()[1]
    try:
        config = _config(tmp_path, f'[admin]\ntoken = "{TOKEN}"\nport = {port}\n')
        assert main(["admin", "--config", config]) == 2
        assert f"cannot listen on 127.0.0.1:{port}" in one_error_line(capsys)
    finally:
        taken.close()
