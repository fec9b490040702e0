"""Test helpers for provider users and plugin authors.

- `sign_request`: the headers a built-in provider would send for a body (its signer).
- `build_provider`, `make_request`: build a provider and a request as the gateway would.
- `ProviderContract`: a test base class holding a provider to the rules the built-ins pass.
"""

from providers.testing.builders import build_provider, make_request
from providers.testing.contract import ProviderContract
from providers.testing.signers import sign_request

__all__ = ["ProviderContract", "build_provider", "make_request", "sign_request"]
