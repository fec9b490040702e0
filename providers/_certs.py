"""X.509 helpers of the certificate-url family: parse, check names and validity, verify RSA.

A sender's signing certificate is trusted because it was fetched over TLS (system trust store)
from a host on the provider's allow-list, or because the operator pinned it; its names must
match the provider's pattern and it must be valid when the request arrives. Chain building is
not attempted: the URLs serve the leaf alone, not its intermediates.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable

from cryptography import x509
from cryptography.exceptions import InvalidSignature as _BadSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from providers.errors import InvalidSignature

#: The longest base64 RSA signature accepted (an 8192-bit key); checked before decoding.
MAX_SIGNATURE_TEXT = 1400


def load_certificate(data: bytes, names: re.Pattern[str]) -> x509.Certificate:
    """The first certificate of a PEM bundle: an RSA key of at least 2048 bits, and a DNS name
    (subjectAltName or CN) matching `names`. `ValueError` otherwise."""
    try:
        certificate = x509.load_pem_x509_certificates(data)[0]
    except (ValueError, IndexError) as err:
        raise ValueError("not a PEM certificate") from err
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size < 2048:
        raise ValueError("the certificate's key is not RSA of at least 2048 bits")
    if not any(names.fullmatch(name) for name in dns_names(certificate)):
        raise ValueError("the certificate is not issued to the sender's name")
    return certificate


def dns_names(certificate: x509.Certificate) -> list[str]:
    """The certificate's subjectAltName DNS names and subject common names, lower-case."""
    found: list[str] = []
    try:
        extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        found += extension.value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        pass
    found += [str(a.value) for a in certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    return [name.lower() for name in found]


def valid_at(certificates: Iterable[x509.Certificate], when: float) -> list[x509.Certificate]:
    """The certificates whose validity period holds `when` (Unix time)."""
    return [
        c
        for c in certificates
        if c.not_valid_before_utc.timestamp() <= when <= c.not_valid_after_utc.timestamp()
    ]


def decode_signature(text: str, name: str) -> bytes:
    """A base64 RSA signature, bounded before decoding."""
    if len(text) > MAX_SIGNATURE_TEXT:
        raise InvalidSignature(f"{name} is longer than an RSA signature")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSignature(f"{name} is not base64") from None


def rsa_valid(
    certificate: x509.Certificate, signature: bytes, signed: bytes, digest: hashes.HashAlgorithm
) -> bool:
    """RSA PKCS#1 v1.5 over `signed` with `digest`, by the certificate's key."""
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        return False
    try:
        key.verify(signature, signed, padding.PKCS1v15(), digest)
    except (_BadSignature, ValueError):
        return False
    return True


def rsa_private_key(text: str) -> rsa.RSAPrivateKey:
    """A signer's RSA private key: PEM, or base64 PKCS#8 DER. `ValueError` otherwise."""
    if text.lstrip().startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
    else:
        key = serialization.load_der_private_key(base64.b64decode(text), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("expected an RSA private key")
    return key


def rsa_sign(secret: str, signed: bytes, digest: hashes.HashAlgorithm) -> str:
    """Base64 RSA PKCS#1 v1.5 signature of `signed` with the private key `secret`."""
    signature = rsa_private_key(secret).sign(signed, padding.PKCS1v15(), digest)
    return base64.b64encode(signature).decode("ascii")
