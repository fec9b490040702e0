"""The certificate-url family: the sender signs with RSA and names its certificate's URL in the
request (AWS SNS's `SigningCertURL`, PayPal's `PAYPAL-CERT-URL`).

`verify` never fetches. The URL must pass the provider's allow-list first (off-list: 401
`invalid_signature`, nothing fetched); the certificate then comes from the source's cache
(`providers.keyfetch.KeyFetcher`: bounded, single-flight, expiring at the certificate's
notAfter and after a day at most), or, on a miss, from one fetch the gateway awaits before it
verifies again (a failed fetch is 503 `key_unavailable`). With `certificates` pinned in the
source, nothing is ever fetched: the request's URL is still held to the allow-list, and the
signature must verify with one of the pinned certificates. Either way the certificate's DNS
name must match the provider's pattern and it must be valid when the request arrives.

Tests reach a loopback key server by subclassing a provider with another `url_rule` (and
`signing_cert_url`); no config option can widen the allow-list.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from cryptography import x509

from providers._certs import load_certificate, valid_at
from providers._provider import ProviderBase
from providers.base import SourceSpec
from providers.errors import InvalidSignature, ProviderConfigError
from providers.keyfetch import KeyFetcher, Parsed, UrlPolicy

#: Certificates cached per source (distinct URLs), and the longest one is kept.
CACHE_ENTRIES = 16
CACHE_MAX_AGE = 86400.0
#: The largest certificate response read (a leaf and its chain are a few KiB).
CERTIFICATE_MAX_BYTES = 64 * 1024


class CertificateUrlProvider(ProviderBase):
    """Base of `aws-sns` and `paypal`: `certificates(url, now)` gives the usable certificates."""

    family: ClassVar[str] = "certificate-url"
    #: Which certificate URLs may be fetched (production: an exact `UrlRule`).
    url_rule: ClassVar[UrlPolicy]
    #: The DNS names (subjectAltName or CN, lower-case) the signing certificate may carry.
    certificate_names: ClassVar[re.Pattern[str]]
    #: The URL the signer writes into requests (tests point it at a loopback server).
    signing_cert_url: ClassVar[str]
    default_tolerance: ClassVar[float]
    signed_timestamp = True

    def configure(self, spec: SourceSpec) -> None:
        if spec.secrets:
            raise ProviderConfigError(
                f"sources.{spec.name}.secrets: this provider verifies with the sender's "
                "certificate; pin it with `certificates` or let the gateway fetch it"
            )
        pinned = []
        for i, text in enumerate(spec.options.strings("certificates")):
            try:
                pinned.append(load_certificate(text.encode(), self.certificate_names))
            except ValueError as err:
                raise spec.options.error(f"certificates[{i}]", str(err)) from None
        self._pinned: tuple[x509.Certificate, ...] = tuple(pinned)
        self._fetcher: KeyFetcher[x509.Certificate] | None = None
        if not pinned:
            self._fetcher = KeyFetcher(
                spec.name,
                self._parse,
                self.url_rule,
                max_entries=CACHE_ENTRIES,
                max_age=CACHE_MAX_AGE,
                max_bytes=CERTIFICATE_MAX_BYTES,
            )
        tolerance = spec.tolerance_seconds
        self._tolerance = self.default_tolerance if tolerance is None else tolerance
        self.signed_timestamp = bool(self._tolerance)
        self.configure_options(spec)

    def configure_options(self, spec: SourceSpec) -> None:
        """Read the provider's own options (after `certificates`)."""

    def _parse(self, body: bytes) -> Parsed[x509.Certificate]:
        certificate = load_certificate(body, self.certificate_names)
        return Parsed(certificate, certificate.not_valid_after_utc.timestamp())

    @property
    def fetcher(self) -> KeyFetcher[x509.Certificate] | None:
        """The source's certificate cache (`None` with pinned certificates)."""
        return self._fetcher

    def certificates(self, url: Any, now: float) -> list[x509.Certificate]:
        """The certificates a request naming `url` may be signed with, valid at `now`: pinned,
        or the fetched one (`KeyUnavailable` until it is loaded). The URL is checked first."""
        if not isinstance(url, str):
            raise InvalidSignature("the certificate URL is not a string")
        if self._fetcher is None:
            self.url_rule.check(url)
            candidates: tuple[x509.Certificate, ...] = self._pinned
        else:
            candidates = (self._fetcher.get(url, now),)
        usable = valid_at(candidates, now)
        if not usable:
            raise InvalidSignature("the signing certificate is not valid at this time")
        return usable
