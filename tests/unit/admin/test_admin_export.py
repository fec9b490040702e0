"""`hookgate topology export` (admin.export, admin.export_cli): what a config and its services
put in the definitions file, the users, and the command's output and errors."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from admin.config import LedgerSettings
from admin.export import Deployment, topology_steps, users
from consumers import Service
from consumers.permissions import deployer_permissions, gateway_permissions, service_permissions
from hookgate.cli import main
from hookgate.definitions import definitions
from hookgate.errors import ConfigError
from tests.cli_output import one_error_line
from tests.topology_services import audit, ledger

SERVICES = [
    "--service",
    "tests.topology_services:ledger",
    "--service",
    "tests.topology_services:audit",
]


def _document(**options: Any) -> dict[str, Any]:
    deployment = Deployment(
        exchange=options.pop("exchange", "webhooks"),
        services=options.pop("services", [ledger, audit]),
        status=options.pop("status", False),
        ledger=LedgerSettings(**options),
    )
    return definitions(topology_steps(deployment), "/")


def _queues(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {queue["name"]: queue["arguments"] for queue in document["queues"]}


def _bindings(document: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(b["source"], b["destination"], b["routing_key"]) for b in document["bindings"]}


def test_each_queue_kind_has_its_arguments() -> None:
    queues = _queues(_document())

    assert queues["webhooks.unrouted"] == {"x-queue-type": "quorum"}
    assert queues["hgx-ledger"] == {
        "x-queue-type": "quorum",
        "x-delivery-limit": 3,
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": "hgx-ledger.dead",
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }
    assert queues["hgx-ledger.retry.90s"] == {
        "x-queue-type": "quorum",
        "x-message-ttl": 90_000,
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": "hgx-ledger",
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }
    assert queues["hgx-ledger.dead"] == {"x-queue-type": "quorum"}


def test_a_service_with_several_tiers_has_one_queue_per_tier_each_with_its_ttl() -> None:
    queues = _queues(_document(services=[ledger]))

    tiers = {name: args["x-message-ttl"] for name, args in queues.items() if ".retry." in name}
    assert tiers == {
        "hgx-ledger.retry.250ms": 250,
        "hgx-ledger.retry.5s": 5_000,
        "hgx-ledger.retry.90s": 90_000,
        "hgx-ledger.retry.2m": 120_000,
        "hgx-ledger.retry.1h": 3_600_000,
    }


def test_the_ingress_exchange_routes_the_unmatched_to_the_unrouted_queue() -> None:
    document = _document(exchange="events", services=[])

    exchanges = {e["name"]: (e["type"], e["arguments"]) for e in document["exchanges"]}
    assert exchanges == {
        "events": ("topic", {"alternate-exchange": "events.unrouted"}),
        "events.unrouted": ("fanout", {}),
    }
    assert _bindings(document) == {("events.unrouted", "events.unrouted", "")}
    assert list(_queues(document)) == ["events.unrouted"]


def test_without_an_admin_table_there_is_no_status_cancel_or_archive() -> None:
    names = set(_queues(_document(archive=True)))

    assert not {n for n in names if n.startswith("webhooks.") and n != "webhooks.unrouted"}


def test_with_admin_the_status_exchange_ledger_queue_and_cancel_stream_are_there() -> None:
    document = _document(status=True)

    queues = _queues(document)
    assert queues["webhooks.status.ledger"] == {"x-queue-type": "quorum"}
    assert queues["webhooks.cancellations"]["x-queue-type"] == "stream"
    assert queues["webhooks.cancellations"]["x-max-age"] == "7D"
    assert ("webhooks.status", "webhooks.status.ledger", "#") in _bindings(document)
    assert "webhooks.archive" not in queues


def test_with_the_archive_on_its_stream_inbox_and_every_services_patterns() -> None:
    document = _document(status=True, archive=True, retention_days=3, archive_max_bytes=2**30)

    queues = _queues(document)
    assert queues["webhooks.archive"] == {
        "x-queue-type": "stream",
        "x-max-age": "259200s",
        "x-max-length-bytes": 2**30,
        "x-stream-max-segment-size-bytes": 2**30 // 20,
    }
    assert queues["webhooks.archive.inbox"] == {"x-queue-type": "quorum"}
    inbox = {(s, key) for s, d, key in _bindings(document) if d == "webhooks.archive.inbox"}
    assert inbox == {
        ("webhooks.unrouted", ""),
        ("webhooks", "#"),
        ("webhooks", "stripe.invoice.*"),
        ("webhooks", "stripe.charge.#"),
    }


def test_users_get_what_consumers_permissions_computes_and_no_password() -> None:
    deployment = Deployment("webhooks", [ledger, audit], False, LedgerSettings())

    granted = {u.name: (u.configure, u.write, u.read, u.password_hash) for u in users(deployment)}

    assert granted == {
        "hookgate-gateway": (*gateway_permissions("webhooks"), ""),
        "hookgate-deploy": (*deployer_permissions("webhooks", ["hgx-ledger", "hgx-audit"]), ""),
        "hookgate-hgx-ledger": (*service_permissions("hgx-ledger", "webhooks"), ""),
        "hookgate-hgx-audit": (*service_permissions("hgx-audit", "webhooks"), ""),
    }


def test_a_password_is_hashed_and_only_for_a_user_of_the_export() -> None:
    deployment = Deployment("webhooks", [ledger], True, LedgerSettings())

    hashed = {u.name: u.password_hash for u in users(deployment, {"hookgate-admin": "pw"})}
    assert hashed["hookgate-admin"] not in ("", "pw")
    assert {name for name, value in hashed.items() if value} == {"hookgate-admin"}
    with pytest.raises(ConfigError, match="no user 'hookgate-billing'"):
        users(deployment, {"hookgate-billing": "pw"})


def test_a_service_whose_user_would_be_another_process_kinds_is_refused() -> None:
    deployment = Deployment("webhooks", [Service("gateway")], False, LedgerSettings())

    with pytest.raises(ConfigError, match="'hookgate-gateway', which is another process's"):
        users(deployment)


def test_the_command_writes_stable_json_to_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no ./hookgate.toml: the defaults
    monkeypatch.delenv("HOOKGATE_CONFIG", raising=False)

    assert main(["topology", "export", *SERVICES]) == 0
    first = capsys.readouterr().out
    assert main(["topology", "export", "--service", SERVICES[3], "--service", SERVICES[1]]) == 0
    second = capsys.readouterr().out

    assert first == second
    assert "hgx-ledger.retry.1h" in {q["name"] for q in json.loads(first)["queues"]}


def test_the_command_reads_admin_and_the_archive_from_the_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "hookgate.toml"
    config.write_text(
        '[broker]\nexchange = "hooks"\n\n[admin]\ntoken = "${UNSET_ADMIN_TOKEN}"\n\n'
        '[ledger]\nbackend = "postgres"\nurl = "${UNSET_LEDGER_URL}"\narchive = true\n'
    )
    monkeypatch.delenv("HOOKGATE_BROKER_URL", raising=False)

    assert main(["topology", "export", "--config", str(config), "--vhost", "prod"]) == 0

    document = json.loads(capsys.readouterr().out)
    assert {q["name"] for q in document["queues"]} == {
        "hooks.unrouted",
        "hooks.status.ledger",
        "hooks.cancellations",
        "hooks.archive",
        "hooks.archive.inbox",
    }
    assert document["vhosts"] == [{"name": "prod"}]
    assert document["users"] == []


def test_output_file_is_private_and_holds_no_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HG_TEST_PW", "correct-horse-battery")
    out = tmp_path / "definitions.json"

    out.write_text("an older export, readable by all")
    out.chmod(0o644)  # O_CREAT keeps an existing file's mode: the export must tighten it

    password = ["--password-env", "hookgate-gateway=HG_TEST_PW"]
    code = main(["topology", "export", "--users", *password, "--output", str(out)])

    assert code == 0
    assert capsys.readouterr().out == ""
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    text = out.read_text()
    assert "correct-horse-battery" not in text
    hashes = {u["name"]: u["password_hash"] for u in json.loads(text)["users"]}
    assert hashes["hookgate-gateway"]
    assert hashes["hookgate-deploy"] == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--password-env", "hookgate-gateway=X"], "--password-env needs --users"),
        (["--users", "--password-env", "nonsense"], "expected USER=VAR"),
        (["--users", "--password-env", "hookgate-gateway=HG_UNSET_VAR"], "HG_UNSET_VAR is not"),
        (["--users", "--password-env", "who=HG_TEST_PW"], "no user 'who' in this export"),
        (["--service", "no_such_module_hg:svc"], "cannot import 'no_such_module_hg'"),
        (["--output", "/nonexistent-dir/x.json"], "--output '/nonexistent-dir/x.json'"),
    ],
)
def test_bad_input_is_one_error_line(
    args: list[str],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HG_TEST_PW", "pw")
    monkeypatch.delenv("HG_UNSET_VAR", raising=False)

    assert main(["topology", "export", *args]) == 2

    assert message in one_error_line(capsys)


def test_the_shipped_example_definitions_are_what_export_writes_today(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """deploy/rabbitmq/definitions.json (the example config and the example service) must not
    drift from the code: regenerate it with the command in deploy/README.md."""
    root = Path(__file__).resolve().parents[3]
    monkeypatch.chdir(root)
    monkeypatch.delenv("HOOKGATE_BROKER_URL", raising=False)
    config = "deploy/examples/hookgate.toml"

    code = main(
        [
            "topology",
            "export",
            "--config",
            config,
            "--service",
            "consumers.examples.billing:billing",
        ]
    )

    assert code == 0
    assert capsys.readouterr().out == (root / "deploy/rabbitmq/definitions.json").read_text()
