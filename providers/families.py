"""The verifier families the built-in providers are made of, for plugin authors to reuse.

A provider that signs like one of the built-ins is a few lines of data::

    class AcmeProvider(HmacSchemeProvider):
        family = "timestamped-hmac"
        scheme = HmacScheme("acme-signature", message="{timestamp}.{body}", pairs=",",
                            tolerance=300)
        event_id = body("/id")
        event_type = header("acme-event")

- `HmacScheme` / `HmacSchemeProvider`: any shared-secret HMAC over a message template
  (`{body}`, `{timestamp}`, `{method}`, `{url}`, `{header:NAME}`), hex or base64, with an
  optional prefix, a `k=v` list header or a separate timestamp header.
- `ProviderBase`: the shape under every family (handshake hooks, event fields, `sign`); subclass
  it directly for a scheme of your own (implement `configure` and `authenticate`).
- Fields: `header`, `body` (a JSON pointer), `const`, `first`, `joined`, `batch`.
- `Signing`: what a provider's optional `sign` classmethod receives (see `providers.signing`).
"""

from providers._fields import Field, batch, body, const, first, header, joined
from providers._hmac_scheme import HmacScheme, HmacSchemeProvider
from providers._provider import ProviderBase, Signing

__all__ = [
    "Field",
    "HmacScheme",
    "HmacSchemeProvider",
    "ProviderBase",
    "Signing",
    "batch",
    "body",
    "const",
    "first",
    "header",
    "joined",
]
