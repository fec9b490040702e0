"""Provider plugins: turn an inbound webhook request into a verified event, or refuse it."""

from hookgate.secret import Secret
from providers.base import (
    Handshake,
    Provider,
    ProviderFactory,
    SourceSpec,
    VerifiedEvent,
    WebhookRequest,
)
from providers.errors import (
    InvalidSignature,
    KeyUnavailable,
    Malformed,
    MissingSignature,
    ProviderConfigError,
    ProviderError,
    ProviderNotFound,
    StaleTimestamp,
    VerificationError,
)
from providers.facts import ProviderFacts, describe
from providers.options import Options
from providers.registry import installed, load
from providers.signing import CannotSign, SignedRequest, Signing, can_sign, sign

__all__ = [
    "CannotSign",
    "Handshake",
    "InvalidSignature",
    "KeyUnavailable",
    "Malformed",
    "MissingSignature",
    "Options",
    "Provider",
    "ProviderConfigError",
    "ProviderError",
    "ProviderFactory",
    "ProviderFacts",
    "ProviderNotFound",
    "Secret",
    "SignedRequest",
    "Signing",
    "SourceSpec",
    "StaleTimestamp",
    "VerificationError",
    "VerifiedEvent",
    "WebhookRequest",
    "can_sign",
    "describe",
    "installed",
    "load",
    "sign",
]
