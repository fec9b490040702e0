"""`hookgate topology export` against a real broker: a vhost loaded from the exported file holds
exactly what hookgate declares in another vhost of the same node, and the exported users have
the permissions `consumers.permissions` computes (and log in with a password from --password-env).

The node is this module's own (`tests.chaos.node.RabbitNode`, no plugins: the definitions are
loaded with `rabbitmqctl import_definitions`), never the shared broker: importing definitions
creates users, which must not leak onto a broker other engineers use.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiormq
import pytest

from admin import archive
from admin.export import ADMIN_USER, DEPLOY_USER, GATEWAY_USER, service_user
from consumers.permissions import (
    admin_permissions,
    deployer_permissions,
    gateway_permissions,
    service_permissions,
)
from hookgate.topology import declare_cancel_stream, declare_status_topology
from tests.chaos.node import NodeError, RabbitNode, private_node
from tests.topology_services import audit, ledger

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SERVICES = [
    "tests.topology_services:ledger",
    "tests.topology_services:audit",
]
_RETENTION_DAYS, _ARCHIVE_BYTES = 3, 200_000_000
_WITH_ADMIN = f"""
[admin]
token = "${{HOOKGATE_ADMIN_TOKEN}}"

[ledger]
archive = true
retention_days = {_RETENTION_DAYS}
archive_max_bytes = {_ARCHIVE_BYTES}
"""


@pytest.fixture(scope="module")
def node() -> Iterator[RabbitNode]:
    """One private node for the module (starting one takes several seconds)."""
    with private_node("hgtopo-") as node:
        yield node


def test_a_vhost_loaded_from_the_export_matches_one_hookgate_declared(
    node: RabbitNode, tmp_path: Path
) -> None:
    config = _config(tmp_path, "")
    declared, imported = _vhosts()
    _grant_guest(node, declared, create=True)
    _hookgate(node, "topology", "declare", "--config", config, *_services(), vhost=declared)

    _import(node, _export(node, config, imported))

    listing = _listing(node, imported)
    assert listing == _listing(node, declared)
    names = {q["name"] for q in listing["queues"]}
    assert names == {
        "webhooks.unrouted",
        *(f"hgx-ledger{s}" for s in ["", ".dead", ".retry.250ms", ".retry.5s", ".retry.90s"]),
        *(f"hgx-ledger{s}" for s in [".retry.2m", ".retry.1h"]),
        *(f"hgx-audit{s}" for s in ["", ".dead", ".retry.30s"]),
    }
    # What every consumer does at start: declare again over what was loaded. The broker
    # refuses a redeclaration whose arguments differ, so this passing means they are equal.
    _grant_guest(node, imported, create=False)
    _hookgate(node, "topology", "declare", "--config", config, *_services(), vhost=imported)
    assert _listing(node, imported) == listing


def test_with_admin_and_the_archive_the_export_matches_what_admin_and_declare_create(
    node: RabbitNode, tmp_path: Path
) -> None:
    config = _config(tmp_path, _WITH_ADMIN)
    declared, imported = _vhosts()
    _grant_guest(node, declared, create=True)
    url = _url(node, declared)
    # What `hookgate admin` declares (recorder, cancels, archive), then the deploy-time
    # `topology declare`, which binds the services' patterns to the existing archive inbox.
    asyncio.run(_declare_admin_topology(url))
    _grant_guest(node, declared, create=True)
    _hookgate(node, "topology", "declare", "--config", config, *_services(), vhost=declared)

    _import(node, _export(node, config, imported))

    listing = _listing(node, imported)
    assert listing == _listing(node, declared)
    queues = {q["name"]: q for q in listing["queues"]}
    assert queues["webhooks.archive"]["type"] == "stream"
    assert queues["webhooks.cancellations"]["type"] == "stream"
    assert queues["webhooks.status.ledger"]["type"] == "quorum"
    inbox = {
        b["routing_key"] for b in listing["bindings"] if b["destination_name"].endswith("inbox")
    }
    assert inbox == {"", "#", "stripe.invoice.*", "stripe.charge.#"}


def test_exported_users_have_the_computed_permissions_and_log_in_with_their_password(
    node: RabbitNode, tmp_path: Path
) -> None:
    config = _config(tmp_path, _WITH_ADMIN)
    _, vhost = _vhosts()
    password = uuid.uuid4().hex
    path = _export(
        node,
        config,
        vhost,
        "--users",
        "--password-env",
        f"{GATEWAY_USER}=HG_TEST_GATEWAY_PASSWORD",
        env={"HG_TEST_GATEWAY_PASSWORD": password},
    )
    _import(node, path)

    granted = {
        p["user"]: (p["configure"], p["write"], p["read"])
        for p in _json(node, "list_permissions", "-p", vhost)
    }
    assert granted == {
        GATEWAY_USER: tuple(gateway_permissions("webhooks", status=True)),
        ADMIN_USER: tuple(admin_permissions("webhooks")),
        DEPLOY_USER: tuple(deployer_permissions("webhooks", [ledger.name, audit.name])),
        service_user(ledger.name): tuple(service_permissions(ledger.name, "webhooks", status=True)),
        service_user(audit.name): tuple(service_permissions(audit.name, "webhooks", status=True)),
    }
    assert password not in path.read_text()
    asyncio.run(_login(_url(node, vhost, GATEWAY_USER, password)))
    for user, secret in [(GATEWAY_USER, "wrong"), (ADMIN_USER, ""), (ADMIN_USER, password)]:
        with pytest.raises(aiormq.exceptions.ProbableAuthenticationError):
            asyncio.run(_login(_url(node, vhost, user, secret)))


async def _declare_admin_topology(url: str) -> None:
    await archive.declare(url, "webhooks", _RETENTION_DAYS, _ARCHIVE_BYTES, patterns=[])
    connection = await aiormq.connect(url)
    try:
        channel = await connection.channel()
        await declare_status_topology(channel, "webhooks")
        await declare_cancel_stream(channel, "webhooks")
    finally:
        await connection.close()


async def _login(url: str) -> None:
    connection = await aiormq.connect(url)
    await connection.close()


def _listing(node: RabbitNode, vhost: str) -> dict[str, Any]:
    """What the broker holds in `vhost`, sorted, without its built-in exchanges and bindings."""
    exchanges = _json(
        node, "list_exchanges", "-p", vhost, "name", "type", "durable", "auto_delete", "arguments"
    )
    queues = _json(node, "list_queues", "-p", vhost, "name", "durable", "arguments", "type")
    bindings = _json(
        node, "list_bindings", "-p", vhost, "source_name", "source_kind", "destination_name",
        "destination_kind", "routing_key", "arguments",
    )  # fmt: skip
    return {
        "exchanges": _sorted(
            [e for e in exchanges if e["name"] and not e["name"].startswith("amq.")]
        ),
        "queues": _sorted(queues),
        "bindings": _sorted([b for b in bindings if b["source_name"]]),  # "": the default exchange
        "policies": _json(node, "list_policies", "-p", vhost),
    }


def _sorted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = [{**row, "arguments": _arguments(row["arguments"])} for row in rows]
    return sorted(rows, key=lambda row: json.dumps(row, sort_keys=True))


def _arguments(arguments: list[list[Any]]) -> list[list[Any]]:
    """AMQP declares carry each integer in the smallest field type that holds it (`byte` 3,
    `short` 5000, `signedint` 90000) where a definitions file gives every integer as `long`;
    the broker compares argument values, not their field types (the redeclare over the
    imported topology in the first test proves it), so neither does this listing."""
    return [[key, "integer" if kind in _INTEGER else kind, value] for key, kind, value in arguments]


_INTEGER = {"byte", "short", "signedint", "long", "unsignedbyte", "unsignedshort", "unsignedint"}


def _json(node: RabbitNode, *args: str) -> list[dict[str, Any]]:
    out = node.ctl(*args, "--formatter", "json", "--quiet")
    rows: list[dict[str, Any]] = json.loads(out or "[]")
    return rows


def _vhosts() -> tuple[str, str]:
    tag = uuid.uuid4().hex[:8]
    return f"hgx-declared-{tag}", f"hgx-imported-{tag}"


def _config(tmp_path: Path, extra: str) -> str:
    path = tmp_path / "hookgate.toml"
    path.write_text('[broker]\nexchange = "webhooks"\n' + extra)
    return str(path)


def _services() -> list[str]:
    return [word for reference in SERVICES for word in ("--service", reference)]


def _export(
    node: RabbitNode, config: str, vhost: str, *extra: str, env: dict[str, str] | None = None
) -> Path:
    """Export for `vhost` into a file the node's user can read (`import_definitions` reads it
    on the node's side)."""
    path = node.base / f"definitions-{vhost}.json"
    _hookgate(
        node, "topology", "export", "--config", config, *_services(),
        "--vhost", vhost, "--output", str(path), *extra, env=env,
    )  # fmt: skip
    path.chmod(0o644)
    return path


def _import(node: RabbitNode, path: Path) -> None:
    """Import, and wait until it is done: RabbitMQ 3.10 answers once the import has started
    ("This process is asynchronous"). Done when every queue, binding and user is there."""
    document = json.loads(path.read_text())
    vhost = document["vhosts"][0]["name"]
    node.ctl("import_definitions", str(path))
    deadline = time.monotonic() + 30
    while True:
        try:
            queues = {q["name"] for q in _json(node, "list_queues", "-p", vhost, "name")}
            bindings = len(_json(node, "list_bindings", "-p", vhost, "source_name"))
            users = {u["user"] for u in _json(node, "list_users")}
        except NodeError:  # the vhost is not there yet
            queues, bindings, users = set(), 0, set()
        # list_bindings also lists each queue's implicit binding to the default exchange.
        if (
            queues == {q["name"] for q in document["queues"]}
            and bindings == len(document["bindings"]) + len(queues)
            and users >= {u["name"] for u in document["users"]}
        ):
            return
        assert time.monotonic() < deadline, f"the import of {path.name} did not finish in 30 s"
        time.sleep(0.2)


def _hookgate(
    node: RabbitNode, *args: str, env: dict[str, str] | None = None, vhost: str = "/"
) -> str:
    """Run `hookgate ARGS` as guest against `vhost`."""
    full_env = {**os.environ, "HOOKGATE_BROKER_URL": _url(node, vhost), **(env or {})}
    full_env.pop("HOOKGATE_CONFIG", None)
    result = subprocess.run(
        [sys.executable, "-m", "hookgate", *args],
        cwd=REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"hookgate {' '.join(args)}: {result.stderr}"
    return result.stdout


def _grant_guest(node: RabbitNode, vhost: str, *, create: bool) -> None:
    """Let guest declare in `vhost` (created here, or by an import: no permissions there)."""
    if create:
        node.ctl("add_vhost", vhost)
    node.ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")


def _url(node: RabbitNode, vhost: str, user: str = "guest", password: str = "guest") -> str:
    return f"amqp://{quote(user)}:{quote(password)}@127.0.0.1:{node.port}/{quote(vhost, safe='')}"
