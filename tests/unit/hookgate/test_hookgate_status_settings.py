"""Whether a process emits status: the shared file has an `[admin]` table (its token is
never read, so a consumer host needs no admin token)."""

from __future__ import annotations

from pathlib import Path

from hookgate.settings import load_broker_settings, status_enabled


def test_an_admin_table_turns_status_on_without_reading_its_token(tmp_path: Path) -> None:
    path = tmp_path / "hookgate.toml"
    path.write_text('[broker]\nexchange = "x"\n[admin]\ntoken = "${HOOKGATE_ADMIN_TOKEN}"\n')
    assert load_broker_settings(path, environ={}).emit_status is True


def test_without_an_admin_table_nothing_is_emitted(tmp_path: Path) -> None:
    path = tmp_path / "hookgate.toml"
    path.write_text('[broker]\nexchange = "x"\n')
    assert load_broker_settings(path, environ={}).emit_status is False
    assert load_broker_settings(None, environ={}).emit_status is False
    assert status_enabled({"admin": "not a table"}) is False
