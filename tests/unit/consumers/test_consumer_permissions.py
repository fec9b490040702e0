"""The permissions deploy/README.md prints are the ones the integration test checks."""

from __future__ import annotations

import re
from pathlib import Path

from consumers.permissions import deployer_permissions, gateway_permissions, service_permissions

README = Path(__file__).resolve().parents[3] / "deploy" / "README.md"


def test_the_documented_rabbitmqctl_lines_are_the_checked_permissions() -> None:
    text = README.read_text()
    for user, permissions in (
        ("hookgate-gateway", gateway_permissions("webhooks")),
        ("hookgate-billing", service_permissions("billing", "webhooks")),
        ("hookgate-deploy", deployer_permissions("webhooks", ["billing"])),
    ):
        assert permissions.command(user) in text


def test_a_service_pattern_matches_its_own_queues_only() -> None:
    configure = re.compile(service_permissions("billing", "webhooks").configure)
    for mine in ("billing", "billing.dead", "billing.retry.5s", "billing.retry.250ms"):
        assert configure.match(mine)
    for other in (
        "billing2",
        "billing.dead.x",
        "shipping",
        "webhooks",
        "billing.retry.",
        "xbilling",
    ):
        assert not configure.match(other)


def test_names_with_regex_characters_are_escaped() -> None:
    write = re.compile(gateway_permissions("hooks.v2").write)
    assert write.match("hooks.v2")
    assert not write.match("hooksXv2")
