"""Settings both sides read: the `[broker]` table, and the TOML helpers every config uses.

`read_toml` reads a file once; `interpolate` replaces `${VAR}` from the environment (`$$` is a
literal `$`; a missing variable is an error naming it); the `get_*` helpers check one key and
raise `ConfigError` naming its path (`broker.url: …`), never echoing a secret's value.
`HOOKGATE_BROKER_URL` overrides `broker.url`; either may name several nodes of a cluster
(`hookgate.broker_urls`). The gateway's own tables are in `gateway.config`.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hookgate import broker_urls
from hookgate.errors import ConfigError
from hookgate.secret import Secret

# `$$`, `${NAME}`, or a `$` that is neither: "$VAR" and "${VAR" are refused, never used as text.
_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|(\$)")
_EXCHANGE_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,200}")
_MIN_MESSAGE_KEY = 16  # characters; a shorter HMAC key is a placeholder, not a key
_DEFAULT_BROKER_URL = Secret("amqp://guest:guest@127.0.0.1:5672/")


@dataclass(frozen=True)
class BrokerSettings:
    #: One node's URL, or a cluster's, space-separated (`hookgate.broker_urls`): tried in turn.
    url: Secret = _DEFAULT_BROKER_URL
    exchange: str = "webhooks"
    #: `[broker] message_key`: the first signs messages, any one verifies (rotation).
    message_keys: tuple[Secret, ...] = ()
    #: The file has an `[admin]` table (`status_enabled`): emit status messages.
    emit_status: bool = False

    def display_url(self) -> str:
        """The URL (each node's) with its password masked, for logs and error messages."""
        return ", ".join(display_url(url) for url in broker_urls.split(self.url.reveal()))


def load_broker_settings(
    path: str | os.PathLike[str] | None, environ: Mapping[str, str] | None = None
) -> BrokerSettings:
    """Only the `[broker]` table, for consumers and DLQ tools: they need no sources or secrets.

    With `path` None (no file named and the default file absent), the defaults apply, with
    `HOOKGATE_BROKER_URL` still honoured.
    """
    env = os.environ if environ is None else environ
    raw = {} if path is None else read_toml(path)
    broker = interpolate(get_table(raw, "broker"), "broker", env)
    return replace(parse_broker(broker, env), emit_status=status_enabled(raw))


def status_enabled(raw: Mapping[str, Any]) -> bool:
    """Whether the deployment runs `hookgate admin` (the file has an `[admin]` table), and so
    whether the gateway and the consumers emit status messages. Nothing in the table is read
    (its token is admin's alone)."""
    return isinstance(raw.get("admin"), dict)


def read_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The file's TOML; `ConfigError` naming the file when it cannot be read or parsed."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read config file {os.fspath(path)!r}: {err.strerror}") from err
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{os.fspath(path)}: not valid TOML: {err}") from err


def parse_broker(table: dict[str, Any], env: Mapping[str, str]) -> BrokerSettings:
    only_keys(table, {"url", "exchange", "message_key"}, "broker")
    urls = _broker_urls(table, env)
    exchange = get_str(table, "exchange", "broker", "webhooks")
    if not _EXCHANGE_NAME.fullmatch(exchange) or exchange.startswith("amq."):
        raise ConfigError("broker.exchange: use letters, digits and _ . : - (not starting 'amq.')")
    keys = get_secrets(table, "message_key", "broker")
    for i, key in enumerate(keys):
        if len(key.reveal()) < _MIN_MESSAGE_KEY:
            raise ConfigError(
                f"broker.message_key[{i}]: shorter than {_MIN_MESSAGE_KEY} characters; "
                "use a long random value (e.g. `openssl rand -hex 32`)"
            )
    return BrokerSettings(url=Secret(broker_urls.join(urls)), exchange=exchange, message_keys=keys)


def _broker_urls(table: Mapping[str, Any], env: Mapping[str, str]) -> list[str]:
    """`HOOKGATE_BROKER_URL` (URLs separated by commas or spaces), else `broker.url` (a URL or a
    list of a cluster's nodes), each checked; errors name the entry, never show a URL."""
    override = env.get("HOOKGATE_BROKER_URL", "").strip()
    if override:
        urls, path = broker_urls.split(override), "HOOKGATE_BROKER_URL"
    else:
        value = table.get("url", BrokerSettings.url.reveal())
        path = "broker.url"
        # A URL, or a list; either may hold several joined as the env var's are.
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise ConfigError(f"{path}: expected a URL, or a non-empty list of a cluster's URLs")
        urls = [url for item in items for url in broker_urls.split(item)]
    if not urls:
        raise ConfigError(f"{path}: expected a URL, or a non-empty list of a cluster's URLs")
    for i, url in enumerate(urls):
        where = path if len(urls) == 1 else f"{path}[{i}]"
        try:
            parts = urlsplit(url)
        except ValueError as err:
            raise ConfigError(f"{where}: not a valid URL") from err
        if parts.scheme not in {"amqp", "amqps"} or not parts.hostname:
            raise ConfigError(f"{where}: expected an amqp:// or amqps:// URL with a host")
        try:
            parts.port  # noqa: B018 - urlsplit checks the port only when asked
        except ValueError as err:
            raise ConfigError(f"{where}: the port is not a number from 1 to 65535") from err
        if any(c.isspace() for c in url):
            raise ConfigError(f"{where}: a URL holds no spaces (percent-encode them: %20)")
    return urls


def interpolate(value: Any, path: str, env: Mapping[str, str]) -> Any:
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
        return {k: interpolate(v, key_path(path, k), env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, f"{path}[{i}]", env) for i, v in enumerate(value)]
    return value


def display_url(url: str) -> str:
    """`url` with its password masked (and its query dropped: it may hold one too), for logs
    and errors. Safe on a URL that does not parse (a port that is not a number): when it cannot
    tell where the credentials end, it masks all but the scheme."""
    if "://" not in url:  # no authority: nothing to tell a password from
        return "***" if "@" in url else url.partition("?")[0]
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(a URL that does not parse)"
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at and "@" in url:
        return f"{parts.scheme}://***"
    # redis://:password@host has no user name
    netloc = f"{userinfo.partition(':')[0]}:***@{host}" if at else host
    return f"{parts.scheme}://{netloc}{parts.path}"


def get_secrets(table: Mapping[str, Any], key: str, path: str) -> tuple[Secret, ...]:
    """A string or a list of strings, each non-blank; errors never show a value."""
    value = table.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise ConfigError(f"{key_path(path, key)}: expected a list of strings")
    for i, secret in enumerate(value):
        if not secret.strip():
            raise ConfigError(
                f"{key_path(path, key)}[{i}]: empty secret (is its variable empty or blank?)"
            )
        if secret != secret.strip():
            raise ConfigError(
                f"{key_path(path, key)}[{i}]: leading or trailing whitespace (a stray newline in "
                "the variable?)"
            )
    return tuple(Secret(s) for s in value)


def key_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def get_table(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: expected a table ([{key}])")
    return value


def only_keys(table: Mapping[str, Any], allowed: set[str], path: str) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{key_path(path, key)}: unknown key")


def get_str(table: Mapping[str, Any], key: str, path: str, default: str | None) -> str:
    value = table.get(key, default)
    if value is None:
        raise ConfigError(f"{key_path(path, key)}: required")
    if not isinstance(value, str):
        raise ConfigError(f"{key_path(path, key)}: expected a string")
    return value


def get_int(
    table: Mapping[str, Any], key: str, path: str, default: int, low: int, high: int
) -> int:
    value = table.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(f"{key_path(path, key)}: expected an integer")
    if not low <= value <= high:
        raise ConfigError(f"{key_path(path, key)}: expected an integer from {low} to {high}")
    return value


def get_number(
    table: Mapping[str, Any], key: str, path: str, default: float, *, positive: bool
) -> float:
    value = table.get(key, default)
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise ConfigError(f"{key_path(path, key)}: expected a number")
    if value < 0 or (positive and value == 0):
        raise ConfigError(
            f"{key_path(path, key)}: expected a {'positive' if positive else 'non-negative'} number"
        )
    return float(value)
