"""What the admin API asks the broker: each announced service's queue depths, the first of its
dead letters (`consumers.dlq.peek`), and moving one event from dead-letter queues back to work
queues (`consumers.dlq.replay`).

Queue names come from `hookgate.topology`, given a service as it announced itself
(`hookgate.status.ServiceAnnouncement`). Depths come from passive declares: AMQP alone, no
management plugin, so unacked messages are not counted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from consumers import broker, dlq
from consumers.errors import ConsumerError
from hookgate import envelope
from hookgate.errors import HookgateError, redact
from hookgate.status import ServiceAnnouncement
from hookgate.topology import dead_queue, retry_queues, work_queue

_CONNECTION_NAME = "hookgate-admin"


class BrokerUnavailable(HookgateError):
    """The broker could not be reached or stopped answering (message: one line, no password)."""


@dataclass(frozen=True, slots=True)
class _Binding:
    pattern: str


@dataclass(frozen=True, slots=True)
class ServiceShape:
    """A service as `hookgate.topology` needs it, from its announcement (or a bare name)."""

    name: str
    tiers: tuple[float, ...] = ()
    delivery_limit: int = 10
    handlers: tuple[_Binding, ...] = ()

    @classmethod
    def announced(cls, announcement: ServiceAnnouncement) -> ServiceShape:
        return cls(
            announcement.service,
            announcement.tiers,
            announcement.delivery_limit,
            tuple(_Binding(pattern) for pattern in announcement.patterns),
        )


@dataclass(frozen=True)
class Replay:
    replayed: list[str] = field(default_factory=list)
    #: service → why its copy was not replayed (its signature does not verify)
    refused: dict[str, str] = field(default_factory=dict)
    #: service → which replay of the event this is (its dead letter's `hookgate-replays`
    #: header + 1, as the consumer will read it from the copy)
    rounds: dict[str, int] = field(default_factory=dict)


class BrokerView:
    """The broker as the admin API sees it: one short-lived connection per question."""

    def __init__(
        self, url: str, message_keys: Sequence[str] = (), *, timeout: float = 10.0
    ) -> None:
        self._url = url
        self._keys = tuple(message_keys)
        self._timeout = timeout

    def __repr__(self) -> str:
        return "BrokerView(url=..., message_keys=...)"

    async def depths(self, announcements: Sequence[ServiceAnnouncement]) -> list[dict[str, Any]]:
        """Per service: its queues, ready/consumers of work, retry tiers summed, dead. With
        the broker down, the numbers are None and `error` says why (never an exception)."""
        if not announcements:
            return []
        shapes = [ServiceShape.announced(a) for a in announcements]
        states: dict[str, broker.QueueState] = {}
        error = None
        try:
            async with asyncio.timeout(self._timeout):
                async with broker.connection(self._url, _CONNECTION_NAME) as connection:
                    for shape in shapes:
                        for name in _queues(shape):
                            states[name] = await broker.queue_state(connection, name)
        except (ConsumerError, TimeoutError, *broker.AMQP_ERRORS) as err:
            error = self._describe(err)
        return [
            _depth(a, shape, states, error) for a, shape in zip(announcements, shapes, strict=True)
        ]

    async def dead_letters(self, service: str, limit: int) -> tuple[int, list[dlq.DeadLetter]]:
        """How many dead letters `service` has, and the first `limit` of them, oldest first.
        They stay where they are: taken unacked and handed back when the channel closes, as
        `hookgate dlq list` does (a replay at that very moment may miss one held here)."""
        try:
            async with asyncio.timeout(self._timeout):
                return await dlq.peek(self._url, dead_queue(ServiceShape(service)), limit)
        except (ConsumerError, TimeoutError, *broker.AMQP_ERRORS) as err:
            raise BrokerUnavailable(self._describe(err)) from err

    async def replay(self, source: str, event_id: str, services: Sequence[str]) -> Replay:
        """Move the event from each named service's dead-letter queue (those that exist and
        hold anything) back to its work queue. `BrokerUnavailable` when the broker fails."""
        result = Replay()
        if not services:
            return result
        try:
            async with asyncio.timeout(self._timeout * 3):
                for name in await self._holding(services):
                    shape = ServiceShape(name)
                    await dlq.replay(
                        self._url,
                        dead_queue(shape),
                        work_queue(shape),
                        {event_id},
                        _once(result, name),
                        message_keys=self._keys,
                        refused=_refusal(result.refused, name),
                        source=source,
                    )
        except (ConsumerError, TimeoutError, *broker.AMQP_ERRORS) as err:
            raise BrokerUnavailable(self._describe(err)) from err
        return result

    async def _holding(self, services: Sequence[str]) -> list[str]:
        """The services whose dead-letter queue exists and is not empty."""
        found = []
        async with broker.connection(self._url, _CONNECTION_NAME) as connection:
            for name in services:
                state = await broker.queue_state(connection, dead_queue(ServiceShape(name)))
                if state.exists and state.ready:
                    found.append(name)
        return found

    def _describe(self, err: BaseException) -> str:
        if isinstance(err, TimeoutError):
            return f"the broker did not answer within {self._timeout:g} s"
        return redact(str(err) if isinstance(err, HookgateError) else repr(err), self._url)


def _once(result: Replay, name: str) -> Callable[[dlq.DeadLetter], None]:
    def progress(letter: dlq.DeadLetter) -> None:
        if name not in result.replayed:
            result.replayed.append(name)
        before = letter.headers.get(envelope.REPLAYS)
        result.rounds[name] = (before if isinstance(before, int) else 0) + 1

    return progress


def _refusal(refused: dict[str, str], name: str) -> Callable[[dlq.DeadLetter, str], None]:
    def refuse(_: dlq.DeadLetter, why: str) -> None:
        refused.setdefault(name, why)

    return refuse


def _queues(shape: ServiceShape) -> list[str]:
    return [work_queue(shape), *retry_queues(shape).values(), dead_queue(shape)]


def _depth(
    announcement: ServiceAnnouncement,
    shape: ServiceShape,
    states: dict[str, broker.QueueState],
    error: str | None,
) -> dict[str, Any]:
    retries = list(retry_queues(shape).values())
    answer: dict[str, Any] = {
        "name": shape.name,
        "patterns": list(announcement.patterns),
        "queues": {"work": work_queue(shape), "retry": retries, "dead": dead_queue(shape)},
        "ready": None,
        "consumers": None,
        "retrying": None,
        "dead": None,
        "error": error,
    }
    if error is not None:
        return answer
    work, dead = states[work_queue(shape)], states[dead_queue(shape)]
    problems = [f"{n}: {states[n].problem}" for n in _queues(shape) if states[n].problem]
    if work.exists:
        answer["ready"], answer["consumers"] = work.ready, work.consumers
    if all(states[name].exists for name in retries):
        answer["retrying"] = sum(states[name].ready for name in retries)
    if dead.exists:
        answer["dead"] = dead.ready
    answer["error"] = "; ".join(problems) or None
    return answer
