"""Travis CI webhook notifications: a form `payload=<JSON>`, signed in the `Signature` header.

`Signature` is base64 of an RSA PKCS#1 v1.5 / SHA-1 signature, by Travis's private key, of the
`payload` field's value as decoded from the form (the JSON text), as Travis's reference
verifier (`travis-ci/webhook-signature-verifier`) checks it. The key is pinned in `public_key`:
Travis publishes it at `https://api.travis-ci.com/config`, under
`config.notifications.webhook.public_key` (an Enterprise install: its own API host). Nothing is
fetched; a verifier that fetches it from a configured URL would use the key-fetch engine. No
timestamp is signed.
"""

from __future__ import annotations

import base64
from typing import Any, ClassVar

from cryptography.exceptions import InvalidSignature as _BadSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from providers._certs import rsa_sign
from providers._fields import as_text, body, parse_json
from providers._provider import Signing
from providers._signing import as_bytes, require_header
from providers.base import SourceSpec, WebhookRequest
from providers.builtin.asymmetric import public_keys
from providers.builtin.form_hmac import form_params
from providers.builtin.pinned_key import WiseProvider
from providers.errors import InvalidSignature, ProviderConfigError

#: The largest RSA signature accepted (a 8192-bit key), base64: decoding is bounded before it.
_MAX_SIGNATURE_TEXT = 1400
_FIELD = "payload"


class _BuildState:
    """The event ID: the build's `id` and its `state` (one build notifies as it starts and
    again as it ends), else `status_message`."""

    needs_body = True

    def read(self, headers: Any, document: Any) -> str | None:
        if not isinstance(document, dict):
            return None
        build = as_text(document.get("id"))
        state = as_text(document.get("state")) or as_text(document.get("status_message"))
        return None if build is None or state is None else f"{build}:{state}"


class TravisProvider(WiseProvider):
    """Travis CI (`Signature`: base64 RSA-SHA1 over the form's decoded `payload`).

    `public_key`: Travis's key from its API's `/config` (PEM; a list while it rotates). ID:
    `payload.id:payload.state` (the build and its state); type: `payload.type` (`push`,
    `pull_request`, `cron`, `api`).
    """

    signature_header: ClassVar[str] = "signature"
    signature_headers = frozenset({signature_header})
    content_type = "application/x-www-form-urlencoded"
    event_id = _BuildState()
    id_required = True
    event_type = body("/type")
    sample_type = "push"

    def configure(self, spec: SourceSpec) -> None:
        self._keys = public_keys(spec, self.load_key)
        if spec.tolerance_seconds is not None:
            raise ProviderConfigError(
                f"sources.{spec.name}.tolerance_seconds: Travis CI signs no timestamp"
            )

    def authenticate(self, request: WebhookRequest) -> None:
        signature_text = require_header(request.headers, self.signature_header)
        if len(signature_text) > _MAX_SIGNATURE_TEXT:
            raise InvalidSignature(f"{self.signature_header} is longer than an RSA signature")
        try:
            signature = base64.b64decode(signature_text, validate=True)
        except ValueError as err:  # binascii.Error is a ValueError
            raise InvalidSignature(f"{self.signature_header} is not base64") from err
        payload = _payload(request.body)
        if payload is None:
            raise InvalidSignature("the form has no payload field, which the signature covers")
        signed = as_bytes(payload)
        if not any(_valid(key, signature, signed) for key in self._keys):
            raise InvalidSignature(f"{self.signature_header} matches no configured public key")

    def document(self, request: WebhookRequest) -> Any:
        return parse_json(as_bytes(_payload(request.body) or ""))

    @classmethod
    def sign(cls, signing: Signing) -> dict[str, str]:
        """`signing.body` is the form (`payload=…`); `signing.secret` an RSA private key: PEM,
        or base64 PKCS#8 DER."""
        try:
            payload = _payload(signing.body) or ""  # no payload: refused when verified
        except InvalidSignature as err:
            raise ValueError(f"a travis body is a form with a payload field: {err}") from err
        signature = rsa_sign(signing.secret, as_bytes(payload), hashes.SHA1())  # noqa: S303 - the sender's choice
        return {
            cls.signature_header: signature,
            "content-type": cls.content_type,
        }


def _payload(raw: bytes) -> str | None:
    """The form's `payload` value, decoded (bounded as every form is: `form_params`)."""
    return form_params(raw).get(_FIELD)


def _valid(key: rsa.RSAPublicKey, signature: bytes, signed: bytes) -> bool:
    try:
        key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303 - the sender's choice
    except (_BadSignature, ValueError):
        return False
    return True
