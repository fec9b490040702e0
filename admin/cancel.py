"""Cancelling an event: which services may still be cancelled, the cancel sent to the
consumers (`hookgate.cancel`, on the stream `{exchange}.cancellations`, confirmed), and the
`cancelled` step recorded on the timeline.

A service whose state is `completed` or `failed` is not cancellable: nothing of the event
waits for it (a dead letter stays in its dead-letter queue; `hookgate dlq purge` drops it,
`replay` runs it again). Any other service that saw the event (`queued`, `running`,
`retrying`, or `cancelled` again: harmless), or the one the caller names, is. A cancel is for
the replay round the ledger knows (`replayed` steps so far): a later replay runs again.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence

from pamqp.commands import Basic

from admin.ledger import EventDetail
from admin.queues import BrokerUnavailable
from hookgate.cancel import Cancellation
from hookgate.connect import BrokerNodes
from hookgate.errors import redact
from hookgate.status import Status, StatusChange
from hookgate.topology import cancel_stream, declare_cancel_stream

FINISHED = (Status.COMPLETED, Status.FAILED)
_PERSISTENT = Basic.Properties(content_type="application/json", delivery_mode=2)


def cancellable(detail: EventDetail, services: Sequence[str]) -> dict[str, int]:
    """Of `services`, those not finished with the event, each with its replay round."""
    return {
        name: sum(1 for c in detail.timeline if c.service == name and c.status is Status.REPLAYED)
        for name in services
        if name not in detail.services or detail.services[name].status not in FINISHED
    }


def cancelled_change(cancel: Cancellation, service: str, event_type: str | None) -> StatusChange:
    """The `cancelled` step of one service: no attempt, so that the consumer's skip, which
    sends the same change, is recorded once (`admin.model`)."""
    return StatusChange(
        source=cancel.source,
        event_id=cancel.event_id,
        status=Status.CANCELLED,
        at=cancel.at,
        service=service,
        event_type=event_type,
        detail=f"cancelled by {cancel.by}",
        replay=cancel.services[service],
    )


class CancelSender:
    """Appends cancels to the stream, each confirmed; one short-lived connection per cancel
    (an operator's action, not a hot path). `BrokerUnavailable` when the broker fails."""

    def __init__(self, url: str, exchange: str, *, timeout: float = 10.0) -> None:
        self._url = url
        self._nodes = BrokerNodes(url)
        self._exchange = exchange
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"CancelSender(url=..., exchange={self._exchange!r})"

    async def send(self, cancel: Cancellation) -> None:
        connection = None
        try:
            async with asyncio.timeout(self._timeout):
                connection = await self._nodes.connect("hookgate-admin-cancel")
                channel = await connection.channel(publisher_confirms=True)
                await declare_cancel_stream(channel, self._exchange)
                confirm = await channel.basic_publish(
                    cancel.encode(),
                    routing_key=cancel_stream(self._exchange),
                    properties=_PERSISTENT,
                    mandatory=True,
                )
            if not isinstance(confirm, Basic.Ack):
                raise BrokerUnavailable(f"the broker answered {type(confirm).__name__}")
        except TimeoutError as err:
            raise BrokerUnavailable(f"no confirm within {self._timeout:g} s") from err
        except BrokerUnavailable:
            raise
        except Exception as err:  # AMQP, OSError, TopologyError
            raise BrokerUnavailable(redact(repr(err), self._url)) from err
        finally:
            if connection is not None:
                with contextlib.suppress(Exception):
                    await connection.close()


def new_cancel(source: str, event_id: str, rounds: dict[str, int]) -> Cancellation:
    return Cancellation(source, event_id, rounds, time.time(), "api")
