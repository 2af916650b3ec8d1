"""The agency seal from a PKCS#11 HSM slot (a real SoftHSM2 token, tests/softhsm.py) at
"Phát hành", and personal PKCS#12 keys on the server refused outside demo mode."""

from __future__ import annotations

import os
import re

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import func, select

from danvan import keys
from danvan import signature_requests as sig_ops
from danvan.documents import pki, signing
from danvan.extensions import db
from danvan.models import ArchivedDocument, Blob, RegisterEntry
from danvan.operations import reports as report_ops
from danvan.workflow import ReportState
from tests.factories import require, services_for, signed_report, submitted
from tests.softhsm import (
    SOFTHSM,
    seal_token_fixture,  # noqa: F401  (the seal_token fixture)
)

LO = pytest.mark.libreoffice
PIN_ENV = "DANVAN_TEST_HSM_PIN"
ISSUED = "Đã phát hành báo cáo số 01/BC-SXD: đã vào sổ văn bản đi và lưu trữ."
SPY_MODULES = (
    "/usr/lib/x86_64-linux-gnu/pkcs11-spy.so",
    "/usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so",
)
SPY = next((p for p in SPY_MODULES if os.path.exists(p)), None)


def _flashes(response) -> str:
    html = response.get_data(as_text=True)
    return " ".join(re.findall(r'<div class="alert[^"]*"[^>]*>(.*?)</div>', html, re.S))


def _p12(key_dir, name: str) -> dict:
    return {"pkcs12": str(key_dir / f"{name}.p12"), "password": "demo"}


def _with_hsm_seal(app, key_dir, token, **slot) -> None:
    """Director and deputy from the test PKCS#12 files, the seal on the token."""
    app.config["SIGNING_CERTIFICATES"] = {
        "director": _p12(key_dir, "director"),
        "deputy": _p12(key_dir, "deputy"),
        "agency": token.entry(**slot),
    }
    app.config["TRUST_ROOTS"] = [str(key_dir / "ca.pem"), str(token.ca_pem)]


def _issue(login, dept, report):
    return login(dept.clerk).post(
        f"/bao-cao/{report.id}/thao-tac/issue",
        data={"version": report.version},
        follow_redirects=True,
    )


def _agency_p12_fingerprint(key_dir) -> str:
    _, cert, _ = pki.load_pkcs12_key((key_dir / "agency.p12").read_bytes(), b"demo")
    return pki.cert_fingerprint(cert)


# --- The seal from the HSM ----------------------------------------------------------------------


@LO
def test_issue_with_the_hsm_seal_validates_intact_and_trusted(
    dept, app, key_dir, seal_token, login, cached_conversion, monkeypatch
):
    monkeypatch.setenv(PIN_ENV, seal_token.pin)
    _with_hsm_seal(app, key_dir, seal_token, pin=None, pin_env=PIN_ENV)
    report, _ = signed_report(dept, app, make_pdf=True)
    response = _issue(login, dept, report)
    assert response.status_code == 200
    assert ISSUED in _flashes(response)
    db.session.refresh(report)
    assert report.state == ReportState.ISSUED
    archived = db.session.scalar(
        select(ArchivedDocument).where(ArchivedDocument.report_id == report.id)
    )
    assert archived.agency_cert_sha256 == seal_token.fingerprint
    assert seal_token.fingerprint != _agency_p12_fingerprint(key_dir)
    pdf = db.session.get(Blob, archived.pdf_sha256).data
    director, seal = signing.validate_pdf(pdf, keys.trust_roots(app.config, app.instance_path))
    assert director.ok, director
    assert seal.field_name == "ChuKyCoQuan"
    assert seal.summary.startswith("INTACT:TRUSTED"), seal.summary
    assert (seal.intact, seal.valid, seal.trusted, seal.ok) == (True, True, True, True)
    assert seal.cert_sha256 == seal_token.fingerprint
    # Trusted only through the token's CA: without it the same seal is untrusted.
    demo_only = pki.load_pem_certs((key_dir / "ca.pem").read_bytes())
    assert not signing.validate_pdf(pdf, demo_only)[1].trusted


@LO
def test_seal_certificate_from_a_pem_file(dept, app, key_dir, seal_token, cached_conversion):
    _with_hsm_seal(app, key_dir, seal_token, cert_label=None, cert=str(seal_token.cert_pem))
    report, archived = signed_report(dept, app, make_pdf=True, issue=True)
    assert archived.agency_cert_sha256 == seal_token.fingerprint
    pdf = db.session.get(Blob, archived.pdf_sha256).data
    seal = signing.validate_pdf(pdf, keys.trust_roots(app.config, app.instance_path))[-1]
    assert seal.ok and seal.cert_sha256 == seal_token.fingerprint


@LO
@pytest.mark.parametrize(
    ("slot", "message"),
    [
        ({"pin": "000000"}, "Mã PIN của HSM (token “SoXayDung-HSM”) không đúng."),
        ({"token_label": "KhongCo"}, "Không tìm thấy token có nhãn “KhongCo” trên HSM"),
        (
            {"token_label": "KhongCo", "cert_label": None, "cert": "PEM"},
            "Không tìm thấy token có nhãn “KhongCo” trên HSM",
        ),
        ({"pin": None, "pin_env": PIN_ENV}, f"biến môi trường {PIN_ENV} trống hoặc không có"),
        ({"key_label": "khac", "cert": "PEM"}, "Không tìm thấy khóa bí mật nhãn “khac”"),
        (
            {"cert_label": None, "cert": "OTHER"},
            "Khóa bí mật “seal” trên token “SoXayDung-HSM” không khớp với chứng thư số",
        ),
    ],
    ids=["wrong-pin", "no-token", "no-token-pem-cert", "no-pin", "no-key", "other-cert"],
)
def test_hsm_refusal_issues_nothing(
    dept, app, key_dir, seal_token, login, cached_conversion, monkeypatch, slot, message
):
    monkeypatch.delenv(PIN_ENV, raising=False)
    if slot.get("cert") == "PEM":
        slot = {**slot, "cert": str(seal_token.cert_pem), "cert_label": None}
    if slot.get("cert") == "OTHER":  # a certificate whose key is not the token's
        slot = {**slot, "cert": str(key_dir / "ca.pem")}
    _with_hsm_seal(app, key_dir, seal_token, **slot)
    report, _ = signed_report(dept, app, make_pdf=True)
    version = report.version
    response = _issue(login, dept, report)
    assert response.status_code == 200
    shown = _flashes(response)
    assert message in shown, shown
    assert ISSUED not in shown
    db.session.refresh(report)
    assert (report.state, report.version) == (ReportState.SIGNED, version)
    assert db.session.scalar(select(func.count()).select_from(ArchivedDocument)) == 0
    assert db.session.scalar(select(func.count()).select_from(RegisterEntry)) == 0
    # Nothing was left half-done and the token was not locked: the right slot issues it.
    _with_hsm_seal(app, key_dir, seal_token)
    assert ISSUED in _flashes(_issue(login, dept, report))


def _calls(log: str, name: str) -> list[str]:
    """The pkcs11-spy log's entries for one PKCS#11 function."""
    entries = log.split("\n\n")
    return [e for e in entries if any(line.endswith(f": {name}") for line in e.splitlines())]


@LO
def test_one_login_per_issue_never_retried_and_sessions_closed(
    dept, app, key_dir, seal_token, login, cached_conversion, monkeypatch, tmp_path
):
    require(SPY is not None, "pkcs11-spy của OpenSC (opensc-pkcs11) chưa được cài")
    import pkcs11

    log = tmp_path / "pkcs11-spy.log"
    monkeypatch.setenv("PKCS11SPY", SOFTHSM)
    monkeypatch.setenv("PKCS11SPY_OUTPUT", str(log))
    try:
        _with_hsm_seal(app, key_dir, seal_token, module=SPY, pin="000000")
        report, _ = signed_report(dept, app, make_pdf=True)
        assert "không đúng" in _flashes(_issue(login, dept, report))
        _with_hsm_seal(app, key_dir, seal_token, module=SPY)
        assert ISSUED in _flashes(_issue(login, dept, report))
    finally:
        pkcs11.unload(SPY)  # finalises SoftHSM2 through the spy
    text = log.read_text("utf-8", "replace")
    logins = _calls(text, "C_Login")
    assert len(logins) == 2, logins  # one per "Phát hành", the wrong PIN not retried
    assert "CKR_PIN_INCORRECT" in logins[0] and "CKR_OK" in logins[1]
    assert len(_calls(text, "C_SignInit")) == 1  # one signature (C_Sign: size, then value)
    # Every session is closed: by C_CloseSession, the one of the refused login by C_Finalize.
    opened, closed = len(_calls(text, "C_OpenSession")), len(_calls(text, "C_CloseSession"))
    assert opened == closed + 1, (opened, closed)
    assert text.index("CKR_PIN_INCORRECT") < text.index(": C_Finalize")


def test_missing_module_is_said(app, seal_token):
    config = {"SIGNING_CERTIFICATES": {"agency": seal_token.entry(module="/khong/co/p11.so")}}
    with pytest.raises(keys.SigningUnavailable, match="Không tìm thấy thư viện PKCS#11"):
        keys.load_identity(config, app.instance_path, "agency")


def test_hsm_identity_has_no_key_object_and_reads_the_token_certificate(app, seal_token):
    config = {"SIGNING_CERTIFICATES": {"agency": seal_token.entry()}}
    identity = keys.load_identity(config, app.instance_path, "agency")
    assert identity.key is None and identity.signer is None
    assert identity.fingerprint == seal_token.fingerprint
    assert identity.common_name == "Sở Xây dựng tỉnh Hà Nam (con dấu HSM)"


def test_incomplete_slot_is_refused(app, seal_token):
    entry = seal_token.entry(key_label=None, pin=None)
    config = {"SIGNING_CERTIFICATES": {"agency": entry}}
    with pytest.raises(keys.SigningUnavailable, match="thiếu key_label, pin hoặc pin_env"):
        keys.load_identity(config, app.instance_path, "agency")


def test_personal_key_on_the_hsm_asks_for_the_usb_token(dept, app, key_dir, seal_token, login):
    app.config["SIGNING_CERTIFICATES"] = {"director": seal_token.entry()}
    svc = services_for(app, dept.director, dept.agency, make_pdf=False)
    assert svc.signer_identity is None
    assert svc.signer_unavailable == report_ops.HSM_PERSONAL_KEY
    report = submitted(dept)
    response = login(dept.director).post(
        f"/bao-cao/{report.id}/thao-tac/sign",
        data={"version": report.version, "number": ""},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "không tạo được chữ ký .p7s" in _flashes(response)
    db.session.refresh(report)
    assert report.state == ReportState.SUBMITTED


# --- Personal PKCS#12 keys: demo and tests only -------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "allowed"),
    [
        ({}, False),
        ({"DEMO_MODE": True}, True),
        ({"TESTING": True}, True),
        ({"TESTING": True, "SIGNING_SERVER_KEYS_ALLOWED": False}, False),
        ({"DEMO_MODE": True, "SIGNING_SERVER_KEYS_ALLOWED": False}, False),
        ({"SIGNING_SERVER_KEYS_ALLOWED": True}, True),
    ],
)
def test_who_may_sign_with_a_server_key(app, key_dir, settings, allowed):
    certs = {n: _p12(key_dir, n) for n in ("director", "agency")}
    config = {"SIGNING_CERTIFICATES": certs, **settings}
    assert keys.server_keys_allowed(config) is allowed
    if allowed:
        assert keys.load_identity(config, app.instance_path, "giamdoc", "director").key
    else:
        with pytest.raises(keys.SigningUnavailable) as refused:
            keys.load_identity(config, app.instance_path, "giamdoc", "director")
        assert str(refused.value) == keys.PERSONAL_KEY_REFUSED
    # The agency seal from a PKCS#12 file stays allowed in every mode.
    assert keys.load_identity(config, app.instance_path, "agency").key is not None


def test_refused_personal_key_says_so_on_the_report_page(dept, app, key_dir, login):
    app.config["SIGNING_SERVER_KEYS_ALLOWED"] = False
    app.config["SIGNING_CERTIFICATES"] = {n: _p12(key_dir, n) for n in ("director", "agency")}
    svc = services_for(app, dept.director, dept.agency, make_pdf=False)
    assert svc.signer_identity is None
    assert svc.signer_unavailable == keys.PERSONAL_KEY_REFUSED
    assert services_for(app, dept.clerk, dept.agency).agency_identity is not None
    report = submitted(dept)
    response = login(dept.director).post(
        f"/bao-cao/{report.id}/thao-tac/sign",
        data={"version": report.version, "number": ""},
        follow_redirects=True,
    )
    assert response.status_code == 200
    shown = _flashes(response)
    assert "khóa bí mật của người ký phải nằm trên USB token" in shown, shown
    assert "danvan-sign" in shown
    db.session.refresh(report)
    assert report.state == ReportState.SUBMITTED and report.number is None


def test_refused_personal_key_leads_to_the_usb_token_request(dept, app, key_dir, login):
    app.config["SIGNING_SERVER_KEYS_ALLOWED"] = False
    app.config["SIGNING_CERTIFICATES"] = {n: _p12(key_dir, n) for n in ("director", "agency")}
    _, cert, _ = pki.load_pkcs12_key((key_dir / "director.p12").read_bytes(), b"demo")
    sig_ops.register_certificate(dept.director, cert.public_bytes(Encoding.PEM), actor=dept.admin)
    db.session.commit()
    report = submitted(dept)
    response = login(dept.director).post(
        f"/bao-cao/{report.id}/thao-tac/sign",
        data={"version": report.version, "number": ""},
        follow_redirects=True,
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Đang chờ ký bằng USB token…" in html, _flashes(response)
    assert sig_ops.latest_request(report) is not None


def test_test_settings_still_sign_with_the_pkcs12_keys(dept, app):
    assert app.config["SIGNING_SERVER_KEYS_ALLOWED"] is None  # the default: TESTING allows
    report, _ = signed_report(dept, app, make_pdf=False)
    assert report.state == ReportState.SIGNED
    assert report.signer_cert_sha256
