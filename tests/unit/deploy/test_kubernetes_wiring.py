"""The rendered example overlay is wired together: what refers to something finds it.

A schema cannot see these: a Service whose selector matches no pod, a named port no container
has, a secret key the Secret lacks, a ServiceMonitor that scrapes nothing, an autoscaler aimed
at a workload that does not exist, a pod that may run as root.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from consumers.examples.billing import billing
from tests.unit.deploy.kube_kit import (
    KUBERNETES,
    OPERATOR_SECRET,
    Manifest,
    example_secrets,
    of_kind,
    one,
    pod_spec,
    render,
    secret_values,
)

MANIFESTS = render("overlays/example")
HPA_MANIFESTS = render("overlays/example", "path", "hpa")
WORKLOADS = of_kind(MANIFESTS, "StatefulSet", "Deployment", "Job")
HOOKGATE_WORKLOADS = [w for w in WORKLOADS if "redis" not in w["metadata"]["name"]]
# The labels the RabbitMQ Cluster Operator puts on the Service it creates for a cluster
# (internal/metadata/label.go, v2.22), and that Service's metrics port name.
RABBITMQ_SERVICE_LABELS = {
    "app.kubernetes.io/name": "hookgate-rabbitmq",
    "app.kubernetes.io/component": "rabbitmq",
    "app.kubernetes.io/part-of": "rabbitmq",
}
RABBITMQ_SERVICE_PORTS = {"amqp", "management", "prometheus"}
IMAGE = "ghcr.io/hookgate/hookgate:0.1.0"


def _name(manifest: Manifest) -> str:
    return f"{manifest['kind']}/{manifest['metadata']['name']}"


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def _pods_of(selector: dict[str, str]) -> list[Manifest]:
    return [w for w in WORKLOADS if _matches(selector, w["spec"]["template"]["metadata"]["labels"])]


def _container_ports(workload: Manifest) -> set[str]:
    return {p["name"] for c in pod_spec(workload)["containers"] for p in c.get("ports", [])}


def _containers() -> list[tuple[Manifest, dict[str, Any]]]:
    return [(w, c) for w in WORKLOADS for c in pod_spec(w)["containers"]]


@pytest.mark.parametrize("service", of_kind(MANIFESTS, "Service"), ids=_name)
def test_every_service_selects_pods_that_have_its_target_ports(service: Manifest) -> None:
    pods = _pods_of(service["spec"]["selector"])
    assert len(pods) == 1, f"{_name(service)} selects {[_name(p) for p in pods]}"
    for port in service["spec"]["ports"]:
        assert port["targetPort"] == port["name"], "one name for a port, end to end"
        assert port["name"] in _container_ports(pods[0])


def test_workload_selectors_match_their_own_pods_and_only_theirs() -> None:
    for workload in of_kind(MANIFESTS, "StatefulSet", "Deployment"):
        selected = _pods_of(workload["spec"]["selector"]["matchLabels"])
        assert selected == [workload], _name(workload)
    for pdb in of_kind(MANIFESTS, "PodDisruptionBudget"):
        assert len(_pods_of(pdb["spec"]["selector"]["matchLabels"])) == 1, _name(pdb)


def test_every_probe_uses_a_port_its_container_declares() -> None:
    for workload, container in _containers():
        names = {p["name"] for p in container.get("ports", [])}
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            if probe in container:
                action = container[probe].get("httpGet") or container[probe]["tcpSocket"]
                assert action["port"] in names, f"{_name(workload)} {probe}"


@pytest.mark.parametrize("monitor", of_kind(MANIFESTS, "ServiceMonitor"), ids=_name)
def test_every_service_monitor_scrapes_a_named_port_of_a_service(monitor: Manifest) -> None:
    selector = monitor["spec"]["selector"]["matchLabels"]
    if monitor["metadata"]["name"] == "hookgate-rabbitmq":  # the operator's Service
        assert _matches(selector, RABBITMQ_SERVICE_LABELS)
        assert one(MANIFESTS, "RabbitmqCluster", "hookgate-rabbitmq")
        ports = RABBITMQ_SERVICE_PORTS
    else:
        services = [
            s for s in of_kind(MANIFESTS, "Service") if _matches(selector, s["metadata"]["labels"])
        ]
        assert len(services) == 1, [_name(s) for s in services]
        ports = {p["name"] for p in services[0]["spec"]["ports"]}
    for endpoint in monitor["spec"]["endpoints"]:
        assert endpoint["port"] in ports


def test_every_secret_reference_finds_its_key() -> None:
    generated = one(MANIFESTS, "Secret", "hookgate-secrets")
    assert generated["metadata"]["name"] != "hookgate-secrets", "hashed: a change rolls the pods"
    secrets = {
        generated["metadata"]["name"]: set(secret_values(generated)),
        "hookgate-rabbitmq-default-user": set(OPERATOR_SECRET),
    }
    refs: list[tuple[str, str]] = []
    for manifests in (MANIFESTS, HPA_MANIFESTS):
        for _, container in [
            (w, c)
            for w in of_kind(manifests, "StatefulSet", "Deployment", "Job")
            for c in pod_spec(w)["containers"]
        ]:
            for var in container.get("env", []):
                if "valueFrom" in var:
                    ref = var["valueFrom"]["secretKeyRef"]
                    refs.append((ref["name"], ref["key"]))
    for auth in of_kind(MANIFESTS, "TriggerAuthentication"):
        refs += [(ref["name"], ref["key"]) for ref in auth["spec"]["secretTargetRef"]]
    for monitor in of_kind(MANIFESTS, "ServiceMonitor"):
        for endpoint in monitor["spec"]["endpoints"]:
            if "authorization" in endpoint:
                credentials = endpoint["authorization"]["credentials"]
                refs.append((credentials["name"], credentials["key"]))
    for name, key in refs:
        assert name in secrets, f"{name}: no such Secret (a reference kustomize did not rewrite?)"
        assert key in secrets[name], f"{name} has no key {key}"
    used = {key for name, key in refs if name == generated["metadata"]["name"]}
    assert used == set(example_secrets()), "secrets.env.example lists exactly the keys used"


def test_the_example_secrets_are_placeholders_only() -> None:
    for key, value in example_secrets().items():
        assert "REPLACE_ME" in value, f"{key} in secrets.env.example must be a placeholder"


def test_every_hookgate_pod_runs_non_root_read_only_without_capabilities() -> None:
    for workload in HOOKGATE_WORKLOADS:
        pod = pod_spec(workload)
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 10001, "the image's user"
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
    for workload, container in _containers():
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False, _name(workload)
        assert context["readOnlyRootFilesystem"] is True, _name(workload)
        assert context["capabilities"] == {"drop": ["ALL"]}, _name(workload)
        resources = container["resources"]
        assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}


def test_hookgate_containers_run_the_overlay_image_with_writable_tmp() -> None:
    for workload in HOOKGATE_WORKLOADS:
        for container in pod_spec(workload)["containers"]:
            assert container["image"] == IMAGE, _name(workload)
            writable = {m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")}
            assert "/tmp" in writable, _name(workload)
            if "workingDir" in container or workload["kind"] != "Job":
                assert container["workingDir"] in writable, _name(workload)


def test_autoscalers_and_disruption_budgets_target_what_exists() -> None:
    for manifests in (MANIFESTS, HPA_MANIFESTS):
        for scaler in of_kind(manifests, "HorizontalPodAutoscaler", "ScaledObject"):
            target = scaler["spec"]["scaleTargetRef"]
            assert one(manifests, target.get("kind", "Deployment"), target["name"])
    gateway = one(MANIFESTS, "StatefulSet", "hookgate-gateway")
    hpa = one(MANIFESTS, "HorizontalPodAutoscaler", "hookgate-gateway")
    assert "replicas" not in gateway["spec"], "the HPA owns it; an apply must not reset it"
    assert hpa["spec"]["minReplicas"] == 3


def test_consumer_scaling_and_topology_name_the_example_service_and_its_queue() -> None:
    queue = billing.name  # the work queue is named after the service
    [trigger] = one(MANIFESTS, "ScaledObject", "hookgate-consumer-billing")["spec"]["triggers"]
    assert trigger["type"] == "rabbitmq"
    assert trigger["metadata"]["queueName"] == queue
    assert one(MANIFESTS, "TriggerAuthentication", trigger["authenticationRef"]["name"])
    [metric] = one(HPA_MANIFESTS, "HorizontalPodAutoscaler", "hookgate-consumer-billing")["spec"][
        "metrics"
    ]
    assert metric["external"]["metric"]["name"] == "hookgate_queue_messages"
    assert metric["external"]["metric"]["selector"]["matchLabels"] == {"queue": queue}
    rules = yaml.safe_load(
        (KUBERNETES / "consumer-scaling/hpa/prometheus-adapter-rules.yaml").read_text()
    )
    [rule] = rules["external"]
    assert rule["name"]["as"] == "hookgate_queue_messages"
    assert rule["metricsQuery"].startswith("max by (queue)")
    [job] = pod_spec(one(MANIFESTS, "Job", "hookgate-topology"))["containers"]
    [consumer] = pod_spec(one(MANIFESTS, "Deployment", "hookgate-consumer-billing"))["containers"]
    assert f"--service={consumer['args'][1]}" in job["args"]


def test_the_ingress_routes_only_the_webhook_prefix_to_the_gateway_service() -> None:
    ingress = one(MANIFESTS, "Ingress", "hookgate-gateway")
    [rule] = ingress["spec"]["rules"]
    assert [tls["secretName"] for tls in ingress["spec"]["tls"]] == ["hookgate-tls"]
    assert rule["host"] in ingress["spec"]["tls"][0]["hosts"]
    config = one(MANIFESTS, "ConfigMap", "hookgate-config")["data"]["hookgate.toml"]
    [path] = rule["http"]["paths"]
    assert f'path_prefix = "{path["path"]}"' in config
    backend = path["backend"]["service"]
    service = one(MANIFESTS, "Service", backend["name"])
    assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}


def test_everything_lands_in_the_overlay_namespace() -> None:
    for manifest in MANIFESTS:
        if manifest["kind"] == "Namespace":
            assert manifest["metadata"]["name"] == "hookgate"
        else:
            assert manifest["metadata"]["namespace"] == "hookgate", _name(manifest)
