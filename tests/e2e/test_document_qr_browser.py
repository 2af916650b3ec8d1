"""QR → verification in Chromium: the code read off the issued PDF's page 1 opens the public
page (no login) with the document's facts; the archived copy uploaded there is confirmed, a
changed one is not. Screenshots: test-artifacts/screenshots/."""

from __future__ import annotations

import shutil
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from danvan.documents import pdf as pdfmod
from danvan.extensions import db
from danvan.models import Blob
from tests.e2e.conftest import TIMEOUT_MS, VIEWPORTS, anonymous
from tests.e2e.demo_site import axe_violations, describe
from tests.factories import require, signed_report
from tests.test_document_qr import qr_texts


def fits(page) -> bool:
    """No horizontal scroll once the page (stylesheets included) has loaded; waits up to 5 s,
    since the check right after a form's answer can run before its stylesheet applies."""
    page.wait_for_load_state("load")
    try:
        page.wait_for_function(
            "document.documentElement.scrollWidth <= window.innerWidth", timeout=5000
        )
    except PlaywrightTimeout:
        return False
    return True


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_scanned_code_opens_the_public_page_and_compares_a_copy(
    app, dept, browser, live_server, shot, tmp_path, viewport
):
    require(pdfmod.libreoffice_available(), "LibreOffice (soffice) chưa được cài")
    require(shutil.which("zbarimg") is not None, "zbarimg (zbar-tools)")
    report, doc = signed_report(dept, app, issue=True, make_pdf=True)
    pdf = db.session.get(Blob, doc.pdf_sha256).data
    [scanned] = qr_texts(pdf, tmp_path)
    path = urlsplit(scanned).path  # the printed address, served here by the test server

    page = anonymous(browser, live_server, viewport)  # nobody signed in
    try:
        response = page.goto(path)
        assert response is not None and response.status == 200
        expect(page.locator("#doc-number")).to_have_text(doc.number_symbol)
        expect(page.locator("#doc-date")).to_have_text("03/11/2023")
        expect(page.locator("#doc-sha256")).to_have_text(doc.pdf_sha256)
        expect(page.locator("#verify-code")).to_have_text(report.verify_code)
        assert fits(page), page.evaluate("document.documentElement.scrollWidth")
        shot(page, f"document-{viewport}")
        violations = [v for v in axe_violations(page) if v["impact"] in ("serious", "critical")]
        assert not violations, "\n".join(describe(v) for v in violations)

        with page.expect_download() as info:
            page.get_by_role("link", name="Tải bản PDF lưu trữ").click()
        assert info.value.suggested_filename.endswith(".pdf")

        page.locator("#file").set_input_files(
            files=[{"name": "ban-tren-tay.pdf", "mimeType": "application/pdf", "buffer": pdf}]
        )
        page.get_by_role("button", name="So sánh").click()
        expect(page.locator("#verdict")).to_contain_text("Văn bản hợp lệ", timeout=TIMEOUT_MS * 6)
        assert fits(page), page.evaluate("document.documentElement.scrollWidth")
        shot(page, f"document-compared-{viewport}")

        changed = pdf + b"\n% them mot dong\n"
        page.locator("#file").set_input_files(
            files=[{"name": "ban-sua.pdf", "mimeType": "application/pdf", "buffer": changed}]
        )
        page.get_by_role("button", name="So sánh").click()
        expect(page.locator("#verdict")).to_contain_text(
            "Không xác nhận được", timeout=TIMEOUT_MS * 6
        )
    finally:
        page.context.close()
