"""The permissions deploy/README.md prints are the ones the integration test checks."""

from __future__ import annotations

import re
from pathlib import Path

from consumers.permissions import (
    admin_permissions,
    deployer_permissions,
    gateway_permissions,
    service_permissions,
)

README = Path(__file__).resolve().parents[3] / "deploy" / "README.md"


def test_the_documented_rabbitmqctl_lines_are_the_checked_permissions() -> None:
    text = README.read_text()
    for user, permissions in (
        ("hookgate-gateway", gateway_permissions("webhooks")),
        ("hookgate-gateway", gateway_permissions("webhooks", status=True)),
        ("hookgate-billing", service_permissions("billing", "webhooks")),
        ("hookgate-billing", service_permissions("billing", "webhooks", status=True)),
        ("hookgate-admin", admin_permissions("webhooks")),
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


def test_status_adds_the_status_exchange_and_the_cancel_stream_and_nothing_to_configure() -> None:
    gateway = gateway_permissions("webhooks", status=True)
    assert re.match(gateway.write, "webhooks.status")
    assert not re.match(gateway.write, "webhooks.status.ledger")
    service = service_permissions("billing", "webhooks", status=True)
    assert re.match(service.write, "webhooks.status")
    assert re.match(service.read, "webhooks.cancellations")
    assert not re.match(service.configure, "webhooks.cancellations")
    assert service.configure == service_permissions("billing", "webhooks").configure


def test_admin_reads_dead_letter_queues_but_not_work_queues_nor_retry_tiers() -> None:
    read = re.compile(admin_permissions("webhooks").read)
    for yes in ("billing.dead", "ship-2_x.dead", "webhooks.archive", "webhooks.status.ledger"):
        assert read.match(yes), yes
    for no in ("billing", "billing.retry.5s", "billing.dead.x", ".dead", "webhooks.cancellations"):
        assert not read.match(no), no
