"""Standard Webhooks (and Svix, which sends the same scheme under `svix-*` header names).

The scheme is `providers._standard_scheme`'s; this is the family's provider. The event ID is the
`webhook-id` (or `svix-id`) header, which is signed; the type is the body's `type`. Senders of
the scheme under their own names (`builtin/svix.py`) are this class with other data.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from providers._fields import body
from providers._provider import ProviderBase
from providers._signing import json_object, require_secrets
from providers._standard_scheme import (
    DEFAULT_TOLERANCE,
    SVIX_HEADERS,
    WEBHOOK_HEADERS,
    check_signature,
    decode_secret,
    decode_secrets,
    header_names,
    public_keys,
    rfc3339,
    sign,
)
from providers.base import SourceSpec, WebhookRequest
from providers.errors import Malformed
from providers.signing import Signing

__all__ = ["StandardWebhooksProvider", "decode_secret", "sign"]


@dataclass(frozen=True, slots=True)
class _SignedId:
    """The message ID from the header set the request was signed with (see `header_names`)."""

    needs_body = False

    def read(self, headers: Mapping[str, str], document: Any) -> str | None:
        return headers.get(header_names(headers)[0]) or None


class StandardWebhooksProvider(ProviderBase):
    """Standard Webhooks / Svix senders. Options: `public_key` (for `v1a`) and tolerance.

    Secrets are `whsec_<base64>` (the prefix is optional). Several secrets may be configured, and
    the sender may send several signatures while it rotates: any pair matching verifies. A
    sender signing asymmetrically (`v1a`) needs `public_key` (`whpk_<base64>`, or a list) and no
    secrets.
    """

    family: ClassVar[str] = "standard-webhooks"
    source_keys: ClassVar[tuple[str, ...]] = ("secrets", "public_key", "tolerance_seconds")
    # See `providers.facts`: the ID header is signed, the type is in the signed body.
    signature_headers = frozenset((*WEBHOOK_HEADERS[1:], *SVIX_HEADERS[1:]))
    signed_headers = frozenset((WEBHOOK_HEADERS[0], SVIX_HEADERS[0]))
    signed_timestamp = True
    credential_headers = frozenset()
    event_id = _SignedId()
    id_required = True
    event_type = body("/type")
    #: The body key the type is read from (for the refusal of a body without it).
    type_key: ClassVar[str] = "type"
    #: The header names the signer sends: `webhook-*`, or Svix's branded `svix-*`.
    header_prefix: ClassVar[str] = "webhook-"

    def configure(self, spec: SourceSpec) -> None:
        self._public_keys = public_keys(spec)
        if not self._public_keys:
            require_secrets(spec.secrets, spec.name)
        spec.options.finish()  # an unknown option is named before a bad secret
        self._keys = decode_secrets(spec)
        self._tolerance = (
            DEFAULT_TOLERANCE if spec.tolerance_seconds is None else spec.tolerance_seconds
        )
        self.signed_timestamp = bool(self._tolerance)

    def authenticate(self, request: WebhookRequest) -> None:
        check_signature(request, self._keys, self._tolerance, self._public_keys)

    def document(self, request: WebhookRequest) -> Any:
        return json_object(request.body)  # a message is a JSON object; anything else: malformed

    def missing(self, what: str) -> Malformed:
        return Malformed(f"body has no {self.type_key!r} string")  # the signed ID is never absent

    def occurred_at(self, document: Any) -> float | None:
        return rfc3339(document.get("timestamp")) if isinstance(document, dict) else None

    @classmethod
    def sign(cls, signing: Signing) -> dict[str, str]:
        """`webhook-*` (or `svix-*`) headers: `v1` for a `whsec_` secret, `v1a` for a `whsk_`
        Ed25519 signing key."""
        msg_id = signing.event_id or f"msg_{uuid.uuid4().hex}"
        signature = sign(signing.body, signing.secret, msg_id, signing.timestamp)
        prefix = cls.header_prefix
        return {
            f"{prefix}id": msg_id,
            f"{prefix}timestamp": str(signing.timestamp),
            f"{prefix}signature": signature,
            "content-type": cls.content_type,
        }
