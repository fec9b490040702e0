"""What the harness runs: each contender's command and, for hookgate, its config file.

Every HTTP contender is one uvicorn worker (uvloop, httptools, no access log); hookgate runs
through its real `python -m gateway serve`, with its request log at info on stderr (into the
log file, as journald would take it). `hookgate` is the default config: `[broker]` and one
`[sources.stripe]`, nothing else (SQLite dedupe, spool on, metrics on).
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.perf.broker import AMQP_URL
from tests.perf.servers import Server, free_port

_UVICORN = [
    sys.executable,
    "-m",
    "uvicorn",
    "--factory",
    "--no-access-log",
    "--log-level",
    "warning",
    "--loop",
    "uvloop",
    "--http",
    "httptools",
]
_APPS = {
    "bare": "tests.perf.reference_apps:bare",
    "lean": "tests.perf.reference_apps:lean",
    "fastapi": "tests.perf.fastapi_app:app",
}
#: The table's contenders, in the order printed (`broker` has no server: see broker.py).
CONTENDERS = (
    "bare",
    "broker",
    "lean",
    "fastapi",
    "hookgate",
    "hookgate-memory",
    "hookgate-redis",
    "hookgate-ledger",
)


@dataclass(frozen=True)
class Run:
    """What every contender of one harness run shares."""

    exchange: str
    secret: str
    workdir: Path
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = field(default_factory=lambda: f"hg-perf:{secrets.token_hex(4)}:")

    @property
    def env(self) -> dict[str, str]:
        return {
            "BENCH_AMQP_URL": AMQP_URL,
            "BENCH_EXCHANGE": self.exchange,
            "BENCH_SECRET": self.secret,
        }


@dataclass(frozen=True)
class Options:
    """How a hookgate contender departs from the default config."""

    dedupe: str | None = None  # None: the default (sqlite, var/dedupe.sqlite3)
    dedupe_path: Path | None = None
    redis_url: str | None = None  # for dedupe = "redis"; None: the run's (shared) server
    admin: bool = False
    sources: int = 1  # 1: [sources.stripe]; more: [sources.stripe-0000] …
    max_body_bytes: int | None = None
    tolerance_seconds: int | None = None
    workers: int = 1


def options_for(name: str) -> Options:
    return {
        "hookgate-memory": Options(dedupe="memory"),
        "hookgate-redis": Options(dedupe="redis"),
        "hookgate-ledger": Options(admin=True),
    }.get(name, Options())


def source_paths(sources: int) -> list[str]:
    if sources == 1:
        return ["/webhooks/stripe"]
    return [f"/webhooks/stripe-{i:04d}" for i in range(sources)]


def hookgate_config(run: Run, options: Options, admin_port: int | None = None) -> str:
    lines = ["[broker]", f'url = "{AMQP_URL}"', f'exchange = "{run.exchange}"']
    if options.max_body_bytes is not None:
        lines += ["[gateway]", f"max_body_bytes = {options.max_body_bytes}"]
    if options.dedupe is not None or options.dedupe_path is not None:
        lines += ["[dedupe]", f'backend = "{options.dedupe or "sqlite"}"']
        if options.dedupe_path is not None:
            lines.append(f'path = "{options.dedupe_path}"')
        if options.dedupe == "redis":
            lines += [f'url = "{options.redis_url or run.redis_url}"']
            lines += [f'key_prefix = "{run.redis_prefix}"']
    if admin_port is not None:
        lines += ["[admin]", f'token = "{secrets.token_hex(16)}"', f"port = {admin_port}"]
    for path in source_paths(options.sources):
        lines += [f"[sources.{path.rsplit('/', 1)[1]}]", 'provider = "stripe"']
        lines.append(f'secrets = ["{run.secret}"]')
        if options.tolerance_seconds is not None:
            lines.append(f"tolerance_seconds = {options.tolerance_seconds}")
    return "\n".join(lines) + "\n"


@contextmanager
def running(run: Run, name: str, options: Options | None = None) -> Iterator[Server]:
    """Start contender `name` (`bare`, `lean`, `fastapi`, or a hookgate one with `options`) in
    a fresh directory of its own; stop it (and `hookgate admin`, if any) on the way out."""
    workdir = run.workdir / f"{name}-{secrets.token_hex(3)}"
    port = free_port()
    started: list[Server] = []
    try:
        if name in _APPS:
            command = [*_UVICORN, "--port", str(port), _APPS[name]]
            server = Server(name, command, port, workdir, run.env)
        else:
            options = options or options_for(name)
            admin_port = free_port() if options.admin else None
            workdir.mkdir(parents=True)
            (workdir / "hookgate.toml").write_text(hookgate_config(run, options, admin_port))
            if admin_port is not None:
                admin = [sys.executable, "-m", "hookgate", "admin", "-c", "hookgate.toml"]
                admin += ["--log-level", "warning"]
                started.append(Server("hookgate-admin", admin, admin_port, workdir))
                started[-1].start(settle=1.0)  # its recorder's queue declared and bound
            command = [sys.executable, "-m", "gateway", "serve", "-c", "hookgate.toml"]
            command += ["--port", str(port), "--workers", str(options.workers)]
            server = Server(name, command, port, workdir)
        started.append(server)
        server.start()
        yield server
    finally:
        for each in reversed(started):
            each.stop()
