"""Plain-hash providers: a hex digest of `body + timestamp + secret`, concatenated, not an HMAC.

Weaker than an HMAC (it is the sender's construction, not a choice), but only a holder of the
secret, which is hashed last, can produce the digest. Its length says which hash was used: 40
hex digits SHA-1, 64 SHA-256 (an account setting at the sender).
"""

from __future__ import annotations

import hashlib
from typing import ClassVar

from providers._fields import body
from providers._provider import ProviderBase, Signing
from providers._signing import (
    as_bytes,
    check_tolerance,
    matches_any,
    parse_unix_timestamp,
    require_header,
    require_secrets,
)
from providers.base import SourceSpec, WebhookRequest
from providers.errors import InvalidSignature

#: Hex digest length → the hash that makes it.
_ALGORITHMS = {40: "sha1", 64: "sha256"}


class PlainHashProvider(ProviderBase):
    """`signature_header` = hex(H(body + `timestamp_header` + secret)), H by digest length."""

    family: ClassVar[str] = "plain-hash"
    source_keys = ("secrets", "tolerance_seconds")
    signature_header: ClassVar[str]
    timestamp_header: ClassVar[str]
    #: The default tolerance (seconds, either way) for the signed timestamp.
    default_tolerance: ClassVar[float]
    #: The hash the signer uses (`sha1` or `sha256`).
    sign_algorithm: ClassVar[str] = "sha1"
    signed_timestamp = True

    def __init_subclass__(cls, **kwargs: object) -> None:
        signature = cls.__dict__.get("signature_header")
        timestamp = cls.__dict__.get("timestamp_header")
        if isinstance(signature, str) and isinstance(timestamp, str):
            cls.signature_headers = frozenset({signature, timestamp})
        super().__init_subclass__(**kwargs)

    def configure(self, spec: SourceSpec) -> None:
        require_secrets(spec.secrets, spec.name)
        self._keys = tuple(secret.reveal().encode() for secret in spec.secrets)
        tolerance = spec.tolerance_seconds
        self._tolerance = self.default_tolerance if tolerance is None else tolerance
        self.signed_timestamp = bool(self._tolerance)  # `tolerance_seconds = 0`: not checked

    def authenticate(self, request: WebhookRequest) -> None:
        signature = require_header(request.headers, self.signature_header)
        timestamp = require_header(request.headers, self.timestamp_header)
        seconds = parse_unix_timestamp(timestamp)
        algorithm = _ALGORITHMS.get(len(signature))
        if algorithm is None:
            raise InvalidSignature(f"{self.signature_header} is not a SHA-1 or SHA-256 hex digest")
        signed = request.body + as_bytes(timestamp)
        expected = (
            as_bytes(hashlib.new(algorithm, signed + key).hexdigest()) for key in self._keys
        )
        if not matches_any(expected, (as_bytes(signature),)):
            raise InvalidSignature(f"{self.signature_header} matches no configured secret")
        check_tolerance(seconds, request.received_at, self._tolerance)

    @classmethod
    def sign(cls, signing: Signing) -> dict[str, str]:
        timestamp = str(signing.timestamp)
        signed = signing.body + timestamp.encode() + signing.secret.encode()
        return {
            cls.signature_header: hashlib.new(cls.sign_algorithm, signed).hexdigest(),
            cls.timestamp_header: timestamp,
            "content-type": cls.content_type,
        }


class CloudinaryProvider(PlainHashProvider):
    """Cloudinary notifications (`X-Cld-Signature`, `X-Cld-Timestamp`), keyed with the API
    secret; SHA-1, or SHA-256 where the account's signature algorithm is set so.

    Tolerance: 7200 s, as Cloudinary's SDK (`verify_notification_signature`'s `valid_for`).
    Notifications carry no event ID: the body hash is used. Type: `notification_type`.
    """

    signature_header = "x-cld-signature"
    timestamp_header = "x-cld-timestamp"
    default_tolerance = 7200
    event_type = body("/notification_type")
