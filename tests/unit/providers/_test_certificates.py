"""Certificates for tests: a 3-certificate chain shaped as Apple's, and self-signed RSA ones.

Made fresh per call (EC keys are fast); nothing here is a real provider's key.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from providers.builtin.apple_appstore import INTERMEDIATE_OID, LEAF_OID

PEM = serialization.Encoding.PEM
_NULL = b"\x05\x00"  # the DER NULL Apple's marker extensions carry
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def certificate(
    subject: str,
    key: PrivateKey,
    issuer: tuple[str, PrivateKey] | None = None,
    *,
    ca: bool,
    markers: Sequence[str] = (),
    key_usage: bool = True,
    valid_from: datetime.datetime | None = None,
    valid_days: float = 30,
) -> x509.Certificate:
    """A certificate for `key`, issued by `issuer` (name, key), else self-signed."""
    now = datetime.datetime.now(datetime.UTC)
    start = valid_from or now - datetime.timedelta(days=1)
    issuer_name, issuer_key = issuer or (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    if key_usage:
        usage = dict.fromkeys(
            (
                "digital_signature",
                "content_commitment",
                "key_encipherment",
                "data_encipherment",
                "key_agreement",
                "key_cert_sign",
                "crl_sign",
                "encipher_only",
                "decipher_only",
            ),
            False,
        )
        usage |= {"key_cert_sign": ca, "crl_sign": ca, "digital_signature": not ca}
        builder = builder.add_extension(x509.KeyUsage(**usage), critical=True)
    for oid in markers:
        marker = x509.UnrecognizedExtension(x509.ObjectIdentifier(oid), _NULL)
        builder = builder.add_extension(marker, critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def make_chain(**leaf: object) -> str:
    """A PEM bundle (EC private key, leaf, intermediate, root) shaped as Apple's chain; `leaf`
    overrides `certificate`'s keywords for the leaf (`markers`, `valid_from`, …)."""
    root_key = ec.generate_private_key(ec.SECP384R1())
    intermediate_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    root = certificate("Test Root CA", root_key, ca=True, valid_days=3650)
    intermediate = certificate(
        "Test Intermediate",
        intermediate_key,
        ("Test Root CA", root_key),
        ca=True,
        markers=(INTERMEDIATE_OID,),
        valid_days=1800,
    )
    options: dict[str, object] = {"ca": False, "markers": (LEAF_OID,), **leaf}
    signer = certificate("Test Leaf", leaf_key, ("Test Intermediate", intermediate_key), **options)  # type: ignore[arg-type]
    key = leaf_key.private_bytes(
        PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return key + "".join(c.public_bytes(PEM).decode() for c in (signer, intermediate, root))


def self_signed(key: rsa.RSAPrivateKey, valid_days: float = 30) -> x509.Certificate:
    """A self-signed certificate for `key`, as Google serves its token-signing keys."""
    return certificate("Test Google Signer", key, ca=False, key_usage=False, valid_days=valid_days)
