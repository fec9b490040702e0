"""`hookgate consume` and `hookgate dlq`: help, and the refusals that need no broker."""

from __future__ import annotations

from pathlib import Path

import pytest

from consumers import ConsumerError
from consumers.run import load_service
from hookgate.cli import main
from tests.cli_output import one_error_line


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("HOOKGATE_BROKER_URL", raising=False)
    monkeypatch.delenv("HOOKGATE_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(
    ("argv", "purpose"),
    [
        (["consume", "--help"], "Run the consumer service MODULE:SERVICE"),
        (["dlq", "--help"], "the dead-letter queue of consumer service"),
        (["dlq", "list", "--help"], "Nothing is removed"),
        (["dlq", "show", "--help"], "error, traceback, headers and body"),
        (["dlq", "replay", "--help"], "confirmed its copy"),
        (["dlq", "purge", "--help"], "Needs --yes"),
        (["topology", "declare", "--help"], "--service MODULE:SERVICE"),
        (["topology", "show", "--help"], "Uses AMQP only (no management plugin)"),
        (["topology", "delete", "--help"], "unless --force. Stop the service first."),
        (["peek", "--help"], "leave them in the queue, in order"),
        (["dlq", "replay", "--help"], "--allow-unauthenticated"),
    ],
)
def test_every_consumer_command_has_help(
    argv: list[str], purpose: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 0
    assert purpose in " ".join(capsys.readouterr().out.split())


def test_dlq_without_a_command_prints_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dlq"]) == 2
    assert "list" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("no_colon", "expected MODULE:SERVICE"),
        ("missing_module_xyz:svc", "cannot import 'missing_module_xyz'"),
        ("consumers.examples.billing:nothing", "is not a consumers.Service (got NoneType)"),
        ("consumers.examples.billing:log", "is not a consumers.Service (got Logger)"),
    ],
)
def test_bad_service_references_are_one_line_errors(
    reference: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["consume", reference]) == 2
    assert message in one_error_line(capsys)


def test_a_module_that_fails_to_import_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "broken_service_mod.py").write_text("raise RuntimeError('bad config')\n")
    assert main(["consume", "broken_service_mod:svc"]) == 2
    line = one_error_line(capsys)
    assert "cannot import 'broken_service_mod': RuntimeError: bad config" in line


def test_a_service_without_handlers_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty_service_mod.py").write_text(
        "from consumers import Service\nsvc = Service('empty')\n"
    )
    with pytest.raises(ConsumerError, match="has no handlers"):
        load_service("empty_service_mod:svc")


def test_replay_needs_a_selection(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dlq", "replay", "billing"]) == 2
    assert "--event-id ID (repeatable) or --all" in one_error_line(capsys)
    assert main(["dlq", "replay", "billing", "--all", "--event-id", "x"]) == 2
    assert "--event-id ID (repeatable) or --all" in one_error_line(capsys)


def test_a_named_config_file_must_exist(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dlq", "list", "billing", "--config", "missing.toml"]) == 2
    assert "cannot read config file 'missing.toml'" in one_error_line(capsys)


def test_broker_settings_come_from_the_broker_table_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # No sources, and a secret variable that is not set: consumers do not need them. Port 1
    # refuses the connection: the error is about the broker, not the config.
    (tmp_path / "hookgate.toml").write_text(
        '[broker]\nurl = "amqp://guest:${BROKER_PASSWORD}@127.0.0.1:1/"\n'
        '[sources.stripe]\nprovider = "stripe"\nsecrets = ["${UNSET_SECRET}"]\n'
    )
    monkeypatch.setenv("BROKER_PASSWORD", "Sup3rSecretPw")
    assert main(["dlq", "list", "billing"]) == 2
    assert "cannot connect to the broker" in one_error_line(capsys)


def test_broker_errors_never_show_the_password() -> None:
    from gateway.errors import redact

    url = "amqp://guest:Sup3rSecretPw@rabbit:5672/"
    text = f"ConsumerError: cannot connect to {url}" + "x" * 400
    redacted = redact(text, url)
    assert redacted.startswith("ConsumerError: cannot connect to amqp://guest:***@rabbit:5672/x")
    assert len(redacted) == 300
    assert "Sup3r" not in redact(text[:40] + "Sup3rSecretPw", url)


def test_consume_metrics_port_must_be_a_port(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["consume", "x:y", "--metrics-port", "70000"])
    assert exit_.value.code == 2
    assert "must be 0 to 65535" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["peek", "billing"], "'billing' may be a work queue with a delivery limit"),
        (["topology", "delete", "--service", "nope"], "expected MODULE:SERVICE"),
        (["topology", "show", "--service", "missing_module_xyz:svc"], "cannot import"),
    ],
)
def test_consumer_tools_refuse_bad_input_in_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in one_error_line(capsys)
