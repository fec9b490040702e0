"""Sign a body as a provider would: `providers.signing` by provider name, for tests."""

from __future__ import annotations

from collections.abc import Mapping

from providers.errors import ProviderNotFound
from providers.registry import load
from providers.signing import CannotSign, sign


def sign_request(
    provider: str,
    body: bytes,
    secret: str,
    *,
    event_id: str | None = None,
    event_type: str | None = None,
    timestamp: int | None = None,
    options: Mapping[str, object] | None = None,
) -> dict[str, str]:
    """The HTTP headers (lower-case names) a real `provider` would send with `body`.

    POST `body` with these headers to a source configured with `provider` and `secret`, and it
    verifies; that is how `hookgate send` stands in for a provider, and how tests sign requests.

    - `provider`: an installed provider name or `package.module:Class` whose class can sign
      (has a `sign(Signing)` classmethod; every built-in does, see `providers.signing`).
    - `secret`: the source's secret, exactly as in its config (`whsec_…` included). For
      asymmetric providers, the private key matching the source's `public_key`: Discord's hex
      Ed25519 seed; SendGrid's and Plaid's P-256 key as PEM or base64 PKCS#8. Postmark: the
      `user:password` secret. Mailgun signs inside the body: these are only its headers; use
      `providers.signing.sign` for the signed body too.
    - `event_id`, `event_type`: used where the provider sends them in headers (GitHub's
      `X-GitHub-Delivery`/`X-GitHub-Event`, Standard Webhooks' `webhook-id`, the `hmac`
      provider's `event_id_header`/`event_type_header`). A fresh unique ID is made when `None`.
      Stripe, and the type of Standard Webhooks, come from the body: put them there.
    - `timestamp`: the signing time in Unix seconds, for timestamped schemes; defaults to now.
      Pass an old one to test the tolerance.
    - `options`: the source's provider options (the `hmac` provider needs `signature_header`
      and honours `algorithm`, `encoding`, `prefix`, `event_id_header`, `event_type_header`).

    Raises `ValueError` for an unknown provider, one without a signer, or unusable options.

    >>> headers = sign_request("github", b'{"zen": "Keep it logically awesome."}', "s3cret")
    >>> sorted(headers)
    ['content-type', 'x-github-delivery', 'x-github-event', 'x-hub-signature-256']
    """
    try:
        factory = load(provider)
    except ProviderNotFound as err:
        raise ValueError(f"no signer for provider {provider!r}: {err}") from err
    try:
        signed = sign(
            factory,
            body,
            secret,
            event_id=event_id,
            event_type=event_type,
            timestamp=timestamp,
            options=options,
            sign_body=False,  # headers for the caller's body, as before body signing existed
        )
    except CannotSign as err:
        raise ValueError(f"cannot sign as {provider!r}: {err}") from err
    return signed.headers
