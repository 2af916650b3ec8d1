"""Report and archive screens: permissions, verification upload, register, profile, CLI."""

from __future__ import annotations

import io

import pytest
from flask import url_for

from danvan.demo import artwork
from danvan.extensions import db
from danvan.models import ArchivedDocument, Blob, Report
from danvan.operations import reports as ops
from tests.factories import owner_edit, signed_report, submitted


@pytest.fixture
def issued(dept, app):
    """A report signed and issued without LibreOffice (.docx + .p7s)."""
    report, _ = signed_report(dept, app, issue=True)
    return report


def test_staff_cannot_reach_reports_or_archive(dept, login, issued):
    client = login(dept.staff_a)
    assert client.get(f"/bao-cao/{issued.id}").status_code == 404
    assert client.get(f"/bao-cao/{issued.id}/tai/docx").status_code == 404
    assert client.get("/luu-tru").status_code == 403
    assert client.get("/so-van-ban-di").status_code == 403
    doc = db.session.query(ArchivedDocument).one()
    assert client.get(f"/luu-tru/{doc.id}/docx").status_code == 403
    assert client.get("/kiem-tra").status_code == 200  # verification is for everyone


def test_no_route_changes_an_archived_document(dept, app, login, issued):
    doc = db.session.query(ArchivedDocument).one()
    before = (doc.docx_sha256, doc.p7s_sha256, doc.pdf_sha256, doc.subject)
    report_before = (issued.state, issued.final_docx_sha256, issued.section_leadership)
    posts = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.endpoint.startswith("auth."):
            continue
        values = {a: 1 for a in rule.arguments}
        values.update(
            {
                k: v
                for k, v in {
                    "report_id": issued.id,
                    "campaign_id": dept.campaign.id,
                    "action": "sign",
                }.items()
                if k in rule.arguments
            }
        )
        with app.test_request_context():
            posts.append(url_for(rule.endpoint, **values))
    posts += [
        f"/bao-cao/{issued.id}/thao-tac/{a}"
        for a in ("issue", "return", "submit", "compile", "edit")
    ]
    for user in (dept.office, dept.chief, dept.director, dept.clerk, dept.admin):
        client = login(user)
        for url in posts:
            client.post(
                url,
                data={
                    "version": issued.version,
                    "comment": "x",
                    "section_leadership": "đổi",
                    "signer_id": dept.director.id,
                },
            )
    db.session.expire_all()
    doc = db.session.query(ArchivedDocument).one()
    assert (doc.docx_sha256, doc.p7s_sha256, doc.pdf_sha256, doc.subject) == before
    report = db.session.get(Report, issued.id)
    assert (report.state, report.final_docx_sha256, report.section_leadership) == report_before


def test_verification_page(dept, login, issued):
    client = login(dept.staff_b)
    docx = db.session.get(Blob, issued.final_docx_sha256).data
    p7s = db.session.get(Blob, issued.p7s_sha256).data
    page = client.post(
        "/kiem-tra",
        data={"file": (io.BytesIO(docx), "bc.docx")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "Văn bản hợp lệ" in page and "01/BC-SXD" in page and "Nguyễn Quang Huy" in page
    page = client.post(
        "/kiem-tra",
        data={"file": (io.BytesIO(docx), "bc.docx"), "p7s": (io.BytesIO(p7s), "bc.docx.p7s")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "Văn bản hợp lệ" in page
    changed = docx + b"\x00"
    page = client.post(
        "/kiem-tra",
        data={"file": (io.BytesIO(changed), "bc.docx"), "p7s": (io.BytesIO(p7s), "bc.docx.p7s")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "Không xác nhận được văn bản này." in page and "đã bị thay đổi" in page
    page = client.post(
        "/kiem-tra",
        data={"file": (io.BytesIO(b"MZ\x00"), "x.pdf")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "Chỉ kiểm tra được tệp PDF hoặc .docx" in page


def test_register_view_and_print(dept, login, issued):
    client = login(dept.clerk)
    page = client.get("/so-van-ban-di?nam=2023").get_data(as_text=True)
    assert "01/BC-SXD" in page and "Lưu: VT, VP" in page and "03/11/2023" in page
    response = client.get("/so-van-ban-di/2023.docx")
    assert response.status_code == 200 and response.data[:2] == b"PK"
    archive = client.get("/luu-tru?q=ket qua trien khai").get_data(as_text=True)
    assert "01/BC-SXD" in archive
    assert "01/BC-SXD" not in client.get("/luu-tru?q=khong-co").get_data(as_text=True)


def test_profile_signature_upload_checks_the_png(world, login):
    client = login(world.director)

    def upload(data, name="chu-ky.png"):
        return client.post(
            "/ca-nhan",
            data={"signature": (io.BytesIO(data), name)},
            content_type="multipart/form-data",
            follow_redirects=True,
        )

    assert "Đã cập nhật ảnh chữ ký." in upload(artwork.make_signature_png("Huy")).get_data(
        as_text=True
    )
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (50, 20), "white").save(buf, "JPEG")
    refused = upload(buf.getvalue(), "chu-ky.jpg").get_data(as_text=True)
    assert "PNG" in refused
    assert client.get("/ca-nhan/chu-ky.png").data[:8] == b"\x89PNG\r\n\x1a\n"


def test_signing_without_signature_image_is_refused(dept, login, app):
    dept.director.signature_blob = None
    db.session.commit()
    report = submitted(dept)
    page = (
        login(dept.director)
        .post(
            f"/bao-cao/{report.id}/thao-tac/sign",
            data={"version": report.version},
            follow_redirects=True,
        )
        .get_data(as_text=True)
    )
    assert "chưa tải lên ảnh chữ ký" in page
    assert db.session.get(Report, report.id).state == "submitted"


def test_cli_export_and_verify_archive(dept, app, issued, tmp_path, backend):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["danvan", "export", "--number", "01/BC-SXD", "--year", "2023", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "01-BC-SXD.docx").read_bytes() == db.session.get(
        Blob, issued.final_docx_sha256
    ).data
    assert (tmp_path / "01-BC-SXD.docx.p7s").exists()
    result = runner.invoke(args=["danvan", "verify-archive"])
    assert result.exit_code == 0 and "OK     01/BC-SXD (2023)" in result.output
    # Tamper with the stored .docx behind the application's back, as the database owner.
    owner_edit(
        app,
        backend,
        "blob",
        "UPDATE blob SET data = :d WHERE sha256 = :s",
        {"d": b"sua doi", "s": issued.final_docx_sha256},
    )
    result = runner.invoke(args=["danvan", "verify-archive"])
    assert result.exit_code == 1 and "LỖI" in result.output and "SHA-256" in result.output
    result = runner.invoke(
        args=["danvan", "export", "--number", "99/BC-SXD", "--year", "2023", "--out", str(tmp_path)]
    )
    assert result.exit_code != 0 and "Không có văn bản" in result.output


def test_report_page_without_libreoffice_says_so(dept, login, monkeypatch):
    from danvan.documents import pdf as pdfmod

    report = ops.compile_report(dept.campaign, actor=dept.office)
    db.session.commit()
    monkeypatch.setattr(pdfmod, "libreoffice_available", lambda: False)
    page = login(dept.office).get(f"/bao-cao/{report.id}").get_data(as_text=True)
    assert "Máy chủ chưa cài LibreOffice" in page and "Tải dự thảo (.docx)" in page
