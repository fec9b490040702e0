"""Load the TOML config into frozen dataclasses, once, at the edge.

`${VAR}` in any string is replaced from the environment (`$$` is a literal `$`); a missing
variable is an error naming it. `HOOKGATE_BROKER_URL` overrides `broker.url`. Unknown keys and
bad values are errors that name the key path. Provider options are checked by the provider
itself when the source is built (`gateway.sources`).
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gateway.dedupe_registry import BACKEND_NAMES
from gateway.errors import ConfigError
from providers import Secret

# `$$`, `${NAME}`, or a `$` that is neither: "$VAR" and "${VAR" are refused, never used as text.
_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|(\$)")
_SOURCE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_EXCHANGE_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,200}")
# Keys every source has; everything else in a source table is a provider option.
_SOURCE_KEYS = {
    "provider",
    "secrets",
    "tolerance_seconds",
    "allowed_ips",
    "forward_signature_headers",
}
_MIN_MESSAGE_KEY = 16  # characters; a shorter HMAC key is a placeholder, not a key
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_DEFAULT_BROKER_URL = Secret("amqp://guest:guest@127.0.0.1:5672/")
_DEFAULT_DEDUPE_URL = Secret("redis://127.0.0.1:6379/0")
_REDIS_SCHEMES = ("redis", "rediss", "unix")


@dataclass(frozen=True)
class GatewaySettings:
    host: str = "127.0.0.1"
    port: int = 8000
    path_prefix: str = "/webhooks"
    max_body_bytes: int = 1_048_576
    max_header_bytes: int = 65_536
    max_header_count: int = 100
    publish_timeout_seconds: float = 5.0
    body_read_timeout_seconds: float = 10.0
    header_read_timeout_seconds: float = 10.0
    max_connections: int = 1000
    drain_seconds: float = 2.0
    shutdown_timeout_seconds: float = 10.0
    trusted_proxies: tuple[Network, ...] = ()
    log_level: str = "info"


@dataclass(frozen=True)
class BrokerSettings:
    url: Secret = _DEFAULT_BROKER_URL
    exchange: str = "webhooks"
    #: `[broker] message_key`: the first signs messages, any one verifies (rotation).
    message_keys: tuple[Secret, ...] = ()

    def display_url(self) -> str:
        """The URL with its password masked, for logs and error messages."""
        return _display_url(self.url.reveal())


@dataclass(frozen=True)
class DedupeSettings:
    backend: str = "sqlite"
    path: str = "var/dedupe.sqlite3"
    #: redis: may hold a password, so a `Secret` (masked in reprs); `display_url()` for logs.
    url: Secret = _DEFAULT_DEDUPE_URL
    key_prefix: str = "hookgate:dedupe:"
    ttl_seconds: float = 259_200.0

    def display_url(self) -> str:
        """The URL with its password masked, for logs and error messages."""
        return _display_url(self.url.reveal())


@dataclass(frozen=True)
class SpoolSettings:
    enabled: bool = True
    path: str = "var/spool.sqlite3"
    max_bytes: int = 1_073_741_824


@dataclass(frozen=True)
class SourceSettings:
    name: str
    provider: str
    secrets: tuple[Secret, ...]
    tolerance_seconds: float | None
    allowed_ips: tuple[Network, ...] = ()
    forward_signature_headers: bool = True
    # Provider options may hold tokens (verify_token): kept out of reprs like the secrets.
    options: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Config:
    gateway: GatewaySettings
    broker: BrokerSettings
    dedupe: DedupeSettings
    spool: SpoolSettings
    sources: Mapping[str, SourceSettings]


def load_config(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> Config:
    """Read, interpolate and validate a config file."""
    env = os.environ if environ is None else environ
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read config file {os.fspath(path)!r}: {err.strerror}") from err
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{os.fspath(path)}: not valid TOML: {err}") from err
    return parse_config(raw, env)


def load_broker_settings(
    path: str | os.PathLike[str] | None, environ: Mapping[str, str] | None = None
) -> BrokerSettings:
    """Only the `[broker]` table, for consumers and DLQ tools: they need no sources or secrets.

    With `path` None (no file named and the default file absent), the defaults apply, with
    `HOOKGATE_BROKER_URL` still honoured.
    """
    env = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            text = Path(path).read_text(encoding="utf-8")
            raw = tomllib.loads(text)
        except OSError as err:
            raise ConfigError(
                f"cannot read config file {os.fspath(path)!r}: {err.strerror}"
            ) from err
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{os.fspath(path)}: not valid TOML: {err}") from err
    broker = _interpolate(_table(raw, "broker"), "broker", env)
    return _broker(broker, env)


def parse_config(raw: Mapping[str, Any], env: Mapping[str, str]) -> Config:
    data = _interpolate(raw, "", env)
    _only(data, {"gateway", "broker", "dedupe", "spool", "sources"}, "")
    gateway = _gateway(_table(data, "gateway"))
    broker = _broker(_table(data, "broker"), env)
    dedupe = _dedupe(_table(data, "dedupe"))
    spool = _spool(_table(data, "spool"))
    sources = {name: _source(name, table) for name, table in _table(data, "sources").items()}
    if not sources:
        raise ConfigError("sources: no source is configured; add a [sources.NAME] table")
    return Config(gateway, broker, dedupe, spool, sources)


def _interpolate(value: Any, path: str, env: Mapping[str, str]) -> Any:
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            if match.group(2) is not None:
                raise ConfigError(
                    f"{path}: a '$' that is not ${{NAME}}: write ${{VAR}} for an environment "
                    "variable, $$ for a literal '$'"
                )
            name = match.group(1)
            if name is None:
                return "$"
            if name not in env:
                raise ConfigError(f"{path}: environment variable {name} is not set")
            return env[name]

        return _VAR.sub(replace, value)
    if isinstance(value, dict):
        return {k: _interpolate(v, _join(path, k), env) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, f"{path}[{i}]", env) for i, v in enumerate(value)]
    return value


def _gateway(table: dict[str, Any]) -> GatewaySettings:
    _only(table, set(GatewaySettings.__dataclass_fields__), "gateway")
    d = GatewaySettings()
    prefix = _str(table, "path_prefix", "gateway", d.path_prefix).rstrip("/")
    if not prefix.startswith("/") or prefix == "/":
        raise ConfigError('gateway.path_prefix: a path such as "/webhooks" (not empty, not "/")')
    level = _str(table, "log_level", "gateway", d.log_level).lower()
    if level not in {"debug", "info", "warning", "error"}:
        raise ConfigError("gateway.log_level: expected one of debug, info, warning, error")
    return GatewaySettings(
        host=_str(table, "host", "gateway", d.host),
        port=_int(table, "port", "gateway", d.port, 0, 65535),
        path_prefix=prefix,
        max_body_bytes=_int(table, "max_body_bytes", "gateway", d.max_body_bytes, 1, 2**31),
        max_header_bytes=_int(
            table, "max_header_bytes", "gateway", d.max_header_bytes, 1024, 2**24
        ),
        max_header_count=_int(table, "max_header_count", "gateway", d.max_header_count, 16, 10_000),
        publish_timeout_seconds=_number(
            table, "publish_timeout_seconds", "gateway", d.publish_timeout_seconds, positive=True
        ),
        body_read_timeout_seconds=_number(
            table,
            "body_read_timeout_seconds",
            "gateway",
            d.body_read_timeout_seconds,
            positive=True,
        ),
        header_read_timeout_seconds=_number(
            table,
            "header_read_timeout_seconds",
            "gateway",
            d.header_read_timeout_seconds,
            positive=True,
        ),
        max_connections=_int(table, "max_connections", "gateway", d.max_connections, 1, 1_000_000),
        drain_seconds=_number(table, "drain_seconds", "gateway", d.drain_seconds, positive=False),
        shutdown_timeout_seconds=_number(
            table, "shutdown_timeout_seconds", "gateway", d.shutdown_timeout_seconds, positive=True
        ),
        trusted_proxies=_networks(table, "trusted_proxies", "gateway"),
        log_level=level,
    )


def _broker(table: dict[str, Any], env: Mapping[str, str]) -> BrokerSettings:
    _only(table, {"url", "exchange", "message_key"}, "broker")
    url = env.get("HOOKGATE_BROKER_URL") or _str(
        table, "url", "broker", BrokerSettings.url.reveal()
    )
    try:
        parts = urlsplit(url)
    except ValueError as err:
        raise ConfigError("broker.url: not a valid URL") from err
    if parts.scheme not in {"amqp", "amqps"} or not parts.hostname:
        raise ConfigError("broker.url: expected an amqp:// or amqps:// URL with a host")
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when asked
    except ValueError as err:
        raise ConfigError("broker.url: the port is not a number from 1 to 65535") from err
    exchange = _str(table, "exchange", "broker", "webhooks")
    if not _EXCHANGE_NAME.fullmatch(exchange) or exchange.startswith("amq."):
        raise ConfigError("broker.exchange: use letters, digits and _ . : - (not starting 'amq.')")
    keys = _secrets(table, "message_key", "broker")
    for i, key in enumerate(keys):
        if len(key.reveal()) < _MIN_MESSAGE_KEY:
            raise ConfigError(
                f"broker.message_key[{i}]: shorter than {_MIN_MESSAGE_KEY} characters; "
                "use a long random value (e.g. `openssl rand -hex 32`)"
            )
    return BrokerSettings(url=Secret(url), exchange=exchange, message_keys=keys)


def _display_url(url: str) -> str:
    """`url` with its password masked (and its query dropped: it may hold one too)."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if ":" in netloc:
        netloc = f"[{netloc}]"  # IPv6
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    if parts.username or parts.password:  # redis://:password@host has no user name
        netloc = f"{parts.username or ''}:***@{netloc}"
    return f"{parts.scheme}://{netloc}{parts.path}"


def _dedupe(table: dict[str, Any]) -> DedupeSettings:
    _only(table, {"backend", "path", "url", "key_prefix", "ttl_seconds"}, "dedupe")
    d = DedupeSettings()
    backend = _str(table, "backend", "dedupe", d.backend)
    if backend not in BACKEND_NAMES:
        names = ", ".join(repr(name) for name in BACKEND_NAMES)
        raise ConfigError(f"dedupe.backend: expected one of {names}")
    url = _str(table, "url", "dedupe", d.url.reveal())
    # The URL may hold a password: the error names the schemes, never the value.
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - urlsplit checks the port only when asked
    except ValueError:
        raise ConfigError("dedupe.url: not a valid URL (is the port a number?)") from None
    if parts.scheme not in _REDIS_SCHEMES:
        raise ConfigError("dedupe.url: expected a redis://, rediss:// or unix:// URL")
    key_prefix = _str(table, "key_prefix", "dedupe", d.key_prefix)
    if not key_prefix:
        raise ConfigError("dedupe.key_prefix: expected a non-empty string")
    return DedupeSettings(
        backend=backend,
        path=_str(table, "path", "dedupe", d.path),
        url=Secret(url),
        key_prefix=key_prefix,
        ttl_seconds=_number(table, "ttl_seconds", "dedupe", d.ttl_seconds, positive=True),
    )


def _spool(table: dict[str, Any]) -> SpoolSettings:
    _only(table, {"enabled", "path", "max_bytes"}, "spool")
    d = SpoolSettings()
    enabled = table.get("enabled", d.enabled)
    if not isinstance(enabled, bool):
        raise ConfigError("spool.enabled: expected true or false")
    return SpoolSettings(
        enabled=enabled,
        path=_str(table, "path", "spool", d.path),
        max_bytes=_int(table, "max_bytes", "spool", d.max_bytes, 1, 2**50),
    )


def _source(name: str, table: Any) -> SourceSettings:
    path = f"sources.{name}"
    if not _SOURCE_NAME.fullmatch(name):
        raise ConfigError(
            f"{path}: a source name is a URL segment: lower-case letters, digits, '-' and '_'"
        )
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: expected a table")
    provider = _str(table, "provider", path, None)
    secrets = _secrets(table, "secrets", path)
    forward_signatures = table.get("forward_signature_headers", True)
    if not isinstance(forward_signatures, bool):
        raise ConfigError(f"{path}.forward_signature_headers: expected true or false")
    tolerance = None
    if "tolerance_seconds" in table:
        tolerance = _number(table, "tolerance_seconds", path, 0.0, positive=False)
    options = {k: v for k, v in table.items() if k not in _SOURCE_KEYS}
    return SourceSettings(
        name,
        provider,
        secrets,
        tolerance,
        _networks(table, "allowed_ips", path),
        forward_signatures,
        options,
    )


def _secrets(table: Mapping[str, Any], key: str, path: str) -> tuple[Secret, ...]:
    """A string or a list of strings, each non-blank; errors never show a value."""
    value = table.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise ConfigError(f"{_join(path, key)}: expected a list of strings")
    for i, secret in enumerate(value):
        if not secret.strip():
            raise ConfigError(
                f"{_join(path, key)}[{i}]: empty secret (is its variable empty or blank?)"
            )
        if secret != secret.strip():
            raise ConfigError(
                f"{_join(path, key)}[{i}]: leading or trailing whitespace (a stray newline in "
                "the variable?)"
            )
    return tuple(Secret(s) for s in value)


def _networks(table: Mapping[str, Any], key: str, path: str) -> tuple[Network, ...]:
    """A list of addresses or CIDR ranges (`192.30.252.0/22`, `2a0a:a440::/29`)."""
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{_join(path, key)}: expected a list of IP addresses or CIDR ranges")
    networks = []
    for i, text in enumerate(value):
        try:
            # strict: "10.0.0.5/8" is a typo to report, not the whole /8 to trust.
            networks.append(ipaddress.ip_network(text.strip(), strict=True))
        except ValueError as err:
            # Never echo a configured value: say what is wrong, not what was written.
            reason = "host bits set" if "host bits" in str(err) else "not an address or range"
            raise ConfigError(f"{_join(path, key)}[{i}]: {reason}") from None
    return tuple(networks)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _table(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: expected a table ([{key}])")
    return value


def _only(table: Mapping[str, Any], allowed: set[str], path: str) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{_join(path, key)}: unknown key")


def _str(table: Mapping[str, Any], key: str, path: str, default: str | None) -> str:
    value = table.get(key, default)
    if value is None:
        raise ConfigError(f"{_join(path, key)}: required")
    if not isinstance(value, str):
        raise ConfigError(f"{_join(path, key)}: expected a string")
    return value


def _int(table: Mapping[str, Any], key: str, path: str, default: int, low: int, high: int) -> int:
    value = table.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(f"{_join(path, key)}: expected an integer")
    if not low <= value <= high:
        raise ConfigError(f"{_join(path, key)}: expected an integer from {low} to {high}")
    return value


def _number(
    table: Mapping[str, Any], key: str, path: str, default: float, *, positive: bool
) -> float:
    value = table.get(key, default)
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise ConfigError(f"{_join(path, key)}: expected a number")
    if value < 0 or (positive and value == 0):
        raise ConfigError(
            f"{_join(path, key)}: expected a {'positive' if positive else 'non-negative'} number"
        )
    return float(value)
