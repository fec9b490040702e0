"""The raw-body HMAC family: one header carrying `prefix + encode(HMAC(secret, body))`.

GitHub, Bitbucket, Shopify and the generic `hmac` provider differ only in the header name, the
digest, the encoding and the prefix; they share this code. There is no timestamp in the signed
bytes, so replays are stopped by dedupe on the event ID, not by a clock.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

from providers._signing import as_bytes, matches_any, require_header
from providers.base import SourceSpec
from providers.errors import InvalidSignature, ProviderConfigError

ALGORITHMS = frozenset({"sha256", "sha1"})
ENCODINGS = frozenset({"hex", "base64"})


def signature(body: bytes, secret: str, algorithm: str, encoding: str, prefix: str) -> str:
    """The header value a sender computes: `prefix` + the encoded HMAC of the raw body."""
    return prefix + _encode(hmac.digest(secret.encode(), body, algorithm), encoding)


def _encode(digest: bytes, encoding: str) -> str:
    if encoding == "hex":
        return digest.hex()
    return base64.b64encode(digest).decode("ascii")


@dataclass(frozen=True, slots=True)
class RawBodyHmac:
    """A verifier for one header, built once per source; `check` runs per request."""

    header: str
    algorithm: str
    encoding: str
    prefix: str
    keys: tuple[bytes, ...] = field(repr=False)  # secrets never in a repr

    def check(self, headers: Mapping[str, str], body: bytes) -> None:
        """Return if the header matches any key; raise `MissingSignature`/`InvalidSignature`."""
        value = require_header(headers, self.header)
        if not value.startswith(self.prefix):
            raise InvalidSignature(f"{self.header} does not start with {self.prefix!r}")
        received = value[len(self.prefix) :]
        if self.encoding == "hex":
            # Hex is case-insensitive; base64 is not, so only hex is folded.
            received = received.lower()
        expected = (
            as_bytes(_encode(hmac.digest(key, body, self.algorithm), self.encoding))
            for key in self.keys
        )
        if not matches_any(expected, (as_bytes(received),)):
            raise InvalidSignature(f"{self.header} matches no configured secret")


def utf8_keys(spec: SourceSpec) -> tuple[bytes, ...]:
    """Each configured secret as UTF-8 key bytes, in order (rotation: any may match)."""
    return tuple(secret.reveal().encode() for secret in spec.secrets)


def refuse_tolerance(spec: SourceSpec, scheme: str) -> None:
    """A tolerance on a scheme without a signed timestamp would be a promise nobody keeps."""
    if spec.tolerance_seconds is not None:
        raise ProviderConfigError(
            f"sources.{spec.name}.tolerance_seconds: {scheme} signatures carry no timestamp"
        )
