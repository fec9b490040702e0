"""deploy/compose.yaml as data, for the tests that check it offline
(tests/unit/deploy/test_deploy_compose.py) and the script that runs its hookgate services from
the image (deploy/dev/smoke_compose_roles.py): compose's own variable interpolation, the
services that run the hookgate image, their mounts and options."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / ".env.example"
CONFIG = DEPLOY / "compose" / "hookgate.toml"
_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|([A-Za-z_]\w*))")


def env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def dummy_env() -> dict[str, str]:
    """.env.example with every placeholder replaced by a long random value, as a user would."""
    return {
        key: secrets.token_hex(24) if "CHANGE-ME" in value else value
        for key, value in env_example().items()
    }


def used_variables(text: str) -> set[str]:
    text = text.replace("$$", "")  # compose's escape for a literal $
    return {match.group(1) or match.group(4) for match in _VARIABLE.finditer(text)}


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """Compose's interpolation (${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, $VAR,
    $$) over every string in a loaded compose file."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(4)
        operator, argument = match.group(2), match.group(3)
        present = name in env and (env[name] != "" or operator in (None, "-", "?"))
        if present:
            return env[name]
        if operator in (":?", "?"):
            raise AssertionError(f"compose would stop: {name}: {argument}")
        return argument if operator in (":-", "-") else ""

    parts = value.split("$$")
    return "$".join(_VARIABLE.sub(replace, part) for part in parts)


def load_compose(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """deploy/compose.yaml as compose would run it with `env` (default: `dummy_env()`)."""
    raw: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    resolved: dict[str, Any] = interpolate(raw, dummy_env() if env is None else env)
    return resolved


def hookgate_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services that run the hookgate image (their entrypoint is `hookgate`)."""
    return {
        name: service
        for name, service in compose["services"].items()
        if service.get("build", {}).get("dockerfile") == "deploy/Dockerfile"
    }


def by_command(compose: dict[str, Any], command: str) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in hookgate_services(compose).items()
        if service["command"][0] == command
    }


def bind_mounts(service: dict[str, Any]) -> list[tuple[Path, str]]:
    mounts = []
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith((".", "/")):
            mounts.append(((DEPLOY / source).resolve(), target))
    return mounts


def seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)", duration)
    assert match, duration
    return float(match.group(1)) * {"ms": 0.001, "s": 1, "m": 60}[match.group(2)]


def option(command: list[str], name: str, default: str) -> str:
    return command[command.index(name) + 1] if name in command else default
