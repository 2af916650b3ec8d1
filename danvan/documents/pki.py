"""PKCS#12 loading and certificate helpers (fingerprints, names, asn1crypto conversion).

The demo certificates (a test root CA and end-entity PKCS#12 files) live in danvan.demo.pki.
"""

from __future__ import annotations

import hashlib

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.sign.signers import SimpleSigner


def load_pkcs12_key(
    data: bytes, password: bytes
) -> tuple[rsa.RSAPrivateKey, x509.Certificate, list[x509.Certificate]]:
    """Load (private key, certificate, other certificates) from PKCS#12 bytes."""
    try:
        key, cert, others = pkcs12.load_key_and_certificates(data, password)
    except Exception as exc:  # wrong password and damaged files raise ValueError/others
        raise ValueError("Không mở được tệp PKCS#12: sai mật khẩu hoặc tệp hỏng.") from exc
    if key is None or cert is None:
        raise ValueError("Tệp PKCS#12 không chứa khoá bí mật và chứng thư số.")
    return key, cert, list(others)  # type: ignore[return-value]


def load_pkcs12(data: bytes, password: bytes) -> tuple[SimpleSigner, x509.Certificate]:
    """Load a pyHanko signer (with the bundled CA in its registry) and its certificate."""
    _, cert, _ = load_pkcs12_key(data, password)
    signer = SimpleSigner.load_pkcs12_data(data, other_certs=[], passphrase=password)
    return signer, cert


def to_asn1_cert(cert: object) -> asn1_x509.Certificate:
    """Convert a certificate (cryptography, asn1crypto, PEM or DER bytes) to asn1crypto."""
    if isinstance(cert, asn1_x509.Certificate):
        return cert
    if isinstance(cert, x509.Certificate):
        return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    if isinstance(cert, bytes | bytearray):
        raw = bytes(cert)
        if raw.lstrip().startswith(b"-----BEGIN"):
            raw = x509.load_pem_x509_certificate(raw).public_bytes(serialization.Encoding.DER)
        return asn1_x509.Certificate.load(raw)
    raise TypeError(f"Unsupported certificate type: {type(cert).__name__}")


def load_pem_certs(pem: bytes) -> list[x509.Certificate]:
    """Load every certificate in a PEM bundle."""
    return x509.load_pem_x509_certificates(pem)


def cert_fingerprint(cert: object) -> str:
    """SHA-256 fingerprint (lower-case hex) of a certificate's DER encoding."""
    return hashlib.sha256(to_asn1_cert(cert).dump()).hexdigest()


def cert_common_name(cert: object) -> str | None:
    """The subject common name of a certificate, if any."""
    try:
        return to_asn1_cert(cert).subject.native.get("common_name")
    except (TypeError, ValueError):
        return None
