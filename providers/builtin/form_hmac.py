"""Form-parameter HMAC providers: the URL, then the form's parameters sorted by name, signed.

Twilio's construction (`url_bound.py`) with other separators: Mandrill appends `name + value`
for each POST parameter; Plivo (V3) writes the URL's own query sorted as `k=v&…`, a `.` when
there are POST parameters, their sorted `name + value`s, then `.` and a per-request nonce.
Like Twilio they need the source's `public_url`, and a form beyond Twilio's limits
(`MAX_FORM_FIELDS`, `MAX_FORM_ESCAPES`) is refused before it is decoded. Neither sender repeats a
parameter name, and their reference verifiers disagree on which value of a repeated one counts:
such a form is refused rather than guessed at. No timestamp is signed.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse, urlunparse

from providers._fields import batch, body, first, parse_json
from providers._form import form_pairs
from providers._hmac_scheme import signed_url
from providers._provider import ProviderBase, Signing
from providers._signing import (
    as_bytes,
    matches_any,
    require_header,
    signature_items,
)
from providers.base import Handshake, SourceSpec, WebhookRequest
from providers.builtin.url_bound import untimed_url_source
from providers.errors import InvalidSignature

__all__ = ["FormHmacProvider", "MandrillProvider", "PlivoProvider", "form_params"]


class FormHmacProvider(ProviderBase):
    """base64(HMAC(secret, `signed_message`)) in `signature_header`; the body is a form."""

    family: ClassVar[str] = "url-bound-hmac"
    source_keys = ("secrets", "public_url")
    content_type = "application/x-www-form-urlencoded"
    signature_header: ClassVar[str]
    algorithm: ClassVar[str]
    #: The header lists several signatures separated by this (Plivo), or holds one.
    separator: ClassVar[str | None] = None
    #: Other headers the signature needs and covers (Plivo's nonce).
    covered: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: object) -> None:
        header = cls.__dict__.get("signature_header")
        if isinstance(header, str):
            cls.signature_headers = frozenset({header, *cls.covered})
        super().__init_subclass__(**kwargs)

    def configure(self, spec: SourceSpec) -> None:
        what = f"{self.signature_header} signatures"
        self._keys, self._public_url = untimed_url_source(spec, what)

    def authenticate(self, request: WebhookRequest) -> None:
        received = require_header(request.headers, self.signature_header)
        if self.separator is None:
            candidates = [received]
        else:
            candidates = signature_items(received, self.separator, self.signature_header)
        message = self.signed_message(
            signed_url(self._public_url, request), form_params(request.body), request.headers
        )
        expected = (as_bytes(_digest(key, message, self.algorithm)) for key in self._keys)
        if not matches_any(expected, [as_bytes(item) for item in candidates]):
            raise InvalidSignature(f"{self.signature_header} matches no configured secret")

    def document(self, request: WebhookRequest) -> Any:
        return dict(form_pairs(request.body))

    @classmethod
    def signed_message(cls, url: str, params: dict[str, str], headers: Any) -> bytes:
        """The bytes the sender signs for this URL, form and request headers."""
        raise NotImplementedError

    @classmethod
    def signing_headers(cls, signing: Signing) -> dict[str, str]:
        """Headers the sender adds that the signature covers (Plivo's nonce)."""
        return {}

    @classmethod
    def sign(cls, signing: Signing) -> dict[str, str]:
        """Signs a form body for the source's `public_url`."""
        url = str(signing.options.get("public_url", ""))
        try:
            params = form_params(signing.body)
        except InvalidSignature as err:
            raise ValueError(str(err)) from err
        headers = cls.signing_headers(signing)
        message = cls.signed_message(url, params, headers)
        return {
            cls.signature_header: _digest(signing.secret.encode(), message, cls.algorithm),
            **headers,
            "content-type": cls.content_type,
        }


#: Mandrill's URL check: this form (`[]` escaped or not), signed with this published key.
_CHECK_SIZE = 32
_CHECK_FORM = {"mandrill_events": "[]"}
_CHECK_KEY = b"test-webhook"


class MandrillProvider(FormHmacProvider):
    """Mandrill (Mailchimp Transactional): `X-Mandrill-Signature`, base64 HMAC-SHA1 keyed with
        the webhook's key, over the webhook URL exactly as configured followed by each POST
        parameter's name and value, sorted by name, with no separators.

        The form's one field `mandrill_events` is a JSON array: ID `_id` (a batch digest for
        several; a sync event has none: the body hash), type `event` (a sync event's `type`); a
    form without events is `malformed`.
        Mandrill's check when a webhook is added (`mandrill_events=[]` signed with the published
        key `test-webhook`, after a HEAD that gets 405 here) is answered 200 and not published.
    """

    signature_header = "x-mandrill-signature"
    algorithm = "sha1"
    event_id = batch("/mandrill_events", "_id", kind="id")
    event_type = first(
        batch("/mandrill_events", "event", kind="type"),
        batch("/mandrill_events", "type", kind="type"),
    )
    # Every Mandrill event has an `event` or a sync event's `type`: a verified form without
    # `mandrill_events` (or with an empty one) carries no event and is `malformed`.
    default_type = None

    def unsigned_handshake(self, request: WebhookRequest) -> Handshake | None:
        # Adding a webhook, Mandrill checks the URL with HEAD and, short of a 200, POSTs an
        # empty `mandrill_events` signed with the published key `test-webhook`: answered 200,
        # never published (it proves nothing, and carries nothing).
        if len(request.body) > _CHECK_SIZE or _check_form(request.body) != _CHECK_FORM:
            return None
        url = signed_url(self._public_url, request)
        expected = _digest(_CHECK_KEY, self.signed_message(url, _CHECK_FORM, {}), "sha1")
        received = request.headers.get(self.signature_header, "")
        if matches_any((as_bytes(expected),), (as_bytes(received),)):
            return Handshake(b"", content_type="text/plain")
        return None

    def document(self, request: WebhookRequest) -> Any:
        form = super().document(request)
        events = form.get("mandrill_events")
        if isinstance(events, str):
            form["mandrill_events"] = parse_json(events.encode())
        return form

    @classmethod
    def signed_message(cls, url: str, params: dict[str, str], headers: Any) -> bytes:
        return (url + "".join(name + params[name] for name in sorted(params))).encode()


_NONCE_HEADER = "x-plivo-signature-v3-nonce"


class PlivoProvider(FormHmacProvider):
    """Plivo signature V3: `X-Plivo-Signature-V3` (one or more, comma-separated), base64
    HMAC-SHA256 keyed with the (sub)account's auth token, over the URL's scheme, host and path,
    its query sorted (`?k=v&…`), a `.` when the form has parameters, the form's sorted
    `name + value`s, then `.` and `X-Plivo-Signature-V3-Nonce`, as `plivo.utils.signature_v3`.

    The nonce is random, not a time: nothing bounds a replay but de-duplication. Callbacks carry
    no event ID: the body hash. Type: `Event` (voice), else `Status` (messages), else
    `CallStatus`, else `webhook`. V2 (`X-Plivo-Signature-V2`) signs no parameter: not accepted.
    POST callbacks only: set the application's callback methods to POST.
    """

    signature_header = "x-plivo-signature-v3"
    algorithm = "sha256"
    separator = ","
    event_type = first(body("/Event"), body("/Status"), body("/CallStatus"))
    default_type = "webhook"
    covered = (_NONCE_HEADER,)

    @classmethod
    def signed_message(cls, url: str, params: dict[str, str], headers: Any) -> bytes:
        nonce = require_header(headers, _NONCE_HEADER)
        # As the SDK: `urlparse` (a last segment's `;params` is dropped with query and fragment).
        parts = urlparse(url)
        base = urlunparse((parts.scheme, parts.netloc, parts.path, "", "", ""))
        query = parse_qs(parts.query, keep_blank_values=True)
        pairs = "&".join(
            f"{name}={value}" for name in sorted(query) for value in sorted(query[name])
        )
        if params:
            base += "?" + pairs + ("." if pairs else "")
        elif pairs:
            base += "?" + pairs
        base += "".join(name + params[name] for name in sorted(params))
        return as_bytes(f"{base}.{nonce}")

    @classmethod
    def signing_headers(cls, signing: Signing) -> dict[str, str]:
        # Plivo's nonces are 20 random digits.
        return {_NONCE_HEADER: "".join(secrets.choice("0123456789") for _ in range(20))}


def form_params(raw: bytes) -> dict[str, str]:
    """The form's parameters, each name once, or `invalid_signature` (`form_pairs`' limits;
    no repeated name)."""
    params: dict[str, str] = {}
    for name, value in form_pairs(raw):
        if name in params:
            raise InvalidSignature("form body repeats a parameter name, which no sender does")
        params[name] = value
    return params


def _check_form(raw: bytes) -> dict[str, str] | None:
    try:
        return form_params(raw)
    except InvalidSignature:
        return None


def _digest(key: bytes, message: bytes, algorithm: str) -> str:
    return base64.b64encode(hmac.digest(key, message, algorithm)).decode("ascii")
