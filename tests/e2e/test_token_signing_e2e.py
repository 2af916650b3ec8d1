"""Issue 12 end to end, with real parts only: the director presses "Ký duyệt" in Chromium,
signs in danvan-sign (a separate process) on his SoftHSM2 token, the page updates by itself;
Văn thư presses "Phát hành" and the agency seal is signed on a SoftHSM2 "HSM" slot; the live
Certomancer PKI (CA, OCSP, CRL, TSA) makes the issued PDF PAdES B-LTA. The archived PDF is
validated with pyHanko from what it embeds, the .docx and its .p7s with `openssl cms -verify`.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding
from playwright.sync_api import expect
from pyhanko.pdf_utils.reader import PdfFileReader
from sqlalchemy import select

from danvan import signature_requests as sig_ops
from danvan.api.tokens import create_token
from danvan.documents import ltv, pki, signing
from danvan.documents import pdf as pdfmod
from danvan.extensions import db
from danvan.models import ArchivedDocument
from danvan.models.signatures import RequestState, SignatureRequest
from danvan.reports import previews
from danvan.verification import verify_document
from tests.factories import require, submitted
from tests.softhsm import PIN, SOFTHSM, add_token, softhsm_store

ROOT = Path(__file__).resolve().parents[2]
SLOW_MS = 120_000
HSM_LABEL = "SoXayDung-HSM"
USB_LABEL = "GiamDoc-USB"


def _download(page, link) -> bytes:
    with page.expect_download() as info:
        link.click()
    return Path(info.value.path()).read_bytes()


def _identity(local_pki, label: str):
    password = b"e2e"
    key, cert, _ = pki.load_pkcs12_key(local_pki.pkcs12(label, password), password)
    return key, cert


def _agent_sign(tmp_path: Path, server: str, secret: str, request_id: int, conf: Path):
    """danvan-sign ky, as the director runs it on his PC: answer "c", then the PIN."""
    home = tmp_path / "director-home"
    home.mkdir()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "DANVAN_URL": server,
        "DANVAN_TOKEN": secret,
        "SOFTHSM2_CONF": str(conf),
    }
    command = [sys.executable, "-m", "danvan.agent", "ky", str(request_id), "--pin-stdin"]
    command += ["--pkcs11-module", SOFTHSM, "--token-label", USB_LABEL]
    return subprocess.run(
        command,
        cwd=ROOT,
        env=env,
        input=f"c\n{PIN}\n",
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=180,
    )


def test_token_signature_hsm_seal_and_b_lta(
    dept, app, local_pki, tmp_path, monkeypatch, page_for, live_server, shot
):
    require(pdfmod.libreoffice_available(), "LibreOffice (soffice) chưa được cài")
    require(shutil.which("openssl") is not None, "openssl chưa được cài")
    # The tokens: the agency's seal key in the "HSM", the director's key on his "USB token".
    conf = softhsm_store(tmp_path, monkeypatch)
    seal_key, seal_cert = _identity(local_pki, "agency")
    add_token(tmp_path, HSM_LABEL, seal_key, seal_cert, key_label="seal", key_id="01")
    director_key, director_cert = _identity(local_pki, "director")
    add_token(tmp_path, USB_LABEL, director_key, director_cert, key_label="giam-doc", key_id="a1")
    del seal_key, director_key  # from here on, the keys exist only on the tokens
    root = tmp_path / "root.pem"
    root.write_bytes(local_pki.root_pem())
    app.config["SIGNING_CERTIFICATES"] = {
        "agency": {
            "pkcs11": {
                "module": SOFTHSM,
                "token_label": HSM_LABEL,
                "key_label": "seal",
                "cert_label": "seal",
                "pin": PIN,
            }
        }
    }
    app.config["TRUST_ROOTS"] = [str(root)]
    app.config["SIGNING_TSA_URL"] = local_pki.tsa_url
    sig_ops.register_certificate(
        dept.director, director_cert.public_bytes(Encoding.PEM), actor=dept.admin
    )
    report = submitted(dept)
    secret = create_token(dept.director, name="danvan-sign").secret
    db.session.commit()

    # 1. "Ký duyệt" in the browser: the page waits for the token.
    director = page_for(dept.director)
    director.goto(f"/bao-cao/{report.id}")
    director.locator("#report-actions").get_by_role("link", name="Ký duyệt").click()
    director.get_by_role("dialog").get_by_role("button", name="Ký duyệt").click(timeout=SLOW_MS)
    box = director.locator("#signature-request")
    expect(box).to_contain_text("Đang chờ ký bằng USB token…", timeout=SLOW_MS)
    shot(director, "waiting")
    request_id = db.session.scalar(
        select(SignatureRequest.id).where(
            SignatureRequest.report_id == report.id,
            SignatureRequest.state == RequestState.PENDING,
        )
    )
    assert request_id is not None

    # 2. danvan-sign on the director's token, in its own process.
    run = _agent_sign(tmp_path, live_server, secret, request_id, conf)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Hoàn tất: văn bản 01/BC-SXD đã được ký số" in run.stdout
    expect(box).to_be_hidden(timeout=20_000)  # the page reloaded by itself
    expect(director.locator("#report-state")).to_have_text("Đã ký")
    shot(director, "signed")

    # 3. Văn thư issues it: the seal is signed on the HSM slot, the file made B-LTA.
    clerk = page_for(dept.clerk)
    clerk.goto(f"/bao-cao/{report.id}")
    clerk.locator("#report-actions").get_by_role("link", name="Phát hành").click()
    dialog = clerk.get_by_role("dialog", name="Phát hành báo cáo số 01/BC-SXD?")
    dialog.get_by_role("button", name="Phát hành").click()
    expect(clerk.locator(".alert-success")).to_contain_text(
        "Đã phát hành báo cáo số 01/BC-SXD", timeout=SLOW_MS
    )
    shot(clerk, "issued")
    clerk.goto("/luu-tru")
    row = clerk.locator("#archive-table tbody tr").filter(has_text="01/BC-SXD")
    pdf = _download(clerk, row.get_by_role("link", name="PDF", exact=True))
    docx = _download(clerk, row.get_by_role("link", name=".docx", exact=True))
    p7s = _download(clerk, row.get_by_role("link", name=".p7s", exact=True))

    # 4. The PDF: both signatures intact and trusted, B-LTA, from what the file embeds.
    roots = [local_pki.cert("root")]
    results = signing.validate_pdf(pdf, roots)
    assert [r.field_name for r in results] == ["ChuKyNguoiKy", "ChuKyCoQuan"]
    assert all(r.intact and r.trusted and r.ok for r in results), [r.message for r in results]
    assert [r.level for r in results] == ["B-LTA", "B-LTA"]
    fingerprints = [r.cert_sha256 for r in results]
    assert fingerprints == [pki.cert_fingerprint(director_cert), pki.cert_fingerprint(seal_cert)]
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    assert ltv.has_dss(reader)
    seal = reader.embedded_regular_signatures[-1]
    assert ltv.pades_level(seal, ltv.document_timestamps(pdf), True) == "B-LTA"
    assert ltv.validate_lta(seal, roots).passed
    archived = db.session.scalar(
        select(ArchivedDocument).where(ArchivedDocument.report_id == report.id)
    )
    assert archived.agency_cert_sha256 == pki.cert_fingerprint(seal_cert)
    assert verify_document(pdf, roots).valid

    # 5. The .docx and the director's .p7s, checked by OpenSSL against the test root.
    (tmp_path / "bao-cao.docx").write_bytes(docx)
    (tmp_path / "bao-cao.docx.p7s").write_bytes(p7s)
    done = subprocess.run(
        ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", "bao-cao.docx.p7s"]
        + ["-content", "bao-cao.docx", "-CAfile", "root.pem", "-purpose", "any"]
        + ["-out", "/dev/null"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Verification successful" in done.stderr
    previews.wait_for_renders()
