"""The service `tests.perf.bench_consumer` runs as a real `hookgate consume` process.

`stamp` (named by HG_BENCH_SERVICE) records each event's handler start time as
`EVENT_ID UNIX_TIME` lines in HG_BENCH_STAMPS, for end-to-end latency.
"""

from __future__ import annotations

import os
import time

from consumers import Event, Service

NAME = os.environ.get("HG_BENCH_SERVICE", "hg-bench")

stamp = Service(NAME, concurrency=64)
_stamps = open(os.environ.get("HG_BENCH_STAMPS", os.devnull), "a", buffering=1)  # noqa: SIM115


@stamp.handler("#")
async def started(event: Event) -> None:
    _stamps.write(f"{event.id} {time.time():.6f}\n")
