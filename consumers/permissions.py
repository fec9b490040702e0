"""Least-privilege RabbitMQ permissions for hookgate's users, as `rabbitmqctl set_permissions`
regular expressions (configure, write, read). deploy/README.md prints them for `webhooks` and
`billing`; tests/integration/test_consumer_permissions.py checks them on a real broker.

- The gateway only publishes to the ingress exchange: configure nothing, write the exchange,
  read nothing. (It checks, rather than declares, a topology it may not declare.)
- A service's user declares, binds, consumes and deletes its own queues (`billing`,
  `billing.retry.*`, `billing.dead`) and reads the ingress exchange to bind to it. It must
  write to `amq.default`, the default exchange, through which retry and dead-letter copies
  travel and through which tiers dead-letter back: RabbitMQ checks that permission on the
  exchange, not on the queue a message is routed to, so this user can publish into any queue
  of the vhost by name. Give services that must not reach each other vhosts of their own.
"""

from __future__ import annotations

import re
import shlex
from typing import NamedTuple

from hookgate.topology import unrouted_name


class Permissions(NamedTuple):
    configure: str
    write: str
    read: str

    def command(self, user: str, vhost: str = "/") -> str:
        """The `rabbitmqctl` line that grants them."""
        words = ["rabbitmqctl", "set_permissions", "-p", vhost, user, *self]
        return " ".join(shlex.quote(word) for word in words)


def gateway_permissions(exchange: str) -> Permissions:
    """Publish to `exchange`, and nothing else."""
    return Permissions(configure="^$", write=f"^{re.escape(exchange)}$", read="^$")


def service_permissions(service: str, exchange: str) -> Permissions:
    """Own queues only, plus reading the ingress exchange (to bind) and writing `amq.default`."""
    own = _own_queues(service)
    return Permissions(
        configure=f"^{own}$",
        write=rf"^({own}|amq\.default)$",
        read=f"^({own}|{re.escape(exchange)})$",
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


def _own_queues(service: str) -> str:
    name = re.escape(service)
    return rf"{name}(\.retry\.[^.]+|\.dead)?"
