"""AMQP encoding of the gateway's message properties, specialised for speed.

pamqp encodes properties generically (a type dispatch per value), which cost the gateway about
a sixth of its per-request CPU for a dozen header strings. `EventProperties` encodes the one
shape the gateway publishes, strings and nested tables of strings, and produces exactly the
bytes pamqp would (a property test pins that). Anything outside that shape falls back to
pamqp's own encoder.
"""

from __future__ import annotations

import struct
from datetime import datetime
from typing import Any

from pamqp.commands import Basic

_U32 = struct.Struct(">I").pack
_U64 = struct.Struct(">Q").pack
_FLAGS = struct.Struct(">H").pack
_SHORTSTR_MAX = 255
_TABLE_KEY_MAX = 128  # pamqp truncates longer keys; we never produce them
# Properties the fast path handles; any other one set means the generic encoder runs.
_OTHER = (
    "content_encoding",
    "priority",
    "correlation_id",
    "reply_to",
    "expiration",
    "message_type",
    "user_id",
    "cluster_id",
)


class _Unsupported(Exception):
    pass


class EventProperties(Basic.Properties):
    """`Basic.Properties` with a fast, byte-identical `marshal()` for the gateway's messages."""

    def marshal(self) -> bytes:
        # Encoded once: the gateway measures the size before publishing, then aiormq sends it.
        encoded: bytes | None = self.__dict__.get("_encoded")
        if encoded is None:
            try:
                encoded = self._fast_marshal()
            except _Unsupported:
                encoded = bytes(super().marshal())
            self.__dict__["_encoded"] = encoded
        return encoded

    def _fast_marshal(self) -> bytes:
        if any(_is_set(getattr(self, name)) for name in _OTHER):
            raise _Unsupported
        # pamqp's rule for "set": neither None nor the empty string.
        flags = 0
        parts: list[bytes] = []
        if _is_set(self.content_type):
            flags |= 0x8000
            parts.append(_shortstr(self.content_type))
        if _is_set(self.headers):
            flags |= 0x2000
            parts.append(_table(self.headers))
        if _is_set(self.delivery_mode):
            flags |= 0x1000
            parts.append(_octet(self.delivery_mode))
        if _is_set(self.message_id):
            flags |= 0x0080
            parts.append(_shortstr(self.message_id))
        if _is_set(self.timestamp):
            flags |= 0x0040
            parts.append(_timestamp(self.timestamp))
        if _is_set(self.app_id):
            flags |= 0x0008
            parts.append(_shortstr(self.app_id))
        return _FLAGS(flags) + b"".join(parts)


def _is_set(value: object) -> bool:
    return value is not None and value != ""


def _octet(value: Any) -> bytes:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 255:
        raise _Unsupported
    return bytes((value,))


def _shortstr(value: Any) -> bytes:
    if not isinstance(value, str):
        raise _Unsupported
    data = value.encode()
    if len(data) > _SHORTSTR_MAX:
        raise _Unsupported  # pamqp raises its own TypeError for this
    return bytes((len(data),)) + data


def _timestamp(value: Any) -> bytes:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise _Unsupported
    return _U64(int(value.timestamp()))


def _table(table: Any) -> bytes:
    if not isinstance(table, dict):
        raise _Unsupported
    parts: list[bytes] = []
    for key in sorted(table):
        value = table[key]
        name = key.encode()
        if len(name) > _TABLE_KEY_MAX:
            raise _Unsupported
        parts.append(bytes((len(name),)))
        parts.append(name)
        if isinstance(value, str):
            data = value.encode()
            parts.append(b"S" + _U32(len(data)))
            parts.append(data)
        elif isinstance(value, dict):
            parts.append(b"F")
            parts.append(_table(value))
        else:
            raise _Unsupported
    body = b"".join(parts)
    return _U32(len(body)) + body
