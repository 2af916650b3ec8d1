"""Signing certificates from configuration: PKCS#12 files or PKCS#11 (HSM) slots.

``SIGNING_CERTIFICATES`` maps a username, or a role key ("director", "deputy", "agency"), to
``{"pkcs12": path, "password": str}`` or to ``{"pkcs11": {...}}`` (a key in an HSM, see
danvan.hsm); ``TRUST_ROOTS`` lists PEM files of trusted CAs. The demo writes its test CA and
certificates to instance/keys/ and uses them when nothing is configured.

A personal signature (director, deputy, a username) from a PKCS#12 file on the server is for
the demo and the tests only (``SIGNING_SERVER_KEYS_ALLOWED``): in production the signer's key
stays on their USB token and they sign in two phases with danvan-sign. The agency seal
("agency") may come from a PKCS#12 file or, better, from an HSM slot.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from danvan import hsm
from danvan.demo.pki import make_demo_pki
from danvan.documents import pki

DEMO_DIR = "keys"
SEAL_KEY = "agency"  # the agency's seal (Văn thư, "Phát hành"); every other key is a person
PERSONAL_KEY_REFUSED = (
    "Ngoài chế độ demo, máy chủ không ký chữ ký cá nhân bằng tệp khóa PKCS#12: "
    "khóa bí mật của người ký phải nằm trên USB token của chính người đó. Quản trị viên đăng ký "
    "chứng thư số của người ký (flask danvan register-certificate), rồi người ký ký hai bước "
    "bằng chương trình danvan-sign trên máy của mình."
)
NOT_CONFIGURED = (
    "Chưa cấu hình chứng thư số cho người ký (SIGNING_CERTIFICATES trong instance/config.py)."
)


class SigningUnavailable(RuntimeError):
    """No usable certificate is configured for the signer; message in Vietnamese."""


class SigningNotConfigured(SigningUnavailable):
    """Nothing at all is configured for the keys asked for."""


@dataclass(frozen=True)
class SigningIdentity:
    signer: object | None  # pyHanko SimpleSigner; None for an HSM key (see open_signer)
    key: object | None  # cryptography private key (for the detached CMS); None in an HSM
    cert: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    slot: hsm.Pkcs11Slot | None = None  # where the key is when it is in an HSM

    @contextmanager
    def open_signer(self) -> Iterator[object]:
        """The pyHanko signer for one signature: the PKCS#12 one, or an HSM session closed
        when the block ends (SigningUnavailable if the HSM refuses)."""
        if self.slot is None:
            yield self.signer
            return
        try:
            with hsm.open_signer(self.slot, self.cert, self.chain) as signer:
                yield signer
        except hsm.HsmUnavailable as exc:
            raise SigningUnavailable(str(exc)) from exc

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
    if data.get("hsm"):  # the seal on the demo's SoftHSM2 token
        from danvan.demo import softhsm

        certs["agency"] = softhsm.slot_entry(base, data["hsm"])
    return certs, [str(base / data["ca"])]


def _settings(config: dict, instance_path: str) -> tuple[dict, list[str]]:
    certs = dict(config.get("SIGNING_CERTIFICATES") or {})
    roots = list(config.get("TRUST_ROOTS") or [])
    if not certs:
        certs, demo_roots = _demo_config(instance_path)
        roots = roots or demo_roots
    return certs, roots


def server_keys_allowed(config: dict) -> bool:
    """Whether personal PKCS#12 keys on the server may sign: SIGNING_SERVER_KEYS_ALLOWED, or
    when it is None (the default), only in demo mode and in the tests."""
    flag = config.get("SIGNING_SERVER_KEYS_ALLOWED")
    if flag is not None:
        return bool(flag)
    return bool(config.get("DEMO_MODE") or config.get("TESTING"))


def _hsm_identity(key: str, entry: dict) -> SigningIdentity:
    try:
        slot = hsm.Pkcs11Slot.from_config(key, entry)
        cert = hsm.read_certificate(slot)
        chain = hsm.read_chain(slot)
    except hsm.HsmUnavailable as exc:
        raise SigningUnavailable(str(exc)) from exc
    return SigningIdentity(signer=None, key=None, cert=cert, chain=chain, slot=slot)


def load_identity(
    config: dict, instance_path: str, *keys: str, allow_server_keys: bool | None = None
) -> SigningIdentity:
    """The first configured identity among ``keys`` (e.g. the username, then "director").

    A personal PKCS#12 key is refused unless ``allow_server_keys`` (default: the
    configuration, see server_keys_allowed); an HSM slot ("pkcs11") is opened only to read
    its certificate when it is on the token, the PIN is used when signing."""
    certs, _ = _settings(config, instance_path)
    allowed = server_keys_allowed(config) if allow_server_keys is None else allow_server_keys
    for key in keys:
        entry = certs.get(key)
        if not entry:
            continue
        if "pkcs11" in entry:
            return _hsm_identity(key, entry["pkcs11"])
        if key != SEAL_KEY and not allowed:
            raise SigningUnavailable(PERSONAL_KEY_REFUSED)
        try:
            data = Path(entry["pkcs12"]).read_bytes()
        except OSError as exc:
            raise SigningUnavailable(f"Không đọc được tệp chứng thư số của “{key}”.") from exc
        password = entry.get("password", "")
        password = password.encode() if isinstance(password, str) else password
        key_obj, cert, chain = pki.load_pkcs12_key(data, password)
        signer, _ = pki.load_pkcs12(data, password)
        return SigningIdentity(signer=signer, key=key_obj, cert=cert, chain=tuple(chain))
    raise SigningNotConfigured(NOT_CONFIGURED)


def trust_roots(config: dict, instance_path: str) -> list[x509.Certificate]:
    """The CA certificates the verification page and archive checks trust."""
    _, roots = _settings(config, instance_path)
    out: list[x509.Certificate] = []
    for path in roots:
        if os.path.exists(path):
            out.extend(pki.load_pem_certs(Path(path).read_bytes()))
    return out


def write_demo_keys(
    instance_path: str,
    *,
    agency_name: str,
    people: dict[str, str],
    password: str = "demo",
    softhsm: bool = False,
) -> Path:
    """Create the demo CA and certificates under instance/keys/ (demo and test use only);
    with ``softhsm`` and SoftHSM2 installed, the seal's key goes onto a SoftHSM2 token."""
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
    if softhsm and SEAL_KEY in demo.pkcs12:
        from danvan.demo import softhsm as demo_softhsm

        key, cert, _ = pki.load_pkcs12_key(demo.pkcs12[SEAL_KEY], password.encode())
        entry = demo_softhsm.put_seal_on_token(base, key, cert)
        if entry is not None:  # the key is on the token only now
            manifest["hsm"] = entry
            del certificates[SEAL_KEY]
            (base / f"{SEAL_KEY}.p12").unlink()
    (base / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
    return base
