"""More raw-body HMAC providers, in a module of their own (issue 14's slices).

Coinify signs the body with the shared secret, lower-case hex. Microsoft Teams' outgoing
webhooks sign it with the security token Teams shows once, base64-decoded into the key, and
send the base64 digest in `Authorization: HMAC <digest>`.
"""

from __future__ import annotations

from typing import ClassVar

from providers._fields import body
from providers._hmac_scheme import HmacScheme, HmacSchemeProvider


class CoinifyProvider(HmacSchemeProvider):
    """Coinify (`X-Coinify-Webhook-Signature`, lower-case hex HMAC-SHA256 of the body, keyed
    with the shared secret set on the dashboard). ID: the body's `id` (a retry keeps it). Type:
    the body's `event` (`payment-intent.completed`)."""

    family: ClassVar[str] = "raw-body-hmac"
    scheme = HmacScheme("x-coinify-webhook-signature")
    event_id = body("/id")
    event_type = body("/event")


class MicrosoftTeamsProvider(HmacSchemeProvider):
    """Microsoft Teams outgoing webhooks (`Authorization: HMAC <base64>`), HMAC-SHA256 of the
    body keyed with the **base64-decoded** security token (put the token in `secrets` as Teams
    shows it). `Authorization` carries a signature here, not a credential; the gateway never
    forwards it anyway. ID and type: the activity's `id` and `type` (`message`).

    Teams waits 5 s for a reply and shows it in the channel as the webhook's answer; the
    gateway answers its usual JSON, which is not a message activity.
    """

    family: ClassVar[str] = "raw-body-hmac"
    scheme = HmacScheme("authorization", encoding="base64", prefix="HMAC ", key_format="base64")
    event_id = body("/id")
    event_type = body("/type")
