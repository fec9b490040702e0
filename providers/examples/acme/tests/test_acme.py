"""The plugin's own tests: the contract every hookgate provider keeps, plus its handshake."""

from __future__ import annotations

from providers import Handshake, load
from providers.testing import ProviderContract, build_provider, make_request, sign_request

# Loaded the way the gateway loads it: through the installed entry point.
AcmeProvider = load("acme")


class TestAcmeContract(ProviderContract):
    provider = AcmeProvider
    provider_name = "acme"  # signs with AcmeProvider.sign through providers.testing
    secrets = ("acme-secret-1", "acme-secret-2")
    body = b'{"id": "evt_1", "total": 42}'
    has_timestamp = True
    signature_headers = ("acme-signature",)


def test_entry_point_names_the_plugin_class() -> None:
    assert f"{AcmeProvider.__module__}:{AcmeProvider.__qualname__}" == "hookgate_acme:AcmeProvider"


def test_ping_is_answered_and_not_an_event() -> None:
    provider = build_provider(AcmeProvider, ["acme-secret-1"])
    body = b'{"type": "ping"}'
    headers = sign_request("acme", body, "acme-secret-1")

    assert provider.verify(make_request(body, headers)) == Handshake(b'{"pong": true}')
