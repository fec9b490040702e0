"""URL-bound HMAC providers: the URL the provider called is part of the signed message.

Behind a proxy the gateway cannot know that URL, so these providers require the source's
`public_url` option: the exact URL configured at the provider (scheme, host, path). The
request's query string is appended when `public_url` has none (Twilio adds `bodySHA256`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit, urlunsplit

from providers._fields import batch, body, first, header, parse_json
from providers._form import form_pairs
from providers._hmac_scheme import HmacScheme, HmacSchemeProvider, public_url, signed_url
from providers._provider import ProviderBase, Signing
from providers._signing import (
    as_bytes,
    matches_any,
    require_header,
    require_secrets,
    signature_items,
)
from providers.base import Handshake, SourceSpec, WebhookRequest
from providers.errors import InvalidSignature, ProviderConfigError


class UrlBoundProvider(HmacSchemeProvider):
    family: ClassVar[str] = "url-bound-hmac"


class SquareProvider(UrlBoundProvider):
    """Square (`x-square-hmacsha256-signature`: base64 HMAC-SHA256 of URL + body)."""

    scheme = HmacScheme("x-square-hmacsha256-signature", message="{url}{body}", encoding="base64")
    event_id = body("/event_id")
    event_type = body("/type")


class HubSpotProvider(UrlBoundProvider):
    """HubSpot v3 (`X-HubSpot-Signature-v3` over method + URL + body + timestamp in ms; 5 min).

    Bodies are arrays of events: one event gives its `eventId`, a batch a digest of them all.
    """

    scheme = HmacScheme(
        "x-hubspot-signature-v3",
        message="{method}{url}{body}{timestamp}",
        encoding="base64",
        timestamp_header="x-hubspot-request-timestamp",
        timestamp_format="unix_ms",
        tolerance=300,
    )
    event_id = batch("", "eventId", kind="id")
    event_type = batch("", "subscriptionType", kind="type")


class TrelloProvider(UrlBoundProvider):
    """Trello (`X-Trello-Webhook`: base64 HMAC-SHA1 of the raw body followed by the callback URL
    exactly as registered, keyed with the application's OAuth secret). The `HEAD` Trello sends
    when the webhook is created is answered 200, empty, unverified. ID `action.id`; type
    `action.type`.
    """

    methods = frozenset({"HEAD", "POST"})
    scheme = HmacScheme(
        "x-trello-webhook", message="{body}{url}", algorithm="sha1", encoding="base64"
    )
    event_id = body("/action/id")
    event_type = body("/action/type")

    def unsigned_handshake(self, request: WebhookRequest) -> Handshake | None:
        if request.method == "HEAD":
            return Handshake(b"", content_type="text/plain")
        return None


_SETTINGS_HEADER = "x-twilio-webhooks-signature-settings"
#: Base64 lengths of an HMAC-SHA1 and an HMAC-SHA256 digest.
_SIGNATURE_LENGTHS = frozenset({28, 44})
_ALGORITHMS = {"HMAC_SHA1": "sha1", "HMAC_SHA256": "sha256"}
_TWILIO_TYPES = ("MessageStatus", "CallStatus", "SmsStatus", "EventType")


class TwilioProvider(ProviderBase):
    """Twilio (`X-Twilio-Signature`: base64 HMAC-SHA1, keyed with the Auth Token).

    Form bodies: the URL followed by every parameter name and value, sorted by name (values of
    a repeated name sorted and de-duplicated). JSON bodies: the URL alone, whose `bodySHA256`
    query parameter must equal the body's SHA-256. As Twilio's own validator does, the URL is
    tried without any port and with its port (the default one when it names none). A request
    carrying `X-Twilio-Webhooks-Signature-Settings: …,algorithm=HMAC_SHA256` (SharedKey signing)
    is checked with HMAC-SHA256; put that key among the secrets. ID: `I-Twilio-Idempotency-Token`.
    """

    family: ClassVar[str] = "url-bound-hmac"
    source_keys = ("secrets", "public_url")
    signature_header: ClassVar[str] = "x-twilio-signature"
    signature_headers = frozenset({signature_header})
    event_id = header("i-twilio-idempotency-token")
    event_type = first(*(body(f"/{name}") for name in _TWILIO_TYPES))
    default_type = "webhook"

    def configure(self, spec: SourceSpec) -> None:
        self._keys, self._public_url = untimed_url_source(spec, "Twilio signatures")

    def authenticate(self, request: WebhookRequest) -> None:
        received = as_bytes(require_header(request.headers, self.signature_header))
        if len(received) not in _SIGNATURE_LENGTHS:  # cheap checks before the body's
            raise InvalidSignature(f"{self.signature_header} is not a base64 HMAC digest")
        algorithm = _algorithm(request.headers.get(_SETTINGS_HEADER, ""))
        url = signed_url(self._public_url, request)
        # As the SDK: the first non-blank `bodySHA256`, compared exactly (lower-case hex).
        body_hash = parse_qs(urlsplit(url).query).get("bodySHA256", [None])[0]
        if body_hash is not None:
            actual = hashlib.sha256(request.body).hexdigest()
            if not matches_any((as_bytes(actual),), (as_bytes(body_hash),)):
                raise InvalidSignature("bodySHA256 does not match the body")
            suffix = b""
        else:
            suffix = _form_suffix(request.body)
        expected = (
            as_bytes(_digest(key, as_bytes(candidate) + suffix, algorithm))
            for key in self._keys
            for candidate in _port_variants(url)
        )
        if not matches_any(expected, (received,)):
            raise InvalidSignature(f"{self.signature_header} matches no configured auth token")

    def document(self, request: WebhookRequest) -> Any:
        if "bodySHA256=" in request.url:
            return parse_json(request.body)
        return dict(form_pairs(request.body))

    @classmethod
    def sign(cls, signing: Signing) -> dict[str, str]:
        """Signs a form body for the source's `public_url` (JSON bodies need a query string)."""
        url = str(signing.options.get("public_url", ""))
        try:
            suffix = _form_suffix(signing.body)
        except InvalidSignature as err:
            raise ValueError(str(err)) from err
        signature = _digest(signing.secret.encode(), as_bytes(url) + suffix)
        return {
            cls.signature_header: signature,
            "i-twilio-idempotency-token": signing.event_id
            or hashlib.sha256(signing.body).hexdigest(),
            "content-type": "application/x-www-form-urlencoded",
        }


def _digest(key: bytes, signed: bytes, algorithm: str = "sha1") -> str:
    return base64.b64encode(hmac.digest(key, signed, algorithm)).decode("ascii")


def _algorithm(settings: str) -> str:
    """The digest `X-Twilio-Webhooks-Signature-Settings` names (`algorithm=HMAC_SHA256`);
    HMAC-SHA1 when absent, as for the Auth Token signatures."""
    for part in signature_items(settings, ",", _SETTINGS_HEADER):
        name, _, value = part.partition("=")
        if name.strip() == "algorithm" and value.strip():
            algorithm = _ALGORITHMS.get(value.strip().upper())
            if algorithm is None:
                raise InvalidSignature("unsupported signature algorithm in signature settings")
            return algorithm
    return "sha1"


def _form_suffix(raw: bytes) -> bytes:
    """The signed parameters: every name and value, sorted (Twilio's construction)."""
    params: dict[str, set[str]] = {}
    for name, value in form_pairs(raw):
        params.setdefault(name, set()).add(value)
    return "".join(
        name + value for name in sorted(params) for value in sorted(params[name])
    ).encode()


def _port_variants(url: str) -> tuple[str, ...]:
    """The URL without any port and with one, as Twilio's validators check both.

    Twilio's own `RequestValidator.validate` signs `remove_port(url)` (any port dropped, not
    only a default one) and `add_port(url)` (the URL's port, else 443 for https and 80
    otherwise), because Twilio's back end is inconsistent about the port it signs.
    """
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return (url,)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    if not port:
        port = 443 if parts.scheme == "https" else 80
    without = urlunsplit(parts._replace(netloc=f"{prefix}{host}"))
    with_port = urlunsplit(parts._replace(netloc=f"{prefix}{host}:{port}"))
    return (without, with_port)


def untimed_url_source(spec: SourceSpec, what: str) -> tuple[tuple[bytes, ...], str]:
    """The HMAC keys and `public_url` of a source whose signature covers the URL but no time:
    secrets are required, `tolerance_seconds` is refused (`what` carry no timestamp)."""
    require_secrets(spec.secrets, spec.name)
    if spec.tolerance_seconds is not None:
        raise ProviderConfigError(
            f"sources.{spec.name}.tolerance_seconds: {what} carry no timestamp"
        )
    return tuple(secret.reveal().encode() for secret in spec.secrets), public_url(spec)
