"""Build every configured source's provider at startup, and fail closed if one cannot be built."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gateway.config import Network, SourceSettings
from gateway.errors import ConfigError
from gateway.responses import Answer, provider_answer
from providers import Handshake, Options, Provider, ProviderError, SourceSpec, describe, load


@dataclass(frozen=True, slots=True)
class Source:
    """A configured source, ready to serve: its provider object and precomputed answers."""

    name: str
    provider_name: str
    provider: Provider
    methods: frozenset[str]
    allow_header: str
    allowed_ips: tuple[Network, ...] = ()
    #: Request headers never put in a message or the spool: the provider's credential headers,
    #: and its signature headers when the source sets `forward_signature_headers = false`.
    drop_headers: frozenset[str] = frozenset()
    #: Requests carry a signed timestamp checked against a tolerance (replays bounded in time).
    signed_timestamp: bool = False
    #: The provider's own answer to a delivery taken (accepted, spooled, duplicate), built once;
    #: `None`: the gateway's JSON answer.
    acknowledgement: Answer | None = None


def build_sources(settings: Mapping[str, SourceSettings]) -> dict[str, Source]:
    return {name: build_source(source) for name, source in settings.items()}


def build_source(settings: SourceSettings) -> Source:
    path = f"sources.{settings.name}"
    try:
        factory = load(settings.provider)
    except ProviderError as err:
        raise ConfigError(f"{path}.provider: {err}") from err
    spec = SourceSpec(
        name=settings.name,
        secrets=settings.secrets,
        tolerance_seconds=settings.tolerance_seconds,
        options=Options(settings.options, path),
    )
    try:
        provider = factory(spec)
    except ProviderError as err:
        raise ConfigError(str(err)) from err
    except Exception as err:
        # A plugin bug must stop startup with a message, not a bare traceback.
        raise ConfigError(
            f"{path}: provider {settings.provider!r} failed to start: {type(err).__name__}"
        ) from err
    methods = frozenset(getattr(provider, "methods", frozenset({"POST"})))
    facts = describe(provider)  # the built provider's: some facts follow the source's options
    drop = facts.credential_headers
    if not settings.forward_signature_headers:
        drop |= facts.signature_headers
    return Source(
        name=settings.name,
        provider_name=settings.provider,
        provider=provider,
        methods=methods,
        allow_header=", ".join(sorted(methods)),
        allowed_ips=settings.allowed_ips,
        drop_headers=drop,
        signed_timestamp=facts.signed_timestamp,
        acknowledgement=_acknowledgement(provider, path),
    )


def _acknowledgement(provider: Provider, path: str) -> Answer | None:
    """The provider's `acknowledgement` (see `providers.base`) as a ready answer, or None."""
    reply = getattr(provider, "acknowledgement", None)
    if reply is None:
        return None
    if not isinstance(reply, Handshake) or not 200 <= reply.status_code < 300:
        raise ConfigError(f"{path}: the provider's acknowledgement is not a 2xx Handshake")
    return provider_answer(reply)


def replay_warnings(sources: Mapping[str, Source]) -> list[str]:
    """One line per source whose requests can be replayed at any time: its provider signs no
    timestamp, and no `allowed_ips` limit who may send. Duplicates are still absorbed within
    the dedupe TTL (by event ID and, where the ID is unsigned, by a digest of what was signed)."""
    return [
        f"sources.{source.name}: provider {source.provider_name!r} signs no timestamp, so a "
        "captured request stays valid forever (re-sent copies are absorbed as duplicates only "
        "within dedupe.ttl_seconds); set allowed_ips to the provider's published ranges"
        for source in sources.values()
        if not source.signed_timestamp and not source.allowed_ips
    ]
