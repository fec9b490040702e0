"""`hookgate topology show`: where events go, as far as AMQP can tell.

Shown: whether the ingress exchange and its alternate exchange exist, the depth of the unrouted
queue, and for each service named with `--service MODULE:SERVICE` the bindings its handlers
declare and the depth and consumers of its work, retry and dead-letter queues.

Not shown, because AMQP has no way to ask: queues and services nobody names (AMQP cannot list
queues), the bindings that actually exist on the broker (a binding left by a removed handler
is invisible here), and unacked messages (a passive declare counts ready ones only). The
management plugin (`rabbitmqctl list_queues`, `list_bindings`, `rabbitmqadmin`) shows those.
"""

from __future__ import annotations

from collections.abc import Sequence

from consumers import broker
from consumers.service import Service
from hookgate.terminal import safe
from hookgate.topology import dead_queue, retry_queues, unrouted_name, work_queue

LIMITS = (
    "AMQP shows only what it is asked by name: other services' queues, the bindings that "
    "really exist (a removed handler's binding too) and unacked messages need the management "
    "plugin (rabbitmqctl list_queues / list_bindings)."
)


async def show(url: str, exchange: str, services: Sequence[tuple[str, Service]]) -> list[str]:
    """The report, a line each; `services` are `(reference, service)` pairs."""
    unrouted = unrouted_name(exchange)
    async with broker.connection(url, "hookgate-topology") as conn:
        lines = [
            _exchange(exchange, await broker.exchange_exists(conn, exchange), "ingress"),
            _exchange(unrouted, await broker.exchange_exists(conn, unrouted), "alternate"),
            _queue(await broker.queue_state(conn, unrouted), "unrouted events"),
        ]
        for reference, service in services:
            patterns = ", ".join(h.pattern for h in service.handlers)
            lines.append(f"service  {service.name} ({safe(reference)})")
            lines.append(f"binds    {exchange} <- {patterns} (as its handlers declare them)")
            lines.append(_queue(await broker.queue_state(conn, work_queue(service)), "work"))
            for name in retry_queues(service).values():
                lines.append(_queue(await broker.queue_state(conn, name), "retry tier"))
            dead = await broker.queue_state(conn, dead_queue(service))
            lines.append(_queue(dead, "dead letters"))
            if dead.ready:
                lines.append(f"         see them: hookgate dlq list {service.name}")
    if any(line.endswith(" missing") for line in lines):
        lines.append("missing: hookgate topology declare [--service MODULE:SERVICE] creates it")
    return [*lines, "", LIMITS]


def _exchange(name: str, problem: str, what: str) -> str:
    return f"exchange {name:<40} {what:<18} {problem or 'exists'}"


def _queue(state: broker.QueueState, what: str) -> str:
    status = state.problem or f"{state.ready} ready, {state.consumers} consumer(s)"
    return f"queue    {state.name:<40} {what:<18} {status}"
