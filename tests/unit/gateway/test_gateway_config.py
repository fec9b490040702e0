"""gateway.config: interpolation, overrides, validation by key path, secrets kept hidden."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.config import (
    BrokerSettings,
    DedupeSettings,
    GatewaySettings,
    SpoolSettings,
    load_config,
    parse_config,
)
from gateway.errors import ConfigError
from hookgate import broker_urls
from hookgate.errors import HookgateError
from providers import Secret

STRIPE = {"provider": "stripe", "secrets": ["whsec_x"]}


def _raw(**tables: Any) -> dict[str, Any]:
    """A minimal valid raw config (one stripe source) with some tables replaced or added."""
    raw: dict[str, Any] = {"sources": {"stripe": dict(STRIPE)}}
    raw.update(tables)
    return raw


def _source(**keys: Any) -> dict[str, Any]:
    return _raw(sources={"stripe": {**STRIPE, **keys}})


def _error(raw: dict[str, Any], env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(raw, env or {})
    return str(info.value)


# --- defaults and a full file ---------------------------------------------------------------


def test_minimal_config_gets_documented_defaults() -> None:
    config = parse_config(_raw(), {})

    assert config.gateway == GatewaySettings()
    assert config.gateway.path_prefix == "/webhooks"
    assert config.gateway.port == 8000
    assert config.gateway.max_body_bytes == 1_048_576
    assert config.broker.exchange == "webhooks"
    assert config.broker.url.reveal() == "amqp://guest:guest@127.0.0.1:5672/"
    assert config.dedupe == DedupeSettings()
    assert config.dedupe.backend == "sqlite"
    assert config.dedupe.ttl_seconds == 259_200.0
    assert config.spool == SpoolSettings(enabled=True)
    assert config.spool.path == "var/spool.sqlite3"
    source = config.sources["stripe"]
    assert source.name == "stripe"
    assert source.provider == "stripe"
    assert [s.reveal() for s in source.secrets] == ["whsec_x"]
    assert source.tolerance_seconds is None
    assert dict(source.options) == {}


def test_load_config_reads_a_full_file(write_config: Callable[[str], Path]) -> None:
    path = write_config(
        """
        [gateway]
        host = "0.0.0.0"
        port = 9000
        path_prefix = "/hooks/"
        max_body_bytes = 2048
        publish_timeout_seconds = 2
        log_level = "DEBUG"

        [broker]
        url = "amqps://user:${BROKER_PASSWORD}@rabbit.example:5671/prod"
        exchange = "events"

        [dedupe]
        backend = "memory"
        ttl_seconds = 60

        [spool]
        enabled = false

        [sources.stripe-live]
        provider = "stripe"
        secrets = ["${STRIPE_NEW}", "${STRIPE_OLD}"]
        tolerance_seconds = 120

        [sources.stripe_connect]
        provider = "stripe"
        secrets = "whsec_single"
        """
    )
    env = {"BROKER_PASSWORD": "pw", "STRIPE_NEW": "whsec_new", "STRIPE_OLD": "whsec_old"}

    config = load_config(path, environ=env)

    assert config.gateway.host == "0.0.0.0"
    assert config.gateway.port == 9000
    assert config.gateway.path_prefix == "/hooks"
    assert config.gateway.max_body_bytes == 2048
    assert config.gateway.publish_timeout_seconds == 2.0
    assert isinstance(config.gateway.publish_timeout_seconds, float)
    assert config.gateway.log_level == "debug"
    assert config.broker.url.reveal() == "amqps://user:pw@rabbit.example:5671/prod"
    assert config.broker.exchange == "events"
    assert config.dedupe.backend == "memory"
    assert config.dedupe.ttl_seconds == 60.0
    assert list(config.sources) == ["stripe-live", "stripe_connect"]
    live = config.sources["stripe-live"]
    assert [s.reveal() for s in live.secrets] == ["whsec_new", "whsec_old"]
    assert live.tolerance_seconds == 120.0
    # A single string is accepted as a one-element list.
    assert [s.reveal() for s in config.sources["stripe_connect"].secrets] == ["whsec_single"]


def test_config_is_frozen() -> None:
    config = parse_config(_raw(), {})
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.gateway.port = 1  # type: ignore[misc]


def test_provider_specific_keys_are_kept_as_options() -> None:
    config = parse_config(_source(public_url="https://example.com/hook", max_age=3), {})
    assert dict(config.sources["stripe"].options) == {
        "public_url": "https://example.com/hook",
        "max_age": 3,
    }


# --- ${VAR} interpolation ---------------------------------------------------------------------


def test_env_var_is_interpolated_inside_a_longer_string() -> None:
    raw = _raw(gateway={"host": "${HOST_PREFIX}.internal", "path_prefix": "/${PREFIX}/in"})
    config = parse_config(raw, {"HOST_PREFIX": "gw1", "PREFIX": "hooks"})
    assert config.gateway.host == "gw1.internal"
    assert config.gateway.path_prefix == "/hooks/in"


def test_env_var_is_interpolated_in_secrets_list() -> None:
    raw = _source(secrets=["${NEW}", "${OLD}"])
    config = parse_config(raw, {"NEW": "whsec_new", "OLD": "whsec_old"})
    assert [s.reveal() for s in config.sources["stripe"].secrets] == ["whsec_new", "whsec_old"]


def test_env_var_is_interpolated_in_provider_options() -> None:
    config = parse_config(_source(public_url="https://${HOST}/x"), {"HOST": "h.example"})
    assert config.sources["stripe"].options["public_url"] == "https://h.example/x"


def test_double_dollar_is_a_literal_dollar() -> None:
    raw = _raw(gateway={"host": "a$$b"}, sources={"stripe": {**STRIPE, "secrets": ["p$$w"]}})
    config = parse_config(raw, {})
    assert config.gateway.host == "a$b"
    assert config.sources["stripe"].secrets[0].reveal() == "p$w"


def test_double_dollar_escapes_a_variable_reference() -> None:
    # `$${X}` is the literal text `${X}`: the variable is neither read nor required.
    config = parse_config(_source(secrets=["$${NOT_SET}"]), {})
    assert config.sources["stripe"].secrets[0].reveal() == "${NOT_SET}"


@pytest.mark.parametrize("written", ["$STRIPE_SECRET", "${STRIPE_SECRET", "pa$word", "x$"])
def test_dollar_that_is_not_a_variable_is_refused_without_echoing_it(written: str) -> None:
    message = _error(_source(secrets=[written]), {"STRIPE_SECRET": "whsec_real"})
    assert message.startswith("sources.stripe.secrets[0]: a '$' that is not ${NAME}")
    assert written not in message
    assert "whsec_real" not in message


def test_escaped_dollar_is_a_literal_dollar() -> None:
    config = parse_config(_source(secrets=["pa$$word"]), {})
    assert config.sources["stripe"].secrets[0].reveal() == "pa$word"


@pytest.mark.parametrize("value", [" ", "\t\n", "  \n"])
def test_blank_secret_is_refused(value: str) -> None:
    message = _error(_source(secrets=["${S}"]), {"S": value})
    assert message.startswith("sources.stripe.secrets[0]: empty secret")


def test_secret_with_stray_whitespace_is_refused_without_echoing_it() -> None:
    message = _error(_source(secrets=["${S}"]), {"S": "whsec_abc123\n"})
    assert message.startswith("sources.stripe.secrets[0]: leading or trailing whitespace")
    assert "whsec_abc123" not in message


def test_bad_network_error_does_not_echo_the_value() -> None:
    raw = _source()
    raw["sources"]["stripe"]["allowed_ips"] = ["10.9.8.7/8", "secret-host"]
    message = _error(raw, {})
    assert message == "sources.stripe.allowed_ips[0]: host bits set"
    raw["sources"]["stripe"]["allowed_ips"] = ["secret-host"]
    assert _error(raw, {}) == "sources.stripe.allowed_ips[0]: not an address or range"


def test_message_key_is_read_refused_when_short_and_never_shown() -> None:
    raw = _source()
    raw["broker"] = {"message_key": ["${K1}", "${K2}"]}
    config = parse_config(raw, {"K1": "k" * 32, "K2": "j" * 32})
    assert [k.reveal() for k in config.broker.message_keys] == ["k" * 32, "j" * 32]
    assert "k" * 32 not in repr(config)
    raw["broker"] = {"message_key": "${K1}"}
    message = _error(raw, {"K1": "short-key"})
    assert message.startswith("broker.message_key[0]: shorter than 16 characters")
    assert "short-key" not in message


def test_interpolated_value_is_not_interpolated_again() -> None:
    config = parse_config(_source(secrets=["${A}"]), {"A": "${B}", "B": "nope"})
    assert config.sources["stripe"].secrets[0].reveal() == "${B}"


def test_missing_env_var_names_variable_and_key_path() -> None:
    message = _error(_source(secrets=["whsec_x", "${STRIPE_WEBHOOK_SECRET_OLD}"]))
    assert message.startswith("sources.stripe.secrets[1]:")
    assert "STRIPE_WEBHOOK_SECRET_OLD" in message


def test_missing_env_var_in_nested_table_names_dotted_path() -> None:
    message = _error(_raw(broker={"url": "amqp://u:${RABBIT_PW}@h/"}))
    assert message.startswith("broker.url:")
    assert "RABBIT_PW" in message


def test_missing_env_var_error_from_file_names_variable(
    write_config: Callable[[str], Path],
) -> None:
    path = write_config(
        """
        [sources.stripe]
        provider = "stripe"
        secrets = ["${STRIPE_WEBHOOK_SECRET}"]
        """
    )
    with pytest.raises(
        ConfigError, match=r"^sources\.stripe\.secrets\[0\]: .*STRIPE_WEBHOOK_SECRET"
    ):
        load_config(path, environ={})


def test_load_config_reads_os_environ_by_default(
    write_config: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HOOKGATE_BROKER_URL", raising=False)
    monkeypatch.setenv("HOOKGATE_TEST_SECRET", "whsec_from_env")
    path = write_config(
        """
        [sources.stripe]
        provider = "stripe"
        secrets = ["${HOOKGATE_TEST_SECRET}"]
        """
    )
    config = load_config(path)
    assert config.sources["stripe"].secrets[0].reveal() == "whsec_from_env"


# --- HOOKGATE_BROKER_URL --------------------------------------------------------------------


def test_broker_url_env_overrides_file() -> None:
    raw = _raw(broker={"url": "amqp://file:file@file-host/"})
    config = parse_config(raw, {"HOOKGATE_BROKER_URL": "amqps://env:envpw@env-host:5671/v"})
    assert config.broker.url.reveal() == "amqps://env:envpw@env-host:5671/v"


def test_broker_url_env_overrides_default() -> None:
    config = parse_config(_raw(), {"HOOKGATE_BROKER_URL": "amqp://a:b@elsewhere/"})
    assert config.broker.url.reveal() == "amqp://a:b@elsewhere/"


def test_broker_url_env_override_is_validated_and_named() -> None:
    message = _error(_raw(), {"HOOKGATE_BROKER_URL": "http://not-amqp/"})
    assert message.startswith("HOOKGATE_BROKER_URL: expected an amqp")


# --- a cluster: several nodes, tried in turn --------------------------------------------------


def test_broker_url_list_names_a_clusters_nodes() -> None:
    raw = _raw(broker={"url": ["amqp://u:p1@rabbit-0/", "amqps://u:p2@rabbit-1:5671/v"]})
    broker = parse_config(raw, {}).broker
    assert broker_urls.split(broker.url.reveal()) == [
        "amqp://u:p1@rabbit-0/",
        "amqps://u:p2@rabbit-1:5671/v",
    ]
    assert broker.display_url() == "amqp://u:***@rabbit-0/, amqps://u:***@rabbit-1:5671/v"


def test_broker_url_env_takes_a_comma_or_space_separated_list() -> None:
    env = {"HOOKGATE_BROKER_URL": "amqp://a:x,y@n0/, amqp://a:z@n1/ amqp://a:w@n2/"}
    broker = parse_config(_raw(broker={"url": "amqp://file/"}), env).broker
    # The comma inside the first password is part of it, not a separator.
    assert broker_urls.split(broker.url.reveal()) == [
        "amqp://a:x,y@n0/",
        "amqp://a:z@n1/",
        "amqp://a:w@n2/",
    ]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ([], "broker.url: expected a URL, or a non-empty list"),
        (["amqp://a/", 5], "broker.url: expected a URL, or a non-empty list"),
        (["amqp://a/", "http://b/"], "broker.url[1]: expected an amqp"),
        (["amqp://a/", "amqp://b:70000/"], "broker.url[1]: the port is not a number"),
    ],
)
def test_broker_url_list_errors_name_the_entry(url: object, expected: str) -> None:
    assert _error(_raw(broker={"url": url})).startswith(expected)


def test_broker_url_list_errors_never_show_a_password() -> None:
    message = _error(_raw(broker={"url": ["amqp://u:SeCrEt@a/", "amqp://u:SeCrEt@b:0x/"]}))
    assert "SeCrEt" not in message


def test_broker_url_must_be_amqp() -> None:
    assert _error(_raw(broker={"url": "redis://h/"})).startswith("broker.url: expected an amqp")


# --- unknown keys and bad values, named by key path ------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (_raw(extra={}), "extra: unknown key"),
        (_raw(gateway={"prot": 1}), "gateway.prot: unknown key"),
        (_raw(broker={"exchnage": "x"}), "broker.exchnage: unknown key"),
        (_raw(dedupe={"ttl": 1}), "dedupe.ttl: unknown key"),
        (_raw(spool={"size": 1}), "spool.size: unknown key"),
    ],
)
def test_unknown_key_is_named_by_key_path(raw: dict[str, Any], expected: str) -> None:
    assert _error(raw) == expected


def test_admin_and_ledger_tables_are_accepted_without_being_read_or_interpolated() -> None:
    # One hookgate.toml serves every process: an admin token or ledger URL set only on the
    # admin host must not stop the gateway, nor a value the gateway would refuse.
    raw = _raw(
        admin={"token": "${HOOKGATE_ADMIN_TOKEN}", "port": "not checked here"},
        ledger={"backend": "postgres", "url": "${HOOKGATE_LEDGER_URL}", "odd": "$"},
    )
    config = parse_config(raw, {})
    assert config == parse_config(_raw(), {})


@pytest.mark.parametrize(
    ("raw", "prefix"),
    [
        (_source(tolerance_seconds="300"), "sources.stripe.tolerance_seconds: expected a number"),
        (_source(tolerance_seconds=True), "sources.stripe.tolerance_seconds: expected a number"),
        (
            _source(tolerance_seconds=-1),
            "sources.stripe.tolerance_seconds: expected a non-negative",
        ),
        (_raw(gateway={"port": "8000"}), "gateway.port: expected an integer"),
        (_raw(gateway={"port": 8000.0}), "gateway.port: expected an integer"),
        (_raw(gateway={"port": True}), "gateway.port: expected an integer"),
        (_raw(gateway={"port": 70000}), "gateway.port: expected an integer from 0 to 65535"),
        (_raw(gateway={"max_body_bytes": 0}), "gateway.max_body_bytes: expected an integer from"),
        (_raw(gateway={"host": 1}), "gateway.host: expected a string"),
        (_raw(gateway={"path_prefix": "webhooks"}), "gateway.path_prefix: a path such as"),
        (_raw(gateway={"path_prefix": "/"}), "gateway.path_prefix: a path such as"),
        (_raw(gateway={"path_prefix": ""}), "gateway.path_prefix: a path such as"),
        (_raw(broker={"url": "amqp://[::1/"}), "broker.url: not a valid URL"),
        (_raw(gateway={"log_level": "loud"}), "gateway.log_level: expected one of"),
        (
            _raw(gateway={"publish_timeout_seconds": 0}),
            "gateway.publish_timeout_seconds: expected a positive number",
        ),
        (_raw(dedupe={"ttl_seconds": "1d"}), "dedupe.ttl_seconds: expected a number"),
        (_raw(dedupe={"ttl_seconds": 0}), "dedupe.ttl_seconds: expected a positive number"),
        (
            _raw(dedupe={"backend": "postgres"}),
            "dedupe.backend: expected one of 'memory', 'sqlite', 'redis'",
        ),
        (_raw(dedupe={"key_prefix": ""}), "dedupe.key_prefix: expected a non-empty string"),
        (_raw(dedupe={"key_prefix": 1}), "dedupe.key_prefix: expected a string"),
        (_raw(broker={"exchange": "amq.topic"}), "broker.exchange:"),
        (_raw(broker={"exchange": "bad name"}), "broker.exchange:"),
        (_raw(broker={"exchange": ""}), "broker.exchange:"),
        (_raw(spool={"enabled": "yes"}), "spool.enabled: expected true or false"),
        (_raw(spool={"max_bytes": 0}), "spool.max_bytes: expected an integer from"),
        (_raw(gateway=[1]), "gateway: expected a table"),
        (_raw(sources={"stripe": "stripe"}), "sources.stripe: expected a table"),
        (_raw(sources=["stripe"]), "sources: expected a table"),
        (_raw(sources={}), "sources: no source is configured"),
        ({}, "sources: no source is configured"),
        (_raw(sources={"stripe": {"secrets": ["whsec_x"]}}), "sources.stripe.provider: required"),
        (_raw(sources={"stripe": {**STRIPE, "provider": 3}}), "sources.stripe.provider: expected"),
        (_source(secrets=[1]), "sources.stripe.secrets: expected a list of strings"),
        (_source(secrets={"a": "b"}), "sources.stripe.secrets: expected a list of strings"),
    ],
)
def test_bad_value_is_named_by_key_path(raw: dict[str, Any], prefix: str) -> None:
    assert _error(raw).startswith(prefix)


def test_config_error_is_a_hookgate_error() -> None:
    with pytest.raises(HookgateError):
        parse_config({}, {})


def test_zero_tolerance_is_accepted() -> None:
    config = parse_config(_source(tolerance_seconds=0), {})
    assert config.sources["stripe"].tolerance_seconds == 0.0


def test_trailing_slash_of_path_prefix_is_dropped() -> None:
    # A root prefix is refused (see the bad-value table): it would shadow /healthz and /metrics.
    assert parse_config(_raw(gateway={"path_prefix": "/in/"}), {}).gateway.path_prefix == "/in"


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        (_source(tolerance_seconds=math.nan), "sources.stripe.tolerance_seconds"),
        (_raw(dedupe={"ttl_seconds": math.nan}), "dedupe.ttl_seconds"),
        (_raw(gateway={"publish_timeout_seconds": math.nan}), "gateway.publish_timeout_seconds"),
    ],
)
def test_nan_number_is_refused_by_key_path(raw: dict[str, Any], path: str) -> None:
    assert _error(raw).startswith(f"{path}:")


def test_broker_url_with_invalid_port_is_refused() -> None:
    assert _error(_raw(broker={"url": "amqp://u:p@host:99999/"})).startswith("broker.url:")


# --- source names, secrets, dedupe and spool refusals ----------------------------------------


@pytest.mark.parametrize("name", ["stripe", "stripe-live", "stripe_connect", "s3", "0", "a" * 64])
def test_url_segment_source_name_is_accepted(name: str) -> None:
    assert name in parse_config(_raw(sources={name: dict(STRIPE)}), {}).sources


@pytest.mark.parametrize(
    "name", ["Stripe", "-stripe", "_unknown", "a" * 65, "a/b", "a.b", "a b", "", "strïpe"]
)
def test_source_name_that_is_not_a_url_segment_is_refused(name: str) -> None:
    message = _error(_raw(sources={name: dict(STRIPE)}))
    assert message.startswith(f"sources.{name}: a source name is a URL segment")


def test_empty_secret_names_its_index() -> None:
    assert _error(_source(secrets=["whsec_x", ""])).startswith("sources.stripe.secrets[1]: empty")


def test_secret_from_empty_env_var_is_refused() -> None:
    message = _error(_source(secrets=["${STRIPE_SECRET}"]), {"STRIPE_SECRET": ""})
    assert message.startswith("sources.stripe.secrets[0]: empty secret")


def test_spool_settings_are_read() -> None:
    spool = parse_config(
        _raw(spool={"enabled": True, "path": "/data/spool.db", "max_bytes": 4096}), {}
    ).spool
    assert spool == SpoolSettings(enabled=True, path="/data/spool.db", max_bytes=4096)


def test_spool_can_be_disabled() -> None:
    assert parse_config(_raw(spool={"enabled": False}), {}).spool.enabled is False


def test_redis_dedupe_backend_is_read() -> None:
    dedupe = parse_config(
        _raw(
            dedupe={
                "backend": "redis",
                "url": "rediss://:${REDIS_PASSWORD}@redis.internal:6380/2",
                "key_prefix": "edge:",
                "ttl_seconds": 600,
            }
        ),
        {"REDIS_PASSWORD": "hunter22"},
    ).dedupe
    assert dedupe.backend == "redis"
    assert dedupe.url.reveal() == "rediss://:hunter22@redis.internal:6380/2"
    assert dedupe.key_prefix == "edge:"
    assert dedupe.ttl_seconds == 600
    assert "hunter22" not in repr(dedupe)
    assert dedupe.display_url() == "rediss://:***@redis.internal:6380/2"


def test_redis_defaults() -> None:
    dedupe = parse_config(_raw(dedupe={"backend": "redis"}), {}).dedupe
    assert dedupe.url.reveal() == "redis://127.0.0.1:6379/0"
    assert dedupe.key_prefix == "hookgate:dedupe:"


@pytest.mark.parametrize("url", ["redis://h:6379/0", "rediss://h/0", "unix:///run/redis.sock?db=1"])
def test_redis_url_schemes_are_accepted(url: str) -> None:
    assert parse_config(_raw(dedupe={"url": url}), {}).dedupe.url.reveal() == url


def test_a_bad_redis_url_is_refused_without_echoing_it() -> None:
    message = _error(_raw(dedupe={"backend": "redis", "url": "http://:hunter22@h/"}))
    assert message == "dedupe.url: expected a redis://, rediss:// or unix:// URL"


def test_a_redis_url_with_a_bad_port_is_a_config_error_without_the_password() -> None:
    message = _error(_raw(dedupe={"backend": "redis", "url": "redis://:hunter22@h:abc/0"}))
    assert message == "dedupe.url: not a valid URL (is the port a number?)"


def test_an_unknown_backend_is_refused_without_echoing_it() -> None:
    message = _error(_raw(dedupe={"backend": "zzkv-secret-ish"}))
    assert "zzkv" not in message
    assert "'redis'" in message


# --- reading the file -------------------------------------------------------------------------


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    with pytest.raises(ConfigError, match="cannot read config file") as info:
        load_config(path, environ={})
    assert str(path) in str(info.value)


def test_invalid_toml_names_the_file(write_config: Callable[[str], Path]) -> None:
    path = write_config("[sources.stripe\nprovider = 'stripe'\n")
    with pytest.raises(ConfigError, match="not valid TOML") as info:
        load_config(path, environ={})
    assert str(path) in str(info.value)


# --- secrets stay hidden ----------------------------------------------------------------------


def test_secrets_never_appear_in_repr_or_str_of_config() -> None:
    env = {
        "STRIPE_SECRET": "whsec_TOPSECRET_value",
        "HOOKGATE_BROKER_URL": "amqp://user:BROKERPASS@host/",
    }
    config = parse_config(_source(secrets=["${STRIPE_SECRET}", "whsec_inline_SECRET"]), env)

    for text in (repr(config), str(config), f"{config}", repr(config.sources), repr(config.broker)):
        assert "TOPSECRET" not in text
        assert "inline_SECRET" not in text
        assert "BROKERPASS" not in text
    # The values are still there for those who reveal them.
    assert config.sources["stripe"].secrets[0].reveal() == "whsec_TOPSECRET_value"
    assert "BROKERPASS" in config.broker.url.reveal()


def test_secret_repr_and_str_hide_the_value() -> None:
    secret = Secret("whsec_hidden")
    assert "whsec_hidden" not in repr(secret)
    assert "whsec_hidden" not in str(secret)
    assert "whsec_hidden" not in f"{secret!r} {secret}"
    assert secret.reveal() == "whsec_hidden"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("amqp://guest:s3cr3tpw@127.0.0.1:5672/", "amqp://guest:***@127.0.0.1:5672/"),
        ("amqps://user:s3cr3tpw@rabbit.example/vhost", "amqps://user:***@rabbit.example/vhost"),
        ("amqp://rabbit.example:5672/", "amqp://rabbit.example:5672/"),
        ("amqp://user:s3cr3tpw@h/?heartbeat=30", "amqp://user:***@h/"),
    ],
)
def test_display_url_masks_the_password(url: str, shown: str) -> None:
    displayed = BrokerSettings(url=Secret(url)).display_url()
    assert displayed == shown
    assert "s3cr3tpw" not in displayed


def test_default_broker_display_url_masks_the_default_password() -> None:
    assert BrokerSettings().display_url() == "amqp://guest:***@127.0.0.1:5672/"


def test_display_url_keeps_ipv6_brackets() -> None:
    url = Secret("amqp://u:pw@[::1]:5672/vh")
    assert BrokerSettings(url=url).display_url() == "amqp://u:***@[::1]:5672/vh"


def test_drain_and_shutdown_timeouts_are_read_and_checked() -> None:
    gateway = parse_config(
        _raw(gateway={"drain_seconds": 0, "shutdown_timeout_seconds": 20}), {}
    ).gateway
    assert (gateway.drain_seconds, gateway.shutdown_timeout_seconds) == (0.0, 20.0)
    assert _error(_raw(gateway={"shutdown_timeout_seconds": 0})).startswith(
        "gateway.shutdown_timeout_seconds: expected a positive number"
    )
    assert _error(_raw(gateway={"drain_seconds": -1})).startswith("gateway.drain_seconds:")
