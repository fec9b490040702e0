"""`hookgate topology delete --service MODULE:SERVICE`: remove a service's queues.

Deletes the work queue (and with it its bindings), each retry tier and the dead-letter queue.
Events in them would be lost, so a queue that holds any is left alone, and nothing is deleted,
unless `force`; the same goes for a work queue a consumer still reads (the consumer would
declare it again at once). Each queue is checked again just before it is deleted; quorum queues
do not support the broker-side `if-empty` check (RabbitMQ 3.10 answers NOT_IMPLEMENTED), so an
event arriving in the instant between would go with the queue: the line printed for each queue
says how many messages it held. A retry tier the service no longer declares cannot be found
this way (AMQP cannot list queues): delete it by name.
"""

from __future__ import annotations

from consumers import broker
from consumers.errors import ConsumerError
from consumers.service import Service
from hookgate.topology import all_queues, dead_queue, work_queue


async def delete_service_queues(url: str, service: Service, *, force: bool) -> list[str]:
    """Delete the service's queues; a line per queue saying what happened."""
    names = all_queues(service)
    async with broker.connection(url, "hookgate-topology") as conn:
        states = [await broker.queue_state(conn, name) for name in names]
        if not force:
            _refuse_unless_idle(service, states)
        lines = []
        for state in states:
            if not state.exists:
                lines.append(f"queue {state.name}: {state.problem}, nothing to delete")
                continue
            if not force:  # again: a retry tier may have sent an event back meanwhile
                now = await broker.queue_state(conn, state.name)
                if now.ready or (now.name == work_queue(service) and now.consumers):
                    raise ConsumerError(
                        f"queue {now.name!r} received events or a consumer meanwhile and was "
                        f"kept; deleted so far: {', '.join(_names(lines)) or 'nothing'}"
                    )
            channel = await conn.channel()
            try:
                deleted = await channel.queue_delete(state.name)
            finally:
                if not channel.is_closed:
                    await channel.close()
            lines.append(f"deleted queue {state.name} ({deleted.message_count or 0} message(s))")
    return lines


def _refuse_unless_idle(service: Service, states: list[broker.QueueState]) -> None:
    work = next(s for s in states if s.name == work_queue(service))
    if work.consumers:
        raise ConsumerError(
            f"queue {work.name!r} has {work.consumers} consumer(s): stop the service's "
            "`hookgate consume` processes first (or add --force)"
        )
    full = [s for s in states if s.ready]
    if full:
        held = ", ".join(f"{s.name} holds {s.ready}" for s in full)
        look = (
            f" (see them: hookgate dlq list {service.name})"
            if any(s.name == dead_queue(service) for s in full)
            else ""
        )
        raise ConsumerError(
            f"not deleting events: {held}{look}; add --force to delete them with the queues"
        )


def _names(lines: list[str]) -> list[str]:
    return [line.split()[2] for line in lines if line.startswith("deleted queue ")]
