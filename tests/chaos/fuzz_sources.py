"""One source per built-in provider, with the keys each provider declares (`source_keys`),
and a way to sign requests for each: with its real key, or with a key it does not know.

Built from the installed entry points of the `hookgate` distribution, so a new built-in is
fuzzed as soon as it is registered; one whose keys this module cannot make raises `KeyError`
naming it (the fuzz test fails, it never skips a provider).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from providers.builtin.graph import sign_body as graph_sign_body
from providers.builtin.mailgun import sign_body as mailgun_sign_body
from providers.builtin.parsed_fields import sign_body as adyen_sign_body
from providers.registry import installed, load
from providers.signing import CannotSign
from providers.testing import sign_request
from tests.unit.providers._catalogue import (
    BODY_SIGNING,
    PUBLIC_HALF,
    SNS_OPTIONS,
    TABLE,
    key_option,
    rsa_pkcs8,
    signed,
    sns_certificate,
    sns_sign_body,
)

HOST = "gateway.test"
PREFIX = "/webhooks"
#: Families whose secret does not cover the body (a token in a header, Mailgun's signed
#: timestamp+token): the same credentials on another body verify, as their senders intend.
BODY_NOT_SIGNED = {"static-token"}
BODY_NOT_SIGNED_PROVIDERS = {"mailgun"}


def _ed25519_pair() -> tuple[str, str]:
    seed = os.urandom(32)
    public = ed25519.Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    return seed.hex(), public.hex()


def _p256() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pkcs8(key: ec.EllipticCurvePrivateKey) -> str:
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return base64.b64encode(der).decode()


def _spki_pair() -> tuple[str, str]:
    key = _p256()
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return _pkcs8(key), base64.b64encode(der).decode()


def _jwk_pair() -> tuple[str, str]:
    key = _p256()
    numbers = key.public_key().public_numbers()

    def b64(n: int) -> str:
        return base64.urlsafe_b64encode(n.to_bytes(32, "big")).rstrip(b"=").decode()

    jwk = {"kty": "EC", "crv": "P-256", "x": b64(numbers.x), "y": b64(numbers.y), "kid": "k1"}
    return _pkcs8(key), json.dumps(jwk)


#: Asymmetric providers: (private signing key, the source's `public_key`) makers.
_KEY_PAIRS: dict[str, Callable[[], tuple[str, str]]] = {
    "discord": _ed25519_pair,
    "sendgrid": _spki_pair,
    "plaid": _jwk_pair,
}


def _catalogue_pair(name: str) -> Callable[[], tuple[str, str]]:
    """The unit catalogue's key maker and public half for `name` (telnyx, wise, ...)."""

    def pair() -> tuple[str, str]:
        signing = TABLE[name][4]()
        return signing, PUBLIC_HALF[name](signing)

    return pair


_KEY_PAIRS |= {name: _catalogue_pair(name) for name in ("telnyx", "wise")}


def _sns_pair() -> tuple[str, str]:
    signing = rsa_pkcs8()
    return signing, sns_certificate(signing)


#: certificate-url providers: the source pins a certificate for the key (nothing is fetched).
_KEY_PAIRS |= {"paypal": _catalogue_pair("paypal"), "aws-sns": _sns_pair}
#: monday.com's JWT authenticates the sender but covers no part of the body.
BODY_NOT_SIGNED_PROVIDERS |= {"monday"}
#: Options some providers need beyond secrets/public_url/public_key.
_OPTIONS: dict[str, dict[str, object]] = {
    "hmac": {"signature_header": "x-hmac-signature", "event_id_header": "x-hmac-id"},
    "meta": {"verify_token": "fuzz-verify-token"},
    "websub": {"topics": ["https://www.youtube.com/xml/feeds/videos.xml?channel_id=UCfuzz"]},
    "paypal": {"webhook_id": "1JE4291016473214C"},
}
_OPTIONS |= {"braintree": {"public_key_id": "fuzz-public-key"}, "aws-sns": SNS_OPTIONS}
_KEY_PAIRS |= {"travis": _catalogue_pair("travis")}
#: Dropbox Sign's event hash covers event_time + event_type, not the body.
BODY_NOT_SIGNED_PROVIDERS |= {"dropbox-sign"}
#: Event Grid: the secret in a header (its default, a query parameter, cannot be signed).
_OPTIONS |= {"azure-eventgrid": {"secret_header": "x-eventgrid-secret"}}
# Issue 14, JWT/JWS against the provider's keys: the app and audience the source is for, and
# the pinned root or certificates (nothing is fetched while fuzzing).
_KEY_PAIRS |= {name: _catalogue_pair(name) for name in ("apple-appstore", "google-pubsub")}
_KEY_PAIRS |= {"google-play": _catalogue_pair("google-play")}
_OPTIONS |= {name: dict(TABLE[name][3]) for name in ("apple-appstore", "google-pubsub")}
_OPTIONS |= {"google-play": dict(TABLE["google-play"][3])}
#: The Google OIDC token authenticates the sender; it covers no part of the body.
BODY_NOT_SIGNED_PROVIDERS |= {"google-pubsub", "google-play"}


@dataclass
class FuzzSource:
    name: str
    provider: str
    family: str
    table: dict[str, object]
    signing_key: str
    wrong_key: str
    options: dict[str, object] = field(default_factory=dict)

    @property
    def body_is_signed(self) -> bool:
        return self.family not in BODY_NOT_SIGNED and self.provider not in BODY_NOT_SIGNED_PROVIDERS

    def sign(self, body: bytes, *, wrong_key: bool) -> tuple[bytes, dict[str, str]]:
        """`body` (Mailgun: a signed body wrapping it) and the headers a sender adds, signed
        with this source's key or, with `wrong_key`, with a key it does not hold."""
        key = self.wrong_key if wrong_key else self.signing_key
        if self.provider == "mailgun":
            return mailgun_sign_body({"id": body.hex()[:40], "event": "delivered"}, key, 0), {}
        if self.provider == "adyen":  # signs each notification item inside the body
            item = {"pspReference": body.hex()[:40] or "0", "eventCode": "AUTHORISATION"}
            item |= {"success": "true", "amount": {"value": 1, "currency": "EUR"}}
            notification = {"notificationItems": [{"NotificationRequestItem": item}]}
            return adyen_sign_body(notification, key), {}
        if self.provider in BODY_SIGNING:  # its own signed_body wraps the fuzzed body
            try:
                return signed(self.provider, body, key, options=self.options)
            except CannotSign:  # not a payload it can wrap (Dropbox Sign: not JSON)
                return signed(self.provider, TABLE[self.provider][0], key, options=self.options)
        if self.provider == "microsoft-graph":  # the key is each notification's clientState
            note = {"id": body.hex()[:40] or "0", "changeType": "created"}
            wrapped = json.dumps({"value": [note]}).encode()
            return graph_sign_body(wrapped, key), {"content-type": "application/json"}
        if self.provider == "aws-sns":  # an envelope carrying the body, signed at time 0: stale
            message = body if _utf8(body) else body.hex().encode()
            return sns_sign_body(message, key, 0), {}
        try:
            return body, sign_request(self.provider, body, key, options=self.options)
        except ValueError:  # a signer that refuses these bytes (Twilio: non-UTF-8 forms)
            return body, sign_request(self.provider, b"{}", key, options=self.options)


def builtin_sources() -> dict[str, FuzzSource]:
    """A source named after each built-in provider (`standard-webhooks` too)."""
    sources: dict[str, FuzzSource] = {}
    for entry in installed():
        if entry.distribution != "hookgate":
            continue  # a third-party plugin installed by another test
        factory = load(entry.name)
        keys = set(getattr(factory, "source_keys", ("secrets",)))
        table: dict[str, object] = {"provider": entry.name}
        options = dict(_OPTIONS.get(entry.name, {}))
        if "public_url" in keys:
            options["public_url"] = f"http://{HOST}{PREFIX}/{entry.name}"
        if "secrets" in keys:
            signing, wrong = os.urandom(16).hex(), os.urandom(16).hex()
            if entry.name == "postmark":
                signing, wrong = f"hooks:{signing}", f"hooks:{wrong}"
            table["secrets"] = [signing]
        else:
            make = _KEY_PAIRS[entry.name]  # KeyError: a new asymmetric provider to add here
            (signing, public), (wrong, _) = make(), make()
            options[key_option(entry.name)] = public
        table.update(options)
        sources[entry.name] = FuzzSource(
            entry.name,
            entry.name,
            str(getattr(factory, "family", "")),
            table,
            signing,
            wrong,
            options,
        )
    return sources


def _utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
