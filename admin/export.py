"""`hookgate topology export`: the whole deployment's topology as a RabbitMQ definitions file.

What goes in is what hookgate's processes declare for this config and these services, from the
same step lists they declare (`hookgate.topology_spec`):

- always the ingress exchange, its alternate exchange and the unrouted queue (`topology
  declare`, every gateway and consumer start), and each `--service`'s dead-letter queue, retry
  tiers, work queue and bindings (`topology declare --service`, `hookgate consume`);
- with an `[admin]` table (event status), what `hookgate admin` and the consumers declare for
  it: the status exchange, the recorder's queue bound with `#`, and the cancellations stream;
- with `[ledger] archive = true` as well, the archive stream, its inbox bound to the unrouted
  exchange and, on the ingress exchange, with every `--service`'s patterns.

With `users`, the least-privilege user of each process kind and its permissions as
`consumers.permissions` computes them: `hookgate-gateway`, `hookgate-SERVICE` for each service,
`hookgate-admin` (with `[admin]`) and `hookgate-deploy`. A password is never written: a user
gets the hash of the password in an environment variable named for it, or no hash at all (it
cannot log in until `rabbitmqctl change_password` sets one).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from admin.config import LedgerSettings
from consumers.permissions import (
    Permissions,
    admin_permissions,
    deployer_permissions,
    gateway_permissions,
    service_permissions,
)
from hookgate.definitions import User, password_hash
from hookgate.errors import ConfigError
from hookgate.topology_spec import (
    ServiceShape,
    Step,
    archive_topology,
    cancel_topology,
    ingress_topology,
    service_topology,
    status_topology,
)

GATEWAY_USER = "hookgate-gateway"
ADMIN_USER = "hookgate-admin"
DEPLOY_USER = "hookgate-deploy"


@dataclass(frozen=True)
class Deployment:
    """What decides the topology: the ingress exchange, the services, whether the config has an
    `[admin]` table (`status`) and its `[ledger]` (the archive)."""

    exchange: str
    services: Sequence[ServiceShape]
    status: bool
    ledger: LedgerSettings

    @property
    def archive(self) -> bool:
        return self.status and self.ledger.archive


def topology_steps(deployment: Deployment) -> list[Step]:
    """Every declaration step of the deployment, in declaration order."""
    exchange = deployment.exchange
    steps: list[Step] = list(ingress_topology(exchange))
    if deployment.status:
        steps += [*status_topology(exchange), *cancel_topology(exchange)]
    if deployment.archive:
        patterns = sorted({h.pattern for s in deployment.services for h in s.handlers})
        ledger = deployment.ledger
        steps += archive_topology(
            exchange, ledger.retention_days, ledger.archive_max_bytes, patterns
        )
    for service in deployment.services:
        steps += service_topology(service, exchange)
    return steps


def users(deployment: Deployment, passwords: Mapping[str, str] | None = None) -> list[User]:
    """The least-privilege users and their permissions; `passwords` maps a user name to its
    password (hashed here, never kept). `ConfigError` for a password of no such user, or a
    service whose user name is another process kind's."""
    exchange, status = deployment.exchange, deployment.status
    granted: dict[str, Permissions] = {GATEWAY_USER: gateway_permissions(exchange, status=status)}
    if status:
        granted[ADMIN_USER] = admin_permissions(exchange)
    names = [service.name for service in deployment.services]
    granted[DEPLOY_USER] = deployer_permissions(exchange, names)
    for name in names:
        user = service_user(name)
        if user in granted:
            raise ConfigError(
                f"service {name!r}: its broker user would be {user!r}, which is another "
                "process's; rename the service or create its user by hand"
            )
        granted[user] = service_permissions(name, exchange, status=status)
    passwords = passwords or {}
    unknown = sorted(set(passwords) - set(granted))
    if unknown:
        raise ConfigError(
            f"--password-env: no user {unknown[0]!r} in this export (users: "
            f"{', '.join(sorted(granted))})"
        )
    return [
        User(name, *grant, password_hash(passwords[name]) if name in passwords else "")
        for name, grant in granted.items()
    ]


def service_user(service: str) -> str:
    """The broker user of a consumer service (`hookgate-billing`)."""
    return f"hookgate-{service}"
