"""The `hookgate` command in-process (`hookgate.cli.main`): help, check-config, providers, send."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hookgate.cli import main
from providers import (
    Options,
    Secret,
    SignedRequest,
    SourceSpec,
    VerifiedEvent,
    WebhookRequest,
)
from providers.builtin.mailgun import MailgunProvider
from providers.stripe import StripeProvider
from tests.cli_output import one_error_line

GOOD = """
[broker]
url = "amqp://guest:BrokerPassw0rd@rabbit.example:5672/"

[sources.stripe]
provider = "stripe"
secrets = ["${HOOKGATE_TEST_STRIPE_SECRET}"]
"""
STRIPE_SECRET = "whsec_TopSecretValue"

WriteConfig = Callable[[str], Path]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOOKGATE_BROKER_URL", raising=False)
    monkeypatch.delenv("HOOKGATE_CONFIG", raising=False)
    monkeypatch.setenv("HOOKGATE_TEST_STRIPE_SECRET", STRIPE_SECRET)


# --- help ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "purpose"),
    [
        ([], "Webhook ingestion gateway"),
        (["serve"], "Run the gateway"),
        (["check-config"], "Validate the config file"),
        (["topology"], "RabbitMQ topology"),
        (["topology", "declare"], "Declare (idempotently) the gateway's exchange"),
        (["providers"], "List the providers installed"),
        (["send"], "Sign PAYLOAD_FILE with the source's provider"),
    ],
)
def test_help_of_every_command_exits_0_and_states_its_purpose(
    argv: list[str], purpose: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main([*argv, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: hookgate")
    assert purpose in " ".join(out.split())  # argparse re-wraps descriptions


def test_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("serve", "check-config", "topology", "providers", "send"):
        assert command in out


def test_no_command_prints_usage_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("usage: hookgate")


def test_unknown_command_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
    assert "invalid choice: 'frobnicate'" in capsys.readouterr().err


@pytest.mark.parametrize("workers", ["0", "-1", "two"])
def test_serve_refuses_a_bad_worker_count(workers: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["serve", "--workers", workers])
    assert info.value.code == 2
    assert "--workers" in capsys.readouterr().err.splitlines()[-1]


@pytest.mark.parametrize(("given", "expected"), [("auto", len(os.sched_getaffinity(0))), ("3", 3)])
def test_serve_workers_auto_is_one_per_cpu_this_process_may_use(
    given: str, expected: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[int] = []

    def serve(path: str, *, host: str | None, port: int | None, workers: int) -> int:
        started.append(workers)
        return 0

    monkeypatch.setattr("gateway.serve.serve", serve)
    assert main(["serve", "--workers", given]) == 0
    assert started == [expected]


# --- check-config ---------------------------------------------------------------------------------


def test_check_config_good_file_prints_ok_and_returns_0(
    write_config: WriteConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(GOOD)

    assert main(["check-config", "--config", str(path)]) == 0

    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith(f"config OK: {path}")
    assert "amqp://guest:***@rabbit.example:5672/" in out
    assert "/webhooks/stripe -> stripe" in out
    assert "BrokerPassw0rd" not in out
    assert STRIPE_SECRET not in out


def test_check_config_warns_about_sources_open_to_replay(
    write_config: WriteConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        GOOD
        + '[sources.github]\nprovider = "github"\nsecrets = ["gh-secret-1"]\n'
        + '[sources.github-fenced]\nprovider = "github"\nsecrets = ["gh-secret-2"]\n'
        + 'allowed_ips = ["192.30.252.0/22"]\n'
    )
    assert main(["check-config", "-c", str(write_config(text))]) == 0
    warnings = [line for line in capsys.readouterr().out.splitlines() if "warning" in line]
    # Stripe signs a timestamp; a fenced GitHub source only takes GitHub's addresses.
    assert len(warnings) == 1
    assert warnings[0].startswith("  warning  sources.github: provider 'github' signs no timestamp")
    assert "allowed_ips" in warnings[0]


def test_check_config_short_option(
    write_config: WriteConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", "-c", str(write_config(GOOD))]) == 0
    assert "config OK" in capsys.readouterr().out


def test_check_config_reads_path_from_hookgate_config(
    write_config: WriteConfig, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(GOOD)
    monkeypatch.setenv("HOOKGATE_CONFIG", str(path))
    assert main(["check-config"]) == 0
    assert f"config OK: {path}" in capsys.readouterr().out


def test_check_config_defaults_to_hookgate_toml_in_working_directory(
    write_config: WriteConfig, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(GOOD)
    assert path.name == "hookgate.toml"
    monkeypatch.chdir(path.parent)
    assert main(["check-config"]) == 0
    assert "config OK: hookgate.toml" in capsys.readouterr().out


def test_check_config_accepts_a_module_class_provider_reference(
    write_config: WriteConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(
        """
        [sources.payments]
        provider = "providers.stripe:StripeProvider"
        secrets = ["whsec_x"]
        """
    )
    assert main(["check-config", "-c", str(path)]) == 0
    assert "/webhooks/payments -> providers.stripe:StripeProvider" in capsys.readouterr().out


_STRIPE = '[sources.stripe]\nprovider = "stripe"\n'


@pytest.mark.parametrize(
    ("text", "key_path"),
    [
        (
            _STRIPE + 'secrets = ["whsec_x"]\ntolerance_seconds = "300"\n',
            "sources.stripe.tolerance_seconds: expected a number",
        ),
        (
            _STRIPE + 'secrets = ["${HOOKGATE_TEST_UNSET_VAR}"]\n',
            "sources.stripe.secrets[0]: environment variable HOOKGATE_TEST_UNSET_VAR",
        ),
        (
            "[gateway]\nprot = 1\n" + _STRIPE + 'secrets = ["whsec_x"]\n',
            "gateway.prot: unknown key",
        ),
        ('[spool]\nenabled = "yes"\n' + _STRIPE + 'secrets = ["whsec_x"]\n', "spool.enabled:"),
        (
            '[dedupe]\nbackend = "postgres"\n' + _STRIPE + 'secrets = ["whsec_x"]\n',
            "dedupe.backend:",
        ),
        ('[sources.Stripe]\nprovider = "stripe"\nsecrets = ["whsec_x"]\n', "sources.Stripe:"),
        (_STRIPE + 'secrets = [""]\n', "sources.stripe.secrets[0]: empty secret"),
        (_STRIPE + "secrets = []\n", "sources.stripe.secrets: at least one secret"),
        (
            _STRIPE + 'secrets = ["whsec_x"]\nsignature_heder = "x"\n',
            "sources.stripe.signature_heder: unknown option",
        ),
        (
            '[sources.stripe]\nprovider = "no-such-provider"\nsecrets = ["whsec_x"]\n',
            "sources.stripe.provider: no provider named 'no-such-provider'",
        ),
        (
            '[sources.stripe]\nprovider = "no_such_module:Cls"\nsecrets = ["whsec_x"]\n',
            "sources.stripe.provider: cannot import module 'no_such_module'",
        ),
        (
            '[sources.stripe]\nprovider = "providers.stripe:Nope"\nsecrets = ["whsec_x"]\n',
            "sources.stripe.provider: module 'providers.stripe' has no provider class 'Nope'",
        ),
        (
            '[broker]\nurl = "http://rabbit/"\n' + _STRIPE + 'secrets = ["whsec_x"]\n',
            "broker.url: expected an amqp",
        ),
        ("[gateway]\n", "sources: no source is configured"),
        ("[sources.stripe\n", "not valid TOML"),
    ],
)
def test_check_config_bad_file_is_one_error_line_naming_the_key_path(
    text: str, key_path: str, write_config: WriteConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(text)
    assert main(["check-config", "--config", str(path)]) == 2
    assert key_path in one_error_line(capsys)


def test_check_config_bad_broker_url_error_does_not_echo_the_url(
    write_config: WriteConfig, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOOKGATE_BROKER_URL", "https://admin:EnvBrokerPassw0rd@rabbit/")
    assert main(["check-config", "--config", str(write_config(GOOD))]) == 2
    line = one_error_line(capsys)
    assert line.startswith("hookgate: error: HOOKGATE_BROKER_URL:")
    assert "EnvBrokerPassw0rd" not in line


def test_check_config_missing_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.toml"
    assert main(["check-config", "--config", str(missing)]) == 2
    line = one_error_line(capsys)
    assert "cannot read config file" in line
    assert str(missing) in line


def test_check_config_plugin_that_crashes_fails_closed_in_one_line(
    tmp_path: Path,
    write_config: WriteConfig,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "hookgate_test_crashing_provider.py").write_text(
        "class Crashing:\n    def __init__(self, spec):\n        raise ZeroDivisionError('boom')\n"
    )
    monkeypatch.syspath_prepend(str(plugins))
    path = write_config(
        """
        [sources.custom]
        provider = "hookgate_test_crashing_provider:Crashing"
        secrets = ["s"]
        """
    )
    assert main(["check-config", "--config", str(path)]) == 2
    line = one_error_line(capsys)
    assert "sources.custom:" in line
    assert "ZeroDivisionError" in line


def test_check_config_broker_url_with_invalid_port_isone_error_line(
    write_config: WriteConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(
        '[broker]\nurl = "amqp://u:pw@rabbit:99999/"\n' + _STRIPE + 'secrets = ["x"]\n'
    )
    assert main(["check-config", "--config", str(path)]) == 2
    assert "broker.url" in one_error_line(capsys)


def test_serve_with_bad_config_is_one_error_line_before_starting(
    write_config: WriteConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(_STRIPE + "secrets = []\n")
    assert main(["serve", "--config", str(path)]) == 2
    assert "sources.stripe.secrets" in one_error_line(capsys)


def test_topology_declare_with_bad_config_isone_error_line(
    write_config: WriteConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config('[broker]\nexchange = "amq.direct"\n' + _STRIPE + 'secrets = ["x"]\n')
    assert main(["topology", "declare", "--config", str(path)]) == 2
    assert "broker.exchange" in one_error_line(capsys)


# --- providers ------------------------------------------------------------------------------------


def test_providers_lists_the_built_ins(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["providers"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    listed = {line.split()[0]: line for line in out.splitlines()}
    for name in ("stripe", "github", "standard-webhooks", "hmac"):
        assert name in listed
    assert "providers.stripe:StripeProvider" in listed["stripe"]
    names = [line.split()[0] for line in out.splitlines()]
    assert names == sorted(names)


# --- send -----------------------------------------------------------------------------------------


class _FakeSigner:
    """Stands in for `providers.sign` (the providers' signing capability, another package's)."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def __call__(self, provider: object, body: bytes, secret: str, **kwargs: Any) -> SignedRequest:
        self.calls.append((provider, body, secret, kwargs))
        return SignedRequest(body, {"x-test-signature": f"signed-{len(body)}"})


class _FakeResponse(io.BytesIO):
    status = 200


@pytest.fixture
def signer(monkeypatch: pytest.MonkeyPatch) -> _FakeSigner:
    fake = _FakeSigner()
    monkeypatch.setattr("gateway.send.sign", fake)
    return fake


@pytest.fixture
def posted(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Capture what `send` would POST instead of touching the network."""
    requests: list[Any] = []

    def urlopen(request: Any, timeout: float) -> _FakeResponse:
        requests.append(request)
        return _FakeResponse(b'{"status":"accepted"}')

    monkeypatch.setattr("urllib.request.urlopen", urlopen)
    return requests


def test_send_unknown_source_is_one_line_and_exit_2(
    write_config: WriteConfig,
    tmp_path: Path,
    signer: _FakeSigner,
    posted: list[Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    payload = tmp_path / "event.json"
    payload.write_bytes(b"{}")
    path = write_config(GOOD)

    assert main(["send", "--config", str(path), "nope", str(payload)]) == 2

    line = one_error_line(capsys)
    assert "no source named 'nope'" in line
    assert "stripe" in line  # names the sources that exist
    assert signer.calls == []
    assert posted == []


def test_send_missing_payload_file_is_one_line_and_exit_2(
    write_config: WriteConfig,
    tmp_path: Path,
    signer: _FakeSigner,
    posted: list[Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    missing = tmp_path / "absent.json"
    assert main(["send", "-c", str(write_config(GOOD)), "stripe", str(missing)]) == 2
    assert "cannot read payload file" in one_error_line(capsys)
    assert posted == []


def test_send_signs_with_the_first_secret_and_posts_the_raw_bytes(
    write_config: WriteConfig,
    tmp_path: Path,
    signer: _FakeSigner,
    posted: list[Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("HOOKGATE_TEST_STRIPE_SECRET", "whsec_first")
    path = write_config(
        """
        [gateway]
        host = "0.0.0.0"
        port = 8123

        [sources.stripe]
        provider = "stripe"
        secrets = ["${HOOKGATE_TEST_STRIPE_SECRET}", "whsec_second"]
        """
    )
    body = b'{"id": "evt_1",  "type": "invoice.paid"}\n'
    payload = tmp_path / "event.json"
    payload.write_bytes(body)

    assert main(["send", "-c", str(path), "stripe", str(payload), "--event-id", "evt_1"]) == 0

    assert len(signer.calls) == 1
    provider, signed_body, secret, kwargs = signer.calls[0]
    assert isinstance(provider, StripeProvider)  # the source's provider, built as serve builds it
    assert (signed_body, secret) == (body, "whsec_first")
    assert kwargs["event_id"] == "evt_1"
    (request,) = posted
    assert request.full_url == "http://127.0.0.1:8123/webhooks/stripe"
    assert request.get_method() == "POST"
    assert request.data == body
    assert request.get_header("X-test-signature") == f"signed-{len(body)}"
    assert request.get_header("Content-type") == "application/json"
    assert capsys.readouterr().out.strip() == '200 {"status":"accepted"}'


def test_send_output_verifies_with_the_real_stripe_provider(
    write_config: WriteConfig,
    tmp_path: Path,
    posted: list[Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    body = b'{"id":"evt_live_1","type":"invoice.paid","created":1700000000}'
    payload = tmp_path / "event.json"
    payload.write_bytes(body)

    assert main(["send", "-c", str(write_config(GOOD)), "stripe", str(payload)]) == 0

    (request,) = posted
    headers = {name.lower(): value for name, value in request.header_items()}
    spec = SourceSpec("stripe", (Secret(STRIPE_SECRET),), None, Options({}, "sources.stripe"))
    event = StripeProvider(spec).verify(
        WebhookRequest("POST", request.full_url, headers, request.data, time.time())
    )
    assert event == VerifiedEvent("evt_live_1", "invoice.paid", 1_700_000_000.0)
    capsys.readouterr()


class NoSignerProvider:
    """A plugin provider that verifies but cannot sign (no `sign` method)."""

    family = "custom"
    methods = frozenset({"POST"})

    def __init__(self, spec: SourceSpec) -> None:
        spec.options.finish()

    def verify(self, request: WebhookRequest) -> VerifiedEvent:
        return VerifiedEvent("id", "type")


def test_send_for_a_provider_that_cannot_sign_is_one_line_and_exit_2(
    write_config: WriteConfig,
    tmp_path: Path,
    posted: list[Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    payload = tmp_path / "event.json"
    payload.write_bytes(b"{}")
    path = write_config(
        '[sources.custom]\nprovider = "tests.unit.gateway.test_gateway_cli:NoSignerProvider"\n'
        'secrets = ["s3cret-value"]\n'
    )

    assert main(["send", "-c", str(path), "custom", str(payload)]) == 2

    line = one_error_line(capsys)
    assert "cannot sign for source 'custom'" in line
    assert "has no signer" in line
    assert "s3cret-value" not in line
    assert posted == []


def test_send_signs_a_mailgun_body_that_the_real_provider_verifies(
    write_config: WriteConfig,
    tmp_path: Path,
    posted: list[Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    payload = tmp_path / "event.json"
    payload.write_bytes(b'{"event-data": {"id": "mg-1", "event": "delivered"}}')
    path = write_config('[sources.mg]\nprovider = "mailgun"\nsecrets = ["mailgun-key"]\n')

    assert main(["send", "-c", str(path), "mg", str(payload)]) == 0

    (request,) = posted
    headers = {name.lower(): value for name, value in request.header_items()}
    spec = SourceSpec("mg", (Secret("mailgun-key"),), None, Options({}, "sources.mg"))
    event = MailgunProvider(spec).verify(
        WebhookRequest("POST", request.full_url, headers, request.data, time.time())
    )
    assert isinstance(event, VerifiedEvent)
    assert (event.id, event.type) == ("mg-1", "delivered")
    capsys.readouterr()


def test_send_imports_no_test_kit_and_names_no_provider() -> None:
    # `hookgate send` signs through the providers' public signing capability only.
    code = "import gateway.send, sys; print('providers.testing' in sys.modules)"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "False"
    source = (Path(__file__).parents[3] / "gateway" / "send.py").read_text()
    assert "mailgun" not in source.lower()
    assert "providers.builtin" not in source


def test_serve_with_an_unusable_spool_stops_before_any_worker_starts(
    write_config: WriteConfig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a-file").write_text("")
    path = write_config(
        f'[spool]\npath = "{tmp_path / "a-file" / "spool.sqlite3"}"\n[dedupe]\nbackend = "memory"\n'
        + _STRIPE
        + 'secrets = ["whsec_x"]\n'
    )
    assert main(["serve", "--config", str(path), "--workers", "2"]) == 2
    assert one_error_line(capsys).startswith("hookgate: error: spool.path: cannot open")
