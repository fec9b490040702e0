"""Every way a provider can refuse a request, and the one way it can refuse its config.

A provider raises one of the `VerificationError` subclasses; the gateway maps each to its HTTP
answer in one table (`gateway.responses`). Messages are for logs and never contain secrets,
signatures or expected values.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ClassVar

from hookgate.observe import IngestOutcome


class ProviderError(Exception):
    """Root of every error the providers package raises on purpose."""


class ProviderConfigError(ProviderError):
    """A source's provider options are wrong. The message starts with the key path."""


class ProviderNotFound(ProviderConfigError):
    """No installed provider has that name, and it is not an importable `module:Class`."""


class VerificationError(ProviderError):
    """The request is refused. `status` is the machine-readable reason sent to the caller."""

    status: ClassVar[IngestOutcome] = IngestOutcome.INVALID_SIGNATURE


class MissingSignature(VerificationError):
    """A header (or parameter) that the scheme requires is absent."""

    status = IngestOutcome.MISSING_SIGNATURE


class InvalidSignature(VerificationError):
    """The signature is present but matches no configured secret, or cannot be parsed."""

    status = IngestOutcome.INVALID_SIGNATURE


class StaleTimestamp(VerificationError):
    """The signed timestamp is further from now than the source's tolerance (past or future)."""

    status = IngestOutcome.STALE_TIMESTAMP


class Malformed(VerificationError):
    """The signature is valid but the body lacks what the provider needs (event ID or type)."""

    status = IngestOutcome.MALFORMED


class KeyUnavailable(VerificationError):
    """The key or certificate the signature needs is not at hand: answered 503 (`retry-after`).

    `verify` never fetches. When the key can be fetched, the error carries `load`, a coroutine
    function that fetches it (never raises, bounded by its own timeout); the gateway awaits it
    and calls `verify` once more. A caller that knows nothing of loading answers 503: safe.
    """

    status = IngestOutcome.KEY_UNAVAILABLE

    def __init__(self, message: str, load: Callable[[], Awaitable[None]] | None = None) -> None:
        super().__init__(message)
        self.load = load
