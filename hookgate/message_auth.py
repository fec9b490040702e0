"""Message authentication between the gateway and consumers (`[broker] message_key`).

With a key configured, the gateway adds `hookgate-signature: v1=<hex>` to every message: an
HMAC-SHA256 over the body and the `hookgate-*` headers that describe the event (source,
provider, event ID and type, receipt time, the forwarded HTTP headers). Consumers and
`hookgate dlq replay` refuse a message whose signature does not verify with any configured key,
so a client that may publish to the broker cannot hand a handler a forged event.

Headers the consumers add on the way (`hookgate-attempt`, `hookgate-error-*`) are not signed:
they are bookkeeping, and changing them cannot change what the event says. Each signed part is
length-prefixed, so no two different messages share a signed byte string.

Part of the wire contract (standard library only): the gateway signs with it, consumers and
the DLQ tools verify with it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import struct
from collections.abc import Mapping, Sequence

HEADER = "hookgate-signature"
_VERSION = "v1="
_SIGNED = (
    "hookgate-source",
    "hookgate-provider",
    "hookgate-event-id",
    "hookgate-event-type",
    "hookgate-received-at",
)
_FORWARDED = "hookgate-http-headers"
_LENGTH = struct.Struct(">I").pack
_WELL_FORMED = re.compile(r"v1=[0-9a-f]{64}")


def sign(key: bytes, body: bytes, headers: Mapping[str, object]) -> str:
    """The `hookgate-signature` value for a message with these `hookgate-*` headers."""
    digest = _digest(key, body, headers)
    if digest is None:
        raise ValueError("the message lacks a hookgate-* header that is signed")
    return _VERSION + digest


def verify(keys: Sequence[bytes], body: bytes, headers: Mapping[str, object]) -> bool:
    """True when the message's `hookgate-signature` was made with one of `keys`."""
    claimed = _text(headers.get(HEADER))
    if claimed is None or not _WELL_FORMED.fullmatch(claimed):
        return False  # absent, another version, or not 64 hex digits (compare_digest: ASCII)
    expected = claimed[len(_VERSION) :].encode()
    ok = False
    for key in keys:
        digest = _digest(key, body, headers)
        # Every key is tried (no early exit): the time taken does not say which one matched.
        if digest is not None and hmac.compare_digest(digest.encode(), expected):
            ok = True
    return ok


def _digest(key: bytes, body: bytes, headers: Mapping[str, object]) -> str | None:
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for name in _SIGNED:
        value = _text(headers.get(name))
        if value is None:
            return None
        _part(mac, value.encode("utf-8", "surrogateescape"))
    forwarded = headers.get(_FORWARDED, {})
    if not isinstance(forwarded, Mapping):
        return None
    _part(mac, _LENGTH(len(forwarded)))
    for name in sorted(forwarded):
        value = _text(forwarded[name])
        if value is None:
            return None
        _part(mac, str(name).encode("utf-8", "surrogateescape"))
        _part(mac, value.encode("utf-8", "surrogateescape"))
    _part(mac, body)
    return mac.hexdigest()


def _part(mac: hmac.HMAC, data: bytes) -> None:
    mac.update(_LENGTH(len(data)))
    mac.update(data)


def _text(value: object) -> str | None:
    # AMQP long strings arrive as str, or as bytes when they are not valid UTF-8.
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "surrogateescape")
    return None
