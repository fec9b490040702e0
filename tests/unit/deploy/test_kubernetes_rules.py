"""The PrometheusRule in deploy/kubernetes is the alerts file, wrapped, and kept up to date."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from tests.unit.deploy.kube_kit import KUBERNETES, ROOT, one, render


def _render_rules() -> ModuleType:
    """deploy/kubernetes/render_rules.py, a script rather than a package module."""
    spec = importlib.util.spec_from_file_location("render_rules", KUBERNETES / "render_rules.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RENDER_RULES = _render_rules()


def test_the_committed_prometheus_rule_is_generated_from_the_current_alerts_file() -> None:
    committed = RENDER_RULES.OUTPUT.read_text(encoding="utf-8")
    assert committed == RENDER_RULES.render(), (
        f"deploy/kubernetes/base/prometheus-rule.yaml is stale: run {RENDER_RULES.COMMAND}"
    )


def test_its_groups_are_exactly_the_alerts_files_groups() -> None:
    alerts = yaml.safe_load((ROOT / "deploy/prometheus/hookgate-alerts.yml").read_text())
    rule = one(render("overlays/example"), "PrometheusRule", "hookgate")
    assert rule["spec"] == {"groups": alerts["groups"]}
    assert sum(len(group["rules"]) for group in rule["spec"]["groups"]) >= 10


def test_a_changed_alerts_file_makes_a_different_rule(tmp_path: Path) -> None:
    alerts = yaml.safe_load((ROOT / "deploy/prometheus/hookgate-alerts.yml").read_text())
    alerts["groups"][0]["rules"][0]["for"] = "7m"
    changed = tmp_path / "alerts.yml"
    changed.write_text(yaml.safe_dump(alerts))
    assert RENDER_RULES.render(changed) != RENDER_RULES.render()
    assert "for: 7m" in RENDER_RULES.render(changed)


def test_check_mode_fails_naming_the_command_when_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = tmp_path / "prometheus-rule.yaml"
    stale.write_text("# old\n")
    monkeypatch.setattr(RENDER_RULES, "OUTPUT", stale)
    assert RENDER_RULES.main(["--check"]) == 1
    assert RENDER_RULES.COMMAND in capsys.readouterr().err
    stale.write_text(RENDER_RULES.render())
    assert RENDER_RULES.main(["--check"]) == 0
