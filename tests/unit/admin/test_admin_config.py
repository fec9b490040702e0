"""admin.config: the [admin] and [ledger] tables, read alone from the shared hookgate.toml."""

from __future__ import annotations

from typing import Any

import pytest

from admin.config import parse_admin_config
from hookgate.errors import ConfigError

TOKEN = "t" * 32


def _raw(**tables: Any) -> dict[str, Any]:
    return {"admin": {"token": "${TOKEN}"}, **tables}


def test_defaults_and_only_its_own_tables_are_interpolated() -> None:
    raw = {
        **_raw(ledger={"url": "${HOOKGATE_LEDGER_URL}"}),
        "sources": {"stripe": {"provider": "stripe", "secrets": ["${UNSET_ON_THIS_HOST}"]}},
    }
    config = parse_admin_config(raw, {"TOKEN": TOKEN})
    assert config.admin.token.reveal() == TOKEN
    assert (config.admin.host, config.admin.port) == ("127.0.0.1", 8081)
    assert config.admin.queue_sample_seconds == 15.0
    assert (config.ledger.backend, config.ledger.path, config.ledger.url) == (
        "sqlite",
        "var/ledger.sqlite3",
        None,
    )
    assert config.ledger.retention_days == 14.0
    assert (config.ledger.archive, config.ledger.archive_max_bytes) == (False, 10_000_000_000)
    assert config.broker.exchange == "webhooks"


def test_postgres_needs_its_url_and_never_shows_the_password() -> None:
    url = "postgresql://hg:s3cret-pw@127.0.0.1:5432/hookgate"
    config = parse_admin_config(
        _raw(ledger={"backend": "postgres", "url": "${U}"}), {"TOKEN": TOKEN, "U": url}
    )
    assert config.ledger.url is not None
    assert config.ledger.url.reveal() == url
    assert "s3cret-pw" not in repr(config) + config.ledger.display_url()
    with pytest.raises(ConfigError, match=r"^ledger\.url: required"):
        parse_admin_config(_raw(ledger={"backend": "postgres"}), {"TOKEN": TOKEN})


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({}, r"^admin: no \[admin\] table"),
        ({"admin": {}}, r"^admin\.token: required"),
        ({"admin": {"token": "short"}}, r"^admin\.token: shorter than 16"),
        (_raw(ledger={"backend": "mongo"}), r"^ledger\.backend: expected one of"),
        (_raw(ledger={"retention_days": 0}), r"^ledger\.retention_days: expected a positive"),
        (_raw(admin={"token": TOKEN, "prot": 1}), r"^admin\.prot: unknown key"),
        (
            _raw(admin={"token": TOKEN, "queue_sample_seconds": 0}),
            r"^admin\.queue_sample_seconds: expected a positive",
        ),
        (_raw(ledger={"archive": "yes"}), r"^ledger\.archive: expected true or false"),
        (_raw(ledger={"archive": 1}), r"^ledger\.archive: expected true or false"),
        (_raw(ledger={"archive_max_bytes": "1GB"}), r"^ledger\.archive_max_bytes: expected an"),
        (
            _raw(ledger={"archive_max_bytes": 1000}),
            r"^ledger\.archive_max_bytes: expected an integer from 67108864",
        ),
    ],
)
def test_bad_values_are_named_by_key_path(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_admin_config(raw, {"TOKEN": TOKEN})


def test_the_archive_can_be_turned_off_and_capped() -> None:
    raw = _raw(ledger={"archive": False, "archive_max_bytes": 2**30, "retention_days": 3})
    ledger = parse_admin_config(raw, {"TOKEN": TOKEN}).ledger
    assert (ledger.archive, ledger.archive_max_bytes, ledger.retention_days) == (False, 2**30, 3)


def test_the_queue_sample_interval_is_set_in_the_admin_table() -> None:
    raw = {"admin": {"token": "${TOKEN}", "queue_sample_seconds": 2.5}}
    assert parse_admin_config(raw, {"TOKEN": TOKEN}).admin.queue_sample_seconds == 2.5
