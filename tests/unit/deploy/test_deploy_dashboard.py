"""deploy/grafana/hookgate-dashboard.json: provisionable (datasource and filters as template
variables), every panel has queries, every query is valid PromQL (`promtool check rules` on
them as recording rules), and the metric-name reader the integration test relies on reads
them right. tests/integration/test_dashboard_metrics.py checks the names against real
`/metrics` output."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.promql_names import exposed_names, metric_names
from tests.unit.deploy.deploy_tools import promtool

ROOT = Path(__file__).resolve().parents[3]
DASHBOARD = ROOT / "deploy" / "grafana" / "hookgate-dashboard.json"
# What Grafana puts in for the variables when it runs a query.
_VARIABLES = {"$__rate_interval": "1m", "$source": ".*", "$service": "billing|shipping"}


def _dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text()))


def _panels() -> list[dict[str, Any]]:
    return [p for p in _dashboard()["panels"] if p["type"] != "row"]


def _exprs() -> list[str]:
    return [t["expr"] for p in _panels() for t in p["targets"]]


def test_the_dashboard_is_provisionable() -> None:
    dashboard = _dashboard()
    assert dashboard["uid"] == "hookgate"
    assert dashboard["id"] is None  # Grafana assigns it; a fixed id collides on import
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for name in ("source", "service"):
        assert variables[name]["type"] == "query"
        assert variables[name]["includeAll"]
        assert variables[name]["multi"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("panel", _panels(), ids=lambda p: p["title"])
def test_every_panel_queries_prometheus_through_the_variable(panel: dict[str, Any]) -> None:
    assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    assert panel["targets"]
    for target in panel["targets"]:
        assert target["expr"].strip()
        assert target["datasource"]["uid"] == "${datasource}"


def test_the_dashboard_shows_what_operators_need() -> None:
    names = {name for expr in _exprs() for name in metric_names(expr)}
    for needed in (
        "hookgate_requests_total",
        "hookgate_request_duration_seconds_bucket",
        "hookgate_publish_duration_seconds_bucket",
        "hookgate_publish_failures_total",
        "hookgate_spool_events",
        "hookgate_spool_bytes",
        "hookgate_spool_max_bytes",
        "hookgate_broker_connected",
        "hookgate_queue_messages",
        "hookgate_queue_consumers",
        "hookgate_consumer_events_total",
        "hookgate_consumer_event_lag_seconds_bucket",
        "hookgate_consumer_in_flight",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
    ):
        assert needed in names, needed


def test_every_query_is_valid_promql(tmp_path: Path) -> None:
    rules = []
    for i, expr in enumerate(_exprs()):
        for variable, value in _VARIABLES.items():
            expr = expr.replace(variable, value)
        assert "$" not in expr, expr
        rules.append({"record": f"dashboard:query_{i}", "expr": expr})
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = subprocess.run(
        [promtool(), "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ('up{job="hookgate-gateway"} == 0', {"up"}),
        ('absent(up{job="x"})', {"up"}),
        (
            'histogram_quantile(0.99, sum by (service, le) (rate(a_bucket{s=~"$s"}[5m]))) > 3',
            {"a_bucket"},
        ),
        (
            'max by (queue) (m{queue=~".+\\\\.dead"}) > 0 and on (queue) max by (queue) (c) == 0',
            {"m", "c"},
        ),
        ("sum(increase(x_total[1d] offset 1h)) >= 24", {"x_total"}),
        ("time() - max by (instance) (ts_seconds)", {"ts_seconds"}),
        ("a / (b > 0) unless ignoring (le) c", {"a", "b", "c"}),
    ],
)
def test_metric_names_are_read_from_promql(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


def test_exposed_names_include_every_sample() -> None:
    text = (
        '# HELP x_total help\n# TYPE x_total counter\nx_total{a="1"} 2.0\n'
        'h_bucket{le="+Inf"} 1.0\nh_count 1.0\nup 1\n'
    )
    assert exposed_names(text) == {"x_total", "h_bucket", "h_count", "up"}
