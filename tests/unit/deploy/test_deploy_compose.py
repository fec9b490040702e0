"""deploy/compose.yaml, checked offline: the Compose Specification's JSON schema, and what a
schema cannot know.

- The schema is the one check-jsonschema vendors (compose-spec.json; `test` extra).
- Every file the compose file mounts or builds from exists; every variable it uses is listed in
  deploy/.env.example, and every listed one is used.
- Each hookgate container gets what its process needs from deploy/compose/hookgate.toml with
  exactly the environment compose gives it: `hookgate check-config` for the gateways, the admin
  and broker settings for `hookgate admin`, the consumer and the one-shot `topology`.
- Healthchecks probe the port each process really listens on; every `service_healthy`
  dependency has one; grace periods cover the drains; each gateway has a spool volume of its own;
  the proxy is the gateways' only trusted proxy and balances over every gateway.
- Prometheus' config, as the container sees it (its mounts and secrets laid out in a temporary
  directory), passes `promtool check config`, rules included, and scrapes every hookgate process;
  Grafana's provider reads where the dashboard is mounted; RabbitMQ enables plugins that exist.
"""

from __future__ import annotations

import glob
import importlib
import importlib.resources
import ipaddress
import json
import re
import secrets
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from admin.commands import load as load_admin_config
from hookgate.settings import load_broker_settings
from tests.compose_kit import (
    COMPOSE,
    CONFIG,
    DEPLOY,
    ROOT,
    bind_mounts,
    by_command,
    dummy_env,
    env_example,
    hookgate_services,
    interpolate,
    option,
    seconds,
    used_variables,
)
from tests.unit.deploy.deploy_tools import promtool

CONFIG_IN_IMAGE = "/etc/hookgate/hookgate.toml"  # deploy/Dockerfile's HOOKGATE_CONFIG
IMAGE_HEALTHCHECK_URL = "http://127.0.0.1:8000/healthz"  # deploy/Dockerfile's default


def compose_schema() -> dict[str, Any]:
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema: dict[str, Any] = json.loads((vendor / "compose-spec.json").read_text())
    return schema


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


@pytest.fixture(scope="module")
def compose(raw: dict[str, Any]) -> dict[str, Any]:
    resolved: dict[str, Any] = interpolate(raw, dummy_env())
    return resolved


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return tomllib.loads(CONFIG.read_text())


# ---- the Compose Specification -------------------------------------------------------------


def test_compose_file_is_valid_against_the_compose_specification(raw: dict[str, Any]) -> None:
    validator = jsonschema.Draft202012Validator(compose_schema())
    errors = sorted(validator.iter_errors(raw), key=lambda error: list(error.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_the_schema_refuses_what_compose_would_refuse(raw: dict[str, Any]) -> None:
    # The schema really checks: a misspelt key and a wrong type are both errors.
    validator = jsonschema.Draft202012Validator(compose_schema())
    broken = json.loads(json.dumps(raw))
    broken["services"]["proxy"]["depend_on"] = ["gateway-1"]
    broken["services"]["proxy"]["ports"] = "8080:8080"  # a list of ports, not one
    messages = [error.message for error in validator.iter_errors(broken)]
    assert any("depend_on" in message for message in messages), messages
    assert any("'8080:8080' is not of type 'array'" in message for message in messages), messages


# ---- files and variables --------------------------------------------------------------------


def test_every_mounted_file_and_the_build_context_exist(compose: dict[str, Any]) -> None:
    missing = [
        f"{name}: {source.relative_to(ROOT)}"
        for name, service in compose["services"].items()
        for source, _ in bind_mounts(service)
        if not source.exists()
    ]
    assert not missing, f"mounted by deploy/compose.yaml but not in the repository: {missing}"
    for service in hookgate_services(compose).values():
        context = (DEPLOY / service["build"]["context"]).resolve()
        assert context == ROOT
        assert (context / service["build"]["dockerfile"]).is_file()


def test_every_variable_is_in_env_example_and_every_listed_one_is_used() -> None:
    used = used_variables(COMPOSE.read_text())
    listed = set(env_example())
    assert used - listed == set(), "used by compose.yaml, missing from .env.example"
    assert listed - used == set(), "listed in .env.example, used by nothing"


def test_env_example_holds_placeholders_only() -> None:
    for key, value in env_example().items():
        if key not in {"HOOKGATE_HTTP_PORT", "HOOKGATE_IMAGE"}:
            assert "CHANGE-ME" in value, f"{key}: not an obvious placeholder"


def test_every_secret_needed_is_required_with_a_message(raw: dict[str, Any]) -> None:
    # A missing secret stops `docker compose up` with a sentence, not an empty password.
    text = COMPOSE.read_text()
    for key, value in env_example().items():
        if "CHANGE-ME" in value:
            assert f"${{{key}:?" in text, key
    with pytest.raises(AssertionError, match="RABBITMQ_PASSWORD"):
        interpolate(raw, {k: v for k, v in dummy_env().items() if k != "RABBITMQ_PASSWORD"})


# ---- what each hookgate process gets --------------------------------------------------------


def test_every_hookgate_container_mounts_the_config_where_the_image_looks(
    compose: dict[str, Any],
) -> None:
    services = hookgate_services(compose)
    assert {service["command"][0] for service in services.values()} == {
        "topology",
        "admin",
        "serve",
        "consume",
    }
    for name, service in services.items():
        assert (CONFIG.resolve(), CONFIG_IN_IMAGE) in [
            (source, target) for source, target in bind_mounts(service)
        ], name


def test_gateways_pass_check_config_with_their_compose_environment(
    compose: dict[str, Any],
) -> None:
    gateways = by_command(compose, "serve")
    assert len(gateways) >= 2
    for name, service in gateways.items():
        environment = {"PATH": "/usr/bin:/bin", **service["environment"]}
        result = subprocess.run(
            [sys.executable, "-m", "hookgate", "check-config", "-c", str(CONFIG)],
            env=environment,
            capture_output=True,
            text=True,
            check=False,
            cwd=ROOT,
        )
        assert result.returncode == 0, f"{name}: {result.stderr}"
        assert result.stdout.startswith("config OK")
        assert "dedupe   redis" in result.stdout  # shared by the replicas


def test_check_config_fails_without_a_gateway_secret(compose: dict[str, Any]) -> None:
    # The check above can fail: the gateway's environment is what satisfies the config.
    service = next(iter(by_command(compose, "serve").values()))
    environment = {k: v for k, v in service["environment"].items() if k != "REDIS_PASSWORD"}
    result = subprocess.run(
        [sys.executable, "-m", "hookgate", "check-config", "-c", str(CONFIG)],
        env={"PATH": "/usr/bin:/bin", **environment},
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode != 0
    assert "REDIS_PASSWORD" in result.stderr


def test_admin_gets_its_ledger_and_broker_from_its_environment(compose: dict[str, Any]) -> None:
    [service] = by_command(compose, "admin").values()
    settings = load_admin_config(str(CONFIG), service["environment"])
    assert settings.ledger.backend == "postgres"
    assert settings.ledger.url is not None
    ledger = urlsplit(settings.ledger.url.reveal())
    assert ledger.hostname in compose["services"]
    assert compose["services"][ledger.hostname]["image"].startswith("postgres:")
    assert (
        ledger.password == service["environment"]["HOOKGATE_LEDGER_URL"].split(":")[2].split("@")[0]
    )
    assert settings.admin.token.reveal() == service["environment"]["HOOKGATE_ADMIN_TOKEN"]


def test_consumer_and_topology_reach_the_compose_broker(compose: dict[str, Any]) -> None:
    for command in ("consume", "topology"):
        for name, service in by_command(compose, command).items():
            broker = load_broker_settings(CONFIG, service["environment"])
            host = urlsplit(broker.url.reveal()).hostname
            assert host in compose["services"], name
            assert compose["services"][host]["image"].startswith("rabbitmq:"), name
            assert broker.emit_status  # [admin] is in the file: they report event status


def test_topology_declares_the_service_the_consumer_runs(compose: dict[str, Any]) -> None:
    [topology] = by_command(compose, "topology").values()
    declared = {option(topology["command"], "--service", "")}
    consumed = {service["command"][1] for service in by_command(compose, "consume").values()}
    assert consumed
    assert consumed <= declared
    for target in consumed:
        module, _, attribute = target.partition(":")
        assert getattr(importlib.import_module(module), attribute) is not None
    for name, service in hookgate_services(compose).items():
        if name != "topology":
            condition = service["depends_on"]["topology"]["condition"]
            assert condition == "service_completed_successfully", name


# ---- health, dependencies, stopping, volumes ------------------------------------------------


def test_healthchecks_probe_the_port_each_process_listens_on(
    compose: dict[str, Any], config: dict[str, Any]
) -> None:
    listens = {
        "serve": config["gateway"]["port"],
        "admin": config["admin"]["port"],
    }
    for name, service in hookgate_services(compose).items():
        command = service["command"]
        if command[0] == "topology":
            assert service["healthcheck"] == {"disable": True}
            continue
        assert "healthcheck" not in service, f"{name}: the image's HEALTHCHECK is used"
        url = urlsplit(
            service.get("environment", {}).get("HOOKGATE_HEALTHCHECK_URL", IMAGE_HEALTHCHECK_URL)
        )
        assert url.hostname == "127.0.0.1", name
        if command[0] == "consume":
            assert url.port == int(option(command, "--metrics-port", "9300")), name
            assert url.path == "/metrics"
        else:
            assert url.port == listens[command[0]], name


def test_every_service_healthy_dependency_has_a_healthcheck(compose: dict[str, Any]) -> None:
    hookgate = hookgate_services(compose)
    for name, service in compose["services"].items():
        for dependency, rule in service.get("depends_on", {}).items():
            target = compose["services"][dependency]
            if rule["condition"] == "service_healthy":
                has_check = "test" in target.get("healthcheck", {}) or (
                    dependency in hookgate and target.get("healthcheck") != {"disable": True}
                )
                assert has_check, f"{name} waits for {dependency}, which has no healthcheck"


def test_grace_periods_cover_the_drains(compose: dict[str, Any], config: dict[str, Any]) -> None:
    gateway = config["gateway"]
    for name, service in hookgate_services(compose).items():
        grace = seconds(service["stop_grace_period"])
        command = service["command"]
        if command[0] == "serve":
            assert grace > gateway["drain_seconds"] + gateway["shutdown_timeout_seconds"], name
        if command[0] == "consume":
            assert grace > float(option(command, "--drain-timeout", "30")), name


def test_each_gateway_has_a_spool_volume_of_its_own(
    compose: dict[str, Any], config: dict[str, Any]
) -> None:
    spool_dir = str(Path(config["spool"]["path"]).parent)
    volumes = []
    for name, service in hookgate_services(compose).items():
        if service["command"][0] == "topology":
            continue  # a one-shot that stores nothing
        named = [
            volume.split(":")[0]
            for volume in service.get("volumes", [])
            if volume.split(":")[1] == spool_dir and not volume.startswith((".", "/"))
        ]
        assert len(named) == 1, f"{name}: no named volume on {spool_dir}"
        assert named[0] in compose["volumes"]
        volumes.append(named[0])
    assert len(volumes) == len(set(volumes)), f"two containers share a data volume: {volumes}"


def test_the_proxy_is_the_gateways_only_trusted_proxy_and_balances_over_all_of_them(
    compose: dict[str, Any], config: dict[str, Any]
) -> None:
    proxy = compose["services"]["proxy"]
    address = ipaddress.ip_address(proxy["networks"]["hookgate"]["ipv4_address"])
    trusted = [ipaddress.ip_network(net) for net in config["gateway"]["trusted_proxies"]]
    assert trusted == [ipaddress.ip_network(f"{address}/32")]
    subnet = ipaddress.ip_network(compose["networks"]["hookgate"]["ipam"]["config"][0]["subnet"])
    assert address in subnet
    nginx = next(source for source, _ in bind_mounts(proxy) if source.name == "nginx.conf")
    upstream = re.search(r"upstream hookgate_gateways \{(.*?)\}", nginx.read_text(), re.DOTALL)
    assert upstream is not None
    servers = set(re.findall(r"^\s*server (\S+)", upstream.group(1), re.MULTILINE))
    port = config["gateway"]["port"]
    assert servers == {f"{name}:{port}" for name in by_command(compose, "serve")}
    assert set(proxy["depends_on"]) == set(by_command(compose, "serve"))


# ---- Prometheus and Grafana -----------------------------------------------------------------


def container_view(service: dict[str, Any], root: Path) -> None:
    """Lay out `service`'s bind mounts and secrets under `root` as the container sees them."""
    for source, target in bind_mounts(service):
        place = root / target.lstrip("/")
        place.parent.mkdir(parents=True, exist_ok=True)
        place.symlink_to(source)
    for secret in service.get("secrets", []):
        place = root / secret["target"].lstrip("/")
        place.parent.mkdir(parents=True, exist_ok=True)
        place.write_text(secrets.token_hex(24))


def test_prometheus_config_passes_promtool_as_the_container_sees_it(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    service = compose["services"]["prometheus"]
    container_view(service, tmp_path)
    config_file = option(
        [part for arg in service["command"] for part in arg.split("=", 1)],
        "--config.file",
        "/etc/prometheus/prometheus.yml",
    )
    result = subprocess.run(
        [promtool(), "check", "config", str(tmp_path / config_file.lstrip("/"))],
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "SUCCESS" in output
    assert re.search(r"SUCCESS: \d+ rules found", output), "the alert rules were not loaded"


def test_prometheus_scrapes_every_hookgate_process(
    compose: dict[str, Any], config: dict[str, Any]
) -> None:
    prometheus = next(
        source
        for source, target in bind_mounts(compose["services"]["prometheus"])
        if target.endswith("prometheus.yml")
    )
    scrape = yaml.safe_load(prometheus.read_text())["scrape_configs"]
    targets = {t for job in scrape for group in job["static_configs"] for t in group["targets"]}
    expected = set()
    for name, service in hookgate_services(compose).items():
        command = service["command"]
        if command[0] == "serve":
            expected.add(f"{name}:{config['gateway']['port']}")
        elif command[0] == "consume":
            assert option(command, "--metrics-host", "127.0.0.1") == "0.0.0.0"
            expected.add(f"{name}:{option(command, '--metrics-port', '9300')}")
        elif command[0] == "admin":
            expected.add(f"{name}:{config['admin']['port']}")
    assert expected <= targets
    admin_job = next(job for job in scrape if f"admin:{config['admin']['port']}" in str(job))
    assert admin_job["authorization"]["type"] == "Bearer"


def test_grafana_loads_the_dashboard_from_where_compose_mounts_it(
    compose: dict[str, Any],
) -> None:
    grafana = compose["services"]["grafana"]
    mounts = dict((target, source) for source, target in bind_mounts(grafana))
    provisioning = mounts["/etc/grafana/provisioning"]
    [provider] = yaml.safe_load((provisioning / "dashboards" / "hookgate.yaml").read_text())[
        "providers"
    ]
    dashboards = [t for t in mounts if t.endswith(".json")]
    assert dashboards
    for target in dashboards:
        assert str(Path(target).parent) == provider["options"]["path"]
        assert mounts[target] == (DEPLOY / "grafana" / "hookgate-dashboard.json").resolve()
    [datasource] = yaml.safe_load((provisioning / "datasources" / "prometheus.yaml").read_text())[
        "datasources"
    ]
    assert urlsplit(datasource["url"]).hostname == "prometheus"
    assert datasource["uid"] == "prometheus"


def test_rabbitmq_enables_plugins_that_exist(compose: dict[str, Any]) -> None:
    # An unknown name in enabled_plugins stops the node at boot; check the names against the
    # plugins of the RabbitMQ that deploy/dev/ensure-rabbitmq.sh installs here.
    mounts = {target: source for source, target in bind_mounts(compose["services"]["rabbitmq"])}
    text = mounts["/etc/rabbitmq/enabled_plugins"].read_text()
    match = re.fullmatch(r"\s*\[([a-z_,\s]*)\]\.\s*", text)
    assert match, f"enabled_plugins is not an Erlang list of names ending in '.': {text!r}"
    plugins = {name.strip() for name in match.group(1).split(",")}
    assert {"rabbitmq_management", "rabbitmq_prometheus"} <= plugins
    installed_dirs = glob.glob("/usr/lib/rabbitmq/lib/rabbitmq_server-*/plugins")
    if not installed_dirs:
        pytest.fail("RabbitMQ is not installed: deploy/dev/ensure-rabbitmq.sh installs it")
    installed = {
        entry.name.rsplit("-", 1)[0]
        for directory in installed_dirs
        for entry in Path(directory).iterdir()
    }
    assert plugins <= installed, plugins - installed
