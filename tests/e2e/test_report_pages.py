"""The report pages in Chromium, at 1366×768 and on a 390×844 phone, as a new user meets them.

The director reads the whole text that will be signed (section II included) on the report
page; "Ký duyệt" and "Phát hành" ask first, naming the number, in a dialog (static JavaScript)
or, without JavaScript, on a confirmation page; the page preview shows its progress while
LibreOffice renders in the background, then the pages. Screenshots: test-artifacts/screenshots/.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from danvan.documents import pdf as pdfmod
from danvan.extensions import db
from danvan.models import Report
from danvan.reports import previews
from danvan.text import today_vn
from danvan.workflow import ReportState
from tests.factories import require, submitted

VIEWPORTS = {"desktop": (1366, 768), "phone": (390, 844)}
SLOW_MS = 90_000  # signing runs LibreOffice inside the request
TODAY = f"{today_vn():%d/%m/%Y}"


def at(page: Page, viewport: str) -> Page:
    width, height = VIEWPORTS[viewport]
    page.set_viewport_size({"width": width, "height": height})
    return page


def fits(page: Page, viewport: str) -> None:
    """Nothing wider than the screen: the document scrolls inside its own boxes."""
    width = VIEWPORTS[viewport][0]
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def flash(page: Page, text: str):
    return page.locator(".alert").filter(has_text=text)


@pytest.fixture
def report(dept):
    """The 2023 report, compiled and sent to the director for signature."""
    require(pdfmod.libreoffice_available(), "LibreOffice (soffice) chưa được cài")
    report = submitted(dept)
    yield report
    previews.wait_for_renders()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_director_reads_the_whole_text_and_is_asked_before_signing(
    dept, report, page_for, shot, viewport
):
    director = at(page_for(dept.director), viewport)
    director.goto(f"/bao-cao/{report.id}")
    text = director.locator("#report-text")
    expect(text).to_be_visible()
    expect(text).to_contain_text("II. KẾT QUẢ THỰC HIỆN")
    expect(text).to_contain_text("Hoạt động số 3 & <thử> “trích dẫn”")  # section II's entries
    expect(text).to_contain_text("IV. KIẾN NGHỊ, ĐỀ XUẤT")
    expect(text).to_contain_text(dept.director.full_name)
    expect(director.locator("#next-number")).to_contain_text(
        f"Khi ký, văn bản sẽ mang số 01/BC-SXD ngày {TODAY}"
    )
    expect(director.get_by_role("link", name="Xem trước các trang")).to_be_visible()
    fits(director, viewport)
    shot(director, f"director-text-{viewport}")
    text.get_by_text("II. KẾT QUẢ THỰC HIỆN").scroll_into_view_if_needed()
    shot(director, f"director-section-ii-{viewport}")

    # "Ký duyệt" opens the confirmation naming the number; "Hủy" signs nothing.
    director.locator("#report-actions").get_by_role("link", name="Ký duyệt").click()
    dialog = director.get_by_role("dialog", name="Ký duyệt báo cáo?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"Văn bản sẽ mang số 01/BC-SXD ngày {TODAY}.")
    expect(dialog.get_by_role("button", name="Ký duyệt")).to_be_focused()
    box = dialog.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= VIEWPORTS[viewport][0]
    shot(director, f"confirm-sign-{viewport}")
    dialog.get_by_role("button", name="Hủy").click()
    expect(dialog).to_be_hidden()
    db.session.expire_all()
    assert db.session.get(Report, report.id).state == ReportState.SUBMITTED

    if viewport == "phone":
        return
    director.locator("#report-actions").get_by_role("link", name="Ký duyệt").click()
    dialog.get_by_role("button", name="Ký duyệt").click()
    expect(flash(director, "Đã ký báo cáo số 01/BC-SXD.")).to_be_visible(timeout=SLOW_MS)
    expect(director.locator("#report-state")).to_have_text("Đã ký")
    expect(director.locator("#report-text")).to_contain_text("Số: 01/BC-SXD")
    shot(director, "director-signed")

    clerk = at(page_for(dept.clerk), viewport)
    clerk.goto(f"/bao-cao/{report.id}")
    clerk.locator("#report-actions").get_by_role("link", name="Phát hành").click()
    dialog = clerk.get_by_role("dialog", name="Phát hành báo cáo số 01/BC-SXD?")
    expect(dialog).to_contain_text("Văn bản số 01/BC-SXD ngày")
    expect(dialog).to_contain_text("Các phòng chuyên môn, đơn vị thuộc Sở")
    shot(clerk, "confirm-issue")
    dialog.get_by_role("button", name="Phát hành").click()
    expect(flash(clerk, "Đã phát hành báo cáo số 01/BC-SXD")).to_be_visible(timeout=SLOW_MS)
    shot(clerk, "clerk-issued")


def test_without_javascript_the_confirmation_is_a_page(dept, report, page_for, shot):
    director = page_for(dept.director, java_script_enabled=False)
    at(director, "phone").goto(f"/bao-cao/{report.id}")
    director.locator("#report-actions").get_by_role("link", name="Ký duyệt").click()
    expect(director).to_have_url(re.compile(rf"/bao-cao/{report.id}/xac-nhan/sign$"))
    step = director.locator("#confirm-step")
    expect(step).to_contain_text(f"Văn bản sẽ mang số 01/BC-SXD ngày {TODAY}.")
    fits(director, "phone")
    shot(director, "confirm-sign-page-nojs-phone")
    step.get_by_role("link", name="Quay lại báo cáo").click()
    expect(director).to_have_url(re.compile(rf"/bao-cao/{report.id}$"))
    db.session.expire_all()
    assert db.session.get(Report, report.id).state == ReportState.SUBMITTED
    director.locator("#report-actions").get_by_role("link", name="Ký duyệt").click()
    director.locator("#confirm-step").get_by_role("button", name="Ký duyệt").click()
    expect(flash(director, "Đã ký báo cáo số 01/BC-SXD.")).to_be_visible(timeout=SLOW_MS)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_preview_shows_progress_then_the_pages(dept, report, page_for, shot, viewport):
    office = at(page_for(dept.office), viewport)
    office.goto(f"/bao-cao/{report.id}")
    office.get_by_role("link", name="Xem trước các trang").click()
    # LibreOffice renders in the background; the page answers at once with a progress bar.
    progress = office.locator("#preview-progress")
    expect(progress).to_be_visible()
    expect(office.locator("#preview-status")).to_contain_text("Đang dựng các trang")
    office.wait_for_function(
        "() => { const p = document.getElementById('preview-progress'); return !p || p.value > 5; }"
    )
    if progress.count():
        shot(office, f"preview-progress-{viewport}")
    pages = office.locator("img.report-page")
    expect(pages.first).to_be_visible(timeout=SLOW_MS)
    expect(office.locator(".breadcrumb")).to_contain_text(re.compile(r"Xem trước \(\d+ trang\)"))
    office.wait_for_function(
        "() => [...document.querySelectorAll('img.report-page')]"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )
    fits(office, viewport)
    shot(office, f"preview-pages-{viewport}")
    # Reused until the draft changes: opening it again shows the pages at once.
    office.reload()
    expect(pages.first).to_be_visible(timeout=2_000)


def test_the_preview_reloads_itself_without_javascript(dept, report, page_for):
    office = page_for(dept.office, java_script_enabled=False)
    office.goto(f"/bao-cao/{report.id}/xem-truoc")
    expect(office.locator("img.report-page").first).to_be_visible(timeout=SLOW_MS)
