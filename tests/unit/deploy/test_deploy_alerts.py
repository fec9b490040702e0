"""deploy/prometheus: the alert rules pass `promtool check rules`, their unit tests pass
`promtool test rules`, and every alert has a test where it fires and one where it does not,
a severity, a summary and a runbook entry that exists in deploy/README.md.

promtool comes from Debian's `prometheus` package (deploy/dev/ensure-deploy-tools.sh, which
deploy/dev/test.sh runs first).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.deploy.deploy_tools import promtool

ROOT = Path(__file__).resolve().parents[3]
RULES = ROOT / "deploy" / "prometheus" / "hookgate-alerts.yml"
TESTS = sorted((ROOT / "deploy" / "prometheus" / "tests").glob("*.yml"))
README = ROOT / "deploy" / "README.md"
JOBS = ("hookgate-gateway", "hookgate-consumer", "hookgate-admin")


def _rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def _cases() -> list[dict[str, Any]]:
    return [
        case
        for path in TESTS
        for test in yaml.safe_load(path.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
    ]


ALERTS = [rule["alert"] for rule in _rules()]


def test_promtool_checks_the_rules() -> None:
    result = subprocess.run(
        [promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in result.stdout


def test_promtool_unit_tests_pass() -> None:
    assert TESTS, "no promtool tests in deploy/prometheus/tests"
    result = subprocess.run(
        [promtool(), "test", "rules", *map(str, TESTS)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(TESTS), result.stdout


def test_a_wrong_expectation_fails_promtool(tmp_path: Path) -> None:
    # The harness can fail: the same tests, with one alert expected under the wrong severity.
    source = (RULES.parent / "tests" / "gateway.yml").read_text()
    broken = source.replace("severity: page", "severity: ticket", 1)
    assert broken != source
    (tmp_path / "broken.yml").write_text(
        broken.replace("../hookgate-alerts.yml", str(RULES)), encoding="utf-8"
    )
    result = subprocess.run(
        [promtool(), "test", "rules", str(tmp_path / "broken.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "FAILED" in result.stdout + result.stderr


@pytest.mark.parametrize("alert", ALERTS)
def test_every_alert_has_a_case_where_it_fires_and_one_where_it_does_not(alert: str) -> None:
    cases = [case for case in _cases() if case["alertname"] == alert]
    assert any(case.get("exp_alerts") for case in cases), f"{alert}: no test where it fires"
    assert any(not case.get("exp_alerts") for case in cases), f"{alert}: none where it is quiet"


@pytest.mark.parametrize("rule", _rules(), ids=ALERTS)
def test_every_alert_has_a_severity_a_summary_and_a_runbook_entry(rule: dict[str, Any]) -> None:
    assert rule["labels"]["severity"] in {"page", "ticket"}
    annotations = rule["annotations"]
    assert annotations["summary"].strip()
    anchor = rule["alert"].lower()
    assert annotations["runbook"] == f"deploy/README.md#{anchor}"
    headings = re.findall(r"^### (\S+)\s*$", _runbook(), flags=re.MULTILINE)
    assert rule["alert"] in headings, f"deploy/README.md has no runbook entry ### {rule['alert']}"


def test_the_runbook_has_no_entry_for_an_alert_that_does_not_exist() -> None:
    headings = re.findall(r"^### (Hookgate\S+)\s*$", _runbook(), flags=re.MULTILINE)
    assert sorted(headings) == sorted(ALERTS)


def test_jobs_named_in_rules_are_the_documented_ones() -> None:
    text = RULES.read_text()
    for job in set(re.findall(r'job="([^"]+)"', text)):
        assert job in JOBS, job
    for pattern in set(re.findall(r'job=~"([^"]+)"', text)):
        assert any(re.fullmatch(pattern, job) for job in JOBS), pattern
    for job in JOBS:
        assert job in text.split("groups:")[0], f"{job} not documented at the top of the rules"


def _runbook() -> str:
    text = README.read_text()
    assert "\n## Runbook\n" in text, "deploy/README.md has no ## Runbook section"
    return text.split("\n## Runbook\n", 1)[1].split("\n## ", 1)[0]
