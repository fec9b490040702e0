"""Google Play Real-time developer notifications (RTDN), pushed by Pub/Sub.

Authenticated exactly as `google-pubsub` (an OIDC token; the body is not covered). The push's
`message.data` is base64 of a `DeveloperNotification`: its `packageName` must be one of the
source's `package_name`, and its one notification object gives the type: a subscription's or
one-time product's `notificationType` by its documented name (`SUBSCRIPTION_RENEWED`,
`ONE_TIME_PRODUCT_PURCHASED`; a number not listed here: `subscriptionNotification.<n>`), any
other object by its key (`voidedPurchaseNotification`, `testNotification`). ID
`message.messageId`.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, ClassVar

import orjson

from providers._fields import NOT_JSON
from providers.base import SourceSpec, VerifiedEvent, WebhookRequest
from providers.builtin.google_oidc import GoogleOidcProvider
from providers.errors import InvalidSignature, Malformed

#: The documented `notificationType` values (developer.android.com, RTDN reference).
SUBSCRIPTION_TYPES = {
    1: "SUBSCRIPTION_RECOVERED",
    2: "SUBSCRIPTION_RENEWED",
    3: "SUBSCRIPTION_CANCELED",
    4: "SUBSCRIPTION_PURCHASED",
    5: "SUBSCRIPTION_ON_HOLD",
    6: "SUBSCRIPTION_IN_GRACE_PERIOD",
    7: "SUBSCRIPTION_RESTARTED",
    8: "SUBSCRIPTION_PRICE_CHANGE_CONFIRMED",
    9: "SUBSCRIPTION_DEFERRED",
    10: "SUBSCRIPTION_PAUSED",
    11: "SUBSCRIPTION_PAUSE_SCHEDULE_CHANGED",
    12: "SUBSCRIPTION_REVOKED",
    13: "SUBSCRIPTION_EXPIRED",
}
ONE_TIME_TYPES = {1: "ONE_TIME_PRODUCT_PURCHASED", 2: "ONE_TIME_PRODUCT_CANCELED"}
_NAMED = {
    "subscriptionNotification": SUBSCRIPTION_TYPES,
    "oneTimeProductNotification": ONE_TIME_TYPES,
}


class GooglePlayProvider(GoogleOidcProvider):
    """Google Play RTDN over an authenticated Pub/Sub push (see the module)."""

    source_keys = (
        "audience",
        "service_account",
        "package_name",
        "certificates",
        "tolerance_seconds",
    )
    sample_type: ClassVar[str] = "testNotification"

    def configure(self, spec: SourceSpec) -> None:
        super().configure(spec)
        self._packages = frozenset(spec.options.strings("package_name", required=True))

    def document(self, request: WebhookRequest) -> Any:
        """The decoded `DeveloperNotification` (`NOT_JSON` when there is none)."""
        envelope = super().document(request)
        message = envelope.get("message") if isinstance(envelope, dict) else None
        data = message.get("data") if isinstance(message, dict) else None
        if not isinstance(data, str):
            return NOT_JSON
        try:
            notification = orjson.loads(base64.b64decode(data, validate=True))
        except (binascii.Error, ValueError):
            return NOT_JSON
        return notification if isinstance(notification, dict) else NOT_JSON

    def verify(self, request: WebhookRequest) -> VerifiedEvent:
        self.authenticate(request)
        notification = self.document(request)
        if notification is NOT_JSON:
            raise Malformed("message.data is not a base64 JSON developer notification")
        package = notification.get("packageName")
        if not isinstance(package, str) or package not in self._packages:
            raise InvalidSignature("the notification is for another app (packageName)")
        assert self.event_id is not None
        event_id = self.event_id.read(request.headers, super().document(request))
        if event_id is None:
            raise self.missing("ID")
        return VerifiedEvent(event_id, _play_type(notification), _millis(notification))


def _play_type(notification: dict[str, Any]) -> str:
    for key, value in notification.items():
        if not key.endswith("Notification") or not isinstance(value, dict):
            continue
        number = value.get("notificationType")
        if type(number) is not int:
            return key
        return _NAMED.get(key, {}).get(number, f"{key}.{number}")
    raise Malformed("the developer notification carries no notification object")


def _millis(notification: dict[str, Any]) -> float | None:
    value = notification.get("eventTimeMillis")
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 16:
        return int(value) / 1000
    if type(value) is int:
        return value / 1000
    return None
