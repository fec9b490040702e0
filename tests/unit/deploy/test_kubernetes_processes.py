"""The Kubernetes manifests agree with the hookgate processes they run.

Each container's hookgate.toml (the rendered ConfigMap) is loaded with exactly the environment
that container gets (its env, the Secret filled from secrets.env.example, a stand-in for the
RabbitMQ operator's Secret), so a variable the config needs and the pod lacks fails here, not
at 3 a.m. The probe paths are asked of the real gateway and admin apps, and the grace periods
are checked against the drain timeouts the config and the arguments set.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from admin.app import create_admin_app
from admin.config import load_admin_config
from admin.ledger_memory import MemoryLedger
from gateway.app import create_app
from gateway.config import Config, DedupeSettings, load_config
from gateway.testing import MemoryPublisher
from hookgate.settings import load_broker_settings
from tests.unit.deploy.kube_kit import (
    OPERATOR_SECRET,
    ROOT,
    Manifest,
    one,
    pod_spec,
    render,
    secret_values,
)

# Seconds between the last drain step and the kubelet's SIGKILL, for closing connections.
MARGIN = 10

MANIFESTS = render("overlays/example")
WORKLOADS = {
    "gateway": one(MANIFESTS, "StatefulSet", "hookgate-gateway"),
    "consumer": one(MANIFESTS, "Deployment", "hookgate-consumer-billing"),
    "admin": one(MANIFESTS, "Deployment", "hookgate-admin"),
    "topology": one(MANIFESTS, "Job", "hookgate-topology"),
}


def _container(workload: Manifest) -> dict[str, Any]:
    [container] = pod_spec(workload)["containers"]
    return dict(container)


def _env(workload: Manifest) -> dict[str, str]:
    """The environment the container gets, its secret references resolved."""
    generated = one(MANIFESTS, "Secret", "hookgate-secrets")
    secrets = {
        generated["metadata"]["name"]: secret_values(generated),
        "hookgate-rabbitmq-default-user": OPERATOR_SECRET,
    }
    env = {}
    for var in _container(workload).get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
        else:
            ref = var["valueFrom"]["secretKeyRef"]
            env[var["name"]] = secrets[ref["name"]][ref["key"]]
    return env


@contextmanager
def _config_file(tmp_path: Path, workload: Manifest) -> Iterator[Path]:
    """The ConfigMap's hookgate.toml where the container finds it (HOOKGATE_CONFIG)."""
    [volume] = [v for v in pod_spec(workload)["volumes"] if "configMap" in v]
    configmap = one(MANIFESTS, "ConfigMap", "hookgate-config")
    assert volume["configMap"]["name"] == configmap["metadata"]["name"]
    [mount] = [m for m in _container(workload)["volumeMounts"] if m["name"] == volume["name"]]
    assert _env(workload)["HOOKGATE_CONFIG"] == f"{mount['mountPath']}/hookgate.toml"
    path = tmp_path / "hookgate.toml"
    path.write_text(configmap["data"]["hookgate.toml"])
    yield path


def _gateway_config(tmp_path: Path) -> Config:
    with _config_file(tmp_path, WORKLOADS["gateway"]) as path:
        return load_config(path, _env(WORKLOADS["gateway"]))


def test_the_gateway_pod_env_passes_check_config(tmp_path: Path) -> None:
    gateway = WORKLOADS["gateway"]
    with _config_file(tmp_path, gateway) as path:
        env = {"PATH": os.environ["PATH"], **_env(gateway)}
        done = subprocess.run(
            [sys.executable, "-m", "hookgate", "check-config", "--config", str(path)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=ROOT,
        )
    assert done.returncode == 0, done.stderr
    assert "config ok" in done.stdout.lower()
    assert "dedupe   redis" in done.stdout


def test_consumer_topology_and_admin_pods_find_every_variable_they_need(tmp_path: Path) -> None:
    for name in ("consumer", "topology"):
        with _config_file(tmp_path, WORKLOADS[name]) as path:
            broker = load_broker_settings(path, _env(WORKLOADS[name]))
        assert broker.url.reveal() == OPERATOR_SECRET["connection_string"], name
        assert broker.emit_status, f"{name}: the [admin] table turns status messages on"
    with _config_file(tmp_path, WORKLOADS["admin"]) as path:
        admin = load_admin_config(path, _env(WORKLOADS["admin"]))
    assert admin.ledger.backend == "postgres"
    ports = {p["name"]: p["containerPort"] for p in _container(WORKLOADS["admin"])["ports"]}
    assert (admin.admin.host, admin.admin.port) == ("0.0.0.0", ports["http"])


def test_the_gateway_listens_where_the_pod_says_and_keeps_its_spool_on_its_volume(
    tmp_path: Path,
) -> None:
    config = _gateway_config(tmp_path)
    container = _container(WORKLOADS["gateway"])
    assert config.gateway.host == "0.0.0.0"
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {
        "http": config.gateway.port
    }
    [claim] = WORKLOADS["gateway"]["spec"]["volumeClaimTemplates"]
    [mount] = [m for m in container["volumeMounts"] if m["name"] == claim["metadata"]["name"]]
    assert config.spool.enabled
    assert Path(config.spool.path).is_relative_to(mount["mountPath"])
    assert not mount.get("readOnly")
    size = claim["spec"]["resources"]["requests"]["storage"]
    assert size.endswith("Gi")
    assert int(size[:-2]) * 2**30 >= 1.5 * config.spool.max_bytes, "room for SQLite's WAL"


def test_grace_periods_outlast_the_drains(tmp_path: Path) -> None:
    gateway = _gateway_config(tmp_path).gateway
    grace = pod_spec(WORKLOADS["gateway"])["terminationGracePeriodSeconds"]
    assert grace >= gateway.drain_seconds + gateway.shutdown_timeout_seconds + MARGIN
    args = _container(WORKLOADS["consumer"])["args"]
    [drain] = [a.partition("=")[2] for a in args if a.startswith("--drain-timeout=")]
    assert pod_spec(WORKLOADS["consumer"])["terminationGracePeriodSeconds"] >= float(drain) + MARGIN


def test_the_consumer_serves_metrics_on_its_container_port() -> None:
    container = _container(WORKLOADS["consumer"])
    args = container["args"]
    assert args[:2] == ["consume", "consumers.examples.billing:billing"]
    assert "--metrics-host=0.0.0.0" in args
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert f"--metrics-port={ports['metrics']}" in args
    assert container["livenessProbe"]["tcpSocket"]["port"] == "metrics"


@asynccontextmanager
async def _client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pod") as client:
        yield client


@pytest.mark.anyio
async def test_the_gateway_answers_its_probes_on_the_paths_the_pod_uses(tmp_path: Path) -> None:
    config = _gateway_config(tmp_path)
    # The app itself, with the spool in a temporary directory and dedupe in memory.
    config = dataclasses.replace(
        config,
        dedupe=DedupeSettings(backend="memory"),
        spool=dataclasses.replace(config.spool, path=str(tmp_path / "spool.sqlite3")),
    )
    container = _container(WORKLOADS["gateway"])
    probes = [container[p]["httpGet"] for p in ("readinessProbe", "livenessProbe", "startupProbe")]
    assert [p["path"] for p in probes] == ["/readyz", "/healthz", "/healthz"]
    assert {p["port"] for p in probes} == {"http"}
    app = create_app(config, registry=CollectorRegistry(), publisher=MemoryPublisher())
    async with app.router.lifespan_context(app), _client(app) as client:
        for probe in probes:
            response = await client.get(probe["path"])
            assert response.status_code == 200, (probe["path"], response.text)
        assert (await client.get("/metrics")).status_code == 200


@pytest.mark.anyio
async def test_admin_probes_need_no_token_and_its_metrics_do(tmp_path: Path) -> None:
    with _config_file(tmp_path, WORKLOADS["admin"]) as path:
        settings = load_admin_config(path, _env(WORKLOADS["admin"]))
    container = _container(WORKLOADS["admin"])
    paths = {container[p]["httpGet"]["path"] for p in ("readinessProbe", "livenessProbe")}
    app = create_admin_app(
        MemoryLedger(),
        token=settings.admin.token,
        broker_url="amqp://guest:guest@127.0.0.1:1/",
        exchange="webhooks",
        metrics=CollectorRegistry(),
    )
    token = settings.admin.token.reveal()
    async with _client(app) as client:
        for path in paths:
            assert (await client.get(path)).status_code == 200, path
        assert (await client.get("/metrics")).status_code == 401
        authorized = {"authorization": f"Bearer {token}"}
        assert (await client.get("/metrics", headers=authorized)).status_code == 200
