"""The provider interface: what goes in (a request), what comes out (an event or a handshake).

A provider is built once per source at startup, from a `SourceSpec`, and must refuse bad options
there (`ProviderConfigError`), so that a misconfigured source stops startup instead of failing
requests. `verify` then runs once per request; it must be pure CPU work (no I/O) and raise only
`VerificationError` subclasses. Anything else it raises is treated as a bug: answered 500,
counted, never published.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Protocol, runtime_checkable

from hookgate.secret import Secret
from providers.options import Options


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """One inbound HTTP request, exactly as received.

    `headers` has lower-case names; repeated headers are joined with ", ". `url` is the URL as
    the gateway saw it (URL-bound providers use their `public_url` option instead of its scheme,
    host and path). `body` is the raw bytes: verify over these, never over re-serialised JSON.
    `received_at` is Unix time. `query` holds the query string's parameters (the last value of
    a repeated one), for GET handshakes.
    """

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes
    received_at: float
    query: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class VerifiedEvent:
    """A request whose signature checked out.

    `id` is the provider's event ID (the dedupe key); `type` the provider's event type, used in
    the routing key; `occurred_at` the provider's own event time (Unix time) when it gives one.

    `replay_key` is set by providers whose signature does not cover the event ID or type (they
    come from unsigned headers, or the signature covers only a token): a digest of what *was*
    signed (the body's hex SHA-256, or the signed token's). The gateway de-duplicates on it as
    well, so a captured delivery re-sent under another ID or type is answered `duplicate`. It
    may equal `id` (a provider whose ID falls back to the body hash) and an unsigned ID may be
    anything, so keep replay keys apart from event IDs in the dedupe store.
    """

    id: str
    type: str
    occurred_at: float | None = None
    replay_key: str | None = None


@dataclass(frozen=True, slots=True)
class Handshake:
    """A synchronous answer the provider requires (URL verification, PING); never published."""

    body: bytes
    status_code: int = 200
    content_type: str = "application/json"
    #: Extra response headers (lower-case names), e.g. `x-content-type-options: nosniff`.
    headers: tuple[tuple[str, str], ...] = ()
    #: Work the gateway runs in the background after answering (SNS's subscription
    #: confirmation GET): a coroutine function that never raises; bounded by the gateway.
    follow_up: Callable[[], Awaitable[None]] | None = None


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """What a provider is built from: one `[sources.NAME]` table, validated and interpolated.

    `options` holds every key of the table except `provider`, `secrets` and `tolerance_seconds`;
    a provider reads the ones it knows and calls `options.finish()` to refuse the rest.
    """

    name: str
    secrets: tuple[Secret, ...]
    tolerance_seconds: float | None
    options: Options


@runtime_checkable
class Provider(Protocol):
    """A verifier for one source. Class attributes describe it to `hookgate providers`."""

    #: The verification family ("timestamped-hmac", "raw-body-hmac", "standard-webhooks", …).
    family: ClassVar[str]
    #: HTTP methods the provider's requests arrive with; anything else is answered 405.
    methods: ClassVar[frozenset[str]]

    # Optional attributes, read from the built provider (some depend on the source's options)
    # through `providers.describe`, with these defaults when a plugin has none:
    #
    # credential_headers: frozenset[str] = frozenset()
    #     Lower-case names of headers that carry a shared secret as is (GitLab's
    #     `x-gitlab-token`): never forwarded to consumers, never written to disk.
    # signature_headers: frozenset[str] = frozenset()
    #     Lower-case names of headers that carry signatures (and their timestamps): forwarded so
    #     consumers may verify again, unless the source sets `forward_signature_headers = false`.
    # signed_headers: frozenset[str] = frozenset()
    #     Other headers the signature covers (Standard Webhooks' `webhook-id`).
    # unsigned_headers: frozenset[str] = frozenset()
    #     Headers the event ID or type may be read from that no signature covers; a provider
    #     with any sets `VerifiedEvent.replay_key`.
    # signed_timestamp: bool = False
    #     True when every accepted request carries a signed timestamp checked against the
    #     source's tolerance (replays are bounded in time); `check-config` warns about sources
    #     without one and without `allowed_ips`.
    #
    # Optional capability, signing (see `providers.signing`; every built-in has it):
    #
    # sign(signing: Signing) -> dict[str, str]
    #     The headers the sender would add to `signing.body` (a classmethod on the built-ins,
    #     so it works on the class and on a built provider). `hookgate send` and
    #     `providers.testing.sign_request` use it; a provider without it cannot be sent as.
    # signed_body(signing: Signing) -> bytes
    #     Only for schemes that sign inside the body (Mailgun, Braintree): the body to send
    #     instead. The shared tests (catalogue, `hookgate send`) sign through it.
    #
    # Optional capability, the sender's own acknowledgement:
    #
    # acknowledgement: Handshake | None = None
    #     The answer to a delivery the gateway took (`accepted`, `spooled`, or a `duplicate`),
    #     for a sender that retries unless the answer's body says so (Dropbox Sign's text
    #     `Hello API Event Received`). A 2xx; read once when the source is built, so the bytes
    #     are fixed at startup. Default (`None`): the gateway's JSON answer.

    def verify(self, request: WebhookRequest) -> VerifiedEvent | Handshake:
        """Return the verified event or a handshake answer; raise a `VerificationError`."""
        ...


#: What the `hookgate.providers` entry points and `module:Class` values must name.
ProviderFactory = Callable[[SourceSpec], Provider]
