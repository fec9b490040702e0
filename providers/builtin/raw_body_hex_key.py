"""Raw-body HMAC keyed with a hex-decoded key, in a module of its own (issue 14's slices).

Adyen's platform webhooks (Balance Platform, Management API and the other configuration
webhooks, not payment notifications, which `parsed_fields` verifies) carry `HmacSignature`:
base64 HMAC-SHA256 of the raw body, keyed with the hex-decoded HMAC key of the webhook.
"""

from __future__ import annotations

from typing import ClassVar

from providers._fields import body
from providers._hmac_scheme import HmacScheme, HmacSchemeProvider


class AdyenPlatformProvider(HmacSchemeProvider):
    """Adyen platform webhooks (`HmacSignature`, base64; key: the hex HMAC key). No timestamp
    is signed and no event ID is sent: the body hash is used. Type: the body's `type`
    (`balancePlatform.accountHolder.created`, `merchant.created`)."""

    family: ClassVar[str] = "raw-body-hmac"
    scheme = HmacScheme("hmacsignature", encoding="base64", key_format="hex")
    event_type = body("/type")
    sample_type = "merchant.created"
