"""Build a provider and a request the way the gateway does, without a config file or a server."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

from hookgate.secret import Secret
from providers.base import Provider, ProviderFactory, SourceSpec, WebhookRequest
from providers.options import Options

DEFAULT_URL = "https://hookgate.test/webhooks/test"


def build_provider(
    factory: ProviderFactory,
    secrets: Iterable[str],
    *,
    options: Mapping[str, object] | None = None,
    tolerance_seconds: float | None = None,
    source: str = "test",
) -> Provider:
    """Build `factory` as the gateway would for a `[sources.<source>]` table.

    Option errors name `sources.<source>.<key>`, exactly as at gateway startup.

    >>> from providers.github import GitHubProvider
    >>> provider = build_provider(GitHubProvider, ["It's a Secret to Everybody"])
    """
    return factory(
        SourceSpec(
            name=source,
            secrets=tuple(Secret(secret) for secret in secrets),
            tolerance_seconds=tolerance_seconds,
            options=Options(options or {}, f"sources.{source}"),
        )
    )


def make_request(
    body: bytes,
    headers: Mapping[str, str],
    *,
    received_at: float | None = None,
    method: str = "POST",
    url: str = DEFAULT_URL,
    query: Mapping[str, str] | None = None,
) -> WebhookRequest:
    """A `WebhookRequest` as the gateway hands it to `verify`: header names are lower-cased.

    `received_at` defaults to now; pass the signing time to test against a fixed clock.
    """
    return WebhookRequest(
        method=method,
        url=url,
        headers={name.lower(): value for name, value in headers.items()},
        body=body,
        received_at=time.time() if received_at is None else received_at,
        query=dict(query or {}),
    )
