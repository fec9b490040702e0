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

import uuid
from dataclasses import dataclass
from typing import Any, ClassVar

from providers import _jsonpointer
from providers._hmac_scheme import HmacScheme, HmacSchemeProvider, tolerance
from providers._signing import json_object, require_secrets, sha256_hex
from providers.base import SourceSpec, VerifiedEvent, WebhookRequest
from providers.errors import Malformed
from providers.options import Options
from providers.signing import Signing

DEFAULT_TYPE = "webhook"
ALGORITHMS = frozenset({"sha256", "sha1"})
ENCODINGS = frozenset({"hex", "base64"})


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

    @property
    def scheme(self) -> HmacScheme:
        """The raw-body scheme these options describe."""
        return HmacScheme(
            self.signature_header,
            algorithm=self.algorithm,
            encoding=self.encoding,
            prefix=self.prefix,
        )


class HmacProvider(HmacSchemeProvider):
    """Any sender that puts `prefix + hex|base64(HMAC(secret, body))` in one header.

    The scheme is the raw-body family's, built per source from its options; the ID and type
    fields are too, so they are read here rather than declared on the class.
    """

    family: ClassVar[str] = "raw-body-hmac"
    label = "hmac"
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
    # See `providers.facts`: the signature and ID/type headers are per source (`configure`).
    credential_headers = frozenset()
    signature_headers = frozenset()
    signed_headers = frozenset()
    signed_timestamp = False

    def __init__(self, spec: SourceSpec) -> None:
        super().__init__(spec)
        # Parse only when a pointer needs it: the body may be anything (form, XML, binary).
        self._needs_body = self._settings.needs_json

    def configure(self, spec: SourceSpec) -> None:
        # Secrets and tolerance before the options, as every provider checks them.
        require_secrets(spec.secrets, spec.name)
        tolerance(spec, None, self.label)
        self._settings = settings = HmacSettings.from_options(spec.options)
        self.scheme = settings.scheme
        super().configure(spec)
        # See `providers.facts`: the signature and ID/type headers are per source.
        self.signature_headers = frozenset({settings.signature_header})
        read = (settings.event_id.header, settings.event_type.header)
        self.unsigned_headers = frozenset(name for name in read if name is not None)

    def document(self, request: WebhookRequest) -> Any:
        return json_object(request.body)

    def event(self, request: WebhookRequest, document: Any) -> VerifiedEvent:
        settings = self._settings
        body = document if self._needs_body else None
        digest = sha256_hex(request.body)
        return VerifiedEvent(
            id=settings.event_id.read(request, body) or digest,
            type=settings.event_type.read(request, body) or DEFAULT_TYPE,
            replay_key=digest if self.unsigned_headers else None,
        )

    @classmethod
    def sign(cls, signing: Signing) -> dict[str, str]:
        """The headers a sender configured like the source (`signing.options`) would send."""
        settings = HmacSettings.from_options(Options(signing.options, "options"))
        headers = settings.scheme.sign(signing.secret.encode(), signing.body, signing.timestamp)
        if settings.event_id.header is not None:
            headers[settings.event_id.header] = signing.event_id or str(uuid.uuid4())
        if settings.event_type.header is not None:
            headers[settings.event_type.header] = signing.event_type or DEFAULT_TYPE
        return headers


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
    scheme = HmacScheme("signature", algorithm=algorithm, encoding=encoding, prefix=prefix)
    return scheme.sign(secret.encode(), body, 0)["signature"]
