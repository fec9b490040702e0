"""deploy/kubernetes renders with old and new kustomize and every object matches its schema.

Offline: Kubernetes' own objects are checked with kubernetes-validate (the API's published
schemas, strict: an unknown field is an error), the operators' custom resources with the
openAPIV3Schema of their CRDs, vendored in deploy/kubernetes/crd-schemas (made strict the same
way). No cluster is involved.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from tests.unit.deploy.kube_kit import KUBERNETES, Manifest, render

# The oldest Kubernetes the manifests target (autoscaling/v2, policy/v1, a StatefulSet's
# persistentVolumeClaimRetentionPolicy) and the newest kubernetes-validate knows.
KUBERNETES_VERSIONS = ("1.27.0", kubernetes_validate.latest_version())
CRD_SCHEMAS = KUBERNETES / "crd-schemas"
CUSTOM_KINDS = {
    ("rabbitmq.com/v1beta1", "RabbitmqCluster"),
    ("keda.sh/v1alpha1", "ScaledObject"),
    ("keda.sh/v1alpha1", "TriggerAuthentication"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
}
TARGETS = [
    ("base", "path", "keda"),
    ("overlays/example", "path", "keda"),
    ("overlays/example", "path", "hpa"),
    ("overlays/example", "debian-1.20", "keda"),
    ("overlays/example", "debian-1.20", "hpa"),
]


def _strict(schema: Any) -> Any:
    """The CRD schema with unknown fields refused, as `kubectl apply` with server-side field
    validation does (a CRD schema alone only prunes them, silently)."""
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: _strict(value) for key, value in schema.items()}
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def _crd_validator(api_version: str, kind: str) -> jsonschema.Draft7Validator:
    group, _, version = api_version.partition("/")
    path = CRD_SCHEMAS / f"{group}_{kind.lower()}_{version}.json"
    schema = _strict(json.loads(path.read_text()))
    # metadata is the API server's to check; the CRD schema leaves it open.
    schema["properties"]["metadata"] = {"type": "object"}
    schema["properties"]["apiVersion"] = {"const": api_version}
    schema["properties"]["kind"] = {"const": kind}
    return jsonschema.Draft7Validator(schema)


def _problems(manifest: Manifest, version: str) -> list[str]:
    key = (manifest["apiVersion"], manifest["kind"])
    if key in CUSTOM_KINDS:
        validator = _crd_validator(*key)
        return [
            f"{'.'.join(map(str, err.absolute_path))}: {err.message}"
            for err in validator.iter_errors(manifest)
        ]
    try:
        kubernetes_validate.validate(manifest, version, strict=True)
    except kubernetes_validate.ValidationError as err:
        return [f"{'.'.join(map(str, err.path))}: {err.message}"]
    return []


@pytest.mark.parametrize(("target", "kubectl", "scaling"), TARGETS)
def test_renders_and_every_object_matches_its_schema(
    target: str, kubectl: str, scaling: str
) -> None:
    manifests = render(target, kubectl, scaling)
    assert len(manifests) >= 20
    for version in KUBERNETES_VERSIONS:
        for manifest in manifests:
            name = f"{manifest['kind']}/{manifest['metadata']['name']}"
            assert _problems(manifest, version) == [], f"{name} (Kubernetes {version})"


def test_old_and_new_kustomize_render_the_same_objects() -> None:
    def comparable(manifests: tuple[Manifest, ...]) -> dict[tuple[str, str], Any]:
        # Generated names carry a hash that differs between kustomize versions.
        text = json.dumps(sorted(manifests, key=lambda m: (m["kind"], m["metadata"]["name"])))
        objects = json.loads(re.sub(r"(hookgate-(?:config|secrets))-[a-z0-9]{10}", r"\1", text))
        return {(m["kind"], m["metadata"]["name"]): m for m in objects}

    new = comparable(render("overlays/example", "path"))
    old = comparable(render("overlays/example", "debian-1.20"))
    assert new.keys() == old.keys()
    for key in new:
        if key[0] == "Secret":  # base64 is wrapped at different widths; compare the values
            continue
        assert new[key] == old[key], key


def test_the_overlay_picks_exactly_one_consumer_autoscaler() -> None:
    keda = render("overlays/example", "path", "keda")
    hpa = render("overlays/example", "path", "hpa")
    assert [m["kind"] for m in keda if m["kind"] == "ScaledObject"] == ["ScaledObject"]
    autoscalers = [m["metadata"]["name"] for m in keda if m["kind"] == "HorizontalPodAutoscaler"]
    assert autoscalers == ["hookgate-gateway"]
    assert not [m for m in hpa if m["kind"] in ("ScaledObject", "TriggerAuthentication")]
    autoscalers = [m["metadata"]["name"] for m in hpa if m["kind"] == "HorizontalPodAutoscaler"]
    assert sorted(autoscalers) == ["hookgate-consumer-billing", "hookgate-gateway"]


@pytest.mark.parametrize(
    ("kind", "path", "value"),
    [
        ("ServiceMonitor", ("spec", "endpoints", 0, "prot"), "http"),
        ("RabbitmqCluster", ("spec", "replicas"), "three"),
        ("ScaledObject", ("spec", "triggers", 0, "authenticationRef"), {}),
        ("StatefulSet", ("spec", "template", "spec", "containers", 0, "readinessProb"), {}),
    ],
)
def test_the_schema_check_refuses_a_broken_object(
    kind: str, path: tuple[Any, ...], value: Any
) -> None:
    manifest = copy.deepcopy(next(m for m in render("overlays/example") if m["kind"] == kind))
    parent: Any = manifest
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    assert _problems(manifest, KUBERNETES_VERSIONS[0])
