"""Least-privilege RabbitMQ permissions for hookgate's users, as `rabbitmqctl set_permissions`
regular expressions (configure, write, read). deploy/README.md prints them for `webhooks` and
`billing`; tests/integration/test_consumer_permissions.py and test_status_permissions.py check
them on a real broker.

- The gateway only publishes to the ingress exchange: configure nothing, write the exchange,
  read nothing. (It checks, rather than declares, a topology it may not declare.) With event
  status (`status=True`, an `[admin]` table) it also writes the status exchange
  `webhooks.status`, which `hookgate admin` declares.
- A service's user declares, binds, consumes and deletes its own queues (`billing`,
  `billing.retry.*`, `billing.dead`) and reads the ingress exchange to bind to it. It must
  write to `amq.default`, the default exchange, through which retry and dead-letter copies
  travel and through which tiers dead-letter back: RabbitMQ checks that permission on the
  exchange, not on the queue a message is routed to, so this user can publish into any queue
  of the vhost by name. Give services that must not reach each other vhosts of their own.
  With event status it also writes `webhooks.status` and reads the stream
  `webhooks.cancellations`, which it may not configure: configure would let it delete every
  service's cancels. It finds the stream declared by `hookgate admin` (until the first cancel
  there is none, and nothing to skip).
- `hookgate admin`'s user configures what it declares (the status exchange, its ledger queue,
  the cancellations stream, the archive stream and inbox), binds its two queues, consumes
  them, reads the archive and every service's dead-letter queue (`*.dead`: peek and replay,
  which lets it purge them too), and writes `amq.default` to put messages into the streams
  and, for replays, into work queues (so, like a service, into any queue by name). It reads
  `webhooks` and `webhooks.unrouted` to bind the archive's inbox to them.
"""

from __future__ import annotations

import re
import shlex
from typing import NamedTuple

from hookgate.topology import (
    archive_inbox,
    archive_name,
    cancel_stream,
    ledger_queue,
    status_exchange,
    unrouted_name,
)

#: Every service's dead-letter queue (a service's name is `[A-Za-z0-9][A-Za-z0-9_-]*`).
_ANY_DEAD_QUEUE = r"[A-Za-z0-9][A-Za-z0-9_-]*\.dead"


class Permissions(NamedTuple):
    configure: str
    write: str
    read: str

    def command(self, user: str, vhost: str = "/") -> str:
        """The `rabbitmqctl` line that grants them."""
        words = ["rabbitmqctl", "set_permissions", "-p", vhost, user, *self]
        return " ".join(shlex.quote(word) for word in words)


def gateway_permissions(exchange: str, *, status: bool = False) -> Permissions:
    """Publish to `exchange` (and, with `status`, to its status exchange), nothing else."""
    names = [exchange, status_exchange(exchange)] if status else [exchange]
    return Permissions(configure="^$", write=_any(names), read="^$")


def service_permissions(service: str, exchange: str, *, status: bool = False) -> Permissions:
    """Own queues only, plus reading the ingress exchange (to bind) and writing `amq.default`;
    with `status`, writing the status exchange and reading the cancellations stream."""
    own = _own_queues(service)
    write = [own, r"amq\.default"]
    read = [own, re.escape(exchange)]
    if status:
        write.append(re.escape(status_exchange(exchange)))
        read.append(re.escape(cancel_stream(exchange)))
    return Permissions(
        configure=f"^{own}$", write=f"^({'|'.join(write)})$", read=f"^({'|'.join(read)})$"
    )


def admin_permissions(exchange: str) -> Permissions:
    """What `hookgate admin` needs: record status, archive, replay (from dead-letter queues
    and the archive) and cancel."""
    ledger, inbox, stream = ledger_queue(exchange), archive_inbox(exchange), archive_name(exchange)
    status = status_exchange(exchange)
    return Permissions(
        configure=_any([status, ledger, cancel_stream(exchange), stream, inbox]),
        write=_any([ledger, inbox, "amq.default"]),
        read=_any(
            [exchange, unrouted_name(exchange), status, ledger, stream, inbox], _ANY_DEAD_QUEUE
        ),
    )


def deployer_permissions(exchange: str, services: list[str]) -> Permissions:
    """What `hookgate topology declare [--service …]` needs: configure every exchange and
    queue it declares, read and write the ones it binds and the default exchange."""
    ingress = re.escape(exchange)
    unrouted = re.escape(unrouted_name(exchange))
    queues = "|".join(_own_queues(s) for s in services)
    names = f"{ingress}|{unrouted}" + (f"|{queues}" if queues else "")
    return Permissions(
        configure=f"^({names})$",
        write=rf"^({unrouted}|amq\.default" + (f"|{queues})$" if queues else ")$"),
        read=f"^({names})$",
    )


def _any(names: list[str], *patterns: str) -> str:
    """A pattern matching exactly these names (and these patterns)."""
    escaped = [re.escape(name) for name in names] + list(patterns)
    return f"^{escaped[0]}$" if len(escaped) == 1 else f"^({'|'.join(escaped)})$"


def _own_queues(service: str) -> str:
    name = re.escape(service)
    return rf"{name}(\.retry\.[^.]+|\.dead)?"
