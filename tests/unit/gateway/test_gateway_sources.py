"""gateway.sources: every source's provider is built at startup, failing closed."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from gateway import sources
from gateway.config import SourceSettings
from gateway.errors import ConfigError
from gateway.sources import build_source, build_sources
from providers import ProviderConfigError, Secret, SourceSpec
from providers.stripe import StripeProvider


def _settings(provider: str = "stripe", **options: Any) -> SourceSettings:
    return SourceSettings(
        name="billing",
        provider=provider,
        secrets=(Secret("whsec_x"),),
        tolerance_seconds=None,
        options=options,
    )


def _use_factory(monkeypatch: pytest.MonkeyPatch, factory: Any) -> None:
    monkeypatch.setattr(sources, "load", lambda name: factory)


def test_stripe_source_is_built_with_post_only() -> None:
    source = build_source(_settings())
    assert source.name == "billing"
    assert source.provider_name == "stripe"
    assert isinstance(source.provider, StripeProvider)
    assert source.methods == frozenset({"POST"})
    assert source.allow_header == "POST"


def test_build_sources_keys_by_source_name() -> None:
    settings = {"a": _settings(), "b": _settings()}
    assert set(build_sources(settings)) == {"a", "b"}


def test_provider_gets_its_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[SourceSpec] = []

    class Recording:
        family = "test"
        methods: ClassVar[frozenset[str]] = frozenset({"GET", "POST"})

        def __init__(self, spec: SourceSpec) -> None:
            seen.append(spec)

    _use_factory(monkeypatch, Recording)
    source = build_source(_settings("x", public_url="https://h/x"))

    (spec,) = seen
    assert spec.name == "billing"
    assert [s.reveal() for s in spec.secrets] == ["whsec_x"]
    assert spec.options.string("public_url") == "https://h/x"
    assert spec.options.path("public_url") == "sources.billing.public_url"
    assert source.allow_header == "GET, POST"


def test_provider_without_methods_defaults_to_post(monkeypatch: pytest.MonkeyPatch) -> None:
    class Bare:
        def __init__(self, spec: SourceSpec) -> None:
            pass

    _use_factory(monkeypatch, Bare)
    assert build_source(_settings("x")).methods == frozenset({"POST"})


def test_unknown_provider_names_the_provider_key() -> None:
    with pytest.raises(ConfigError, match=r"^sources\.billing\.provider: no provider named"):
        build_source(_settings("no-such-provider"))


def test_provider_config_error_keeps_its_key_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(spec: SourceSpec) -> None:
        raise ProviderConfigError("sources.billing.public_key: expected hex")

    _use_factory(monkeypatch, refuse)
    with pytest.raises(ConfigError, match=r"^sources\.billing\.public_key: expected hex$"):
        build_source(_settings("x"))


def test_crashing_provider_fails_closed_without_echoing_its_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def crash(spec: SourceSpec) -> None:
        raise ValueError(f"bad key {spec.secrets[0].reveal()}")

    _use_factory(monkeypatch, crash)
    with pytest.raises(ConfigError) as info:
        build_source(_settings("my.module:Crash"))
    message = str(info.value)
    assert message.startswith("sources.billing: provider 'my.module:Crash' failed to start")
    assert "ValueError" in message
    assert "whsec_x" not in message
