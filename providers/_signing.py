"""Building blocks shared by the verifier families: digests, comparison, clocks, bodies."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import Any

import orjson

from hookgate.secret import Secret
from providers.errors import (
    InvalidSignature,
    Malformed,
    MissingSignature,
    ProviderConfigError,
    StaleTimestamp,
)


def require_header(headers: Any, name: str) -> str:
    """Return the header's value, or refuse with `missing_signature`."""
    value: str | None = headers.get(name)
    if not value:
        raise MissingSignature(f"{name} header is missing")
    return value


def as_bytes(text: str) -> bytes:
    """Header text as bytes for `hmac.compare_digest`, which refuses non-ASCII `str`."""
    return text.encode("utf-8", "replace")


def matches_any(expected: Iterable[bytes], candidates: Iterable[bytes]) -> bool:
    """True when any candidate equals any expected value, compared in constant time."""
    candidates = tuple(candidates)
    for value in expected:
        for candidate in candidates:
            if hmac.compare_digest(value, candidate):
                return True
    return False


#: The most items a signature header may list (`t=…,v1=…,v1=…`; `v1,… v1a,…`). Senders send a
#: handful (two while rotating); each item costs a comparison, so a cap bounds the work a forged
#: header can cause before anything is known to be authentic.
MAX_SIGNATURE_ITEMS = 32


def signature_items(value: str, separator: str, header: str) -> list[str]:
    """The items of a list-valued signature header, or `invalid_signature` when too many."""
    if value.count(separator) >= MAX_SIGNATURE_ITEMS:
        raise InvalidSignature(f"{header} lists more signatures than any sender sends")
    return value.split(separator)


def parse_unix_timestamp(text: str) -> int:
    """An integer Unix timestamp from a header, or `invalid_signature`."""
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        raise InvalidSignature("signature timestamp is not an integer")
    return int(text)


def check_tolerance(timestamp: float, now: float, tolerance: float) -> None:
    """Refuse a signed timestamp further than `tolerance` seconds from now, either way.

    A tolerance of 0 disables the check (for senders whose retries keep the first timestamp).
    """
    if tolerance and abs(now - timestamp) > tolerance:
        raise StaleTimestamp("signature timestamp is outside the tolerance")


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or `malformed`."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise Malformed("body is not JSON") from err
    if not isinstance(data, dict):
        raise Malformed("body is not a JSON object")
    return data


def required_str(data: dict[str, Any], key: str) -> str:
    """A non-empty string field of a JSON object, or `malformed`."""
    value = data.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value:
        raise Malformed(f"body has no {key!r} string")
    return value


def sha256_hex(body: bytes) -> str:
    """The event ID of last resort: the hex SHA-256 of the raw body."""
    return hashlib.sha256(body).hexdigest()


def require_secrets(secrets: tuple[Secret, ...], source: str) -> None:
    """Fail closed: a shared-secret scheme with no secret would verify nothing."""
    if not secrets:
        raise ProviderConfigError(f"sources.{source}.secrets: at least one secret is required")
    for i, secret in enumerate(secrets):
        if not secret.reveal().strip():
            raise ProviderConfigError(
                f"sources.{source}.secrets[{i}]: empty or blank (is its variable empty?)"
            )
