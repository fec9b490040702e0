"""An `x5c` certificate chain (leaf, intermediate, root) checked against pinned roots.

The chain's own third certificate is never trusted: the intermediate must be issued by one of
the configured roots. Checked once per distinct chain, then cached (bounded, least recently
used out first), so a repeated chain costs no signature check at all; only the validity window
is compared with the time the caller gives (the signer's own signed date, for Apple):

- exactly `length` certificates, base64 DER, each under `MAX_CERTIFICATE` characters;
- the intermediate's key is ECDSA P-256 or P-384 (Apple's WWDR G6 is P-384), refused before
  any signature check when it is not;
- intermediate issued by a pinned root (names, then the root's signature), checked before the
  leaf is checked as issued by the intermediate: a chain's own keys are used only once vouched;
- the intermediate is a CA (basic constraints) allowed to sign certificates (key usage, when
  present); the leaf is no CA and may sign (key usage, when present);
- no unknown critical extension; the marker extensions the sender's profile requires;
- the leaf's key is ECDSA P-256 (the JWS is ES256);
- the time lies within every certificate's validity, the root's included.
"""

from __future__ import annotations

import base64
import binascii
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature as _BadSignature
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtensionOID

from providers.errors import InvalidSignature

#: A base64 certificate longer than this is refused before decoding (Apple's are ~1.5 KiB).
MAX_CERTIFICATE = 8192


@dataclass(frozen=True, slots=True)
class _Verified:
    key: ec.EllipticCurvePublicKey
    not_before: float
    not_after: float


def load_certificate(text: str) -> x509.Certificate:
    """A certificate from PEM or base64 DER; `ValueError` when it is neither."""
    try:
        if text.lstrip().startswith("-----BEGIN"):
            return x509.load_pem_x509_certificate(text.encode())
        return x509.load_der_x509_certificate(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError) as err:
        raise ValueError("expected a certificate: PEM, or base64 DER") from err


class X5cChain:
    """Verifies `x5c` chains against `roots`; `leaf_oid`/`intermediate_oid` are extensions the
    leaf and intermediate must carry. Keeps at most `cache_size` verified chains."""

    def __init__(
        self,
        roots: Sequence[x509.Certificate],
        *,
        leaf_oid: str,
        intermediate_oid: str,
        length: int = 3,
        cache_size: int = 32,
    ) -> None:
        self._roots = tuple(roots)
        self._leaf_oid = x509.ObjectIdentifier(leaf_oid)
        self._intermediate_oid = x509.ObjectIdentifier(intermediate_oid)
        self._length = length
        self._cache_size = cache_size
        self._cache: OrderedDict[tuple[str, ...], _Verified] = OrderedDict()
        self._lock = threading.Lock()

    def leaf_key(self, x5c: object, at: float) -> ec.EllipticCurvePublicKey:
        """The leaf's public key when `x5c` chains to a pinned root and is valid at `at` (Unix
        time); `invalid_signature` otherwise."""
        if (
            not isinstance(x5c, list)
            or len(x5c) != self._length
            or not all(isinstance(c, str) and len(c) <= MAX_CERTIFICATE for c in x5c)
        ):
            raise InvalidSignature(f"x5c is not a chain of {self._length} certificates")
        chain = tuple(x5c)
        with self._lock:  # a provider may be shared by threads outside the gateway
            verified = self._cache.get(chain)
            if verified is not None:
                self._cache.move_to_end(chain)
        if verified is None:
            verified = self._verify(chain)
            with self._lock:
                self._cache[chain] = verified
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        if not verified.not_before <= at <= verified.not_after:
            raise InvalidSignature("the certificate chain is not valid at the signed date")
        return verified.key

    def __len__(self) -> int:
        return len(self._cache)

    def _verify(self, chain: tuple[str, ...]) -> _Verified:
        try:
            leaf, intermediate = (
                x509.load_der_x509_certificate(base64.b64decode(text, validate=True))
                for text in chain[:2]
            )
        except (binascii.Error, ValueError) as err:
            raise InvalidSignature("x5c holds something that is not a certificate") from err
        # The request's own keys are used for nothing until the pinned root vouches for them:
        # an intermediate key of another kind (an RSA key with a huge exponent costs ms per
        # check) is refused unchecked.
        if not _is_ec(intermediate, _INTERMEDIATE_CURVES):
            raise InvalidSignature("the intermediate certificate's key is not ECDSA P-256/P-384")
        root = next((r for r in self._roots if _issued_by(intermediate, r)), None)
        if root is None:
            raise InvalidSignature("the certificate chain does not lead to a pinned root")
        if not _issued_by(leaf, intermediate):
            raise InvalidSignature("the leaf certificate is not issued by the intermediate")
        _check_profile(intermediate, ca=True, marker=self._intermediate_oid)
        _check_profile(leaf, ca=False, marker=self._leaf_oid)
        try:
            key = leaf.public_key()
        except (ValueError, UnsupportedAlgorithm) as err:
            raise InvalidSignature("the leaf certificate's key is not ECDSA P-256") from err
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
            raise InvalidSignature("the leaf certificate's key is not ECDSA P-256")
        certificates = (leaf, intermediate, root)
        return _Verified(
            key,
            max(c.not_valid_before_utc.timestamp() for c in certificates),
            min(c.not_valid_after_utc.timestamp() for c in certificates),
        )


#: Curves an intermediate's key may be on: checks with them cost tens of microseconds.
_INTERMEDIATE_CURVES = frozenset({"secp256r1", "secp384r1"})


def _is_ec(cert: x509.Certificate, curves: frozenset[str]) -> bool:
    try:
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm):
        return False
    return isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name in curves


def _issued_by(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(issuer)
    except (_BadSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


_KNOWN = {
    x509.BasicConstraints,
    x509.KeyUsage,
    x509.ExtendedKeyUsage,
    x509.SubjectKeyIdentifier,
    x509.AuthorityKeyIdentifier,
    x509.AuthorityInformationAccess,
    x509.CRLDistributionPoints,
    x509.CertificatePolicies,
    x509.SubjectAlternativeName,
}


def _check_profile(cert: x509.Certificate, *, ca: bool, marker: x509.ObjectIdentifier) -> None:
    role = "intermediate" if ca else "leaf"
    try:
        extensions = cert.extensions
    except (ValueError, x509.UnsupportedGeneralNameType) as err:  # duplicate or undecodable
        raise InvalidSignature(f"the {role} certificate's extensions do not parse") from err
    by_oid = {extension.oid: extension for extension in extensions}
    for extension in extensions:
        if extension.critical and type(extension.value) not in _KNOWN:
            raise InvalidSignature(f"the {role} certificate has an unknown critical extension")
    if marker not in by_oid:
        raise InvalidSignature(f"the {role} certificate lacks the sender's marker extension")
    constraints = by_oid.get(ExtensionOID.BASIC_CONSTRAINTS)
    is_ca = constraints is not None and getattr(constraints.value, "ca", False) is True
    if is_ca != ca:
        raise InvalidSignature(f"the {role} certificate's basic constraints are wrong")
    usage = by_oid.get(ExtensionOID.KEY_USAGE)
    if usage is not None:
        value = usage.value
        allowed = value.key_cert_sign if ca else value.digital_signature
        if not allowed:
            raise InvalidSignature(f"the {role} certificate's key usage forbids signing")
