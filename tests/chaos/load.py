"""A bounded load generator: signed events over loopback HTTP, one recorded answer per event.

    events = github_events(3000, body=lambda i: {"n": i})
    load = Load(gateway.base_url, events, concurrency=32, rate=200, max_seconds=60)
    task = asyncio.create_task(load.run())
    await eventually(lambda: load.answered >= 600, 20, "load under way")
    ...                                   # break something in the middle
    result = await task                   # LoadResult: event_id -> Answer
    again = await Load(gateway.base_url, result.failed_events(events)).run()   # the retry

Bounded in count (the events given) and time (`max_seconds`: what is not sent by then is
counted as not sent, what is in flight is cut). All traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import collections
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from providers.testing import sign_request
from tests.chaos.processes import GITHUB_SECRET

NO_ANSWER = 0  # a transport error: refused, reset, or the request timed out
CUT = -1  # still in flight when the load's time bound ran out


@dataclass(frozen=True)
class SignedEvent:
    event_id: str
    path: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Answer:
    status: int
    body_status: str | None = None
    retry_after: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class LoadResult:
    answers: dict[str, Answer] = field(default_factory=dict)
    not_sent: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def ok_ids(self) -> set[str]:
        return {event_id for event_id, answer in self.answers.items() if answer.ok}

    def failed_ids(self) -> set[str]:
        """Events the sender must retry: refused, unanswered, or never sent."""
        failed = {event_id for event_id, answer in self.answers.items() if not answer.ok}
        return failed | set(self.not_sent)

    def statuses(self) -> collections.Counter[int]:
        return collections.Counter(answer.status for answer in self.answers.values())

    def failed_events(self, events: Iterable[SignedEvent]) -> list[SignedEvent]:
        failed = self.failed_ids()
        return [event for event in events if event.event_id in failed]


def github_events(
    count: int,
    *,
    body: Callable[[int], dict[str, Any]] | None = None,
    source: str = "github",
) -> list[SignedEvent]:
    """`count` GitHub `pull_request.opened` deliveries, signed, each with a unique delivery ID
    (the event ID) and, as real events have, a body of its own (the gateway also de-duplicates
    GitHub's unsigned IDs by body digest). `body(i)` adds fields to the i-th payload."""
    events = []
    for i in range(count):
        event_id = str(uuid.uuid4())
        payload = {
            "action": "opened",
            "number": i,
            "pull_request": {"node_id": event_id},
            **(body(i) if body else {}),
        }
        raw = orjson.dumps(payload)
        headers = sign_request(
            "github", raw, GITHUB_SECRET, event_id=event_id, event_type="pull_request"
        )
        events.append(SignedEvent(event_id, f"/webhooks/{source}", raw, headers))
    return events


class Load:
    """Send `events` to `base_url` with at most `concurrency` in flight, at most `rate` per
    second (None: as fast as answered), for at most `max_seconds`."""

    def __init__(
        self,
        base_url: str,
        events: Sequence[SignedEvent],
        *,
        concurrency: int = 32,
        rate: float | None = None,
        max_seconds: float = 60.0,
        request_timeout: float = 30.0,
    ) -> None:
        host = urlsplit(base_url).hostname
        assert host == "127.0.0.1", f"chaos load stays on loopback, not {host}"
        self._base_url = base_url
        self._events = list(events)
        self._concurrency = concurrency
        self._rate = rate
        self._max_seconds = max_seconds
        self._request_timeout = request_timeout
        self._next = 0
        self._in_flight: set[str] = set()
        self.result = LoadResult()

    @property
    def answered(self) -> int:
        return len(self.result.answers)

    async def run(self) -> LoadResult:
        started = time.monotonic()
        limits = httpx.Limits(max_connections=self._concurrency, max_keepalive_connections=64)
        timeout = httpx.Timeout(self._request_timeout)
        async with httpx.AsyncClient(base_url=self._base_url, limits=limits, timeout=timeout) as c:
            workers = [
                asyncio.create_task(self._worker(c, started)) for _ in range(self._concurrency)
            ]
            try:
                async with asyncio.timeout(self._max_seconds):
                    await asyncio.gather(*workers)
            except TimeoutError:
                pass
            finally:
                for worker in workers:
                    worker.cancel()
                await asyncio.gather(*workers, return_exceptions=True)
        for event_id in self._in_flight:
            self.result.answers[event_id] = Answer(CUT, error="cut by the load's time bound")
        self.result.not_sent = [e.event_id for e in self._events[self._next :]]
        self.result.seconds = time.monotonic() - started
        return self.result

    async def _worker(self, client: httpx.AsyncClient, started: float) -> None:
        while self._next < len(self._events):
            index = self._next
            self._next += 1
            if self._rate:
                delay = started + index / self._rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            event = self._events[index]
            self._in_flight.add(event.event_id)
            answer = await _send(client, event)
            self._in_flight.discard(event.event_id)
            self.result.answers[event.event_id] = answer


async def _send(client: httpx.AsyncClient, event: SignedEvent) -> Answer:
    try:
        response = await client.post(event.path, content=event.body, headers=event.headers)
    except httpx.TransportError as err:
        return Answer(NO_ANSWER, error=type(err).__name__)
    try:
        status = orjson.loads(response.content).get("status")
    except (orjson.JSONDecodeError, AttributeError):
        status = None
    return Answer(response.status_code, status, response.headers.get("retry-after"))
