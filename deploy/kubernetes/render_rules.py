"""Build the PrometheusRule in base/ from deploy/prometheus/hookgate-alerts.yml.

The alert rules have one source, the file Prometheus loads directly (and `promtool test rules`
tests); the Prometheus Operator wants the same groups wrapped in a `PrometheusRule` object.
Generating the wrapper keeps the two from drifting apart: run this after changing the alerts,
and `tests/unit/deploy/test_kubernetes_rules.py` fails while the committed copy is stale.

    .venv/bin/python deploy/kubernetes/render_rules.py          # rewrite base/prometheus-rule.yaml
    .venv/bin/python deploy/kubernetes/render_rules.py --check  # exit 1 if it is out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ALERTS = HERE.parent / "prometheus" / "hookgate-alerts.yml"
OUTPUT = HERE / "base" / "prometheus-rule.yaml"
COMMAND = ".venv/bin/python deploy/kubernetes/render_rules.py"

_HEADER = f"""\
# Generated from deploy/prometheus/hookgate-alerts.yml: do not edit. Regenerate with
#   {COMMAND}
# spec.groups is exactly that file's groups.
"""


def prometheus_rule(alerts: dict[str, Any]) -> dict[str, Any]:
    """The PrometheusRule object whose `spec.groups` are the alert file's groups."""
    groups = alerts.get("groups")
    if not isinstance(groups, list) or not groups:
        raise ValueError(f"{ALERTS}: expected a non-empty `groups` list")
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "hookgate",
            "labels": {
                "app.kubernetes.io/name": "hookgate",
                "app.kubernetes.io/component": "alerts",
            },
        },
        "spec": {"groups": groups},
    }


def render(alerts_path: Path = ALERTS) -> str:
    """The text of base/prometheus-rule.yaml for the alerts file as it is now."""
    alerts = yaml.safe_load(alerts_path.read_text(encoding="utf-8"))
    body = yaml.safe_dump(prometheus_rule(alerts), sort_keys=False, allow_unicode=True, width=1000)
    return _HEADER + body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the output is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if OUTPUT.read_text(encoding="utf-8") != text:
            print(f"{OUTPUT} is out of date: run {COMMAND}", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
