"""The demo's seal on SoftHSM2 (make run with SoftHSM2 installed): the seal key is on a token
under instance/keys/softhsm/, no agency.p12 remains, and the app's identity for the seal is the
HSM slot and signs. Run in a child process: SoftHSM2 reads SOFTHSM2_CONF once per process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from danvan.demo import softhsm
from tests.factories import require

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = r"""
import json, sys
from danvan import keys
from danvan.documents import pki
instance = sys.argv[1]
base = keys.write_demo_keys(instance, agency_name="Sở Xây dựng tỉnh Hà Nam",
                            people={"giamdoc": "Giám đốc", "agency": "Sở Xây dựng tỉnh Hà Nam"},
                            softhsm=True)
identity = keys.load_identity({}, instance, "agency")
with identity.open_signer() as signer:
    import asyncio
    value = asyncio.run(signer.async_sign_raw(b"danvan", "sha256"))
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
identity.cert.public_key().verify(value, b"danvan", padding.PKCS1v15(), hashes.SHA256())
print(json.dumps({"slot": identity.slot is not None, "key": identity.key is not None,
                  "cn": identity.common_name,
                  "files": sorted(p.name for p in base.iterdir())}))
"""


def test_demo_seal_is_on_a_softhsm2_token(tmp_path):
    require(softhsm.module_path() is not None, "SoftHSM2 (softhsm2) chưa được cài")
    env = {k: v for k, v in os.environ.items() if k != "SOFTHSM2_CONF"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.splitlines()[-1])
    assert out["slot"] and not out["key"]  # a PKCS#11 slot, no key object in the process
    assert out["cn"] == "Sở Xây dựng tỉnh Hà Nam"
    assert "agency.p12" not in out["files"] and "giamdoc.p12" in out["files"]
    manifest = json.loads((tmp_path / "keys" / "manifest.json").read_text("utf-8"))
    assert set(manifest["certificates"]) == {"giamdoc"}
    assert manifest["hsm"]["token_label"] == softhsm.TOKEN_LABEL
    # No private key left in a file: the token directory holds SoftHSM2's objects only.
    leftovers = [p for p in (tmp_path / "keys").rglob("*.pem") if "PRIVATE" in p.read_text()]
    assert leftovers == []
