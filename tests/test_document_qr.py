"""The QR code on the issued document and the public page it opens (/xm/<code>).

The code is printed in page 1's footer before the signatures, so the signatures cover it; the
page it opens shows what the document prints (number, date, subject, signer), the issue time
and the archived PDF's SHA-256, offers that PDF, and compares an uploaded copy with it.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess

import pytest

from danvan.archive import views as archive_views
from danvan.documents import pdf as pdfmod
from danvan.extensions import db
from danvan.models import Blob
from danvan.services import trust_roots
from danvan.verification import CODE_ALPHABET, CODE_LENGTH, document_code, verify_document
from tests.factories import approve, docx_text, require, signed_report

CODE_URL = re.compile(r"https?://[^\s<\"]+/xm/([" + CODE_ALPHABET + r"]{" + str(CODE_LENGTH) + "})")


def blob(sha: str) -> bytes:
    return db.session.get(Blob, sha).data


def qr_texts(pdf: bytes, tmp_path) -> list[str]:
    """Every QR code zbarimg finds on page 1 of ``pdf`` rendered at 200 dpi."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "doc.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "200", "-f", "1", "-l", "1", "-png", "doc.pdf", "page"],
        cwd=tmp_path,
        check=True,
        timeout=60,
    )
    [image] = sorted(tmp_path.glob("page*.png"))
    found = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(image)], capture_output=True, text=True, timeout=60
    )
    return [line for line in found.stdout.splitlines() if line]


@pytest.fixture
def issued(dept, app):
    """The issued 01/BC-SXD with its PDF (LibreOffice), one approved entry with a private note."""
    require(pdfmod.libreoffice_available(), "LibreOffice (soffice) chưa được cài")
    approve(dept, dept.staff_a, dept.head_a, title="Hội nghị tuyên truyền Quy chế dân chủ")
    report, doc = signed_report(dept, app, issue=True, make_pdf=True)
    return report, doc


def test_the_code_is_printed_on_page_one_and_covered_by_the_signatures(app, issued, tmp_path):
    require(shutil.which("zbarimg") is not None, "zbarimg (zbar-tools)")
    report, doc = issued
    assert report.verify_code and len(report.verify_code) == CODE_LENGTH
    url = f"{app.config['BASE_URL'].rstrip('/')}/xm/{report.verify_code}"
    # In the signed .docx (covered by the .p7s), in words beside the QR code ...
    assert url in docx_text(blob(doc.docx_sha256))
    pdf = blob(doc.pdf_sha256)
    # ... and in the issued PDF: the QR code decodes to exactly that URL.
    assert qr_texts(pdf, tmp_path) == [url]
    text = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", "-", "-"], input=pdf, capture_output=True, timeout=60
    ).stdout.decode()
    assert "Xác thực văn bản điện tử" in text and report.verify_code in text
    # Printed before the signatures: the signer's own PDF (the bytes of the first signature)
    # already carries it, and the archived PDF verifies with every signature intact.
    assert qr_texts(blob(report.signed_pdf_sha256), tmp_path / "signer") == [url]
    with app.test_request_context():
        assert verify_document(pdf, trust_roots()).valid


def test_the_code_is_keyed_not_guessable_from_the_number(app, issued):
    report, _doc = issued
    key = app.config["SECRET_KEY"].encode()
    agency = report.campaign.agency_id
    assert report.verify_code == document_code(key, agency, report.number_year, report.number)
    # Another key (another installation) or the next number gives an unrelated code.
    assert document_code(b"other", agency, report.number_year, report.number) != report.verify_code
    assert document_code(key, agency, report.number_year, report.number + 1) != report.verify_code


def test_the_page_shows_the_printed_facts_and_nothing_else(client, issued, dept):
    report, doc = issued
    page = client.get(f"/xm/{report.verify_code}")  # anonymous
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'id="doc-number">{doc.number_symbol}<' in html
    assert doc.subject in html
    assert doc.signer_name in html and doc.pdf_sha256 in html
    assert 'id="doc-issued"' in html
    # Nothing that is not on the paper: no entry, no author, no e-mail, no history.
    for private in (
        "Hội nghị tuyên truyền Quy chế dân chủ",
        dept.staff_a.full_name,
        dept.staff_a.email,
        dept.head_a.full_name,
        "Lịch sử",
    ):
        assert private not in html, private
    # The code as typed from paper (lower case, a dash) opens the same page.
    typed = f"{report.verify_code[:5].lower()}-{report.verify_code[5:].lower()}"
    assert client.get(f"/xm/{typed}").status_code == 200


def test_the_archived_pdf_downloads_and_an_uploaded_copy_is_compared(client, issued):
    report, doc = issued
    pdf = client.get(f"/xm/{report.verify_code}/ban-luu.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert hashlib.sha256(pdf.data).hexdigest() == doc.pdf_sha256
    same = client.post(
        f"/xm/{report.verify_code}",
        data={"file": (io.BytesIO(pdf.data), "ban-tren-tay.pdf")},
        content_type="multipart/form-data",
    )
    assert same.status_code == 200, same.get_data(as_text=True)
    assert 'class="h5 text-success" id="verdict"' in same.get_data(as_text=True)
    # A changed copy (bytes appended) is not the archived document.
    changed = client.post(
        f"/xm/{report.verify_code}",
        data={"file": (io.BytesIO(pdf.data + b"\n% sua\n"), "ban-sua.pdf")},
        content_type="multipart/form-data",
    )
    html = changed.get_data(as_text=True)
    assert 'id="verdict">Không xác nhận được' in html


def test_another_documents_copy_is_named_as_another_document(app, client, issued, dept):
    report, doc = issued
    # The signer's PDF (before the agency's signature) is not the issued document either.
    signer_pdf = blob(report.signed_pdf_sha256)
    answer = client.post(
        f"/xm/{report.verify_code}",
        data={"file": (io.BytesIO(signer_pdf), "ban-nguoi-ky.pdf")},
        content_type="multipart/form-data",
    )
    assert 'id="verdict">Không xác nhận được' in answer.get_data(as_text=True)


def test_unknown_signed_not_issued_and_guessing_codes(app, client, dept):
    require(pdfmod.libreoffice_available(), "LibreOffice (soffice) chưa được cài")
    approve(dept, dept.staff_a, dept.head_a)
    report, _ = signed_report(dept, app, issue=False, make_pdf=True)
    assert report.verify_code
    # Signed but not yet issued: the document has not left the agency; nothing to show.
    assert client.get(f"/xm/{report.verify_code}").status_code == 404
    assert client.get(f"/xm/{report.verify_code}/ban-luu.pdf").status_code == 404
    assert client.get("/xm/khong-phai-ma").status_code == 404
    # Guessing: after UNKNOWN_CODES_PER_WINDOW misses from one address the page answers 429.
    for _ in range(archive_views.UNKNOWN_CODES_PER_WINDOW - 2):
        assert client.get("/xm/2222222222").status_code == 404
    limited = client.get("/xm/2222222223")
    assert limited.status_code == 429
    assert "Vui lòng đợi" in limited.get_data(as_text=True)
