"""Demo certificates: a test root CA and one end-entity PKCS#12 bundle per person.

For tests and demonstrations only: a legally valid signature needs the signer's certificate
from a licensed CA, used through a token, an HSM or a remote-signing service.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.sign.signers import SimpleSigner

from danvan.documents.pki import load_pkcs12

DEMO_CA_NAME = "Danvan Demo Root CA"
DEMO_ORGANISATION = "Danvan Demo"
VALID_FROM = datetime(2020, 1, 1, tzinfo=UTC)
CA_VALID_UNTIL = datetime(2045, 1, 1, tzinfo=UTC)
LEAF_VALID_UNTIL = datetime(2035, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class DemoPKI:
    """A demo root CA plus one PKCS#12 bundle (key, certificate, CA) per person."""

    ca_cert_pem: bytes
    password: bytes
    pkcs12: dict[str, bytes] = field(default_factory=dict)
    common_names: dict[str, str] = field(default_factory=dict)

    @property
    def ca_cert(self) -> x509.Certificate:
        """The root CA certificate."""
        return x509.load_pem_x509_certificate(self.ca_cert_pem)

    def signer(self, key: str) -> SimpleSigner:
        """A pyHanko signer for the person `key` (e.g. "director")."""
        return load_pkcs12(self.pkcs12[key], self.password)[0]


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        ]
    )


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _make_ca() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = _new_key()
    name = _name(DEMO_CA_NAME, DEMO_ORGANISATION)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(VALID_FROM)
        .not_valid_after(CA_VALID_UNTIL)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _make_leaf(
    ca_key: rsa.RSAPrivateKey, ca_cert: x509.Certificate, common_name: str, organisation: str
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = _new_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, organisation))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(VALID_FROM)
        .not_valid_after(LEAF_VALID_UNTIL)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def make_demo_pki(*, agency_name: str, people: list[tuple[str, str]], password: bytes) -> DemoPKI:
    """Create a demo root CA and a PKCS#12 bundle for each (key, common name) in `people`."""
    if not password:
        raise ValueError("Cần mật khẩu để bảo vệ tệp PKCS#12.")
    ca_key, ca_cert = _make_ca()
    bundles: dict[str, bytes] = {}
    names: dict[str, str] = {}
    encryption = serialization.BestAvailableEncryption(password)
    for key_name, common_name in people:
        if key_name in bundles:
            raise ValueError(f"Khoá trùng lặp trong danh sách chứng thư: {key_name}")
        key, cert = _make_leaf(ca_key, ca_cert, common_name, agency_name)
        bundles[key_name] = pkcs12.serialize_key_and_certificates(
            key_name.encode("ascii", "replace"), key, cert, [ca_cert], encryption
        )
        names[key_name] = common_name
    return DemoPKI(
        ca_cert_pem=ca_cert.public_bytes(serialization.Encoding.PEM),
        password=password,
        pkcs12=bundles,
        common_names=names,
    )
