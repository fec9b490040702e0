"""Signing: the optional provider capability that is the inverse of `verify`.

A provider that can produce what its sender would send declares a `sign` method (a classmethod
on the built-ins): it receives a `Signing` and returns the headers to send with the body. A
scheme that signs inside the body (Mailgun) also declares `signed_body`, returning the body to
send instead. Both are optional: `can_sign` says whether a provider (class or built instance)
has them, and `sign` runs them. `hookgate send` and `providers.testing.sign_request` both go
through here, so neither needs to know any provider by name.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from providers.errors import ProviderError


@dataclass(frozen=True, slots=True)
class Signing:
    """What a provider's `sign` receives: the body and secret, and what a sender adds.

    `event_id` / `event_type` go where the sender puts them in headers (a fresh ID, or the
    provider's sample type, when `None`); `timestamp` is Unix seconds; `options` are the
    source's provider options (the `hmac` provider's `signature_header`, a `public_url`).
    """

    body: bytes
    secret: str = field(repr=False)
    event_id: str | None
    event_type: str | None
    timestamp: int
    options: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """A request as the sender would POST it: the body (re-written by body-signing schemes)
    and its headers, lower-case names."""

    body: bytes
    headers: dict[str, str]


class CannotSign(ProviderError):
    """The provider has no signer, or cannot sign with this secret and these options."""


def can_sign(provider: object) -> bool:
    """True when `provider` (a class or a built instance) declares a `sign` method."""
    return callable(getattr(provider, "sign", None))


def sign(
    provider: object,
    body: bytes,
    secret: str,
    *,
    event_id: str | None = None,
    event_type: str | None = None,
    timestamp: int | None = None,
    options: Mapping[str, object] | None = None,
    sign_body: bool = True,
) -> SignedRequest:
    """The request `provider`'s sender would send for `body`, signed with `secret`.

    `provider` is a class or a built instance; the other arguments are `Signing`'s (the
    timestamp defaults to now). `sign_body=False` skips a body-signing scheme's
    `signed_body`: the headers for `body` as given (a test that built the signed body itself).

    `CannotSign` when the provider declares no signer, or its signer refuses the secret or
    options (a key of the wrong kind, a missing option); the message never includes the secret.
    """
    signer = getattr(provider, "sign", None)
    if not callable(signer):
        raise CannotSign("the provider declares no signer (a `sign(Signing)` method)")
    now = int(time.time()) if timestamp is None else timestamp
    signing = Signing(body, secret, event_id, event_type, now, options or {})
    try:
        body_signer = getattr(provider, "signed_body", None)
        if sign_body and callable(body_signer):
            signing = replace(signing, body=body_signer(signing))
        headers = dict(signer(signing))
    except CannotSign:
        raise
    except ProviderError as err:  # an option the signer cannot use names its key
        raise CannotSign(str(err)) from err
    except ValueError as err:  # a secret that is no key of this kind says so without itself
        raise CannotSign(str(err)) from err
    except (KeyError, TypeError) as err:
        raise CannotSign(f"unusable secret or options: {type(err).__name__}") from err
    return SignedRequest(signing.body, headers)
