"""The paginated inbox in a browser: page links that keep the filters, the "select all
matching" approval, photographed at 1366×768 and 390×844."""

from __future__ import annotations

from tests.e2e.conftest import VIEWPORTS
from tests.test_lists import seed, waiting_template


def test_inbox_pages_and_approve_all_matching(world, page_for, shot):
    template = waiting_template(world)
    seed(template, [f"Tuyên truyền dân vận đợt {i}" for i in range(119)])
    seed(template, ["Tập huấn nghiệp vụ"] * 3)
    page = page_for(world.head_a)
    page.goto("/viec-can-xu-ly?q=dan+van")
    assert "Hiển thị 1–50 trong 120 hồ sơ" in page.content()
    page.get_by_role("link", name="Trang 2").first.click()
    assert "trang=2" in page.url and "q=dan+van" in page.url
    assert "Hiển thị 51–100 trong 120 hồ sơ" in page.content()
    for name, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        shot(page, f"inbox-page-2-{name}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#bulk-approve-all").click()
    page.wait_for_url("**/viec-can-xu-ly?q=dan+van")
    assert "Đã duyệt 120 hồ sơ" in page.content()
    page.set_viewport_size({"width": 1366, "height": 768})
    shot(page, "inbox-after-approve-all")
