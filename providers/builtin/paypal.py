"""PayPal webhooks: RSA (SHA256withRSA) by the certificate at `PAYPAL-CERT-URL`
(certificate-url family; see `certificate_url`).

The signed string is `{transmission_id}|{transmission_time}|{webhook_id}|{crc32(body)}`, the
CRC-32 of the raw body as an unsigned decimal and `webhook_id` the ID of *your* webhook (a
required option: a delivery to another webhook does not verify here). The certificate URL must
be `https://api(-m)(.sandbox).paypal.com/v1/notifications/certs/<name>`, and the certificate
issued to a `*.paypal.com` name. `PAYPAL-TRANSMISSION-TIME` is signed and held to
`tolerance_seconds` (300 s by default, either way). ID body `id`, type `event_type`, time
`create_time`.
"""

from __future__ import annotations

import hashlib
import re
import uuid
import zlib
from datetime import UTC, datetime
from typing import Any, ClassVar

from cryptography.hazmat.primitives import hashes

from providers._certs import decode_signature, rsa_sign, rsa_valid
from providers._fields import body
from providers._provider import Signing
from providers._signing import check_tolerance, require_header
from providers.base import SourceSpec, WebhookRequest
from providers.builtin.certificate_url import CertificateUrlProvider
from providers.errors import InvalidSignature, ProviderConfigError
from providers.keyfetch import UrlPolicy, UrlRule

ID_HEADER = "paypal-transmission-id"
TIME_HEADER = "paypal-transmission-time"
SIG_HEADER = "paypal-transmission-sig"
CERT_HEADER = "paypal-cert-url"
ALGO_HEADER = "paypal-auth-algo"
ALGORITHM = "SHA256withRSA"
_HOSTS = re.compile(r"api(-m)?(\.sandbox)?\.paypal\.com")
_PATH = re.compile(r"/v1/notifications/certs/[A-Za-z0-9_.-]{1,200}")
#: PayPal's transmission IDs are UUIDs; times ISO 8601 (`2024-01-05T09:46:21Z`).
_TRANSMISSION_ID = re.compile(r"[A-Za-z0-9-]{1,128}")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)")


def signed_string(transmission_id: str, time: str, webhook_id: str, payload: bytes) -> bytes:
    """What PayPal signs for one delivery."""
    crc = zlib.crc32(payload) & 0xFFFFFFFF
    return f"{transmission_id}|{time}|{webhook_id}|{crc}".encode()


class PayPalProvider(CertificateUrlProvider):
    """PayPal. Options: `webhook_id` (required), `certificates` (pinned)."""

    source_keys = ("webhook_id", "certificates", "tolerance_seconds")
    url_rule: ClassVar[UrlPolicy] = UrlRule(_HOSTS, _PATH)
    certificate_names = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)*\.paypal\.com")
    signing_cert_url = "https://api-m.paypal.com/v1/notifications/certs/CERT-hookgate-test"
    default_tolerance = 300.0
    signature_headers = frozenset({ID_HEADER, TIME_HEADER, SIG_HEADER, CERT_HEADER, ALGO_HEADER})
    event_id = body("/id")
    event_type = body("/event_type")

    def configure_options(self, spec: SourceSpec) -> None:
        webhook_id = spec.options.string("webhook_id", required=True)
        assert webhook_id is not None
        if not webhook_id.isascii() or "|" in webhook_id:
            raise ProviderConfigError(
                f"{spec.options.path('webhook_id')}: expected the webhook's ID (WH-…, ASCII)"
            )
        self._webhook_id = webhook_id

    def authenticate(self, request: WebhookRequest) -> None:
        headers = request.headers
        transmission_id = require_header(headers, ID_HEADER)
        time_text = require_header(headers, TIME_HEADER)
        signature_text = require_header(headers, SIG_HEADER)
        url = require_header(headers, CERT_HEADER)
        algorithm = require_header(headers, ALGO_HEADER)
        if algorithm != ALGORITHM:
            raise InvalidSignature(f"{ALGO_HEADER} is not {ALGORITHM}")
        if not _TRANSMISSION_ID.fullmatch(transmission_id):
            raise InvalidSignature(f"{ID_HEADER} is not a transmission ID")
        sent = _unix_time(time_text)
        signature = decode_signature(signature_text, SIG_HEADER)
        signed = signed_string(transmission_id, time_text, self._webhook_id, request.body)
        certificates = self.certificates(url, request.received_at)
        if not any(rsa_valid(c, signature, signed, hashes.SHA256()) for c in certificates):
            raise InvalidSignature("the signature does not verify with the signing certificate")
        check_tolerance(sent, request.received_at, self._tolerance)

    def replay_digest(self, request: WebhookRequest, document: Any) -> str | None:
        """One transmission is taken once. Its signature binds the body only through a CRC-32,
        which anyone can match for a body of their own: a captured signature (they are forwarded
        to consumers) would otherwise carry another body, under another ID, for 300 s."""
        headers = request.headers
        transmission = "|".join(headers[name] for name in (ID_HEADER, TIME_HEADER, SIG_HEADER))
        return hashlib.sha256(f"paypal-transmission|{transmission}".encode()).hexdigest()

    def occurred_at(self, document: Any) -> float | None:
        """The event's `create_time` (ISO 8601), when the body has a valid one."""
        created = document.get("create_time") if isinstance(document, dict) else None
        if not isinstance(created, str) or not _TIME.fullmatch(created):
            return None
        try:
            return datetime.fromisoformat(created).timestamp()
        except ValueError:
            return None

    @classmethod
    def sign(cls, signing: Signing) -> dict[str, str]:
        """`signing.secret` is the RSA private key of the certificate the source pins; the
        source's `webhook_id` is signed."""
        webhook_id = signing.options.get("webhook_id")
        if not isinstance(webhook_id, str):
            raise ProviderConfigError("webhook_id: required to sign as PayPal")
        transmission_id = str(uuid.uuid4())
        time_text = datetime.fromtimestamp(signing.timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        signed = signed_string(transmission_id, time_text, webhook_id, signing.body)
        return {
            ID_HEADER: transmission_id,
            TIME_HEADER: time_text,
            SIG_HEADER: rsa_sign(signing.secret, signed, hashes.SHA256()),
            CERT_HEADER: cls.signing_cert_url,
            ALGO_HEADER: ALGORITHM,
            "content-type": "application/json",
        }


def _unix_time(text: str) -> float:
    """`PAYPAL-TRANSMISSION-TIME` as Unix time, or `InvalidSignature`."""
    try:
        if _TIME.fullmatch(text):
            return datetime.fromisoformat(text).timestamp()
    except ValueError:  # a month 13, a day 32
        pass
    raise InvalidSignature(f"{TIME_HEADER} is not an ISO 8601 time")
