"""Two-phase signing (danvan.documents.interrupted): prepare, sign elsewhere, finish."""

from __future__ import annotations

import subprocess
from datetime import datetime

import pytest
from asn1crypto import cms
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from danvan.documents import interrupted, pki, signing

LO = pytest.mark.libreoffice


def _key_cert(demo_pki, who="director"):
    key, cert, chain = pki.load_pkcs12_key(demo_pki.pkcs12[who], demo_pki.password)
    return key, cert, chain


def _sign(key, data: bytes) -> bytes:
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


@pytest.fixture(scope="module")
def prepared(sample_pdf, sample_docx, demo_pki, signature_png, consts):
    _, cert, chain = _key_cert(demo_pki)
    return interrupted.prepare_pdf(
        sample_pdf,
        cert=cert,
        chain=chain,
        signature_png=signature_png,
        docx=sample_docx,
        docx_name="05-BC-SXD.docx",
        signer_name=consts.DIRECTOR_NAME,
        reason="Phê duyệt báo cáo",
        location="Hà Nam",
        signed_at=datetime(2023, 11, 5, 9, 30, tzinfo=consts.VN_TZ),
    )


@LO
def test_pdf_signed_in_two_phases_validates(prepared, demo_pki, trust_roots, consts):
    key, cert, chain = _key_cert(demo_pki)
    signed = interrupted.finish_pdf(
        prepared.pdf, prepared.state, prepared.tbs, _sign(key, prepared.tbs), cert=cert, chain=chain
    )
    [res] = signing.validate_pdf(signed, trust_roots)
    assert (res.intact, res.valid, res.trusted, res.ok) == (True, True, True, True)
    assert res.coverage == "ENTIRE_FILE"
    assert res.signer_cn == consts.DIRECTOR_CN
    assert len(signed) == len(prepared.pdf)


@LO
def test_pdf_refuses_other_key_and_other_bytes(prepared, demo_pki, foreign_pki):
    key, cert, chain = _key_cert(demo_pki)
    other, _, _ = _key_cert(foreign_pki)
    with pytest.raises(interrupted.SignatureRefused):
        interrupted.finish_pdf(
            prepared.pdf, prepared.state, prepared.tbs, _sign(other, prepared.tbs), cert=cert
        )
    with pytest.raises(interrupted.SignatureRefused):
        interrupted.finish_pdf(
            prepared.pdf, prepared.state, prepared.tbs, _sign(key, b"other bytes"), cert=cert
        )


def test_docx_cms_in_two_phases_passes_openssl(tmp_path, sample_docx, demo_pki, trust_roots):
    key, cert, chain = _key_cert(demo_pki)
    tbs = interrupted.prepare_cms(sample_docx, cert=cert, signed_at=signing.vn_time())
    names = {a["type"].native for a in cms.CMSAttributes.load(tbs)}
    assert {"content_type", "message_digest", "signing_time", "signing_certificate_v2"} <= names
    p7s = interrupted.finish_cms(sample_docx, tbs, _sign(key, tbs), cert=cert, chain=chain)
    assert signing.verify_cms_detached(sample_docx, p7s, trust_roots).ok
    (tmp_path / "f.docx").write_bytes(sample_docx)
    (tmp_path / "f.p7s").write_bytes(p7s)
    (tmp_path / "ca.pem").write_bytes(demo_pki.ca_cert_pem)
    done = subprocess.run(
        [
            "openssl",
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            "f.p7s",
            "-content",
            "f.docx",
            "-CAfile",
            "ca.pem",
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    with pytest.raises(interrupted.SignatureRefused):
        interrupted.finish_cms(sample_docx + b"x", tbs, _sign(key, tbs), cert=cert)
