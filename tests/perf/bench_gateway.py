"""Gateway throughput beside its yardsticks, measured in one run on this machine.

    .venv/bin/python -m tests.perf.bench_gateway [--seconds 10] [--rounds 3] [--connections 64]

Targets, each a 1-worker uvicorn (uvloop + httptools) driven by wrk with pre-signed 1 KB GitHub
bodies and a unique X-GitHub-Delivery per request: `bare` (no broker), `lean` (HMAC + in-memory
dedupe + aiormq confirmed publish), and hookgate with its memory, SQLite and Redis dedupe stores
(Redis: the local server, under a key prefix of this run's own, deleted at the end), and
`hookgate-status`: memory dedupe with an `[admin]` table, so it emits event status (into a
queue of the run's own, counted and deleted at the end); `hookgate-admin`: the same with a real
`hookgate admin` beside it on this machine (SQLite ledger, the default: no archive), its
recorder's queue taking its share of the broker and the CPU, deleted at the end.
Rounds interleave the targets so drift on a noisy machine hits all of them alike; the median
round is reported, and hookgate as a ratio of `lean`. Needs wrk (apt-get install wrk), the local
RabbitMQ and Redis. Every published message is counted on the broker and checked against wrk's
2xx.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiormq

from hookgate.topology import (
    archive_inbox,
    archive_name,
    declare_gateway_topology,
    declare_status_exchange,
    status_exchange,
)
from tests.redis_kit import REDIS_URL, delete_prefix, shared_redis

AMQP_URL = os.environ.get("HOOKGATE_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
EXCHANGE = "hg-bench"
REDIS_PREFIX = f"hg-bench:{secrets.token_hex(4)}:"
HERE = Path(__file__).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(tmp: Path, backend: str, secret: str, *, admin: bool = False) -> Path:
    path = tmp / f"hookgate-{backend}{'-status' if admin else ''}.toml"
    path.write_text(
        (
            f'[admin]\ntoken = "{secrets.token_hex(16)}"\nport = {_free_port()}\n'
            f'[ledger]\nbackend = "sqlite"\npath = "{tmp / "ledger.sqlite3"}"\n'
            if admin
            else ""
        )
        + f'[broker]\nurl = "{AMQP_URL}"\nexchange = "{EXCHANGE}"\n'
        f'[dedupe]\nbackend = "{backend}"\npath = "{tmp / "dedupe.sqlite3"}"\n'
        f'url = "{REDIS_URL}"\nkey_prefix = "{REDIS_PREFIX}"\n'
        f'[spool]\npath = "{tmp / "spool.sqlite3"}"\n'
        f'[sources.github]\nprovider = "github"\nsecrets = ["{secret}"]\n'
    )
    return path


def _commands(tmp: Path, secret: str) -> dict[str, list[str]]:
    uvicorn = [
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
    serve = [sys.executable, "-m", "gateway", "serve", "-c"]
    return {
        "bare": [*uvicorn, "tests.perf.reference_apps:bare"],
        "lean": [*uvicorn, "tests.perf.reference_apps:lean"],
        "hookgate-memory": [*serve, str(_config(tmp, "memory", secret))],
        "hookgate-sqlite": [*serve, str(_config(tmp, "sqlite", secret))],
        "hookgate-redis": [*serve, str(_config(tmp, "redis", secret))],
        "hookgate-status": [*serve, str(_config(tmp, "memory", secret, admin=True))],
        "hookgate-admin": [*serve, str(_config(tmp, "memory", secret, admin=True))],
    }


def _admin(tmp: Path, log: object) -> subprocess.Popen[bytes]:
    """`hookgate admin` on the status config, once its recorder and archiver have started."""
    config = tmp / "hookgate-memory-status.toml"
    process = subprocess.Popen(
        [sys.executable, "-m", "hookgate", "admin", "-c", str(config), "--log-level", "warning"],
        stdout=log,  # type: ignore[arg-type]
        stderr=subprocess.STDOUT,
    )
    port = int(re.search(r"port = (\d+)", config.read_text()).group(1))  # type: ignore[union-attr]
    _wait_listening(port, process)
    time.sleep(1.0)  # the recorder's and the archiver's queues declared and bound
    return process


async def _delete_admin_queues() -> None:
    connection = await aiormq.connect(AMQP_URL)
    channel = await connection.channel()
    for queue in (f"{status_exchange(EXCHANGE)}.ledger", archive_inbox(EXCHANGE)):
        await channel.queue_delete(queue)
    await channel.queue_delete(archive_name(EXCHANGE))
    await connection.close()


def _wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                time.sleep(0.5)  # lifespan: broker connection
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server did not start listening")


_REQUESTS_PER_SECOND = 12_000  # lines written per second of wrk: above any rate seen here


def _write_requests(path: Path, secret: str, count: int) -> None:
    """`count` GitHub deliveries, each with a unique body (~1 KB) and delivery ID, signed."""
    run = secrets.token_hex(6)
    key = secret.encode()
    with path.open("w") as out:
        for i in range(count):
            delivery = f"{run}-{i}"
            body = json.dumps(
                {
                    "action": "opened",
                    "number": i,
                    "pull_request": {"node_id": delivery, "title": "x" * 900},
                },
                separators=(",", ":"),
            )
            digest = hmac.new(key, body.encode(), hashlib.sha256).hexdigest()
            out.write(f"{delivery}\tsha256={digest}\t{body}\n")


def _wrk(port: int, seconds: int, connections: int, env: dict[str, str]) -> tuple[float, int, int]:
    output = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "-s",
            str(HERE / "unique_github.lua"),
            f"http://127.0.0.1:{port}/webhooks/github",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return rate, total, int(non_2xx.group(1)) if non_2xx else 0


async def _purge() -> int:
    connection = await aiormq.connect(AMQP_URL)
    channel = await connection.channel()
    await declare_gateway_topology(channel, EXCHANGE)
    purged = await channel.queue_purge(f"{EXCHANGE}.unrouted")
    await connection.close()
    return int(purged.message_count)


async def _status(delete: bool = False) -> int:
    """Status messages in the run's own status queue (emptied), or delete it."""
    connection = await aiormq.connect(AMQP_URL)
    channel = await connection.channel()
    queue = f"{status_exchange(EXCHANGE)}.bench"
    if delete:
        await channel.queue_delete(queue)
        await channel.exchange_delete(status_exchange(EXCHANGE))
        await connection.close()
        return 0
    await declare_status_exchange(channel, EXCHANGE)
    await channel.queue_declare(queue, durable=False)
    await channel.queue_bind(queue, status_exchange(EXCHANGE), "#")
    purged = await channel.queue_purge(queue)
    await connection.close()
    return int(purged.message_count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--only", nargs="*", help="targets to run (default: all)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")

    secret = secrets.token_hex(20)
    tmp = Path(tempfile.mkdtemp(prefix="hookgate-bench-"))
    commands = _commands(tmp, secret)
    targets = args.only or list(commands)
    results: dict[str, list[float]] = {name: [] for name in targets}
    asyncio.run(_purge())
    asyncio.run(_status())

    for round_number in range(args.rounds):
        for name in targets:
            port = _free_port()
            env = {
                **os.environ,
                "BENCH_AMQP_URL": AMQP_URL,
                "BENCH_EXCHANGE": EXCHANGE,
                "BENCH_SECRET": secret,
                "BENCH_REQUESTS_FILE": str(tmp / "requests.tsv"),
            }
            command = [*commands[name], "--port", str(port)]
            with open(tmp / f"{name}.log", "ab") as log:
                admin = _admin(tmp, log) if name == "hookgate-admin" else None
                process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                _wait_listening(port, process)
                _write_requests(tmp / "requests.tsv", secret, _REQUESTS_PER_SECOND * 2)
                _wrk(port, 2, args.connections, env)
                asyncio.run(_purge())
                asyncio.run(_status())
                _write_requests(tmp / "requests.tsv", secret, _REQUESTS_PER_SECOND * args.seconds)
                rate, total, failed = _wrk(port, args.seconds, args.connections, env)
            finally:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
                if admin is not None:
                    admin.send_signal(signal.SIGTERM)
                    admin.wait(timeout=30)
            published = asyncio.run(_purge())
            statuses = asyncio.run(_status())
            results[name].append(rate)
            expected = "-" if name == "bare" else f"{published} published for {total - failed} 2xx"
            if statuses:
                expected += f", {statuses} status messages"
            print(
                f"round {round_number + 1} {name:<16} {rate:>8.0f} req/s  "
                f"{total} requests, {failed} non-2xx, {expected}",
                flush=True,
            )

    print("\nmedian req/s (ratio to lean):")
    lean = statistics.median(results["lean"]) if "lean" in results else None
    for name, rates in results.items():
        median = statistics.median(rates)
        ratio = f"{median / lean:.2f}x" if lean else "-"
        print(f"  {name:<16} {median:>8.0f}  {ratio}")
    shutil.rmtree(tmp, ignore_errors=True)
    asyncio.run(_status(delete=True))
    if "hookgate-admin" in targets:
        asyncio.run(_delete_admin_queues())
    if "hookgate-redis" in targets:
        client = shared_redis()
        delete_prefix(client, REDIS_PREFIX)  # the run's keys only: the server is shared
        client.close()


if __name__ == "__main__":
    main()
