"""One engine for every shared-secret HMAC scheme: raw-body, timestamped and URL-bound.

A scheme is data: the signature header and its format, the signed message as a template over
`{body}`, `{timestamp}`, `{method}`, `{url}` and `{header:NAME}`, the digest, the encoding and
prefix, how the key is made from the configured secret, and where the timestamp comes from.
`HmacSchemeProvider` turns a scheme into a provider.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar

from providers._provider import ProviderBase, Signing
from providers._signing import (
    as_bytes,
    check_tolerance,
    matches_any,
    parse_unix_timestamp,
    require_header,
    require_secrets,
    signature_items,
)
from providers.base import SourceSpec, WebhookRequest
from providers.errors import InvalidSignature, MissingSignature, ProviderConfigError

_PLACEHOLDER = re.compile(r"\{([a-z]+(?::[a-z0-9-]+)?)\}")
_NAMES = {"body", "timestamp", "method", "url"}
_ALGORITHMS = frozenset({"md5", "sha1", "sha256", "sha384", "sha512"})
_HEX = frozenset({"hex", "hex_upper"})
_ENCODINGS = _HEX | {"base64", "base64url"}
_KEY_FORMATS = frozenset({"utf8", "nfkd", "hex", "base64", "sha1"})


@dataclass(frozen=True, slots=True)
class _Message:
    """The values a template is rendered with; `headers` for `{header:NAME}`."""

    body: bytes
    timestamp: str
    method: str
    url: str
    headers: Mapping[str, str]


def compile_template(template: str) -> tuple[tuple[bool, str], ...]:
    """`(is_placeholder, text)` parts of a message template; `ValueError` on unknown names."""
    parts: list[tuple[bool, str]] = []
    for i, piece in enumerate(_PLACEHOLDER.split(template)):
        if i % 2 == 0:
            if piece:
                parts.append((False, piece))
        elif piece in _NAMES or piece.startswith("header:"):
            parts.append((True, piece))
        else:
            raise ValueError(f"unknown placeholder {{{piece}}} in {template!r}")
    return tuple(parts)


@dataclass(frozen=True)
class HmacScheme:
    """How one provider signs. Build it once per provider class, at import.

    - `header`: the signature header. With `pairs` (`","` or `";"`), it holds `k=v` items: the
      timestamp under `timestamp_key` and signatures under `signature_key` (several allowed).
    - `timestamp_header`: where the timestamp is otherwise; `timestamp_format` is `unix`,
      `unix_ms` or `rfc3339`.
    - `tolerance`: the default tolerance in seconds; `None` means the scheme has no timestamp.
    - `algorithm`: `sha256`, `sha1`, `sha384`, `sha512` or `md5`; `encoding`: `hex`,
      `hex_upper` (signs upper-case), `base64` or `base64url` (URL-safe alphabet, no padding).
    - `fold_case`: hex signatures are compared case-insensitively (Stripe's SDK compares them
      exactly, so Stripe turns it off).
    - `key_format`: how the configured secret becomes the HMAC key: `utf8` (its bytes),
      `nfkd` (its bytes after Unicode NFKD normalisation, EasyPost), `hex` (hex-decoded,
      Squarespace), `base64` (base64-decoded, Airtable) or `sha1` (the SHA-1 digest of its
      bytes, Braintree).
    """

    header: str
    message: str = "{body}"
    algorithm: str = "sha256"
    encoding: str = "hex"
    prefix: str = ""
    pairs: str | None = None
    timestamp_key: str = "t"
    signature_key: str = "v1"
    timestamp_header: str | None = None
    timestamp_format: str = "unix"
    tolerance: float | None = None
    fold_case: bool = True
    key_format: str = "utf8"
    parts: tuple[tuple[bool, str], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parts", compile_template(self.message))
        if self.algorithm not in _ALGORITHMS or self.encoding not in _ENCODINGS:
            raise ValueError(
                "algorithm is md5|sha1|sha256|sha384|sha512"
                " and encoding hex|hex_upper|base64|base64url"
            )
        if self.key_format not in _KEY_FORMATS:
            raise ValueError("key_format is utf8|nfkd|hex|base64|sha1")
        if (self.tolerance is None) != (self.pairs is None and self.timestamp_header is None):
            raise ValueError("a tolerance needs a timestamp source, and a timestamp a tolerance")

    @property
    def url_bound(self) -> bool:
        """The URL is signed: the provider needs the source's `public_url`."""
        return (True, "url") in self.parts

    @property
    def timestamped(self) -> bool:
        return self.tolerance is not None

    @property
    def signature_headers(self) -> frozenset[str]:
        """The signature header, and the timestamp header when there is one."""
        return frozenset(h for h in (self.header, self.timestamp_header) if h is not None)

    @property
    def signed_headers(self) -> frozenset[str]:
        """Other headers folded into the signed bytes (`{header:NAME}`)."""
        return frozenset(
            text.partition(":")[2]
            for is_placeholder, text in self.parts
            if is_placeholder and text.startswith("header:")
        )

    def key(self, secret: str) -> bytes:
        """The HMAC key for a configured secret; `ValueError` (naming no secret) when a hex or
        base64 secret does not decode, or decodes to nothing."""
        if self.key_format == "utf8":
            return secret.encode()
        if self.key_format == "nfkd":
            return unicodedata.normalize("NFKD", secret).encode()
        if self.key_format == "sha1":
            return hashlib.sha1(secret.encode()).digest()  # noqa: S324 - the sender's choice
        text = secret.strip()
        try:
            if self.key_format == "hex":
                key = bytes.fromhex(text)
            else:
                key = base64.b64decode(text.encode("ascii"), validate=True)
        except ValueError:  # binascii.Error and UnicodeEncodeError are ValueErrors
            raise ValueError(
                f"expected the {self.key_format}-encoded secret exactly as the provider gives it"
            ) from None
        if not key:
            raise ValueError(f"the {self.key_format}-encoded secret decodes to no bytes")
        return key

    # --- verifying --------------------------------------------------------------------------

    def received(self, headers: Mapping[str, str]) -> tuple[str, list[bytes]]:
        """The timestamp text (`""` when untimed) and the candidate signatures of a request."""
        value = require_header(headers, self.header)
        if self.pairs is None:
            if not value.startswith(self.prefix):
                raise InvalidSignature(f"{self.header} does not start with {self.prefix!r}")
            timestamp = ""
            if self.timestamp_header is not None:
                timestamp = require_header(headers, self.timestamp_header)
            return timestamp, [self._normalise(value[len(self.prefix) :])]
        timestamp, candidates = "", []
        for item in signature_items(value, self.pairs, self.header):
            key, _, text = item.strip().partition("=")
            if key == self.timestamp_key:
                timestamp = text
            elif key == self.signature_key and text:
                candidates.append(self._normalise(text))
        if not timestamp or not candidates:
            raise InvalidSignature(f"{self.header} lacks a timestamp or a signature")
        return timestamp, candidates

    def _normalise(self, signature: str) -> bytes:
        # Hex is case-insensitive; base64 is not, so only hex is folded.
        fold = self.fold_case and self.encoding in _HEX
        return as_bytes(signature.lower() if fold else signature)

    def seconds(self, timestamp: str) -> float:
        """The timestamp text as Unix seconds, or `invalid_signature`."""
        if self.timestamp_format == "unix":
            return parse_unix_timestamp(timestamp)
        if self.timestamp_format == "unix_ms":
            if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 15:
                raise InvalidSignature("signature timestamp is not an integer")
            return int(timestamp) / 1000
        try:
            moment = datetime.fromisoformat(timestamp)
        except ValueError as err:
            raise InvalidSignature("signature timestamp is not an RFC 3339 time") from err
        if moment.tzinfo is None or not timestamp.isascii():
            raise InvalidSignature("signature timestamp has no UTC offset")
        return moment.timestamp()

    def render(self, message: _Message) -> bytes:
        """The signed bytes."""
        chunks: list[bytes] = []
        for is_placeholder, text in self.parts:
            if not is_placeholder:
                chunks.append(text.encode())
            elif text == "body":
                chunks.append(message.body)
            elif text == "timestamp":
                chunks.append(as_bytes(message.timestamp))
            elif text == "method":
                chunks.append(as_bytes(message.method))
            elif text == "url":
                chunks.append(as_bytes(message.url))
            else:
                name = text.partition(":")[2]
                value = message.headers.get(name)
                if value is None:
                    raise MissingSignature(f"{name} header is missing")
                chunks.append(as_bytes(value))
        return b"".join(chunks)

    def digest(self, key: bytes, signed: bytes) -> str:
        """The signature as the sender writes it."""
        raw = hmac.digest(key, signed, self.algorithm)
        if self.encoding == "hex":
            return raw.hex()
        if self.encoding == "hex_upper":
            return raw.hex().upper()
        if self.encoding == "base64url":
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
        return base64.b64encode(raw).decode("ascii")

    def check(
        self, request: WebhookRequest, keys: tuple[bytes, ...], tolerance: float, url: str
    ) -> None:
        """Return if the request is signed with any key; raise a `VerificationError`."""
        timestamp, candidates = self.received(request.headers)
        seconds = self.seconds(timestamp) if self.timestamped else 0.0
        signed = self.render(
            _Message(request.body, timestamp, request.method, url, request.headers)
        )
        expected = (self._normalise(self.digest(key, signed)) for key in keys)
        if not matches_any(expected, candidates):
            raise InvalidSignature(f"{self.header} matches no configured secret")
        if self.timestamped:
            check_tolerance(seconds, request.received_at, tolerance)

    # --- signing ----------------------------------------------------------------------------

    def timestamp_text(self, timestamp: int) -> str:
        if self.timestamp_format == "unix_ms":
            return str(timestamp * 1000)
        if self.timestamp_format == "rfc3339":
            return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")
        return str(timestamp)

    def sign(
        self,
        key: bytes,
        body: bytes,
        timestamp: int,
        *,
        method: str = "POST",
        url: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """The signature header(s) a sender would add (the inverse of `check`)."""
        text = self.timestamp_text(timestamp) if self.timestamped else ""
        signature = self.digest(key, self.render(_Message(body, text, method, url, headers or {})))
        if self.pairs is not None:
            pairs = f"{self.timestamp_key}={text}{self.pairs}{self.signature_key}={signature}"
            return {self.header: pairs}
        signed = {self.header: self.prefix + signature}
        if self.timestamp_header is not None:
            signed[self.timestamp_header] = text
        return signed


class HmacSchemeProvider(ProviderBase):
    """A provider whose requests are signed as its `scheme` says, with UTF-8 secret keys.

    URL-bound schemes (`{url}` in the message) need the source's `public_url` option: the exact
    URL the provider calls; the request's query string is appended when that URL has none.
    A provider whose scheme depends on its options (the generic `hmac`) sets `self.scheme` in
    `configure` before calling this class's.
    """

    scheme: HmacScheme

    def __init_subclass__(cls, **kwargs: object) -> None:
        scheme = cls.__dict__.get("scheme")
        if isinstance(scheme, HmacScheme):
            keys = ["secrets"]
            if scheme.timestamped:
                keys.append("tolerance_seconds")
            if scheme.url_bound:
                keys.append("public_url")
            cls.source_keys = (*keys, *cls.extra_keys)
            # The scheme says which headers sign and whether a timestamp is held to a tolerance;
            # a class may declare more signature headers (GitHub's legacy SHA-1 one).
            declared = cls.__dict__.get("signature_headers", frozenset())
            cls.signature_headers = scheme.signature_headers | declared
            cls.signed_headers = scheme.signed_headers
            cls.signed_timestamp = bool(scheme.tolerance)
        super().__init_subclass__(**kwargs)  # derives unsigned_headers from the above

    #: Options a concrete provider reads beyond what its scheme implies.
    extra_keys: ClassVar[tuple[str, ...]] = ()
    #: How errors name the scheme (`github signatures carry no timestamp`).
    label: ClassVar[str] = "this provider's"

    def configure(self, spec: SourceSpec) -> None:
        require_secrets(spec.secrets, spec.name)
        keys: list[bytes] = []
        for i, secret in enumerate(spec.secrets):
            try:
                keys.append(self.scheme.key(secret.reveal()))
            except ValueError as err:
                raise ProviderConfigError(f"sources.{spec.name}.secrets[{i}]: {err}") from None
        self._keys = tuple(keys)
        self._tolerance = tolerance(spec, self.scheme.tolerance, self.label)
        self.signed_timestamp = bool(self._tolerance)  # `tolerance_seconds = 0`: not checked
        self._public_url = public_url(spec) if self.scheme.url_bound else ""

    def authenticate(self, request: WebhookRequest) -> None:
        url = signed_url(self._public_url, request) if self._public_url else request.url
        self.scheme.check(request, self._keys, self._tolerance or 0.0, url)

    @classmethod
    def sign(cls, signing: Signing) -> dict[str, str]:
        """The headers this provider would send for `signing.body`."""
        metadata = cls.metadata_headers(signing)
        url = str(signing.options.get("public_url", "")) if cls.scheme.url_bound else ""
        signed = cls.scheme.sign(
            cls.scheme.key(signing.secret),
            signing.body,
            signing.timestamp,
            url=url,
            headers=metadata,
        )
        return {**metadata, **signed, "content-type": cls.content_type}


def tolerance(spec: SourceSpec, default: float | None, label: str) -> float | None:
    """The source's tolerance, else `default`; refused where nothing is timestamped, since a
    tolerance on such a scheme would be a promise nobody keeps."""
    if default is None and spec.tolerance_seconds is not None:
        raise ProviderConfigError(
            f"sources.{spec.name}.tolerance_seconds: {label} signatures carry no timestamp"
        )
    return spec.tolerance_seconds if spec.tolerance_seconds is not None else default


def public_url(spec: SourceSpec) -> str:
    """The required `public_url` option, checked to be an absolute http(s) URL."""
    url = spec.options.string("public_url", required=True)
    assert url is not None
    if not url.startswith(("https://", "http://")):
        raise spec.options.error("public_url", "expected an absolute http(s) URL")
    return url


def signed_url(public: str, request: WebhookRequest) -> str:
    """The URL the provider signed: `public_url`, plus the request's query when it has none."""
    if "?" in public:
        return public
    _, _, query = request.url.partition("?")
    return f"{public}?{query}" if query else public
