"""Signatures over parsed fields: the body is parsed first, and selected fields are what is signed.

Adyen's standard notifications carry one signature per item, in the item's
`additionalData.hmacSignature`: base64 HMAC-SHA256, keyed with the hex-decoded HMAC key, of the
item's `pspReference`, `originalReference`, `merchantAccountCode`, `merchantReference`,
`amount.value`, `amount.currency`, `eventCode` and `success`, joined with `:` (an absent field is
empty). The rest of the body (`live`, other `additionalData`, `eventDate`, `reason`) is not
covered; the event ID is built from signed fields only. Every item of a batch must verify.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson

from providers._fields import NOT_JSON, collapse_batch, parse_json
from providers._provider import ProviderBase, Signing
from providers._signing import as_bytes, matches_any, require_secrets
from providers.base import SourceSpec, WebhookRequest
from providers.errors import InvalidSignature, MissingSignature, ProviderConfigError

#: The item fields Adyen signs, in order (`value` and `currency` are read from `amount`).
_SIGNED_FIELDS = (
    "pspReference",
    "originalReference",
    "merchantAccountCode",
    "merchantReference",
    "value",
    "currency",
    "eventCode",
    "success",
)
#: Adyen sends one item per notification today (batches of up to a few dozen formerly); each
#: costs one HMAC per key, so a forged body cannot make the check unbounded.
MAX_ITEMS = 100
#: The largest body parsed before anything is known to be authentic. An Adyen notification is
#: a few KiB (one item today); parsing a forged megabyte of JSON would cost far more than the
#: HMACs, so a larger body is refused unparsed.
MAX_BODY = 64 * 1024


def _text(value: object) -> str | None:
    """A signed field as Adyen writes it into the signed string; `None` when it cannot be one."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def signed_string(item: dict[str, Any]) -> str | None:
    """The `:`-joined signed fields of one `NotificationRequestItem`, or `None` if it has none."""
    amount = item.get("amount")
    if not isinstance(amount, dict):
        return None
    fields = {**item, "value": amount.get("value"), "currency": amount.get("currency")}
    parts = [_text(fields.get(name)) for name in _SIGNED_FIELDS]
    if any(part is None for part in parts):
        return None
    return ":".join(part for part in parts if part is not None)


def item_signature(key: bytes, item: dict[str, Any]) -> str:
    """The `hmacSignature` Adyen puts on `item` (`key`: the hex-decoded HMAC key)."""
    text = signed_string(item)
    if text is None:
        raise ValueError("an Adyen notification item needs amount.value and amount.currency")
    return base64.b64encode(hmac.digest(key, text.encode(), "sha256")).decode()


def notification_items(document: Any) -> list[dict[str, Any]] | None:
    """The `NotificationRequestItem` objects of a notification body, or `None`."""
    if not isinstance(document, dict):
        return None
    wrapped = document.get("notificationItems")
    if not isinstance(wrapped, list) or not wrapped:
        return None
    items = [w.get("NotificationRequestItem") if isinstance(w, dict) else None for w in wrapped]
    if not all(isinstance(item, dict) for item in items):
        return None
    return [item for item in items if isinstance(item, dict)]


@dataclass(frozen=True, slots=True)
class _ItemsField:
    """The event ID (`pspReference:eventCode:success`) or type (`eventCode`) of the items: one
    item's own; for several, a digest of all IDs in order, and the shared type else `batch`."""

    kind: str  # "id" | "type"
    needs_body = True

    def read(self, headers: Any, document: Any) -> str | None:
        items = notification_items(document)
        if items is None:
            return None
        return collapse_batch([self._value(item) for item in items], self.kind)

    def _value(self, item: dict[str, Any]) -> str | None:
        code = item.get("eventCode")
        if not isinstance(code, str) or not code:
            return None
        if self.kind == "type":
            return code
        psp, success = item.get("pspReference"), _text(item.get("success"))
        if not isinstance(psp, str) or not psp or not success:
            return None
        return f"{psp}:{code}:{success}"


class AdyenProvider(ProviderBase):
    """Adyen standard notifications (payments), signed per item in the body.

    Secrets: the HMAC key as the Customer Area shows it (hex). No timestamp is signed. ID:
    `pspReference:eventCode:success` (Adyen resends the same item); type: `eventCode`. The
    answer is the gateway's usual 2xx; older Adyen setups asked for the body `[accepted]`
    (not checked against a live account).
    """

    family: ClassVar[str] = "parsed-fields-hmac"
    event_id = _ItemsField("id")
    id_required = True
    event_type = _ItemsField("type")
    sample_type = "AUTHORISATION"

    def configure(self, spec: SourceSpec) -> None:
        if spec.tolerance_seconds is not None:
            raise ProviderConfigError(
                f"sources.{spec.name}.tolerance_seconds: Adyen signatures carry no timestamp"
            )
        require_secrets(spec.secrets, spec.name)
        keys = []
        for i, secret in enumerate(spec.secrets):
            try:
                keys.append(binascii.a2b_hex(secret.reveal().strip()))
            except (binascii.Error, ValueError) as err:
                raise ProviderConfigError(
                    f"sources.{spec.name}.secrets[{i}]: expected the HMAC key in hex, as the"
                    " Customer Area shows it"
                ) from err
        self._keys = tuple(keys)

    def authenticate(self, request: WebhookRequest) -> None:
        if b'"hmacSignature"' not in request.body:
            raise MissingSignature("body has no additionalData.hmacSignature")
        if len(request.body) > MAX_BODY:
            raise InvalidSignature("body is larger than any Adyen notification")
        document = parse_json(request.body)
        if document is NOT_JSON:
            raise InvalidSignature("body is not JSON: its signatures cannot be read")
        items = notification_items(document)
        if items is None:
            raise MissingSignature("body has no notificationItems to carry signatures")
        if len(items) > MAX_ITEMS:
            raise InvalidSignature("body carries more notification items than Adyen sends")
        for item in items:
            additional = item.get("additionalData")
            signature = additional.get("hmacSignature") if isinstance(additional, dict) else None
            if not isinstance(signature, str) or not signature:
                raise MissingSignature("a notification item has no additionalData.hmacSignature")
            text = signed_string(item)
            if text is None:
                raise InvalidSignature("a notification item's signed fields are not strings")
            signed = text.encode()
            expected = (
                as_bytes(base64.b64encode(hmac.digest(key, signed, "sha256")).decode())
                for key in self._keys
            )
            if not matches_any(expected, (as_bytes(signature),)):
                raise InvalidSignature("hmacSignature matches no configured HMAC key")

    @classmethod
    def sign(cls, signing: Signing) -> dict[str, str]:
        """Adyen sends no signature header: the signatures are in `signed_body`."""
        return {"content-type": cls.content_type}

    @classmethod
    def signed_body(cls, signing: Signing) -> bytes:
        """`signing.body` (a notification, or one `NotificationRequestItem`) signed per item."""
        return sign_body(orjson.loads(signing.body), signing.secret)


def sign_body(document: Any, hex_key: str) -> bytes:
    """A notification body with every item's `hmacSignature` set; a bare item is wrapped."""
    if isinstance(document, dict) and "notificationItems" not in document:
        document = {"live": "false", "notificationItems": [{"NotificationRequestItem": document}]}
    items = notification_items(document)
    if items is None:
        raise ValueError("an adyen payload is a notification or a NotificationRequestItem object")
    key = binascii.a2b_hex(hex_key)
    for item in items:
        additional = item.setdefault("additionalData", {})
        if not isinstance(additional, dict):
            raise ValueError("additionalData must be an object")
        additional["hmacSignature"] = item_signature(key, item)
    return orjson.dumps(document)
