"""Sign a body as a built-in provider would: the inverse of each provider's `verify`."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping

from providers import generic_hmac, github, standard_webhooks, stripe
from providers._provider import Signing
from providers.errors import ProviderConfigError, ProviderNotFound
from providers.options import Options
from providers.registry import load
from providers.standard_webhooks import StandardWebhooksProvider

#: Senders of the Standard Webhooks scheme that brand their headers `svix-*`.
_SVIX_BRANDED = frozenset({"svix", "clerk", "resend"})


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

    - `provider`: a built-in provider name (any entry-point name whose class has a
      `sign(Signing)` classmethod works too).
    - `secret`: the source's secret, exactly as in its config (`whsec_…` included). For
      asymmetric providers, the private key matching the source's `public_key`: Discord's hex
      Ed25519 seed; SendGrid's and Plaid's P-256 key as PEM or base64 PKCS#8. Postmark: the
      `user:password` secret. Mailgun signs inside the body: use `mailgun.sign_body`.
    - `event_id`, `event_type`: used where the provider sends them in headers (GitHub's
      `X-GitHub-Delivery`/`X-GitHub-Event`, Standard Webhooks' `webhook-id`, the `hmac`
      provider's `event_id_header`/`event_type_header`). A fresh unique ID is made when `None`.
      Stripe, and the type of Standard Webhooks, come from the body: put them there.
    - `timestamp`: the signing time in Unix seconds, for timestamped schemes; defaults to now.
      Pass an old one to test the tolerance.
    - `options`: the source's provider options (the `hmac` provider needs `signature_header`
      and honours `algorithm`, `encoding`, `prefix`, `event_id_header`, `event_type_header`).

    Raises `ValueError` for an unknown provider or unusable options.

    >>> headers = sign_request("github", b'{"zen": "Keep it logically awesome."}', "s3cret")
    >>> sorted(headers)
    ['content-type', 'x-github-delivery', 'x-github-event', 'x-hub-signature-256']
    """
    signer = _SIGNERS.get(provider) or _catalogue_signer(provider)
    now = int(time.time()) if timestamp is None else timestamp
    try:
        return signer(Signing(body, secret, event_id, event_type, now, options or {}))
    except (KeyError, TypeError) as err:  # a signing key of the wrong kind, a missing option
        raise ValueError(f"cannot sign as {provider!r}: {type(err).__name__}") from err


def _catalogue_signer(name: str) -> Callable[[Signing], dict[str, str]]:
    """The `sign` classmethod of an installed catalogue provider (every built-in has one)."""
    try:
        factory = load(name)
    except ProviderNotFound as err:
        raise ValueError(f"no signer for provider {name!r}: {err}") from err
    if isinstance(factory, type) and issubclass(factory, StandardWebhooksProvider):
        return _svix if name in _SVIX_BRANDED else _standard_webhooks
    signer = getattr(factory, "sign", None)
    if not callable(signer):
        raise ValueError(f"provider {name!r} ships no signer (a `sign(Signing)` classmethod)")
    return signer  # type: ignore[no-any-return]


def _stripe(r: Signing) -> dict[str, str]:
    return {
        "stripe-signature": stripe.sign(r.body, r.secret, r.timestamp),
        "content-type": "application/json; charset=utf-8",
    }


def _github(r: Signing) -> dict[str, str]:
    return {
        github.SIGNATURE_HEADER: github.sign(r.body, r.secret),
        github.DELIVERY_HEADER: r.event_id or str(uuid.uuid4()),
        github.EVENT_HEADER: r.event_type or "ping",
        "content-type": "application/json",
    }


def _standard_webhooks(r: Signing) -> dict[str, str]:
    msg_id = r.event_id or f"msg_{uuid.uuid4().hex}"
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(r.timestamp),
        "webhook-signature": standard_webhooks.sign(r.body, r.secret, msg_id, r.timestamp),
        "content-type": "application/json",
    }


def _svix(r: Signing) -> dict[str, str]:
    headers = _standard_webhooks(r)
    return {name.replace("webhook-", "svix-"): value for name, value in headers.items()}


def _hmac(r: Signing) -> dict[str, str]:
    try:
        settings = generic_hmac.HmacSettings.from_options(Options(r.options, "options"))
    except ProviderConfigError as err:
        raise ValueError(str(err)) from err
    signature = generic_hmac.sign(
        r.body,
        r.secret,
        algorithm=settings.algorithm,
        encoding=settings.encoding,
        prefix=settings.prefix,
    )
    headers = {settings.signature_header: signature}
    if settings.event_id.header is not None:
        headers[settings.event_id.header] = r.event_id or str(uuid.uuid4())
    if settings.event_type.header is not None:
        headers[settings.event_type.header] = r.event_type or generic_hmac.DEFAULT_TYPE
    return headers


_SIGNERS: dict[str, Callable[[Signing], dict[str, str]]] = {
    "stripe": _stripe,
    "github": _github,
    "standard-webhooks": _standard_webhooks,
    "hmac": _hmac,
}
