"""The generic `hmac` provider: any sender that signs the raw body into one header.

Options (all under `[sources.NAME]`):

- `signature_header`: required; the header carrying the signature (`X-Signature`).
- `algorithm`: `sha256` (default) or `sha1`.
- `encoding`: `hex` (default; compared case-insensitively) or `base64`.
- `prefix`: text before the signature, e.g. `sha256=`; default none.
- `event_id_header` or `event_id_pointer`: where the event ID is, a header or an RFC 6901
  pointer into the JSON body (`/data/id`); default the hex SHA-256 of the body.
- `event_type_header` or `event_type_pointer`: likewise for the type; default `webhook`.

There is no timestamp, so `tolerance_seconds` is refused. ID and type headers are not signed:
with either set, `replay_key` (the body's SHA-256) catches a signed body re-sent under another
ID or type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from providers import _jsonpointer
from providers._raw_body import (
    ALGORITHMS,
    ENCODINGS,
    RawBodyHmac,
    refuse_tolerance,
    signature,
    utf8_keys,
)
from providers._signing import json_object, require_secrets, sha256_hex
from providers.base import SourceSpec, VerifiedEvent, WebhookRequest
from providers.errors import Malformed
from providers.options import Options

DEFAULT_TYPE = "webhook"


@dataclass(frozen=True, slots=True)
class _Field:
    """Where one event attribute comes from: a header, a JSON pointer, or nowhere (default)."""

    header: str | None = None
    pointer: tuple[str, ...] | None = None
    pointer_text: str = ""

    @classmethod
    def from_options(cls, options: Options, name: str) -> _Field:
        header = options.string(f"{name}_header")
        pointer = options.string(f"{name}_pointer")
        if header is not None and pointer is not None:
            raise options.error(f"{name}_pointer", f"set {name}_header or {name}_pointer, not both")
        if pointer is None:
            return cls(header=header.lower() if header else None)
        try:
            return cls(pointer=_jsonpointer.parse(pointer), pointer_text=pointer)
        except ValueError as err:
            raise options.error(f"{name}_pointer", str(err)) from err

    def read(self, request: WebhookRequest, body: dict[str, Any] | None) -> str | None:
        """The attribute's value, `None` when not configured, or `Malformed` when absent."""
        if self.header is not None:
            value = request.headers.get(self.header)
            if not value:
                raise Malformed(f"{self.header} header is missing")
            return value
        if self.pointer is None or body is None:
            return None
        try:
            found = _jsonpointer.resolve(body, self.pointer)
        except LookupError as err:
            raise Malformed(f"body has nothing at {self.pointer_text!r}") from err
        return _as_text(found, self.pointer_text)


def _as_text(value: object, pointer: str) -> str:
    # Numeric IDs are common (`{"id": 123}`); booleans and containers are not identifiers.
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value:
        raise Malformed(f"body has no string or number at {pointer!r}")
    return value


@dataclass(frozen=True, slots=True)
class HmacSettings:
    """The `hmac` provider's options, validated. Shared by the provider and its signer."""

    signature_header: str
    algorithm: str
    encoding: str
    prefix: str
    event_id: _Field
    event_type: _Field

    @classmethod
    def from_options(cls, options: Options) -> HmacSettings:
        """Read every option, then refuse unknown ones (`ProviderConfigError` naming the key)."""
        header = options.string("signature_header", required=True)
        assert header is not None
        settings = cls(
            signature_header=header.lower(),
            algorithm=options.choice("algorithm", ALGORITHMS, "sha256"),
            encoding=options.choice("encoding", ENCODINGS, "hex"),
            prefix=options.string("prefix", "") or "",
            event_id=_Field.from_options(options, "event_id"),
            event_type=_Field.from_options(options, "event_type"),
        )
        options.finish()
        return settings

    @property
    def needs_json(self) -> bool:
        return self.event_id.pointer is not None or self.event_type.pointer is not None


class HmacProvider:
    """Any sender that puts `prefix + hex|base64(HMAC(secret, body))` in one header."""

    family: ClassVar[str] = "raw-body-hmac"
    source_keys: ClassVar[tuple[str, ...]] = (
        "secrets",
        "signature_header",
        "algorithm",
        "encoding",
        "prefix",
        "event_id_header",
        "event_id_pointer",
        "event_type_header",
        "event_type_pointer",
    )
    methods: ClassVar[frozenset[str]] = frozenset({"POST"})
    # See `providers.facts`; the signature and ID/type headers are per source, set in __init__.
    credential_headers: frozenset[str] = frozenset()
    signature_headers: frozenset[str] = frozenset()
    signed_headers: frozenset[str] = frozenset()
    unsigned_headers: frozenset[str] = frozenset()
    signed_timestamp: bool = False

    def __init__(self, spec: SourceSpec) -> None:
        require_secrets(spec.secrets, spec.name)
        refuse_tolerance(spec, "hmac")
        self._settings = settings = HmacSettings.from_options(spec.options)
        self.signature_headers = frozenset({settings.signature_header})
        read = (settings.event_id.header, settings.event_type.header)
        self.unsigned_headers = frozenset(name for name in read if name is not None)
        self._verifier = RawBodyHmac(
            settings.signature_header,
            settings.algorithm,
            settings.encoding,
            settings.prefix,
            utf8_keys(spec),
        )

    def verify(self, request: WebhookRequest) -> VerifiedEvent:
        self._verifier.check(request.headers, request.body)

        settings = self._settings
        # Parse only when a pointer needs it: the body may be anything (form, XML, binary).
        body = json_object(request.body) if settings.needs_json else None
        digest = sha256_hex(request.body)
        return VerifiedEvent(
            id=settings.event_id.read(request, body) or digest,
            type=settings.event_type.read(request, body) or DEFAULT_TYPE,
            replay_key=digest if self.unsigned_headers else None,
        )


def sign(
    body: bytes,
    secret: str,
    *,
    algorithm: str = "sha256",
    encoding: str = "hex",
    prefix: str = "",
) -> str:
    """The signature header value a sender with these options would send for `body`."""
    if algorithm not in ALGORITHMS or encoding not in ENCODINGS:
        raise ValueError(f"unsupported algorithm {algorithm!r} or encoding {encoding!r}")
    return signature(body, secret, algorithm, encoding, prefix)
