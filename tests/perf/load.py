"""A load generator with its own clock: Stripe-signed POSTs over keep-alive connections.

    python -m tests.perf.load open --port 8000 --rate 500 --seconds 10
    python -m tests.perf.load closed --port 8000 --concurrency 32 --seconds 10 --body-bytes 65536

`open`: request i is due at start + i/rate, whatever the server does; a pool of keep-alive
connections sends it as soon as one is free, and its latency runs from when it was *due*, so a
server that falls behind is charged for the requests it delayed (no coordinated omission).
The requests are built and signed before the clock starts.

`closed`: `concurrency` connections, each sending its next request when the previous answer is
in, signing on the fly (the body's ID is its tail: see `workload.StripeSigner`), so 1 MB
bodies need no pre-built files; for `--seconds`, or until `--requests` have been sent.

Prints one JSON object: requests, ok (2xx), non_2xx, errors, rate, p50_ms, p99_ms, max_ms.
Needs BENCH_SECRET (the source's Stripe secret) in the environment.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import uvloop

from tests.perf.servers import REPO
from tests.perf.workload import StripeSigner, event_ids, request_head


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, port: int) -> _Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**20)
        return cls(reader, writer)

    async def send(self, parts: list[bytes]) -> int:
        """Send one request, read its whole answer; the status code."""
        self._writer.writelines(parts)
        head = await self._reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self._reader.readexactly(length)
        return int(lines[0].split(b" ", 2)[1])

    def close(self) -> None:
        self._writer.close()


@dataclass
class _Tally:
    latencies: list[float] = field(default_factory=list)
    ok: int = 0
    non_2xx: int = 0
    errors: int = 0

    def record(self, status: int, seconds: float) -> None:
        self.latencies.append(seconds)
        if 200 <= status < 300:
            self.ok += 1
        else:
            self.non_2xx += 1

    def summary(self, elapsed: float) -> dict[str, Any]:
        ordered = sorted(self.latencies) or [float("nan")]
        return {
            "requests": len(self.latencies),
            "ok": self.ok,
            "non_2xx": self.non_2xx,
            "errors": self.errors,
            "seconds": elapsed,
            "rate": len(self.latencies) / elapsed,
            "p50_ms": statistics.median(ordered) * 1000,
            "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
            "max_ms": ordered[-1] * 1000,
        }


async def open_loop(
    port: int, path: str, secret: str, rate: float, seconds: float, connections: int
) -> dict[str, Any]:
    signer = StripeSigner(secret)
    prepared = []
    for event_id in event_ids(round(rate * seconds)):
        body, signature = signer.body(event_id)
        prepared.append(request_head(path, signature, len(body)) + body)
    pool: asyncio.Queue[_Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await _Connection.open(port))
    tally = _Tally()
    clock = time.perf_counter  # the loop's own clock may tick in whole milliseconds

    async def one(request: bytes, due: float) -> None:
        connection = await pool.get()
        try:
            status = await connection.send([request])
        except (OSError, asyncio.IncompleteReadError, ValueError):
            tally.errors += 1
            connection = await _Connection.open(port)
        else:
            tally.record(status, clock() - due)
        pool.put_nowait(connection)

    tasks = []
    start = clock() + 0.05
    for i, request in enumerate(prepared):
        due = start + i / rate
        if due > clock():
            await asyncio.sleep(due - clock())
        tasks.append(asyncio.create_task(one(request, due)))
    await asyncio.gather(*tasks)
    elapsed = clock() - start
    while not pool.empty():
        pool.get_nowait().close()
    return {"mode": "open", "target_rate": rate, **tally.summary(elapsed)}


async def closed_loop(
    port: int,
    path: str,
    secret: str,
    concurrency: int,
    seconds: float,
    body_bytes: int,
    requests: int | None = None,
) -> dict[str, Any]:
    signer = StripeSigner(secret, body_bytes)
    ids = event_ids(10**12 if requests is None else requests)
    tally = _Tally()
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        connection = await _Connection.open(port)
        while time.monotonic() < deadline:
            event_id = next(ids, None)
            if event_id is None:
                break  # `requests` sent
            suffix = signer.suffix(event_id)
            length = len(signer.prefix) + len(suffix)
            head = request_head(path, signer.signature(suffix), length)
            sent = time.monotonic()
            try:
                status = await connection.send([head, signer.prefix, suffix])
            except (OSError, asyncio.IncompleteReadError, ValueError):
                tally.errors += 1
                connection.close()
                connection = await _Connection.open(port)
                continue
            tally.record(status, time.monotonic() - sent)
        connection.close()

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    summary = tally.summary(time.monotonic() - started)
    return {"mode": "closed", "concurrency": concurrency, "body_bytes": body_bytes, **summary}


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.perf.load", description=__doc__.split("\n\n")[0]
    )
    modes = parser.add_subparsers(dest="mode", required=True)
    for mode in ("open", "closed"):
        sub = modes.add_parser(mode)
        sub.add_argument("--port", type=int, required=True)
        sub.add_argument("--path", default="/webhooks/stripe")
        sub.add_argument("--seconds", type=float, default=10.0)
        if mode == "open":
            sub.add_argument("--rate", type=float, required=True, help="requests per second")
            sub.add_argument("--connections", type=int, default=64, help="keep-alive pool")
        else:
            sub.add_argument("--concurrency", type=int, default=32)
            sub.add_argument("--body-bytes", type=int, default=1024)
            sub.add_argument("--requests", type=int, help="stop after this many (and --seconds)")
    args = parser.parse_args()
    secret = os.environ.get("BENCH_SECRET")
    if not secret:
        raise SystemExit("BENCH_SECRET is not set: the Stripe secret the source verifies with")
    try:
        if args.mode == "open":
            result = uvloop.run(
                open_loop(args.port, args.path, secret, args.rate, args.seconds, args.connections)
            )
        else:
            result = uvloop.run(
                closed_loop(
                    args.port,
                    args.path,
                    secret,
                    args.concurrency,
                    args.seconds,
                    args.body_bytes,
                    args.requests,
                )
            )
    except OSError as err:
        raise SystemExit(f"cannot reach 127.0.0.1:{args.port}: {err}") from err
    print(json.dumps(result))


def run_load(mode: str, port: int, secret: str, *arguments: str) -> dict[str, Any]:
    """Run the generator in a process of its own (not the harness's, not the server's)."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.perf.load", mode, "--port", str(port), *arguments],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), "BENCH_SECRET": secret},
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"load generator failed: {done.stderr.strip()[-300:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


if __name__ == "__main__":
    main()
