"""The demo's agency seal on a SoftHSM2 token, when SoftHSM2 is installed (``make run``).

The seal key is imported into a token under instance/keys/softhsm/ and its PKCS#12 file is
deleted, so the demo issues documents the way production does with an HSM slot. Demo only:
the token's PIN is written next to it in manifest.json.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

MODULES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
)
TOKEN_LABEL = "SoXayDung-HSM"
KEY_LABEL = "seal"
KEY_ID = "01"
CONF = "softhsm/softhsm2.conf"

# Run in a child process: SoftHSM2 reads SOFTHSM2_CONF once per process.
_IMPORT_CERT = r"""
import json, sys
import pkcs11
from pkcs11 import Attribute, CertificateType, ObjectClass
a = json.loads(sys.argv[1])
token = pkcs11.lib(a["module"]).get_token(token_label=a["label"])
with token.open(rw=True, user_pin=a["pin"]) as session:
    session.create_object({
        Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
        Attribute.TOKEN: True, Attribute.PRIVATE: False, Attribute.ID: bytes.fromhex(a["id"]),
        Attribute.LABEL: a["key_label"], Attribute.SUBJECT: bytes.fromhex(a["subject"]),
        Attribute.VALUE: bytes.fromhex(a["cert"])})
"""


def module_path() -> str | None:
    """SoftHSM2's PKCS#11 module, if SoftHSM2 (and its softhsm2-util) is installed."""
    if shutil.which("softhsm2-util") is None:
        return None
    return next((p for p in MODULES if os.path.exists(p)), None)


def put_seal_on_token(base: Path, key, cert: x509.Certificate) -> dict | None:
    """A fresh token under ``base``/softhsm holding the seal key and certificate; the
    manifest's "hsm" entry, or None when SoftHSM2 is not installed."""
    module = module_path()
    if module is None:
        return None
    folder = base / "softhsm"
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "tokens").mkdir(parents=True)
    conf = base / CONF
    conf.write_text(
        f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\n"
        "log.level = ERROR\n"
    )
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    pin = f"{secrets.randbelow(10**6):06d}"

    def run(*command: str) -> None:
        subprocess.run(list(command), env=env, check=True, capture_output=True, timeout=60)

    run("softhsm2-util", "--init-token", "--free", "--label", TOKEN_LABEL,
        "--so-pin", secrets.token_hex(8), "--pin", pin)  # fmt: skip
    key_pem = folder / "seal-key.pem"
    key_pem.touch(mode=0o600)
    key_pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,  # what softhsm2-util --import reads
            serialization.NoEncryption(),
        )
    )
    try:
        run("softhsm2-util", "--import", str(key_pem), "--token", TOKEN_LABEL,
            "--label", KEY_LABEL, "--id", KEY_ID, "--pin", pin)  # fmt: skip
    finally:
        key_pem.unlink()
    values = {
        "module": module,
        "label": TOKEN_LABEL,
        "pin": pin,
        "id": KEY_ID,
        "key_label": KEY_LABEL,
        "subject": cert.subject.public_bytes().hex(),
        "cert": cert.public_bytes(serialization.Encoding.DER).hex(),
    }
    run(sys.executable, "-c", _IMPORT_CERT, json.dumps(values))
    return {
        "conf": CONF,
        "module": module,
        "token_label": TOKEN_LABEL,
        "key_label": KEY_LABEL,
        "cert_label": KEY_LABEL,
        "pin": pin,
    }


def slot_entry(base: Path, entry: dict) -> dict:
    """The SIGNING_CERTIFICATES entry of the demo's seal; points SOFTHSM2_CONF at its token
    unless the environment names another configuration."""
    os.environ.setdefault("SOFTHSM2_CONF", str(base / entry["conf"]))
    keys = ("module", "token_label", "key_label", "cert_label", "pin")
    return {"pkcs11": {k: entry[k] for k in keys}}
