"""Compact JWS (a JWT is one): split, decode and encode, with no policy of its own.

A verifier splits the token with `split` (bounded: a token over `max_length` characters is
refused before anything is decoded), checks the header's `alg` itself, then checks the
signature over `Compact.signed` with its key. Every malformed token is `invalid_signature`.
ES256 signatures travel as raw `r || s` (64 bytes); `cryptography` wants DER: `es256_der`.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from providers.errors import InvalidSignature


def b64url_decode(text: str) -> bytes:
    """Unpadded (or padded) base64url; `binascii.Error` or `ValueError` when it is not."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(data: bytes) -> str:
    """Unpadded base64url, as JWS writes it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, slots=True)
class Compact:
    """A compact JWS taken apart: its JOSE header and claims (JSON objects), the bytes the
    signature covers (`header.payload` as sent) and the signature's bytes."""

    header: dict[str, Any]
    claims: dict[str, Any]
    signed: bytes
    signature: bytes


def split(token: str, *, max_length: int, what: str) -> Compact:
    """The parts of compact JWS `token` (`what` names it in errors), or `invalid_signature`."""
    if len(token) > max_length:
        raise InvalidSignature(f"{what} is longer than any sender's token")
    pieces = token.split(".")
    if len(pieces) != 3 or not token.isascii():
        raise InvalidSignature(f"{what} is not a compact JWS")
    try:
        header, claims = (orjson.loads(b64url_decode(piece)) for piece in pieces[:2])
        signature = b64url_decode(pieces[2])
    except (binascii.Error, ValueError) as err:  # JSONDecodeError is a ValueError
        raise InvalidSignature(f"{what} does not decode") from err
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise InvalidSignature(f"{what} is not a JWS over a JSON object")
    return Compact(header, claims, f"{pieces[0]}.{pieces[1]}".encode(), signature)


def encode(header: dict[str, Any], payload: bytes, sign: Any) -> str:
    """A compact JWS of `payload` (bytes, sent as they are) under `header`; `sign(signed)`
    returns the signature's bytes."""
    signed = f"{b64url_encode(orjson.dumps(header))}.{b64url_encode(payload)}"
    return f"{signed}.{b64url_encode(sign(signed.encode()))}"


def es256_der(raw: bytes) -> bytes:
    """A JWS ES256 signature (`r || s`, 32 bytes each) as DER; `invalid_signature` otherwise."""
    if len(raw) != 64:
        raise InvalidSignature("the ES256 signature is not 64 bytes")
    return encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))


def es256_raw(der: bytes) -> bytes:
    """A DER ECDSA P-256 signature as JWS writes it (`r || s`)."""
    r, s = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def numeric(value: object) -> float | None:
    """A numeric claim (`iat`, `exp`, `signedDate`) as a float, or `None` (a bool is no number)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None
