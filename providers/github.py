"""GitHub: `X-Hub-Signature-256: sha256=<hex>`, HMAC-SHA256 over the raw body.

The key is the secret as UTF-8. There is no timestamp, so replays are absorbed by dedupe on
`X-GitHub-Delivery`, which GitHub keeps across redeliveries; since neither that header nor
`X-GitHub-Event` is signed, `replay_key` (the body's SHA-256) catches a captured delivery
re-sent under another ID or event name. The event type is `X-GitHub-Event`
plus the body's `action` (`pull_request.opened`). A webhook configured with the
`application/x-www-form-urlencoded` content type sends the JSON in a `payload` form field.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import parse_qs

from providers._fields import body, header, joined
from providers._hmac_scheme import HmacScheme, HmacSchemeProvider
from providers._signing import json_object
from providers.base import WebhookRequest
from providers.errors import Malformed

SIGNATURE_HEADER = "x-hub-signature-256"
DELIVERY_HEADER = "x-github-delivery"
EVENT_HEADER = "x-github-event"
SCHEME = HmacScheme(SIGNATURE_HEADER, prefix="sha256=")
_FORM = "application/x-www-form-urlencoded"


class GitHubProvider(HmacSchemeProvider):
    """GitHub webhooks (`X-Hub-Signature-256`). Options: none beyond secrets.

    The legacy `X-Hub-Signature: sha1=…` header is never consulted: GitHub always sends the
    SHA-256 header too, and falling back to SHA-1 when SHA-256 is absent would let anyone who
    strips one header downgrade the check to the weaker digest. It is still declared a
    signature header (GitHub sends it), so `forward_signature_headers = false` drops it too.
    """

    family: ClassVar[str] = "raw-body-hmac"
    label = "github"
    scheme = SCHEME
    # See `providers.facts`. The scheme's signature header is joined with the legacy one.
    signature_headers = frozenset({"x-hub-signature"})
    credential_headers = frozenset()
    event_id = header(DELIVERY_HEADER)
    # A non-string action (`3`, `null`, `""`) leaves the type as the event header alone.
    event_type = joined(".", header(EVENT_HEADER), body("/action", numbers=False))
    sample_type = "ping"
    reads_body = True  # a verified body must be a JSON object (or a form carrying one)

    def document(self, request: WebhookRequest) -> Any:
        # The event header is checked first: without it there is nothing to route.
        if not request.headers.get(EVENT_HEADER):
            raise self.missing("type")
        media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if media_type != _FORM:
            return json_object(request.body)
        try:
            form = parse_qs(request.body.decode("utf-8"), strict_parsing=True)
        except ValueError as err:  # UnicodeDecodeError included
            raise Malformed("body is not a URL-encoded form") from err
        payload = form.get("payload")
        if not payload:
            raise Malformed("form body has no 'payload' field")
        return json_object(payload[0].encode())

    def missing(self, what: str) -> Malformed:
        return Malformed(f"{EVENT_HEADER} header is missing")  # the ID falls back, the type not


def sign(body: bytes, secret: str) -> str:
    """The `X-Hub-Signature-256` value GitHub would send for `body` (the inverse of verify)."""
    return SCHEME.sign(secret.encode(), body, 0)[SIGNATURE_HEADER]
