"""Verification: one verdict for /kiem-tra, ``danvan verify`` and ``verify-archive``.

The attacks are the ones an outside probe found: an incremental update painted over page 1
after both signatures, bytes appended after %%EOF, the signer's PDF passed off as the issued
one, and an archived row repointed to another report's files by the database owner.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from types import SimpleNamespace

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from danvan import ratelimit, services
from danvan.archive import views as archive_views
from danvan.documents import signing
from danvan.extensions import db
from danvan.models import ArchivedDocument, Blob
from danvan.operations.archive import check_archive
from danvan.verification import verify_document
from tests.factories import approve, owner_edit, services_for, signed_report

MB = 1024 * 1024
SIGNATURE_KEYS = {
    "field",
    "signer",
    "signing_time",
    "intact",
    "trusted",
    "coverage",
    "modification_level",
    "ok",
    "message",
}


# --- helpers ------------------------------------------------------------------------------


# A signature row shown green (the page may add layout classes beside the colour).
GREEN_ROW = re.compile(r'<td class="[^"]*\btext-success\b')


def blob(sha: str) -> bytes:
    return db.session.get(Blob, sha).data


@pytest.fixture
def issued_pdf(dept, app, cached_conversion):
    """The issued 01/BC-SXD: the archived PDF (signer + agency), .docx, .p7s, signer's PDF."""
    report, doc = signed_report(dept, app, issue=True, make_pdf=True)
    return SimpleNamespace(
        report=report,
        doc=doc,
        pdf=blob(doc.pdf_sha256),
        docx=blob(doc.docx_sha256),
        p7s=blob(doc.p7s_sha256),
        signed_pdf=blob(report.signed_pdf_sha256),
    )


@pytest.fixture
def issued_docx(dept, app):
    """The issued 01/BC-SXD without LibreOffice: .docx + .p7s only."""
    report, doc = signed_report(dept, app, issue=True, make_pdf=False)
    return report, doc


def paint_over_page_one(pdf: bytes) -> bytes:
    """The probe's attack: an incremental update after both signatures writing on page 1."""
    w = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    font = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Font"),
            pdf_name("/Subtype"): pdf_name("/Type1"),
            pdf_name("/BaseFont"): pdf_name("/Helvetica"),
        }
    )
    resources = generic.DictionaryObject(
        {pdf_name("/Font"): generic.DictionaryObject({pdf_name("/FKP"): w.add_object(font)})}
    )
    content = b"BT /FKP 20 Tf 90 420 Td (KINH PHI: 9.999.999.999 DONG) Tj ET"
    stream = w.add_object(generic.StreamObject(stream_data=content))
    page_ref = w.add_stream_to_page(0, stream, resources=resources)
    w.mark_update(page_ref)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def post_verify(client, data: bytes, name: str = "van-ban.pdf", p7s: bytes | None = None, **kw):
    files = {"file": (io.BytesIO(data), name)}
    if p7s is not None:
        files["p7s"] = (io.BytesIO(p7s), "van-ban.docx.p7s")
    return client.post("/kiem-tra", data=files, content_type="multipart/form-data", **kw)


def headline(page: str) -> str:
    match = re.search(r'<h2 class="h5 (text-\w+)" id="verdict">([^<]*)</h2>', page)
    assert match, "no verdict on the page"
    return f"{match.group(1)} {match.group(2)}"


def run_verify(app, tmp_path, data: bytes | None, *extra: str, name: str = "van-ban.pdf"):
    path = tmp_path / name
    if data is not None:
        path.write_bytes(data)
    return app.test_cli_runner().invoke(args=["danvan", "verify", str(path), *extra])


def verify_json(app, tmp_path, data, *extra, name="van-ban.pdf"):
    result = run_verify(app, tmp_path, data, "--json", *extra, name=name)
    return result.exit_code, json.loads(result.output)


# --- the probe's PDFs: never a green headline --------------------------------------------


@pytest.mark.libreoffice
def test_issued_pdf_is_valid_on_the_page_and_in_the_cli(app, client, tmp_path, issued_pdf):
    page = post_verify(client, issued_pdf.pdf).get_data(as_text=True)
    assert headline(page).startswith("text-success Văn bản hợp lệ")
    assert "01/BC-SXD" in page and len(GREEN_ROW.findall(page)) == 2
    code, out = verify_json(app, tmp_path, issued_pdf.pdf)
    assert code == 0
    assert (out["valid"], out["document"], out["reasons"]) == (True, "01/BC-SXD", [])
    signer, agency = out["signatures"]
    assert set(signer) >= SIGNATURE_KEYS and set(agency) >= SIGNATURE_KEYS
    assert (signer["field"], agency["field"]) == ("ChuKyNguoiKy", "ChuKyCoQuan")
    assert agency["signing_time"] == "2023-11-03T09:30:00+07:00"
    assert (agency["coverage"], agency["modification_level"]) == ("ENTIRE_FILE", "NONE")
    assert signer["coverage"] == "ENTIRE_REVISION" and all(s["ok"] for s in out["signatures"])
    text_run = run_verify(app, tmp_path, issued_pdf.pdf)
    assert text_run.exit_code == 0 and text_run.output.startswith("HỢP LỆ")


@pytest.mark.libreoffice
def test_paint_over_page_one_after_both_signatures_is_not_valid(app, client, tmp_path, issued_pdf):
    tampered = paint_over_page_one(issued_pdf.pdf)
    assert tampered.startswith(issued_pdf.pdf)  # an incremental update: signatures intact
    page = post_verify(client, tampered).get_data(as_text=True)
    assert headline(page) == "text-danger Không xác nhận được văn bản này."
    assert "Văn bản hợp lệ" not in page and not re.search(r"\btext-success\b", page)
    assert "không trùng khớp với bản nào Sở đã phát hành" in page
    assert "bản .docx gốc của văn bản số 01/BC-SXD" in page  # which document it claims to be
    code, out = verify_json(app, tmp_path, tampered)
    assert code == 1 and out["valid"] is False and out["document"] == "01/BC-SXD"
    assert [s["ok"] for s in out["signatures"]] == [False, False]
    assert out["signatures"][-1]["coverage"] == "ENTIRE_REVISION"
    assert len(out["reasons"]) >= 3  # not ours, and each signature says why


@pytest.mark.libreoffice
def test_bytes_after_eof_are_not_valid(app, client, tmp_path, issued_pdf):
    appended = issued_pdf.pdf + b"\n% KINH PHI: 9.999.999.999 DONG\n"
    page = post_verify(client, appended).get_data(as_text=True)
    assert headline(page).startswith("text-danger")
    assert "Văn bản hợp lệ" not in page
    code, out = verify_json(app, tmp_path, appended)
    assert code == 1 and not out["valid"] and out["signatures"][-1]["ok"] is False
    assert any("Chữ ký cơ quan (Văn thư)" in r for r in out["reasons"])


@pytest.mark.libreoffice
def test_signers_pdf_with_good_signature_is_not_the_issued_document(app, tmp_path, issued_pdf):
    roots = services.trust_roots()
    verdict = verify_document(issued_pdf.signed_pdf, roots)
    assert [s.ok for s in verdict.signatures] == [True]  # its one signature is fine ...
    assert not verdict.valid and verdict.matched_as == "embedded docx"  # ... but not ours
    assert verdict.document.number_symbol == "01/BC-SXD"
    code, out = verify_json(app, tmp_path, issued_pdf.signed_pdf)
    assert code == 1 and out["document"] == "01/BC-SXD"
    assert any("01/BC-SXD" in r for r in out["reasons"])


@pytest.mark.libreoffice
def test_issued_pdf_against_other_trust_roots_is_not_valid(issued_pdf):
    verdict = verify_document(issued_pdf.pdf, [])
    assert verdict.document is not None and verdict.matched_as == "pdf"
    assert not verdict.valid and verdict.status == "invalid"
    assert all("tin cậy" in r for r in verdict.reasons)


@pytest.mark.libreoffice
def test_every_invalid_verdict_says_why(issued_pdf):
    roots = services.trust_roots()
    flipped = bytearray(issued_pdf.pdf)
    flipped[len(flipped) // 3] ^= 0xFF
    candidates = [
        paint_over_page_one(issued_pdf.pdf),
        issued_pdf.pdf + b"x",
        bytes(flipped),
        issued_pdf.signed_pdf,
        issued_pdf.docx + b"\x00",
        b"%PDF-1.7\n garbage",
        b"MZ\x00",
    ]
    for data in candidates:
        verdict = verify_document(data, roots)
        assert not verdict.valid and verdict.reasons, verdict
        if any(not s.ok for s in verdict.signatures):
            assert not verdict.valid  # a red row never sits beside a green headline


# --- .docx and .p7s -----------------------------------------------------------------------


def test_docx_is_valid_only_with_a_valid_trusted_p7s(app, dept, tmp_path, issued_docx):
    report, doc = issued_docx
    docx, p7s = blob(doc.docx_sha256), blob(doc.p7s_sha256)
    roots = services.trust_roots()
    alone = verify_document(docx, roots)  # the archived .p7s is used
    assert alone.valid and "Đã dùng chữ ký .p7s lưu trong hệ thống để kiểm tra." in alone.notes
    assert verify_document(docx, roots, p7s=p7s).valid
    bad_p7s = verify_document(docx, roots, p7s=b"not a p7s")  # an uploaded .p7s must hold
    assert not bad_p7s.valid and "không hợp lệ" in bad_p7s.reasons[0]
    identity = services_for(app, dept.director, dept.agency).signer_identity
    other_p7s = signing.cms_sign_detached(b"other", key=identity.key, cert=identity.cert)
    assert not verify_document(docx, roots, p7s=other_p7s).valid
    changed = verify_document(docx + b"\x00", roots, p7s=p7s)
    assert not changed.valid and changed.document is None
    assert not verify_document(docx, [], p7s=p7s).valid
    p7s_path = tmp_path / "van-ban.docx.p7s"
    p7s_path.write_bytes(p7s)
    name = "van-ban.docx"
    assert run_verify(app, tmp_path, docx, name=name).exit_code == 0
    assert run_verify(app, tmp_path, docx, "--p7s", str(p7s_path), name=name).exit_code == 0
    p7s_path.write_bytes(b"broken")
    code, out = verify_json(app, tmp_path, docx, "--p7s", str(p7s_path), name=name)
    assert code == 1 and out["valid"] is False and out["document"] == doc.number_symbol
    assert out["signatures"][0]["field"] == "p7s" and out["signatures"][0]["ok"] is False


def test_cli_exit_codes_for_unreadable_files(app, tmp_path, issued_docx):
    code, out = verify_json(app, tmp_path, None, name="khong-co.pdf")
    assert code == 2 and out["valid"] is False and out["document"] is None
    assert "Không đọc được tệp" in out["reasons"][0]
    assert run_verify(app, tmp_path, b"MZ\x00\x00", name="x.pdf").exit_code == 2
    assert run_verify(app, tmp_path, b"", name="rong.pdf").exit_code == 2
    assert run_verify(app, tmp_path, b"%PDF-1.7\n khong phai PDF", name="x.pdf").exit_code == 2
    result = run_verify(app, tmp_path, b"PK\x03\x04 not a zip", name="x.docx")
    assert result.exit_code == 2 and "Chỉ kiểm tra được tệp PDF hoặc .docx" in result.output
    docx = blob(issued_docx[1].docx_sha256)
    missing_p7s = str(tmp_path / "khong-co.p7s")
    assert run_verify(app, tmp_path, docx, "--p7s", missing_p7s, name="a.docx").exit_code == 2
    unknown = run_verify(app, tmp_path, docx + b"\x00", name="a.docx")  # readable, not ours
    assert unknown.exit_code == 1 and unknown.output.startswith("KHÔNG HỢP LỆ")


# --- the public page ----------------------------------------------------------------------


def test_verification_page_is_public_and_shows_only_what_the_document_prints(
    app, client, issued_docx
):
    report, doc = issued_docx
    assert client.get("/kiem-tra").status_code == 200
    response = post_verify(client, blob(doc.docx_sha256), name="bc.docx")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert headline(page).startswith("text-success Văn bản hợp lệ")
    assert "01/BC-SXD" in page and doc.signer_name in page and doc.subject in page
    assert "/luu-tru" not in page and "/so-van-ban-di" not in page  # no archive links
    assert "Đăng xuất" not in page and "Lưu trữ</a>" not in page
    assert doc.p7s_sha256 not in page and report.final_docx_sha256 in page  # the file's hash
    for url in (
        "/luu-tru",
        f"/luu-tru/{doc.id}/docx",
        "/so-van-ban-di",
        "/so-van-ban-di/2023.docx",
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/dang-nhap" in response.headers["Location"]


def test_oversized_uploads_are_413_in_vietnamese(client, issued_docx, app):
    archived_before = db.session.query(ArchivedDocument).count()
    big = b"%PDF-1.7\n" + b"0" * (25 * MB)  # over the 25 MB file limit, under the request's
    response = post_verify(client, big)
    page = response.get_data(as_text=True)
    assert response.status_code == 413 and "tối đa 25 MB" in page
    assert 'name="file"' in page  # the form is there to try again
    huge = b"%PDF-1.7\n" + b"0" * (28 * MB)  # over the whole request's limit
    response = post_verify(client, huge)
    assert response.status_code == 413 and "tối đa 25 MB" in response.get_data(as_text=True)
    docx = blob(issued_docx[1].docx_sha256)
    response = post_verify(client, docx, name="bc.docx", p7s=b"\x30" * (3 * MB))
    assert response.status_code == 413 and ".p7s tối đa 2 MB" in response.get_data(as_text=True)
    # Above the app-wide 21 MB request limit but within this page's: checked, not refused.
    response = post_verify(client, b"%PDF-1.7\n" + b"0" * (22 * MB))
    assert response.status_code == 200 and "Tệp PDF bị hỏng" in response.get_data(as_text=True)
    assert db.session.query(ArchivedDocument).count() == archived_before


def test_verifications_are_rate_limited_per_address(client, app, monkeypatch):
    monkeypatch.setattr(archive_views, "VERIFY_MAX_PER_WINDOW", 3)
    for _ in range(3):
        assert post_verify(client, b"MZ", name="x.pdf").status_code == 200
    response = post_verify(client, b"MZ", name="x.pdf")
    assert response.status_code == 429
    assert "Vui lòng đợi ít phút rồi thử lại" in response.get_data(as_text=True)
    assert ratelimit.peek("verify:127.0.0.1", window_s=600) == 4
    other = post_verify(client, b"MZ", name="x.pdf", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 200
    assert client.get("/kiem-tra").status_code == 200  # reading the page is not counted
    assert ratelimit.peek("verify:127.0.0.1", window_s=600) == 4


def test_default_rate_limit_is_twenty_per_ten_minutes():
    assert (archive_views.VERIFY_MAX_PER_WINDOW, archive_views.VERIFY_WINDOW_S) == (20, 600)


def test_missing_csrf_token_is_refused_in_vietnamese(app_config, backend, world):
    from danvan import create_app

    app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    with app.app_context():
        response = app.test_client().post(
            "/kiem-tra",
            data={"file": (io.BytesIO(b"MZ"), "x.pdf")},
            content_type="multipart/form-data",
        )
        db.session.remove()
    assert response.status_code == 400
    assert "Biểu mẫu đã hết hạn" in response.get_data(as_text=True)


# --- verify-archive: number ↔ report ↔ files ↔ register ------------------------------------


def _verify_archive(app, backend, statement: str, params: dict):
    owner_edit(app, backend, "archived_document", statement, params)
    return app.test_cli_runner().invoke(args=["danvan", "verify-archive"])


def _two_issued(dept, app, *, make_pdf: bool):
    first = signed_report(dept, app, issue=True, make_pdf=make_pdf)
    approve(dept, dept.staff_a, dept.head_a, title="Hoạt động thêm cho báo cáo thứ hai")
    db.session.commit()
    # The second one is a "Báo cáo bổ sung".
    second = signed_report(dept, app, issue=True, make_pdf=make_pdf, supplement=True)
    assert (first[1].number_symbol, second[1].number_symbol) == ("01/BC-SXD", "02/BC-SXD")
    return first, second


def test_verify_archive_catches_a_row_repointed_to_another_reports_files(dept, app, backend):
    (_, doc1), (_, doc2) = _two_issued(dept, app, make_pdf=False)
    runner = app.test_cli_runner()
    clean = runner.invoke(args=["danvan", "verify-archive"])
    assert clean.exit_code == 0, clean.output
    assert "OK     01/BC-SXD (2023)" in clean.output and "OK     02/BC-SXD (2023)" in clean.output
    result = _verify_archive(
        app,
        backend,
        "UPDATE archived_document SET docx_sha256 = :d, p7s_sha256 = :p WHERE id = :id",
        {"d": doc2.docx_sha256, "p": doc2.p7s_sha256, "id": doc1.id},
    )
    assert result.exit_code == 1, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("LỖI    01/BC-SXD (2023)"))
    assert "tệp .docx lưu trữ khác bản .docx cuối cùng của báo cáo" in line
    assert "tệp .p7s lưu trữ khác chữ ký .p7s của báo cáo" in line


def test_verify_archive_catches_a_renumbered_row(dept, app, backend, issued_docx):
    _, doc = issued_docx
    result = _verify_archive(
        app,
        backend,
        "UPDATE archived_document SET number_symbol = '09/BC-SXD' WHERE id = :id",
        {"id": doc.id},
    )
    assert result.exit_code == 1
    line = next(x for x in result.output.splitlines() if x.startswith("LỖI    09/BC-SXD (2023)"))
    assert "số, ký hiệu khác báo cáo gốc (01/BC-SXD, năm 2023)" in line
    assert "sổ văn bản đi ghi số khác (01/BC-SXD, năm 2023)" in line


@pytest.mark.libreoffice
def test_verify_archive_checks_pdf_files_and_first_revision(dept, app, backend, cached_conversion):
    (report1, doc1), (_, doc2) = _two_issued(dept, app, make_pdf=True)
    checks = check_archive(services.trust_roots())
    assert [c.ok for c in checks] == [True, True], [c.problems for c in checks]
    pdf = blob(doc1.pdf_sha256)
    assert hashlib.sha256(signing.signed_revisions(pdf)[0]).hexdigest() == (
        report1.signed_pdf_sha256
    )
    result = _verify_archive(
        app,
        backend,
        "UPDATE archived_document SET pdf_sha256 = :pdf, docx_sha256 = :d, p7s_sha256 = :p "
        "WHERE id = :id",
        {"pdf": doc2.pdf_sha256, "d": doc2.docx_sha256, "p": doc2.p7s_sha256, "id": doc1.id},
    )
    assert result.exit_code == 1
    line = next(x for x in result.output.splitlines() if x.startswith("LỖI    01/BC-SXD (2023)"))
    assert "lần ký đầu tiên trong PDF không phải bản PDF người ký đã ký của báo cáo" in line
    assert "khớp với nhiều văn bản trong lưu trữ" in line
