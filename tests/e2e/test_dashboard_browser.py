"""Theo dõi tiến độ in Chromium at 1366×768 and on a 390×844 phone: the figures, the charts
(server-rendered SVG with their numbers in text) and their tables, no horizontal scrolling,
no blocking axe finding, and nothing loaded from outside the app. Screenshots:
test-artifacts/screenshots/.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.demo_site import BLOCKING, axe_violations, describe
from tests.test_oversight import scene  # noqa: F401  (the fixture: this year and last)

VIEWPORTS = {"desktop": (1366, 768), "phone": (390, 844)}


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_office_reads_the_dashboard(scene, page_for, shot, viewport):  # noqa: F811
    width, height = VIEWPORTS[viewport]
    page = page_for(scene.office)
    page.set_viewport_size({"width": width, "height": height})
    requests = []
    page.on("request", lambda r: requests.append(r.url))

    page.goto(f"/ke-hoach/{scene.campaign.id}")
    page.locator("#oversight-link").click()
    expect(page.get_by_role("heading", name="Theo dõi tiến độ", level=1)).to_be_visible()
    expect(page.locator("#deadline")).to_contain_text("Đã quá hạn")  # 05/11/2023 has passed
    expect(page.locator("#silent-units")).to_contain_text("Thanh tra Sở")
    expect(page.locator("#silent-units")).to_contain_text("Ngô Thị Mai")
    expect(page.locator("#waiting")).to_contain_text("Chờ trưởng phòng")
    expect(page.locator("#waiting")).to_contain_text("Vũ Đức Minh")
    expect(page.locator("#step-timings")).to_contain_text("1,5 ngày")

    # Each chart is an image for screen readers, with its numbers printed as text too.
    chart = page.locator("#chart-item-activities svg")
    expect(chart).to_have_attribute("role", "img")
    expect(chart).to_contain_text("2023: 1")
    expect(chart).to_contain_text("2022: 2")
    expect(page.locator("#by-item")).to_contain_text("Tuyên truyền Ngày truyền thống")
    expect(page.locator("#by-item")).to_contain_text("không có ở năm 2022")

    assert page.evaluate("document.documentElement.scrollWidth") <= page.evaluate(
        "window.innerWidth"
    )
    base = page.evaluate("location.origin")
    assert all(url.startswith(base) for url in requests), requests
    path = shot(page, f"dashboard-{viewport}")
    charts = page.locator("#chart-item-activities")
    charts.screenshot(path=str(path.with_name(path.stem + "-chart.png")))

    # Another threshold through the form.
    page.get_by_label("Chờ quá (ngày)").fill("1")
    page.get_by_role("button", name="Xem").click()
    expect(page.get_by_role("heading", name="Hồ sơ chờ duyệt quá 1 ngày")).to_be_visible()
    expect(page.locator("#waiting")).to_contain_text("Chờ văn phòng")

    violations = [v for v in axe_violations(page) if v["impact"] in BLOCKING]
    assert not violations, "\n".join(describe(v) for v in violations)


def test_unit_staff_are_refused(scene, page_for):  # noqa: F811
    page = page_for(scene.staff_a)
    response = page.goto(f"/ke-hoach/{scene.campaign.id}/theo-doi")
    assert response.status == 403
    page.goto(f"/ke-hoach/{scene.campaign.id}")
    expect(page.locator("#oversight-link")).to_have_count(0)
