"""`hookgate send`: sign a payload as the source's provider would, and POST it to the gateway."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from pathlib import Path

from gateway.config import Config
from gateway.errors import GatewayError
from gateway.sources import build_source
from providers import CannotSign, can_sign, sign

_TIMEOUT = 30.0


def send(
    config: Config,
    source_name: str,
    payload_path: str,
    *,
    url: str | None,
    event_id: str | None,
    event_type: str | None,
) -> int:
    source = config.sources.get(source_name)
    if source is None:
        known = ", ".join(sorted(config.sources))
        raise GatewayError(f"no source named {source_name!r} in the config (sources: {known})")
    if not source.secrets:
        raise GatewayError(
            f"sources.{source_name}.secrets: no secret to sign with (this provider verifies "
            "with a public key or certificate; only the sender holds the private key)"
        )
    body = _read_payload(payload_path)
    # The source's own provider, built as `serve` builds it: it signs (or says it cannot).
    provider = build_source(source).provider
    if not can_sign(provider):
        raise GatewayError(
            f"cannot sign for source {source_name!r}: provider {source.provider!r} has no "
            "signer (a `sign` method); send a real delivery from the provider instead"
        )
    try:
        signed = sign(
            provider,
            body,
            source.secrets[0].reveal(),
            event_id=event_id,
            event_type=event_type,
            options=source.options,
        )
    except CannotSign as err:
        raise GatewayError(f"cannot sign for source {source_name!r}: {err}") from err
    headers = {"content-type": "application/json", **signed.headers}
    target = url or _default_url(config, source_name)
    request = urllib.request.Request(target, data=signed.body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:  # noqa: S310
            status, answer = response.status, response.read()
    except urllib.error.HTTPError as err:
        status, answer = err.code, err.read()
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise GatewayError(f"cannot reach the gateway at {target}: {reason}") from err
    print(f"{status} {answer.decode('utf-8', 'replace')}")
    return 0 if 200 <= status < 300 else 1


def _read_payload(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise GatewayError(f"cannot read payload file {path!r}: {err.strerror}") from err


def _default_url(config: Config, source_name: str) -> str:
    host = config.gateway.host
    if host in {"0.0.0.0", "::", ""}:  # noqa: S104 - a listen address, not a bind
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{config.gateway.port}{config.gateway.path_prefix}/{source_name}"
