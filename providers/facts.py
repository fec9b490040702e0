"""What a provider declares about its headers and clock, for the gateway and `hookgate providers`.

Read from the built provider (one source's instance), since some facts depend on the source's
options (the `hmac` provider's `signature_header`, GitLab's `scheme`, a `tolerance_seconds` of
0); a class gives the defaults. A plugin that declares nothing gets empty sets and `False`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProviderFacts:
    """One provider's declarations; header names are lower-case.

    - `credential_headers`: carry a shared secret as is (GitLab's `x-gitlab-token`, Okta's and
      Postmark's `authorization`): never forwarded to consumers, never written to disk.
    - `signature_headers`: carry signatures and signed timestamps: forwarded so consumers may
      verify again, unless the source sets `forward_signature_headers = false`.
    - `signed_headers`: other headers the signature covers (Standard Webhooks' `webhook-id`,
      Twitch's message ID).
    - `unsigned_headers`: headers the event ID or type may be read from that no signature
      covers (GitHub's `x-github-delivery` and `x-github-event`). A provider with any sets
      `VerifiedEvent.replay_key`.
    - `signed_timestamp`: every accepted request carries a signed timestamp checked against
      the source's tolerance, so a captured request cannot be replayed later.
    """

    credential_headers: frozenset[str] = frozenset()
    signature_headers: frozenset[str] = frozenset()
    signed_headers: frozenset[str] = frozenset()
    unsigned_headers: frozenset[str] = frozenset()
    signed_timestamp: bool = False


def describe(provider: object) -> ProviderFacts:
    """The facts a provider (instance or class) declares, with defaults for the rest."""
    return ProviderFacts(
        credential_headers=_names(getattr(provider, "credential_headers", ())),
        signature_headers=_names(getattr(provider, "signature_headers", ())),
        signed_headers=_names(getattr(provider, "signed_headers", ())),
        unsigned_headers=_names(getattr(provider, "unsigned_headers", ())),
        signed_timestamp=getattr(provider, "signed_timestamp", False) is True,
    )


def _names(values: object) -> frozenset[str]:
    if isinstance(values, str):  # one name where a set was meant
        return frozenset({values.lower()})
    if not isinstance(values, Iterable):
        return frozenset()
    return frozenset(str(name).lower() for name in values)
