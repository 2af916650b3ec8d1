"""Nhập kế hoạch từ văn bản in Chromium: the seed plan uploaded, reviewed, made a draft.

The administrator opens the import page from the campaign list, uploads the seed plan (.md),
reads the review (fields, the parser's warnings) and creates the draft with the keyboard; the
campaign's edit page then shows it. A file over 10 MB is refused before it is sent, and a
disguised one by the server, both on page 1; a plan with sections missing shows its problems
with the create button disabled; "Quay lại" brings the pasted text back. Each page is
photographed at 1366×768 and 390×844, must fit the phone's width and (when axe-core is
installed) have no serious accessibility violation.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import select

from danvan.extensions import db
from danvan.models import Campaign
from tests.e2e.conftest import flash, png_bytes
from tests.e2e.demo_site import AXE, BLOCKING, axe_violations, describe
from tests.factories import require

DESKTOP, PHONE = {"width": 1366, "height": 768}, {"width": 390, "height": 844}
SEED_PLAN = Path("/work/shared/seed/ke-hoach-thang-cao-diem-dan-van-2023.md")
DATA = Path(__file__).resolve().parent.parent / "data" / "plans"
if not SEED_PLAN.exists():
    SEED_PLAN = DATA / SEED_PLAN.name
MISSING_PLAN = DATA / "ke-hoach-thieu-muc.md"


def photograph(page: Page, shot, step: str) -> None:
    """The page at 1366×768 and 390×844: nothing wider than the phone, no serious axe issue."""
    page.set_viewport_size(DESKTOP)
    shot(page, f"{step}-1366")
    page.set_viewport_size(PHONE)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{step}: page is {width}px wide on a 390px phone"
    shot(page, f"{step}-390")
    require(AXE.exists(), f"chưa cài axe-core ({AXE}): chạy `make install-dev` (npm ci)")
    found = [describe(v) for v in axe_violations(page) if v["impact"] in BLOCKING]
    assert not found, "\n".join(found)
    page.set_viewport_size(DESKTOP)


def test_admin_imports_the_seed_plan(world, page_for, shot):
    admin = page_for(world.admin)
    admin.set_viewport_size(DESKTOP)
    admin.goto("/quan-tri/ke-hoach")
    admin.get_by_role("link", name="Nhập kế hoạch từ văn bản").click()
    expect(admin.get_by_role("heading", name="Nhập kế hoạch từ văn bản")).to_be_visible()
    photograph(admin, shot, "01-upload")

    # Over 10 MB: refused in the page before anything is sent; the typed text stays.
    admin.get_by_label("Hoặc dán nội dung kế hoạch").fill("KẾ HOẠCH")
    admin.get_by_label("Tệp kế hoạch").set_input_files(
        {
            "name": "lon.pdf",
            "mimeType": "application/pdf",
            "buffer": b"%PDF" * (2**20 * 10 // 4 + 1),
        }
    )
    expect(admin.locator("#file-size-error")).to_contain_text("“lon.pdf” lớn hơn 10 MB")
    no_post = admin.expect_request(lambda r: r.method == "POST", timeout=1500)
    with pytest.raises(PlaywrightTimeout), no_post:  # nothing leaves the page
        admin.get_by_role("button", name="Đọc kế hoạch").click()
    expect(admin.get_by_label("Tệp kế hoạch")).to_be_focused()
    expect(admin.get_by_label("Hoặc dán nội dung kế hoạch")).to_have_value("KẾ HOẠCH")
    admin.get_by_label("Hoặc dán nội dung kế hoạch").fill("")

    # A photo renamed .docx: refused, announced, the page still there.
    admin.get_by_label("Tệp kế hoạch").set_input_files(
        {"name": "ke-hoach.docx", "mimeType": "application/octet-stream", "buffer": png_bytes()}
    )
    admin.get_by_role("button", name="Đọc kế hoạch").click()
    summary = admin.get_by_role("alert").filter(has_text="Chưa đọc được kế hoạch")
    expect(summary).to_contain_text("không khớp với nội dung thật: tệp là ảnh PNG")
    expect(admin.get_by_label("Tệp kế hoạch")).to_have_attribute("aria-invalid", "true")
    photograph(admin, shot, "02-disguised-file")

    # The seed plan: the review shows what was found, and what was not.
    admin.get_by_label("Tệp kế hoạch").set_input_files(str(SEED_PLAN))
    admin.get_by_role("button", name="Đọc kế hoạch").click()
    expect(admin.get_by_role("heading", name="Xem lại trước khi tạo")).to_be_visible()
    expect(admin.locator("#plan-title")).to_contain_text("Tổ chức các hoạt động “Tháng cao điểm”")
    expect(admin.locator("#plan-number")).to_have_text("Không tìm thấy")
    expect(admin.locator("#plan-period")).to_have_text("Từ 01/10/2023 đến 31/10/2023")
    expect(admin.locator("#plan-deadline")).to_have_text("05/11/2023 (tới Ban Dân vận Tỉnh ủy)")
    expect(admin.locator("#plan-content-items li")).to_have_count(4)
    expect(admin.locator("#plan-observances li")).to_have_count(8)
    expect(admin.locator("#plan-observances")).to_contain_text(
        "15/10/2023 · Ngày truyền thống công tác dân vận của Đảng (93 năm)"
    )
    expect(admin.locator("#plan-problems")).to_contain_text("Số kế hoạch để trống")
    photograph(admin, shot, "03-review")

    # Created from the keyboard; the draft opens in the campaign administration.
    create = admin.get_by_role("button", name="Tạo kế hoạch nháp")
    expect(create).to_be_enabled()
    create.focus()
    admin.keyboard.press("Enter")
    expect(flash(admin, "Đã tạo kế hoạch nháp")).to_contain_text("hãy rà soát rồi mở kế hoạch")
    campaign = db.session.scalars(select(Campaign).order_by(Campaign.id.desc())).first()
    expect(admin).to_have_url(re.compile(rf"/quan-tri/ke-hoach/{campaign.id}$"))
    assert campaign.status == "draft" and campaign.year == 2023
    assert (len(campaign.content_items), len(campaign.observances)) == (4, 8)
    photograph(admin, shot, "04-draft-created")

    # A plan with sections missing, pasted: each problem listed, no create; "Quay lại" keeps it.
    admin.goto("/quan-tri/nhap-ke-hoach")
    admin.get_by_label("Hoặc dán nội dung kế hoạch").fill(MISSING_PLAN.read_text("utf-8"))
    admin.get_by_role("button", name="Đọc kế hoạch").click()
    expect(admin.locator("#plan-problems li")).to_have_count(5)
    expect(admin.locator("#plan-missing li")).to_have_count(2)
    expect(admin.locator("#plan-period")).to_have_text("Không tìm thấy")
    expect(admin.get_by_role("button", name="Tạo kế hoạch nháp")).to_be_disabled()
    photograph(admin, shot, "05-review-missing")
    admin.get_by_role("button", name="Quay lại").click()
    expect(admin.get_by_label("Hoặc dán nội dung kế hoạch")).to_have_value(
        re.compile(r"^Số: 140/KH-SXD\n")
    )
    assert db.session.scalar(select(Campaign).order_by(Campaign.id.desc())).id == campaign.id
