"""The shared shape of the built-in providers: handshake → authenticate → handshake → event.

A family subclass (`HmacSchemeProvider`, `Ed25519Provider`, …) implements `configure` (read the
source's options once) and `authenticate` (check one request's signature). A concrete provider
is then data: its event ID and type fields, and at most a handshake hook.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any, ClassVar

from providers._fields import NOT_JSON, Field, header_names, parse_json
from providers.base import Handshake, SourceSpec, VerifiedEvent, WebhookRequest
from providers.errors import Malformed
from providers.signing import Signing

__all__ = ["GET_AND_POST", "POST", "ProviderBase", "Signing"]

POST = frozenset({"POST"})
GET_AND_POST = frozenset({"GET", "POST"})


class ProviderBase:
    """Base of the catalogue providers. Subclasses set the class attributes below."""

    family: ClassVar[str]
    methods: ClassVar[frozenset[str]] = POST
    #: Where the event ID is; `None` (or absent from a request): the body's hex SHA-256.
    event_id: ClassVar[Field | None] = None
    #: An ID absent from a request is `malformed` instead (the sender always sends one).
    id_required: ClassVar[bool] = False
    #: Where the event type is; absent from a request: `default_type`, or `malformed`.
    event_type: ClassVar[Field | None] = None
    default_type: ClassVar[str | None] = None
    #: The type the signer writes into a type header when the caller gives none.
    sample_type: ClassVar[str] = "test"
    #: The `content-type` the signer sends.
    content_type: ClassVar[str] = "application/json"
    #: The `[sources.NAME]` keys this provider reads, for `hookgate providers` and the README.
    source_keys: ClassVar[tuple[str, ...]] = ("secrets",)
    #: Parse the body as JSON even when no field needs it (a handshake reads it).
    reads_body: ClassVar[bool] = False
    # What the gateway reads through `providers.describe` (see `ProviderFacts`). Families set
    # them from their scheme; a source's options may change them on the instance.
    #: Headers that carry a shared secret as is: never forwarded or stored.
    credential_headers: frozenset[str] = frozenset()
    #: Headers that carry signatures and signed timestamps.
    signature_headers: frozenset[str] = frozenset()
    #: Other headers the signature covers (an ID folded into the signed bytes).
    signed_headers: frozenset[str] = frozenset()
    #: Headers the ID or type may come from that nothing signs; derived from the fields.
    unsigned_headers: frozenset[str] = frozenset()
    #: Every accepted request carries a signed timestamp within the tolerance.
    signed_timestamp: bool = False
    #: The provider legitimately sends one body under several (unsigned) types, so the replay
    #: key includes the type: a captured body re-sent under a new ID is still a duplicate, but
    #: under another type it is taken once per type (Shopify).
    replays_per_type: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        covered = cls.signature_headers | cls.signed_headers | cls.credential_headers
        cls.unsigned_headers = header_names(cls.event_id, cls.event_type) - covered

    def __init__(self, spec: SourceSpec) -> None:
        self.configure(spec)
        spec.options.finish()
        fields = (self.event_id, self.event_type)
        self._needs_body = self.reads_body or any(f is not None and f.needs_body for f in fields)

    def configure(self, spec: SourceSpec) -> None:
        """Read secrets and options; raise `ProviderConfigError` naming the key when wrong."""
        raise NotImplementedError

    def authenticate(self, request: WebhookRequest) -> None:
        """Return if the request is authentic; raise a `VerificationError` otherwise."""
        raise NotImplementedError

    def unsigned_handshake(self, request: WebhookRequest) -> Handshake | None:
        """An answer due before any signature check (GET challenges). Default: none."""
        return None

    def signed_handshake(self, request: WebhookRequest, document: Any) -> Handshake | None:
        """An answer due to an authenticated request (URL verification, PING). Default: none."""
        return None

    def document(self, request: WebhookRequest) -> Any:
        """The parsed body the fields read from: JSON by default (`NOT_JSON` if it is not)."""
        return parse_json(request.body)

    def verify(self, request: WebhookRequest) -> VerifiedEvent | Handshake:
        early = self.unsigned_handshake(request)
        if early is not None:
            return early
        self.authenticate(request)
        document = self.document(request) if self._needs_body else NOT_JSON
        answer = self.signed_handshake(request, document)
        if answer is not None:
            return answer
        return self.event(request, document)

    def event(self, request: WebhookRequest, document: Any) -> VerifiedEvent:
        """The verified event: its ID and type from the declared fields."""
        event_id = None
        if self.event_id is not None:
            event_id = self.event_id.read(request.headers, document)
        event_type = None
        if self.event_type is not None:
            event_type = self.event_type.read(request.headers, document)
        if event_id is None and self.id_required:
            raise self.missing("ID")
        if event_type is None:
            if self.default_type is None:
                raise self.missing("type")
            event_type = self.default_type
        replay_key = self.replay_digest(request, document)
        if replay_key is not None and self.replays_per_type:
            replay_key = hashlib.sha256(f"{event_type}\n{replay_key}".encode()).hexdigest()
        return VerifiedEvent(
            id=event_id or hashlib.sha256(request.body).hexdigest(),
            type=event_type,
            occurred_at=self.occurred_at(document),
            replay_key=replay_key,
        )

    def missing(self, what: str) -> Malformed:
        """The refusal of a verified request without its event `what` ("ID" or "type")."""
        return Malformed(f"the request has no event {what} where this provider puts it")

    def occurred_at(self, document: Any) -> float | None:
        """The provider's own event time (Unix time) from the parsed body, when it gives one."""
        return None

    def replay_digest(self, request: WebhookRequest, document: Any) -> str | None:
        """`VerifiedEvent.replay_key`: a digest of what was signed, when the ID or type may come
        from an unsigned header (the body's hex SHA-256 by default); else `None`."""
        return hashlib.sha256(request.body).hexdigest() if self.unsigned_headers else None

    @classmethod
    def metadata_headers(cls, signing: Signing) -> dict[str, str]:
        """The ID and type headers a sender adds beside its signature (for signers)."""
        headers: dict[str, str] = {}
        id_header = _first_header(cls.event_id)
        if id_header is not None:
            headers[id_header] = signing.event_id or str(uuid.uuid4())
        type_header = _first_header(cls.event_type)
        if type_header is not None:
            headers[type_header] = signing.event_type or cls.sample_type
        return headers


def _first_header(spec: Field | None) -> str | None:
    # The header a field is read from first: `header(x)`, or the first part of first()/joined().
    name = getattr(spec, "name", None)
    if isinstance(name, str):
        return name
    parts = getattr(spec, "fields", ())
    return _first_header(parts[0]) if parts else None
