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

from providers._raw_body import RawBodyHmac, refuse_tolerance, signature, utf8_keys
from providers._signing import json_object, require_secrets, sha256_hex
from providers.base import SourceSpec, VerifiedEvent, WebhookRequest
from providers.errors import Malformed

SIGNATURE_HEADER = "x-hub-signature-256"
DELIVERY_HEADER = "x-github-delivery"
EVENT_HEADER = "x-github-event"
_PREFIX = "sha256="
_FORM = "application/x-www-form-urlencoded"


class GitHubProvider:
    """GitHub webhooks (`X-Hub-Signature-256`). Options: none beyond secrets.

    The legacy `X-Hub-Signature: sha1=…` header is never consulted: GitHub always sends the
    SHA-256 header too, and falling back to SHA-1 when SHA-256 is absent would let anyone who
    strips one header downgrade the check to the weaker digest.
    """

    family: ClassVar[str] = "raw-body-hmac"
    source_keys: ClassVar[tuple[str, ...]] = ("secrets",)
    methods: ClassVar[frozenset[str]] = frozenset({"POST"})
    # See `providers.facts`. GitHub also sends the legacy SHA-1 `X-Hub-Signature`.
    credential_headers: frozenset[str] = frozenset()
    signature_headers: frozenset[str] = frozenset({SIGNATURE_HEADER, "x-hub-signature"})
    signed_headers: frozenset[str] = frozenset()
    unsigned_headers: frozenset[str] = frozenset({DELIVERY_HEADER, EVENT_HEADER})
    signed_timestamp: bool = False

    def __init__(self, spec: SourceSpec) -> None:
        require_secrets(spec.secrets, spec.name)
        refuse_tolerance(spec, "github")
        spec.options.finish()
        self._verifier = RawBodyHmac(SIGNATURE_HEADER, "sha256", "hex", _PREFIX, utf8_keys(spec))

    def verify(self, request: WebhookRequest) -> VerifiedEvent:
        self._verifier.check(request.headers, request.body)

        event = request.headers.get(EVENT_HEADER)
        if not event:
            raise Malformed(f"{EVENT_HEADER} header is missing")
        action = _payload(request).get("action")
        digest = sha256_hex(request.body)
        return VerifiedEvent(
            id=request.headers.get(DELIVERY_HEADER) or digest,
            type=f"{event}.{action}" if isinstance(action, str) and action else event,
            replay_key=digest,
        )


def _payload(request: WebhookRequest) -> dict[str, Any]:
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


def sign(body: bytes, secret: str) -> str:
    """The `X-Hub-Signature-256` value GitHub would send for `body` (the inverse of verify)."""
    return signature(body, secret, "sha256", "hex", _PREFIX)
