"""Braintree: a form whose `bt_signature` field signs its `bt_payload` field.

`bt_payload` is a base64 XML `<notification>`; `bt_signature` lists `public_key|hex` pairs
joined by `&`, one per API key of the merchant, where hex = HMAC-SHA1 keyed with the raw SHA-1
digest of that key's private key, over `bt_payload` as posted (or `bt_payload` + "\\n": a
framework may strip the newline Braintree's encoder ends with), as the `braintree` SDK's
`webhook_notification.parse`. The pairs naming a configured public key are checked; the XML is
read only after one verifies, and without any DTD. The Control Panel's URL check is a GET with
`bt_challenge` (20 to 32 lower-case hex digits), answered `public_key|hex(HMAC(challenge))`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from typing import Any, ClassVar
from urllib.parse import urlencode

from providers._provider import GET_AND_POST, ProviderBase, Signing
from providers._signing import as_bytes, matches_any, require_secrets, signature_items
from providers.base import Handshake, SourceSpec, VerifiedEvent, WebhookRequest
from providers.builtin.braintree_xml import Notification, read_notification
from providers.builtin.form_hmac import form_params
from providers.errors import InvalidSignature, Malformed, MissingSignature, ProviderConfigError

#: The characters `bt_payload` may hold (base64 and newlines), as Braintree's SDK checks.
_PAYLOAD_CHARS = re.compile(r"[A-Za-z0-9+=/\n]*")
#: A larger payload is refused before its HMAC: a notification is a few KiB.
MAX_PAYLOAD = 256 * 1024
_CHALLENGE = re.compile(r"[a-f0-9]{20,32}")
#: The notification Braintree sends from the Control Panel's "Check URL": answered, not published.
CHECK_KIND = "check"


def _hex(key: bytes, message: bytes) -> str:
    return hmac.digest(key, message, "sha1").hex()


def signing_key(private_key: str) -> bytes:
    """Braintree's HMAC key: the raw SHA-1 digest of the private key."""
    return hashlib.sha1(private_key.encode()).digest()  # noqa: S324 - the sender's choice


class BraintreeProvider(ProviderBase):
    """Braintree webhooks. Secrets: the API keys' private keys; `public_key_id`: their public
    keys, the Control Panel's "Public Key" (an identifier, not a cryptographic key).

    ID: `kind:timestamp:subject id` of the notification (the subject object's `<id>`; one
    without, the decoded XML's SHA-256); type: `kind`. No tolerance: retries keep the time.
    """

    family: ClassVar[str] = "parsed-fields-hmac"
    methods = GET_AND_POST
    source_keys = ("secrets", "public_key_id")
    content_type = "application/x-www-form-urlencoded"
    sample_type = "subscription_went_active"
    reads_body = True  # the notification, decoded and read once the signature verifies

    def configure(self, spec: SourceSpec) -> None:
        require_secrets(spec.secrets, spec.name)
        if spec.tolerance_seconds is not None:
            raise ProviderConfigError(
                f"sources.{spec.name}.tolerance_seconds: Braintree signs no timestamp to hold"
            )
        self._public = spec.options.strings("public_key_id", required=True)
        self._keys = tuple(signing_key(secret.reveal()) for secret in spec.secrets)

    def unsigned_handshake(self, request: WebhookRequest) -> Handshake | None:
        if request.method != "GET":
            return None
        challenge = request.query.get("bt_challenge")
        if not challenge:
            raise MissingSignature("a GET carries no bt_challenge")
        if not _CHALLENGE.fullmatch(challenge):
            raise InvalidSignature("bt_challenge is not 20 to 32 lower-case hex digits")
        # An HMAC of 20-32 hex digits: as a bt_payload it decodes to 24 bytes at most, too
        # short for any notification, so the answer cannot be replayed as an event.
        answer = f"{self._public[0]}|{_hex(self._keys[0], challenge.encode())}"
        return Handshake(answer.encode(), content_type="text/plain")

    def authenticate(self, request: WebhookRequest) -> None:
        signature, payload = _fields(request.body)
        pairs = signature_items(signature, "&", "bt_signature")
        ours = [
            as_bytes(sig)
            for key_id, _, sig in (p.partition("|") for p in pairs)
            if key_id in self._public
        ]
        if not ours:
            raise InvalidSignature("bt_signature has no signature for a configured public_key_id")
        signed = as_bytes(payload)
        expected = (
            as_bytes(_hex(key, message))
            for key in self._keys
            for message in (signed, signed + b"\n")
        )
        if not matches_any(expected, ours):
            raise InvalidSignature("bt_signature matches no configured private key")

    def document(self, request: WebhookRequest) -> Any:
        _, payload = _fields(request.body)
        try:
            xml = binascii.a2b_base64(payload)
        except binascii.Error as err:
            raise Malformed("bt_payload is not base64") from err
        return read_notification(xml)

    def signed_handshake(self, request: WebhookRequest, document: Any) -> Handshake | None:
        if isinstance(document, Notification) and document.kind == CHECK_KIND:
            return Handshake(b"", content_type="text/plain")
        return None

    def event(self, request: WebhookRequest, document: Any) -> VerifiedEvent:
        notification: Notification = document
        return VerifiedEvent(
            id=notification.event_id,
            type=notification.kind,
            occurred_at=notification.occurred_at,
        )

    @classmethod
    def sign(cls, signing: Signing) -> dict[str, str]:
        """Braintree signs inside the form: see `signed_body`."""
        return {"content-type": cls.content_type}

    @classmethod
    def signed_body(cls, signing: Signing) -> bytes:
        """The form Braintree posts for `signing.body`, the notification XML, signed with the
        private key `signing.secret` under the source's first `public_key_id`."""
        public = signing.options.get("public_key_id")
        if isinstance(public, list) and public:
            public = public[0]
        if not isinstance(public, str) or not public:
            raise ValueError("signing as braintree needs the source's public_key_id")
        return sign_form(signing.body, public, signing.secret)


def sign_form(xml: bytes, public_key_id: str, private_key: str) -> bytes:
    """A Braintree webhook form for the notification `xml`, encoded as its SDK does."""
    payload = base64.encodebytes(xml)
    signature = f"{public_key_id}|{_hex(signing_key(private_key), payload)}"
    return urlencode({"bt_signature": signature, "bt_payload": payload.decode()}).encode()


def _fields(body: bytes) -> tuple[str, str]:
    """`bt_signature` and `bt_payload`, checked as Braintree's SDK does, before any HMAC."""
    form = form_params(body)
    signature, payload = form.get("bt_signature"), form.get("bt_payload")
    if not signature or payload is None:
        raise MissingSignature("the form has no bt_signature and bt_payload")
    if len(payload) > MAX_PAYLOAD:
        raise InvalidSignature("bt_payload is larger than any Braintree notification")
    if not _PAYLOAD_CHARS.fullmatch(payload):
        raise InvalidSignature("bt_payload holds characters other than base64 and newlines")
    return signature, payload
