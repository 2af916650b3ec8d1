"""Signing certificates from configuration: PKCS#12 files named in instance/config.py.

``SIGNING_CERTIFICATES`` maps a username, or a role key ("director", "deputy", "agency"), to
``{"pkcs12": path, "password": str}``; ``TRUST_ROOTS`` lists PEM files of trusted CAs. The demo
writes its test CA and certificates to instance/keys/ and uses them when nothing is configured.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from danvan.demo.pki import make_demo_pki
from danvan.documents import pki

DEMO_DIR = "keys"


class SigningUnavailable(RuntimeError):
    """No usable certificate is configured for the signer; message in Vietnamese."""


@dataclass(frozen=True)
class SigningIdentity:
    signer: object  # pyHanko SimpleSigner
    key: object  # cryptography private key (for the detached CMS)
    cert: x509.Certificate
    chain: tuple[x509.Certificate, ...]

    @property
    def fingerprint(self) -> str:
        return pki.cert_fingerprint(self.cert)

    @property
    def common_name(self) -> str | None:
        return pki.cert_common_name(self.cert)


def _demo_config(instance_path: str) -> tuple[dict, list[str]]:
    manifest = Path(instance_path) / DEMO_DIR / "manifest.json"
    if not manifest.exists():
        return {}, []
    data = json.loads(manifest.read_text("utf-8"))
    base = manifest.parent
    certs = {
        name: {"pkcs12": str(base / entry["pkcs12"]), "password": data["password"]}
        for name, entry in data["certificates"].items()
    }
    return certs, [str(base / data["ca"])]


def _settings(config: dict, instance_path: str) -> tuple[dict, list[str]]:
    certs = dict(config.get("SIGNING_CERTIFICATES") or {})
    roots = list(config.get("TRUST_ROOTS") or [])
    if not certs:
        certs, demo_roots = _demo_config(instance_path)
        roots = roots or demo_roots
    return certs, roots


def load_identity(config: dict, instance_path: str, *keys: str) -> SigningIdentity:
    """The first configured identity among ``keys`` (e.g. the username, then "director")."""
    certs, _ = _settings(config, instance_path)
    for key in keys:
        entry = certs.get(key)
        if not entry:
            continue
        try:
            data = Path(entry["pkcs12"]).read_bytes()
        except OSError as exc:
            raise SigningUnavailable(f"Không đọc được tệp chứng thư số của “{key}”.") from exc
        password = entry.get("password", "")
        password = password.encode() if isinstance(password, str) else password
        key_obj, cert, chain = pki.load_pkcs12_key(data, password)
        signer, _ = pki.load_pkcs12(data, password)
        return SigningIdentity(signer=signer, key=key_obj, cert=cert, chain=tuple(chain))
    raise SigningUnavailable(
        "Chưa cấu hình chứng thư số cho người ký (SIGNING_CERTIFICATES trong instance/config.py)."
    )


def trust_roots(config: dict, instance_path: str) -> list[x509.Certificate]:
    """The CA certificates the verification page and archive checks trust."""
    _, roots = _settings(config, instance_path)
    out: list[x509.Certificate] = []
    for path in roots:
        if os.path.exists(path):
            out.extend(pki.load_pem_certs(Path(path).read_bytes()))
    return out


def write_demo_keys(
    instance_path: str, *, agency_name: str, people: dict[str, str], password: str = "demo"
) -> Path:
    """Create the demo CA and certificates under instance/keys/ (test use only)."""
    base = Path(instance_path) / DEMO_DIR
    base.mkdir(parents=True, exist_ok=True)
    demo = make_demo_pki(
        agency_name=agency_name, people=list(people.items()), password=password.encode()
    )
    (base / "ca.pem").write_bytes(demo.ca_cert_pem)
    certificates = {}
    for name, data in demo.pkcs12.items():
        (base / f"{name}.p12").write_bytes(data)
        os.chmod(base / f"{name}.p12", 0o600)
        certificates[name] = {"pkcs12": f"{name}.p12"}
    manifest = {"password": password, "ca": "ca.pem", "certificates": certificates}
    (base / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
    return base
