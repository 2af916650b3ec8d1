"""Two-phase signing with the signer's USB token: the director's key is not on the server,
only his registered certificate; the test plays the token (the demo key) and the agent (API)."""

from __future__ import annotations

import base64
import subprocess
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select

from danvan import config
from danvan import signature_requests as sig_ops
from danvan.api.tokens import create_token
from danvan.documents import pki, signing
from danvan.extensions import db
from danvan.models import Blob, NumberSequence
from danvan.models.signatures import RequestState
from danvan.operations import Conflict
from danvan.operations import reports as report_ops
from danvan.text import utcnow
from danvan.workflow import ReportState
from tests.factories import services_for, submitted

LO = pytest.mark.libreoffice


@pytest.fixture
def token(dept, app, key_dir):
    """The director's key leaves the server's configuration; his certificate is registered."""
    password = "demo"
    app.config["SIGNING_CERTIFICATES"] = {
        name: {"pkcs12": str(key_dir / f"{name}.p12"), "password": password}
        for name in ("deputy", "agency")
    }
    app.config["TRUST_ROOTS"] = [str(key_dir / "ca.pem")]
    key, cert, _ = pki.load_pkcs12_key((key_dir / "director.p12").read_bytes(), password.encode())
    sig_ops.register_certificate(dept.director, cert.public_bytes(Encoding.PEM), actor=dept.admin)
    db.session.commit()
    return key


def _sign(key, data: bytes) -> bytes:
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def _request(dept, app, report, **kwargs):
    svc = services_for(app, dept.director, dept.agency, make_pdf=kwargs.pop("make_pdf", None))
    assert svc.signer_identity is None
    req = sig_ops.request_signature(
        report, actor=dept.director, services=svc, expected_version=report.version, **kwargs
    )
    db.session.commit()
    return req


def _complete(dept, app, req, signatures, **kwargs):
    svc = services_for(app, dept.director, dept.agency)
    with app.test_request_context():
        from danvan import services

        roots = services.trust_roots()
    try:
        return sig_ops.complete_signature(
            req, signatures, actor=dept.director, services=svc, trust_roots=roots, **kwargs
        )
    finally:
        db.session.commit()


def _last_number(dept, year):
    return db.session.scalar(
        select(NumberSequence.last_number).where(
            NumberSequence.agency_id == dept.agency.id, NumberSequence.year == year
        )
    )


def _bearer(user) -> dict:
    new = create_token(user, name="danvan-sign")
    db.session.commit()
    return {"Authorization": f"Bearer {new.secret}"}


@LO
def test_token_signature_through_the_api(
    dept, app, client, token, key_dir, tmp_path, cached_conversion
):
    report = submitted(dept)
    req = _request(dept, app, report)
    assert req.state == RequestState.PENDING
    assert _last_number(dept, req.number_year) == req.number  # reserved while pending
    assert report.state == ReportState.SUBMITTED
    headers = _bearer(dept.director)
    listing = client.get("/api/v1/signature-requests", headers=headers).get_json()
    assert listing["total"] == 1
    item = listing["items"][0]
    assert item["number_symbol"] == req.number_symbol and item["report_id"] == report.id
    assert item["expires_at"].endswith("Z") and item["date"].count("/") == 2
    assert (
        client.get("/api/v1/signature-requests", headers=_bearer(dept.deputy)).get_json()["total"]
        == 0
    )
    pdf = client.get(item["pdf_url"], headers=headers)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    detail = client.get(f"/api/v1/signature-requests/{req.id}", headers=headers).get_json()
    assert [t["kind"] for t in detail["to_sign"]] == ["pdf", "docx"]
    values = {
        t["kind"]: base64.b64encode(_sign(token, base64.b64decode(t["data"]))).decode()
        for t in detail["to_sign"]
    }
    url = f"/api/v1/signature-requests/{req.id}/signatures"
    done = client.post(url, json={"signatures": values}, headers=headers)
    assert done.status_code == 200, done.get_data(as_text=True)
    assert done.get_json() == {
        "state": "completed",
        "report_id": report.id,
        "number_symbol": req.number_symbol,
    }
    db.session.refresh(report)
    assert report.state == ReportState.SIGNED
    assert report.number_symbol == req.number_symbol
    signed_pdf = db.session.get(Blob, report.signed_pdf_sha256).data
    with app.test_request_context():
        from danvan import services

        roots = services.trust_roots()
    [res] = signing.validate_pdf(signed_pdf, roots)
    assert (res.intact, res.trusted, res.ok) == (True, True, True)
    docx = db.session.get(Blob, report.final_docx_sha256).data
    (tmp_path / "f.docx").write_bytes(docx)
    (tmp_path / "f.p7s").write_bytes(db.session.get(Blob, report.p7s_sha256).data)
    openssl = subprocess.run(
        [
            "openssl",
            "cms",
            "-verify",
            "-binary",
            "-content",
            "f.docx",
            "-inform",
            "DER",
            "-in",
            "f.p7s",
            "-CAfile",
            str(key_dir / "ca.pem"),
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert openssl.returncode == 0, openssl.stderr
    # A replayed answer is refused.
    again = client.post(url, json={"signatures": values}, headers=headers)
    assert again.status_code == 409
    assert again.mimetype == "application/problem+json"


def test_other_key_and_other_bytes_are_refused(dept, app, client, token):
    report = submitted(dept)
    req = _request(dept, app, report, make_pdf=False)
    headers = _bearer(dept.director)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    url = f"/api/v1/signature-requests/{req.id}/signatures"
    bad = {"docx": base64.b64encode(_sign(stranger, req.docx_tbs)).decode()}
    answer = client.post(url, json={"signatures": bad}, headers=headers)
    assert answer.status_code == 422
    problem = answer.get_json()
    assert problem["title"] == "Chữ ký số không được chấp nhận"
    assert "chứng thư số" in problem["detail"]
    db.session.refresh(req)
    db.session.refresh(report)
    assert req.state == RequestState.REFUSED and report.state == ReportState.SUBMITTED
    assert report.p7s_sha256 is None
    assert _last_number(dept, req.number_year) == req.number - 1  # given back
    # Over other bytes, with the right key: refused too.
    req2 = _request(dept, app, report, make_pdf=False)
    assert req2.number == req.number
    other = {"docx": base64.b64encode(_sign(token, b"other bytes")).decode()}
    url2 = f"/api/v1/signature-requests/{req2.id}/signatures"
    assert client.post(url2, json={"signatures": other}, headers=headers).status_code == 422
    db.session.refresh(report)
    assert report.state == ReportState.SUBMITTED


def test_expired_request_is_refused_and_its_number_given_back(dept, app, token):
    report = submitted(dept)
    req = _request(dept, app, report, make_pdf=False)
    later = req.created_at + timedelta(minutes=31)
    with pytest.raises(sig_ops.RequestExpired):
        _complete(dept, app, req, {"docx": _sign(token, req.docx_tbs)}, now=later)
    assert req.state == RequestState.EXPIRED
    assert _last_number(dept, req.number_year) == req.number - 1
    assert report.state == ReportState.SUBMITTED


def test_expired_api_answer_is_410(dept, app, client, token):
    report = submitted(dept)
    req = _request(dept, app, report, make_pdf=False, now=utcnow() - timedelta(minutes=40))
    answer = client.post(
        f"/api/v1/signature-requests/{req.id}/signatures",
        json={"signatures": {"docx": base64.b64encode(_sign(token, req.docx_tbs)).decode()}},
        headers=_bearer(dept.director),
    )
    assert answer.status_code == 410
    assert answer.get_json()["title"] == "Yêu cầu đã hết hạn"


def test_number_held_by_the_report_when_a_later_one_was_taken(dept, app, token):
    report = submitted(dept)
    req = _request(dept, app, report, make_pdf=False)
    # Another document takes the next number while the request waits.
    seq = db.session.scalar(
        select(NumberSequence).where(NumberSequence.agency_id == dept.agency.id)
    )
    seq.last_number = req.number + 1
    db.session.commit()
    sig_ops.expire_requests(req.expires_at + timedelta(seconds=1))
    db.session.commit()
    assert req.state == RequestState.EXPIRED and not req.number_released
    again = _request(dept, app, report, make_pdf=False)
    assert again.number == req.number  # the report keeps its number: no gap
    _complete(dept, app, again, {"docx": _sign(token, again.docx_tbs)})
    assert report.state == ReportState.SIGNED and report.number == req.number


def test_report_returned_meanwhile(dept, app, token):
    report = submitted(dept)
    req = _request(dept, app, report, make_pdf=False)
    report_ops.return_report(
        report, actor=dept.director, comment="Sửa lại phần II.", expected_version=report.version
    )
    db.session.commit()
    with pytest.raises(Conflict):
        _complete(dept, app, req, {"docx": _sign(token, req.docx_tbs)})
    assert req.state == RequestState.CANCELLED
    assert _last_number(dept, req.number_year) == req.number - 1


def test_docx_only_completion_and_page(dept, app, token, login):
    report = submitted(dept)
    client = login(dept.director)
    page = client.post(
        f"/bao-cao/{report.id}/thao-tac/sign",
        data={"version": report.version, "number": ""},
        follow_redirects=True,
    )
    html = page.get_data(as_text=True)
    assert "Đang chờ ký bằng USB token…" in html, html[:3000]
    assert "Hủy yêu cầu" in html
    req = sig_ops.latest_request(report)
    status = client.get(f"/bao-cao/{report.id}/yeu-cau-ky/{req.id}/trang-thai").get_json()
    assert status["state"] == "pending"
    cancel = client.post(
        f"/bao-cao/{report.id}/yeu-cau-ky/{req.id}/huy", data={}, follow_redirects=True
    )
    assert "Đã hủy yêu cầu ký" in cancel.get_data(as_text=True)
    db.session.refresh(req)
    assert req.state == RequestState.CANCELLED


def test_no_certificate_no_key_keeps_the_message(dept, app, key_dir):
    app.config["SIGNING_CERTIFICATES"] = {
        "agency": {"pkcs12": str(key_dir / "agency.p12"), "password": "demo"}
    }
    report = submitted(dept)
    svc = services_for(app, dept.director, dept.agency, make_pdf=False)
    with pytest.raises(report_ops.Invalid, match="chứng thư số"):
        sig_ops.request_signature(
            report, actor=dept.director, services=svc, expected_version=report.version
        )


def test_server_key_signature_uses_the_held_number(dept, app, token, key_dir):
    report = submitted(dept)
    req = _request(dept, app, report, make_pdf=False)
    seq = db.session.scalar(
        select(NumberSequence).where(NumberSequence.agency_id == dept.agency.id)
    )
    seq.last_number = req.number + 1  # a later document took the next number meanwhile
    db.session.commit()
    sig_ops.expire_requests(req.expires_at + timedelta(seconds=1))
    db.session.commit()
    app.config["SIGNING_CERTIFICATES"] = {
        name: {"pkcs12": str(key_dir / f"{name}.p12"), "password": "demo"}
        for name in ("director", "deputy", "agency")
    }
    svc = services_for(app, dept.director, dept.agency, make_pdf=False)
    report_ops.sign_report(
        report, actor=dept.director, services=svc, expected_version=report.version
    )
    db.session.commit()
    assert report.number == req.number and report.state == ReportState.SIGNED
    assert _last_number(dept, req.number_year) == req.number + 1
    assert req.number_released


def test_request_lasts_the_configured_minutes(dept, app, token):
    assert config.DEFAULTS["SIGNATURE_REQUEST_MINUTES"] == 30
    app.config["SIGNATURE_REQUEST_MINUTES"] = 5
    report = submitted(dept)
    req = _request(dept, app, report, make_pdf=False)
    assert req.expires_at - req.created_at == timedelta(minutes=5)


def test_confirmation_names_the_number_the_report_holds(dept, app, token, login):
    report = submitted(dept)
    req = _request(dept, app, report, make_pdf=False)
    seq = db.session.scalar(
        select(NumberSequence).where(NumberSequence.agency_id == dept.agency.id)
    )
    seq.last_number = req.number + 1  # a later document took the next number meanwhile
    db.session.commit()
    sig_ops.expire_requests(req.expires_at + timedelta(seconds=1))
    db.session.commit()
    held = req.number_symbol
    free = report_ops.format_number_symbol(req.number + 2, report.doc_type, "SXD")
    client = login(dept.director)
    page = client.get(f"/bao-cao/{report.id}").get_data(as_text=True)
    confirm = client.get(f"/bao-cao/{report.id}/xac-nhan/sign").get_data(as_text=True)
    for html in (page, confirm):
        assert f"mang số <strong>{held}</strong>" in html
        assert free not in html
    assert f'name="number" value="{req.number}"' in confirm


def test_no_second_request_while_one_waits(dept, app, token, login):
    report = submitted(dept)
    client = login(dept.director)
    client.post(f"/bao-cao/{report.id}/thao-tac/sign", data={"version": report.version})
    req = sig_ops.latest_request(report)
    assert req.state == RequestState.PENDING
    page = client.get(f"/bao-cao/{report.id}").get_data(as_text=True)
    assert "Đang chờ ký bằng USB token…" in page and 'id="signature-request-link"' in page
    assert "report-action-sign" not in page and 'id="confirm-sign"' not in page
    assert "Trả lại" in page  # the signer may still return the report
    waiting = f"Báo cáo số {req.number_symbol} đang chờ ký bằng USB token"
    confirm = client.get(f"/bao-cao/{report.id}/xac-nhan/sign", follow_redirects=True)
    assert waiting in confirm.get_data(as_text=True)
    again = client.post(
        f"/bao-cao/{report.id}/thao-tac/sign",
        data={"version": report.version, "number": str(req.number)},
        follow_redirects=True,
    )
    assert waiting in again.get_data(as_text=True)
    with pytest.raises(sig_ops.RequestPending, match="hủy yêu cầu đó"):
        _request(dept, app, report, make_pdf=False)
    db.session.rollback()
    assert sig_ops.latest_request(report).id == req.id  # still the one request
    # A server-side key does not sign past the waiting request either.
    app.config["SIGNING_CERTIFICATES"]["director"] = {
        "pkcs12": app.config["SIGNING_CERTIFICATES"]["deputy"]["pkcs12"].replace(
            "deputy", "director"
        ),
        "password": "demo",
    }
    svc = services_for(app, dept.director, dept.agency, make_pdf=False)
    with pytest.raises(sig_ops.RequestPending):
        report_ops.sign_report(
            report, actor=dept.director, services=svc, expected_version=report.version
        )
    db.session.rollback()
    assert report.state == ReportState.SUBMITTED
