"""The sổ văn bản đến in Chromium at 1366×768 and 390×844: Văn thư uploads a package (CSRF on),
lands on its page with the verification result, accepts it; the list shows it. No horizontal
scrolling, no blocking axe finding. Screenshots: test-artifacts/screenshots/.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.demo_site import BLOCKING, axe_violations, describe
from tests.test_incoming import issued_docx, receiver  # noqa: F401  (fixtures)

VIEWPORTS = {"desktop": (1366, 768), "phone": (390, 844)}


def no_horizontal_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= page.evaluate(
        "window.innerWidth"
    )


def no_blocking_axe(page) -> None:
    violations = [v for v in axe_violations(page) if v["impact"] in BLOCKING]
    assert not violations, "\n".join(describe(v) for v in violations)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_clerk_receives_accepts_and_lists_a_package(
    receiver,  # noqa: F811
    issued_docx,  # noqa: F811
    page_for,
    shot,
    viewport,
):
    _archived, data = issued_docx
    width, height = VIEWPORTS[viewport]
    page = page_for(receiver.clerk)
    page.set_viewport_size({"width": width, "height": height})
    page.goto("/van-ban-den")
    expect(page.get_by_role("heading", name="Sổ văn bản đến", level=1)).to_be_visible()
    page.get_by_label("Tệp gói edXML hoặc phản hồi").set_input_files(
        {"name": "2023-01-BC-SXD.edxml", "mimeType": "application/xml", "buffer": data}
    )
    page.get_by_role("button", name="Nhận gói edXML").click()
    expect(page.get_by_role("alert")).to_contain_text("Đã vào sổ văn bản đến số 1/")
    expect(page.locator("#incoming-verification")).to_contain_text("Chữ ký số: Không hợp lệ")
    expect(page.locator("#incoming-reasons")).to_contain_text("không có bản PDF ký số")
    page.get_by_role("button", name="Tiếp nhận").click()
    expect(page.get_by_role("alert")).to_contain_text("Đã tiếp nhận văn bản số đến 1/")
    expect(page.locator("#incoming-status")).to_have_text("Đã tiếp nhận")
    expect(page.locator("#reply-03")).to_be_visible()
    no_horizontal_scroll(page)
    shot(page, f"incoming-view-{viewport}")
    no_blocking_axe(page)

    toggler = page.locator(".navbar-toggler")
    if toggler.is_visible():  # the phone's collapsed menu
        toggler.click()
    page.locator("#docs-menu").click()  # the "Văn bản" menu
    page.get_by_role("link", name="Sổ văn bản đến", exact=True).click()
    table = page.locator("#incoming-table")
    expect(table).to_contain_text("01/BC-SXD")
    expect(table).to_contain_text("Đã tiếp nhận")
    no_horizontal_scroll(page)
    shot(page, f"incoming-list-{viewport}")
    no_blocking_axe(page)
