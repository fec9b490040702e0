"""Load the gateway's TOML config into frozen dataclasses, once, at the edge.

One `hookgate.toml` serves every process: the gateway reads its own tables (`_TABLES`) and
accepts the other processes' (`[admin]`, `[ledger]`: `hookgate admin`'s) without reading or
interpolating them, so a variable only admin needs may be unset on a gateway host.

`${VAR}` in any string of the gateway's tables is replaced from the environment (`$$` is a
literal `$`); a missing variable is an error naming it. `HOOKGATE_BROKER_URL` overrides
`broker.url`. Unknown keys and bad values are errors that name the key path. The `[broker]`
table and the helpers come from `hookgate.settings` (consumers read the same table). Provider
options are checked by the provider itself when the source is built (`gateway.sources`).
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.dedupe_registry import BACKEND_NAMES
from hookgate.errors import ConfigError
from hookgate.redis_url import url_problem
from hookgate.secret import Secret
from hookgate.settings import (
    BrokerSettings,
    display_url,
    get_int,
    get_number,
    get_secrets,
    get_str,
    get_table,
    interpolate,
    key_path,
    only_keys,
    parse_broker,
    read_toml,
)

_SOURCE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
# Keys every source has; everything else in a source table is a provider option.
_SOURCE_KEYS = {
    "provider",
    "secrets",
    "tolerance_seconds",
    "allowed_ips",
    "forward_signature_headers",
}
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_DEFAULT_DEDUPE_URL = Secret("redis://127.0.0.1:6379/0")
_TABLES = ("gateway", "broker", "dedupe", "spool", "sources")
_OTHER_PROCESSES = ("admin", "ledger")  # read by `hookgate admin` (admin.config)


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
class DedupeSettings:
    backend: str = "sqlite"
    path: str = "var/dedupe.sqlite3"
    #: redis: may hold a password, so a `Secret` (masked in reprs); `display_url()` for logs.
    url: Secret = _DEFAULT_DEDUPE_URL
    key_prefix: str = "hookgate:dedupe:"
    ttl_seconds: float = 259_200.0

    def display_url(self) -> str:
        """The URL with its password masked, for logs and error messages."""
        return display_url(self.url.reveal())


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
    return parse_config(read_toml(path), os.environ if environ is None else environ)


def parse_config(raw: Mapping[str, Any], env: Mapping[str, str]) -> Config:
    only_keys(raw, {*_TABLES, *_OTHER_PROCESSES}, "")
    data = interpolate({k: v for k, v in raw.items() if k in _TABLES}, "", env)
    gateway = _gateway(get_table(data, "gateway"))
    broker = parse_broker(get_table(data, "broker"), env)
    dedupe = _dedupe(get_table(data, "dedupe"))
    spool = _spool(get_table(data, "spool"))
    sources = {name: _source(name, table) for name, table in get_table(data, "sources").items()}
    if not sources:
        raise ConfigError("sources: no source is configured; add a [sources.NAME] table")
    return Config(gateway, broker, dedupe, spool, sources)


def _gateway(table: dict[str, Any]) -> GatewaySettings:
    only_keys(table, set(GatewaySettings.__dataclass_fields__), "gateway")
    d = GatewaySettings()
    prefix = get_str(table, "path_prefix", "gateway", d.path_prefix).rstrip("/")
    if not prefix.startswith("/") or prefix == "/":
        raise ConfigError('gateway.path_prefix: a path such as "/webhooks" (not empty, not "/")')
    level = get_str(table, "log_level", "gateway", d.log_level).lower()
    if level not in {"debug", "info", "warning", "error"}:
        raise ConfigError("gateway.log_level: expected one of debug, info, warning, error")
    return GatewaySettings(
        host=get_str(table, "host", "gateway", d.host),
        port=get_int(table, "port", "gateway", d.port, 0, 65535),
        path_prefix=prefix,
        max_body_bytes=get_int(table, "max_body_bytes", "gateway", d.max_body_bytes, 1, 2**31),
        max_header_bytes=get_int(
            table, "max_header_bytes", "gateway", d.max_header_bytes, 1024, 2**24
        ),
        max_header_count=get_int(
            table, "max_header_count", "gateway", d.max_header_count, 16, 10_000
        ),
        publish_timeout_seconds=get_number(
            table, "publish_timeout_seconds", "gateway", d.publish_timeout_seconds, positive=True
        ),
        body_read_timeout_seconds=get_number(
            table,
            "body_read_timeout_seconds",
            "gateway",
            d.body_read_timeout_seconds,
            positive=True,
        ),
        header_read_timeout_seconds=get_number(
            table,
            "header_read_timeout_seconds",
            "gateway",
            d.header_read_timeout_seconds,
            positive=True,
        ),
        max_connections=get_int(
            table, "max_connections", "gateway", d.max_connections, 1, 1_000_000
        ),
        drain_seconds=get_number(
            table, "drain_seconds", "gateway", d.drain_seconds, positive=False
        ),
        shutdown_timeout_seconds=get_number(
            table, "shutdown_timeout_seconds", "gateway", d.shutdown_timeout_seconds, positive=True
        ),
        trusted_proxies=_networks(table, "trusted_proxies", "gateway"),
        log_level=level,
    )


def _dedupe(table: dict[str, Any]) -> DedupeSettings:
    only_keys(table, {"backend", "path", "url", "key_prefix", "ttl_seconds"}, "dedupe")
    d = DedupeSettings()
    backend = get_str(table, "backend", "dedupe", d.backend)
    if backend not in BACKEND_NAMES:
        names = ", ".join(repr(name) for name in BACKEND_NAMES)
        raise ConfigError(f"dedupe.backend: expected one of {names}")
    url = get_str(table, "url", "dedupe", d.url.reveal())
    problem = url_problem(url)  # the URL may hold a password: never in the error
    if problem:
        raise ConfigError(f"dedupe.url: {problem}")
    key_prefix = get_str(table, "key_prefix", "dedupe", d.key_prefix)
    if not key_prefix:
        raise ConfigError("dedupe.key_prefix: expected a non-empty string")
    return DedupeSettings(
        backend=backend,
        path=get_str(table, "path", "dedupe", d.path),
        url=Secret(url),
        key_prefix=key_prefix,
        ttl_seconds=get_number(table, "ttl_seconds", "dedupe", d.ttl_seconds, positive=True),
    )


def _spool(table: dict[str, Any]) -> SpoolSettings:
    only_keys(table, {"enabled", "path", "max_bytes"}, "spool")
    d = SpoolSettings()
    enabled = table.get("enabled", d.enabled)
    if not isinstance(enabled, bool):
        raise ConfigError("spool.enabled: expected true or false")
    return SpoolSettings(
        enabled=enabled,
        path=get_str(table, "path", "spool", d.path),
        max_bytes=get_int(table, "max_bytes", "spool", d.max_bytes, 1, 2**50),
    )


def _source(name: str, table: Any) -> SourceSettings:
    path = f"sources.{name}"
    if not _SOURCE_NAME.fullmatch(name):
        raise ConfigError(
            f"{path}: a source name is a URL segment: lower-case letters, digits, '-' and '_'"
        )
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: expected a table")
    provider = get_str(table, "provider", path, None)
    secrets = get_secrets(table, "secrets", path)
    forward_signatures = table.get("forward_signature_headers", True)
    if not isinstance(forward_signatures, bool):
        raise ConfigError(f"{path}.forward_signature_headers: expected true or false")
    tolerance = None
    if "tolerance_seconds" in table:
        tolerance = get_number(table, "tolerance_seconds", path, 0.0, positive=False)
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


def _networks(table: Mapping[str, Any], key: str, path: str) -> tuple[Network, ...]:
    """A list of addresses or CIDR ranges (`192.30.252.0/22`, `2a0a:a440::/29`)."""
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key_path(path, key)}: expected a list of IP addresses or CIDR ranges")
    networks = []
    for i, text in enumerate(value):
        try:
            # strict: "10.0.0.5/8" is a typo to report, not the whole /8 to trust.
            networks.append(ipaddress.ip_network(text.strip(), strict=True))
        except ValueError as err:
            # Never echo a configured value: say what is wrong, not what was written.
            reason = "host bits set" if "host bits" in str(err) else "not an address or range"
            raise ConfigError(f"{key_path(path, key)}[{i}]: {reason}") from None
    return tuple(networks)
