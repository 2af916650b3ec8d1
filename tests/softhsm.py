"""A throwaway SoftHSM2 token holding the agency seal's key and certificate (test_hsm_seal).

SoftHSM2 reads SOFTHSM2_CONF when the module is initialised, and python-pkcs11 keeps one
loaded module per process: the fixture points SOFTHSM2_CONF at the test's own token
directory, finalises the module so that danvan's next use initialises it with that
configuration, and finalises it again afterwards. A test module uses the fixture with
``from tests.softhsm import seal_token_fixture  # noqa: F401`` and a ``seal_token`` argument.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from danvan.demo.pki import make_demo_pki
from danvan.documents import pki
from tests.factories import require

SOFTHSM_MODULES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
)
SOFTHSM = next((p for p in SOFTHSM_MODULES if os.path.exists(p)), None)
PIN = "135790"
SO_PIN = "24680246"
TOKEN_LABEL = "SoXayDung-HSM"
KEY_LABEL = "seal"
KEY_ID = "01"
SEAL_NAME = "Sở Xây dựng tỉnh Hà Nam (con dấu HSM)"


@dataclass(frozen=True)
class SealToken:
    """The token: its configuration file, labels and PIN, the seal certificate and its CA."""

    conf: Path
    label: str
    pin: str
    key_label: str
    cert: x509.Certificate
    cert_pem: Path
    ca_pem: Path  # the test CA that issued the seal certificate: trust it

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the seal certificate (what the archive records as agency_cert_sha256)."""
        return pki.cert_fingerprint(self.cert)

    def entry(self, **overrides) -> dict:
        """A SIGNING_CERTIFICATES entry for this token's seal (``None`` drops a key)."""
        slot = {
            "module": SOFTHSM,
            "token_label": self.label,
            "key_label": self.key_label,
            "cert_label": self.key_label,
            "pin": self.pin,
        }
        slot.update(overrides)
        return {"pkcs11": {k: v for k, v in slot.items() if v is not None}}


def finalize_softhsm() -> None:
    """Finalise the process's SoftHSM2 module: its next use reads SOFTHSM2_CONF again."""
    import pkcs11

    pkcs11.lib(SOFTHSM).finalize()


def _softhsm2_util(*args: str) -> None:
    done = subprocess.run(
        ["softhsm2-util", *args], capture_output=True, text=True, timeout=60, env=os.environ
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _import_certificate(
    label: str, cert: x509.Certificate, key_label: str, key_id: str, pin: str
) -> None:
    import pkcs11
    from pkcs11 import Attribute, CertificateType, ObjectClass

    library = pkcs11.lib(SOFTHSM)
    library.reinitialize()  # read this test's SOFTHSM2_CONF
    token = library.get_token(token_label=label)
    with token.open(rw=True, user_pin=pin) as session:
        session.create_object(
            {
                Attribute.CLASS: ObjectClass.CERTIFICATE,
                Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                Attribute.TOKEN: True,
                Attribute.PRIVATE: False,
                Attribute.ID: bytes.fromhex(key_id),
                Attribute.LABEL: key_label,
                Attribute.SUBJECT: cert.subject.public_bytes(),
                Attribute.VALUE: cert.public_bytes(serialization.Encoding.DER),
            }
        )


def softhsm_store(tmp_path: Path, monkeypatch) -> Path:
    """SOFTHSM2_CONF pointed at a token directory of this test's own; the config's path."""
    require(
        SOFTHSM is not None and shutil.which("softhsm2-util") is not None,
        "SoftHSM2 (softhsm2) chưa được cài",
    )
    store = tmp_path / "softhsm-tokens"
    store.mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {store}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    return conf


def add_token(
    tmp_path: Path,
    label: str,
    key,
    cert: x509.Certificate,
    *,
    key_label: str = KEY_LABEL,
    key_id: str = KEY_ID,
    pin: str = PIN,
) -> None:
    """Initialise a token ``label`` holding ``key`` (imported, non-extractable) and ``cert``
    under ``key_label``; the process's module is finalised afterwards."""
    _softhsm2_util("--init-token", "--free", "--label", label, "--so-pin", SO_PIN, "--pin", pin)
    key_pem = tmp_path / f"{label}-key.pem"
    key_pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,  # softhsm2-util --import wants PKCS#8
            serialization.NoEncryption(),
        )
    )
    key_pem.chmod(0o600)
    _softhsm2_util(
        "--import", str(key_pem), "--token", label, "--label", key_label,
        "--id", key_id, "--pin", pin,
    )  # fmt: skip
    key_pem.unlink()
    _import_certificate(label, cert, key_label, key_id, pin)
    finalize_softhsm()


@pytest.fixture(name="seal_token")
def seal_token_fixture(tmp_path, monkeypatch) -> SealToken:
    """A SoftHSM2 token with a seal key (imported, non-extractable) and its certificate,
    both issued by a test CA of their own (made like the demo PKI)."""
    conf = softhsm_store(tmp_path, monkeypatch)
    demo = make_demo_pki(
        agency_name="Sở Xây dựng tỉnh Hà Nam",
        people=[("agency", SEAL_NAME)],
        password=b"hsm-test",
    )
    key, cert, _ = pki.load_pkcs12_key(demo.pkcs12["agency"], demo.password)
    add_token(tmp_path, TOKEN_LABEL, key, cert)
    cert_pem = tmp_path / "seal.pem"
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    ca_pem = tmp_path / "seal-ca.pem"
    ca_pem.write_bytes(demo.ca_cert_pem)
    yield SealToken(conf, TOKEN_LABEL, PIN, KEY_LABEL, cert, cert_pem, ca_pem)
    finalize_softhsm()
