"""Render deploy/kubernetes with `kubectl kustomize`, offline, for the manifest tests.

The overlay reads its Secret from `secrets.env`, which users create and never commit; a render
here copies the tree to a temporary directory and fills `secrets.env` from the committed
`secrets.env.example`, exactly as a user's first step does. Renders are cached per process:
the manifests do not change during a test run.
"""

from __future__ import annotations

import base64
import functools
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[3]
KUBERNETES = ROOT / "deploy" / "kubernetes"
EXAMPLE = KUBERNETES / "overlays" / "example"
# Debian's kubernetes-client (kubectl 1.20, bundling kustomize v2), unpacked, not installed, by
# deploy/dev/ensure-deploy-tools.sh: the oldest kustomize the manifests promise to render with.
DEBIAN_KUBECTL = ROOT / "var" / "tools" / "debian-kubectl" / "usr" / "bin" / "kubectl"
ENSURE = "deploy/dev/ensure-deploy-tools.sh"
# The keys of the Secret the RabbitMQ Cluster Operator creates for the default user
# (internal/resource/default_user_secret.go, v2.22), with stand-in values.
OPERATOR_SECRET = {
    "username": "default_user_x",
    "password": "stand-in",
    "host": "hookgate-rabbitmq.hookgate.svc",
    "port": "5672",
    "connection_string": "amqp://default_user_x:stand-in@hookgate-rabbitmq.hookgate.svc:5672/",
}

Manifest = dict[str, Any]


def kubectl_binaries() -> dict[str, str]:
    """The kubectl on PATH and Debian's unpacked 1.20 one; fails naming the script if absent."""
    found = shutil.which("kubectl")
    if found is None:
        raise AssertionError(f"kubectl is not installed: run {ENSURE}")
    if not DEBIAN_KUBECTL.is_file():
        raise AssertionError(f"{DEBIAN_KUBECTL} is missing: run {ENSURE}")
    return {"path": found, "debian-1.20": str(DEBIAN_KUBECTL)}


@functools.cache
def render(target: str, kubectl: str = "path", scaling: str = "keda") -> tuple[Manifest, ...]:
    """Every object `kubectl kustomize` makes of `target` (a directory under deploy/kubernetes,
    e.g. "base" or "overlays/example"), with the consumer autoscaler `scaling` (keda | hpa)."""
    binary = kubectl_binaries()[kubectl]
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "kubernetes"
        shutil.copytree(KUBERNETES, tree, ignore=shutil.ignore_patterns("secrets.env"))
        overlay = tree / "overlays" / "example"
        shutil.copy(overlay / "secrets.env.example", overlay / "secrets.env")
        if scaling != "keda":
            kustomization = overlay / "kustomization.yaml"
            text = kustomization.read_text()
            assert "- ../../consumer-scaling/keda\n" in text
            kustomization.write_text(
                text.replace(
                    "- ../../consumer-scaling/keda\n", f"- ../../consumer-scaling/{scaling}\n"
                )
            )
        done = subprocess.run(
            [binary, "kustomize", str(tree / target)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, f"{binary} kustomize {target} failed: {done.stderr.strip()}"
    return tuple(doc for doc in yaml.safe_load_all(done.stdout) if doc)


def one(manifests: tuple[Manifest, ...], kind: str, name: str) -> Manifest:
    """The object of `kind` named `name` (generated names match without their hash suffix)."""
    generated = re.compile(re.escape(name) + r"(-[a-z0-9]{10})?")
    found = [
        m for m in manifests if m["kind"] == kind and generated.fullmatch(m["metadata"]["name"])
    ]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def of_kind(manifests: tuple[Manifest, ...], *kinds: str) -> list[Manifest]:
    return [m for m in manifests if m["kind"] in kinds]


def pod_spec(workload: Manifest) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def secret_values(secret: Manifest) -> dict[str, str]:
    """A rendered Secret's data, decoded."""
    return {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}


def example_secrets() -> dict[str, str]:
    """The keys and placeholder values of secrets.env.example."""
    values = {}
    for line in (EXAMPLE / "secrets.env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values
