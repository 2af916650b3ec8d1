"""Ban Dân vận's "Tình hình báo cáo của các Sở" in Chromium at 1366×768 and 390×844: the
status of each expected Sở, the figures with their sources, no horizontal scrolling, no
blocking axe finding; adding a Sở through the form (CSRF on). Screenshots:
test-artifacts/screenshots/.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.demo_site import BLOCKING, axe_violations, describe
from tests.test_rollup import SO, _import, ban, sources  # noqa: F401  (fixtures)

VIEWPORTS = {"desktop": (1366, 768), "phone": (390, 844)}


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_office_follows_the_reports_of_the_so(ban, sources, page_for, shot, viewport):  # noqa: F811
    _import(ban, sources)
    width, height = VIEWPORTS[viewport]
    page = page_for(ban.office)
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"/ke-hoach/{ban.campaign.id}")
    page.locator("#rollup-link a").click()
    expect(
        page.get_by_role("heading", name="Tình hình báo cáo của các Sở", level=1)
    ).to_be_visible()
    status = page.locator("#reporting-status")
    expect(status.locator(".status-on_time")).to_have_count(2)
    expect(status.locator(".status-late")).to_contain_text("trễ 1 ngày")
    expect(status.locator(".status-missing")).to_contain_text("Chưa báo cáo (quá hạn")
    figures = page.locator("#rollup-figures")
    for spec in SO:
        expect(figures).to_contain_text(spec["full"])
    expect(figures).to_contain_text("Báo cáo số 07/BC-SNV ngày 08/11/2023")
    assert page.evaluate("document.documentElement.scrollWidth") <= page.evaluate(
        "window.innerWidth"
    )
    shot(page, f"rollup-status-{viewport}")
    violations = [v for v in axe_violations(page) if v["impact"] in BLOCKING]
    assert not violations, "\n".join(describe(v) for v in violations)

    page.get_by_label("Mã định danh").fill("000.00.40.H23")
    page.get_by_label("Tên cơ quan").fill("Sở Y tế tỉnh Hà Nam")
    page.get_by_role("button", name="Thêm cơ quan").click()
    expect(page.get_by_role("alert")).to_contain_text("Đã thêm Sở Y tế tỉnh Hà Nam")
    expect(status).to_contain_text("000.00.40.H23")
