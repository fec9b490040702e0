"""RabbitMQ definitions files: hookgate's topology steps (and users) as the JSON document that
`rabbitmqctl import_definitions`, the `load_definitions` config key and the management API's
`POST /api/definitions` load.

The steps are the very ones `hookgate.topology` declares (`hookgate.topology_spec`), so a broker
loaded from this file and one declared by hookgate hold the same exchanges, queues, arguments
and bindings. Every list is sorted and the JSON's keys too: the same topology gives the same
bytes, so the file can live in version control and be diffed. Only password hashes differ from
one export to the next (a fresh random salt each).

No policies: hookgate puts everything in queue arguments, fixed at declaration, and needs no
policy to work. An operator's own policies (e.g. a longer archive retention) stay theirs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from hookgate.topology_spec import Binding, Exchange, Queue, Step

#: The oldest RabbitMQ hookgate supports (quorum dead-lettering at-least-once, streams).
RABBIT_VERSION = "3.10.0"
#: RabbitMQ's default scheme: base64(salt + sha256(salt + password)), a 4-byte random salt.
HASHING_ALGORITHM = "rabbit_password_hashing_sha256"


@dataclass(frozen=True)
class User:
    """A broker user and its permissions in the exported vhost. An empty `password_hash` is a
    user that cannot log in with a password until `rabbitmqctl change_password` gives it one."""

    name: str
    configure: str
    write: str
    read: str
    password_hash: str = ""


def password_hash(password: str, salt: bytes | None = None) -> str:
    """The hash RabbitMQ stores for `password` (`rabbit_password_hashing_sha256`)."""
    salt = os.urandom(4) if salt is None else salt
    digest = hashlib.sha256(salt + password.encode("utf-8")).digest()
    return base64.b64encode(salt + digest).decode("ascii")


def definitions(steps: Iterable[Step], vhost: str, users: Sequence[User] = ()) -> dict[str, Any]:
    """The definitions document for `steps` in `vhost`. A name described twice must be
    described the same way (`ValueError` otherwise: two parts of hookgate disagree)."""
    exchanges: dict[str, dict[str, Any]] = {}
    queues: dict[str, dict[str, Any]] = {}
    bindings: set[tuple[str, str, str]] = set()
    for step in steps:
        if isinstance(step, Exchange):
            _add(exchanges, step.name, _exchange(step, vhost))
        elif isinstance(step, Queue):
            _add(queues, step.name, _queue(step, vhost))
        else:
            bindings.add((step.exchange, step.queue, step.routing_key))
    return {
        "rabbit_version": RABBIT_VERSION,
        "vhosts": [{"name": vhost}],
        "users": [_user(user) for user in sorted(users, key=lambda u: u.name)],
        "permissions": [_permission(u, vhost) for u in sorted(users, key=lambda u: u.name)],
        "exchanges": [exchanges[name] for name in sorted(exchanges)],
        "queues": [queues[name] for name in sorted(queues)],
        "bindings": [_binding(Binding(q, e, key), vhost) for e, q, key in sorted(bindings)],
        "policies": [],
    }


def render(document: dict[str, Any]) -> str:
    """The document as stable, indented JSON text (keys sorted), ending with a newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _add(found: dict[str, dict[str, Any]], name: str, entry: dict[str, Any]) -> None:
    if found.setdefault(name, entry) != entry:
        raise ValueError(f"{name!r} is described twice, differently: {found[name]} and {entry}")


def _exchange(step: Exchange, vhost: str) -> dict[str, Any]:
    return {
        "name": step.name,
        "vhost": vhost,
        "type": step.type,
        "durable": True,
        "auto_delete": False,
        "internal": False,
        "arguments": dict(step.arguments),
    }


def _queue(step: Queue, vhost: str) -> dict[str, Any]:
    return {
        "name": step.name,
        "vhost": vhost,
        "durable": True,
        "auto_delete": False,
        "arguments": dict(step.arguments),
    }


def _binding(step: Binding, vhost: str) -> dict[str, Any]:
    return {
        "source": step.exchange,
        "vhost": vhost,
        "destination": step.queue,
        "destination_type": "queue",
        "routing_key": step.routing_key,
        "arguments": {},
    }


def _user(user: User) -> dict[str, Any]:
    return {
        "name": user.name,
        "password_hash": user.password_hash,
        "hashing_algorithm": HASHING_ALGORITHM,
        "tags": [],
        "limits": {},
    }


def _permission(user: User, vhost: str) -> dict[str, Any]:
    return {
        "user": user.name,
        "vhost": vhost,
        "configure": user.configure,
        "write": user.write,
        "read": user.read,
    }
