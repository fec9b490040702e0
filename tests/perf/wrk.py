"""Drive wrk with `requests.lua` and read its summary (rate, latency percentiles, non-2xx)."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

_SCRIPT = Path(__file__).with_name("requests.lua")
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass(frozen=True)
class WrkResult:
    rate: float  # requests/s
    requests: int
    non_2xx: int
    errors: int  # connect/read/write/timeout errors
    p50_ms: float
    p99_ms: float

    @property
    def ok(self) -> int:
        return self.requests - self.non_2xx

    def as_dict(self) -> dict[str, float]:
        return {**asdict(self), "ok": self.ok}


def run_wrk(
    url: str,
    requests_file: Path,
    *,
    seconds: float,
    connections: int = 32,
) -> WrkResult:
    """One wrk thread, `connections` keep-alive connections, for `seconds`. SystemExit with
    wrk's own words when it fails."""
    env = {**os.environ, "BENCH_REQUESTS_FILE": str(requests_file)}
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
    done = subprocess.run(
        [*command, "-s", str(_SCRIPT), url], capture_output=True, text=True, env=env, check=False
    )
    if done.returncode != 0 or "Requests/sec" not in done.stdout:
        raise SystemExit(f"wrk failed on {url}: {(done.stderr or done.stdout).strip()[:300]}")
    return parse(done.stdout)


def parse(output: str) -> WrkResult:
    def number(pattern: str) -> float:
        found = re.search(pattern, output)
        return float(found.group(1)) if found else 0.0

    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return WrkResult(
        rate=number(r"Requests/sec:\s+([\d.]+)"),
        requests=int(number(r"(\d+) requests in")),
        non_2xx=int(number(r"Non-2xx or 3xx responses: (\d+)")),
        errors=sum(int(n) for n in errors.groups()) if errors else 0,
        p50_ms=_percentile(output, "50"),
        p99_ms=_percentile(output, "99"),
    )


def _percentile(output: str, which: str) -> float:
    found = re.search(rf"^\s+{which}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    return float(found.group(1)) * _UNITS[found.group(2)] if found else float("nan")
