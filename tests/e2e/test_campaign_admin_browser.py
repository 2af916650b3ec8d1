"""A campaign built entirely through the administration screens, then used, in Chromium.

The administrator creates the 2024 plan, adds its content and an observance, builds the chain
Trưởng phòng → Phó Giám đốc phụ trách (the demo deputy) → Văn phòng Sở in the chain editor
(a refused save first), previews it, saves it and publishes the plan. A staff member then
sends an entry in it; the unit head, the deputy and Văn phòng approve it in turn, and the
entry shows "Đã duyệt" with each step in its history. Each admin page is photographed at
1366×768 and 390×844 and must fit the phone's width.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import select

from danvan.extensions import db
from danvan.models import Campaign
from tests.e2e.conftest import expect_history, field, flash, history
from tests.e2e.demo_site import AXE, BLOCKING, axe_violations, describe

DESKTOP, PHONE = {"width": 1366, "height": 768}, {"width": 390, "height": 844}
TITLE = "Tổ chức các hoạt động “Tháng cao điểm” thực hiện công tác dân vận năm 2024"
ITEMS = [
    "Tuyên truyền kỷ niệm Ngày truyền thống công tác dân vận",
    "Dân vận chính quyền, cải cách hành chính",
]
ENTRY_TITLE = "Hội nghị tuyên truyền kỷ niệm 94 năm Ngày truyền thống công tác dân vận"
DEPUTY_WAITING = "Chờ Phó Giám đốc phụ trách Trần Thị Thu Hà duyệt"


def photograph(page: Page, shot, step: str) -> None:
    """The page at 1366×768 and at 390×844: nothing wider than the phone, and (with axe-core
    installed) no serious or critical accessibility violation at either size."""
    for name, size in (("1366", DESKTOP), ("390", PHONE)):
        page.set_viewport_size(size)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= size["width"], f"{step}: page is {width}px wide on a {name}px screen"
        shot(page, f"{step}-{name}")
        if AXE.exists():
            found = [describe(v) for v in axe_violations(page) if v["impact"] in BLOCKING]
            assert not found, f"{step} ({name}px): " + "\n".join(found)
    page.set_viewport_size(DESKTOP)


def step_row(page: Page, n: int):
    return page.get_by_role("group", name=f"Bước {n}", exact=True)


def approve(page: Page, entry_id: int, waiting: str, after: str) -> None:
    page.goto(f"/hoat-dong/{entry_id}")
    expect(page.locator("#todo-count")).to_have_text("1")
    expect(page.locator("#entry-state")).to_have_text(waiting)
    page.locator("#entry-actions").get_by_role("button", name="Duyệt", exact=True).click()
    expect(flash(page, "Đã duyệt hồ sơ “")).to_be_visible()
    expect(page.locator("#entry-state")).to_have_text(after)


def test_admin_builds_a_campaign_and_an_entry_runs_its_chain(world, page_for, shot):
    staff_name, head_name = world.staff_a.full_name, world.head_a.full_name
    deputy_name, office_name = world.deputy.full_name, world.office.full_name

    # 1. From Quản trị to a new plan.
    admin = page_for(world.admin)
    admin.set_viewport_size(DESKTOP)
    admin.goto("/quan-tri")
    admin.locator("#admin-sections").get_by_role("link", name="Kế hoạch").click()
    expect(admin.get_by_role("heading", name="Kế hoạch", exact=True)).to_be_visible()
    expect(admin.locator("#campaigns-table tbody tr")).to_have_count(1)
    photograph(admin, shot, "01-campaign-list")
    admin.get_by_role("link", name="Tạo kế hoạch mới").click()
    field(admin, "Tên kế hoạch").fill(TITLE)
    field(admin, "Số, ký hiệu kế hoạch").fill("98/KH-SXD")
    field(admin, "Ngày ban hành").fill("26/09/2024")
    field(admin, "Thực hiện từ ngày").fill("01/10/2024")
    field(admin, "Thực hiện đến ngày").fill("30/09/2024")  # a slip: before the start
    field(admin, "Hạn gửi báo cáo").fill("05/11/2024")
    field(admin, "Trích yếu báo cáo").fill(
        "Kết quả triển khai Tháng cao điểm thực hiện công tác dân vận năm 2024"
    )
    field(admin, "Nơi nhận").fill(
        "Ban Tuyên giáo và Dân vận Tỉnh ủy\nGiám đốc, các Phó Giám đốc Sở\nLưu: VT, VP."
    )
    admin.get_by_role("button", name="Tạo kế hoạch").click()
    summary = admin.locator("#error-summary")
    expect(summary).to_contain_text("Chưa lưu được kế hoạch: vui lòng sửa 1 lỗi dưới đây.")
    expect(summary).to_contain_text("Ngày kết thúc phải sau hoặc bằng ngày bắt đầu (01/10/2024).")
    expect(field(admin, "Thực hiện đến ngày")).to_have_attribute("aria-invalid", "true")
    photograph(admin, shot, "02-new-campaign-refused")
    field(admin, "Thực hiện đến ngày").fill("31/10/2024")
    admin.get_by_role("button", name="Tạo kế hoạch").click()
    expect(flash(admin, "Đã tạo kế hoạch “")).to_be_visible()
    expect(admin.locator(".campaign-status").first).to_have_text("Đang soạn")
    campaign = db.session.scalar(select(Campaign).where(Campaign.year == 2024))
    assert campaign is not None and campaign.status == "draft"
    campaign_id = campaign.id

    # 2. Content items and an observance.
    expect(admin).to_have_url(re.compile(rf"/quan-tri/ke-hoach/{campaign_id}/noi-dung$"))
    for title in ITEMS:
        field(admin, "Tên nội dung").fill(title)
        admin.get_by_role("button", name="Thêm nội dung").click()
        expect(flash(admin, f"Đã thêm nội dung “{title}”")).to_be_visible()
    expect(admin.locator("#content-items tbody tr")).to_have_count(2)
    admin.get_by_role("button", name="Chuyển nội dung số 2 lên").click()
    expect(flash(admin, f"Đã chuyển nội dung “{ITEMS[1]}” đến vị trí số 1.")).to_be_visible()
    admin.get_by_role("button", name="Chuyển nội dung số 2 lên").click()  # back again
    expect(admin.locator("#content-items tbody tr").first).to_contain_text(ITEMS[0])
    photograph(admin, shot, "03-content-items")
    admin.get_by_role("link", name="Ngày kỷ niệm (0)").click()
    field(admin, "Ngày").fill("15/10/2024")
    field(admin, "Năm khởi đầu").fill("1930")
    field(admin, "Tên ngày kỷ niệm").fill("Ngày truyền thống công tác dân vận")
    admin.get_by_role("button", name="Thêm ngày kỷ niệm").click()
    expect(
        flash(admin, "Đã thêm ngày kỷ niệm “15/10 – Ngày truyền thống công tác dân vận (94 năm)”")
    ).to_be_visible()
    photograph(admin, shot, "04-observances")

    # 3. The chain: add a step, make it the deputy's, a refused save, move it up, preview.
    admin.get_by_role("link", name=re.compile(r"^Quy trình duyệt")).click()
    expect(admin.locator("#current-chain li")).to_have_text(["Trưởng phòng", "Văn phòng Sở"])
    admin.get_by_role("button", name="Thêm bước").click()
    third = step_row(admin, 3)
    expect(third).to_be_visible()
    expect(admin.locator("#unsaved-note")).to_be_visible()
    expect(third.get_by_label("Người duyệt")).to_be_hidden()  # not a named step
    third.get_by_label("Loại bước").select_option(label="Phó Giám đốc phụ trách")
    expect(third.get_by_label("Người duyệt")).to_be_visible()
    expect(third.locator(".step-help")).to_have_text(
        "Một Phó Giám đốc được chỉ định (hoặc người được ủy quyền)."
    )
    admin.get_by_role("button", name="Lưu chuỗi phê duyệt").click()
    problems = admin.locator("#chain-problems")
    expect(problems).to_have_attribute("role", "alert")
    expect(problems).to_contain_text("Chưa lưu được chuỗi phê duyệt")
    expect(problems).to_contain_text("Bước 3 (Phó Giám đốc phụ trách): chưa chọn người duyệt.")
    photograph(admin, shot, "05-chain-refused")
    step_row(admin, 3).get_by_label("Người duyệt").select_option(
        label=f"{deputy_name} – Phó Giám đốc"
    )
    admin.get_by_role("button", name="Chuyển bước 3 lên").click()
    expect(step_row(admin, 2).get_by_label("Loại bước")).to_have_value("deputy")
    expect(step_row(admin, 2).get_by_label("Người duyệt")).to_have_value(str(world.deputy.id))
    expect(step_row(admin, 3).get_by_label("Loại bước")).to_have_value("office")
    expect(admin.get_by_role("button", name="Chuyển bước 2 lên")).to_be_focused()
    admin.get_by_role("button", name="Xem trước ảnh hưởng").click()
    preview = admin.locator("#chain-preview")
    expect(preview.locator("#waiting-labels li")).to_have_text(
        ["Chờ Trưởng phòng duyệt", DEPUTY_WAITING, "Chờ Văn phòng Sở duyệt", "Đã duyệt"]
    )
    expect(preview.locator("#impact-counts")).to_contain_text("0 hồ sơ đang trong quy trình")
    expect(admin.locator("#chain-ok")).to_be_visible()
    photograph(admin, shot, "06-chain-preview")
    admin.get_by_role("button", name="Lưu chuỗi phê duyệt").click()
    expect(
        flash(admin, "Đã lưu chuỗi phê duyệt: các hồ sơ gửi duyệt từ nay đi qua")
    ).to_be_visible()
    expect(admin.locator("#current-chain li")).to_have_text(
        ["Trưởng phòng", f"Phó Giám đốc phụ trách {deputy_name}", "Văn phòng Sở"]
    )

    # 4. Publish.
    admin.get_by_role("link", name="Thông tin chung").click()
    photograph(admin, shot, "07-campaign-draft")
    admin.get_by_role("button", name="Công bố kế hoạch").click()
    expect(flash(admin, "Đã công bố kế hoạch “")).to_be_visible()
    expect(admin.locator(".campaign-status").first).to_have_text("Đang thực hiện")
    db.session.expire_all()
    assert db.session.get(Campaign, campaign_id).status == "active"

    # 5. A staff member sends an entry in the new plan.
    staff = page_for(world.staff_a)
    staff.goto(f"/ke-hoach/{campaign_id}/hoat-dong/moi")
    expect(staff.get_by_role("heading", name="Thêm hồ sơ hoạt động")).to_be_visible()
    field(staff, "Nội dung").select_option(label=f"1. {ITEMS[0]}")
    field(staff, "Tên hoạt động").fill(ENTRY_TITLE)
    field(staff, "Từ ngày").fill("14/10/2024")
    field(staff, "Đến ngày").fill("14/10/2024")
    field(staff, "Hưởng ứng ngày kỷ niệm").select_option(
        label="15/10 – Ngày truyền thống công tác dân vận (94 năm)"
    )
    staff.get_by_role("button", name="Lưu và gửi duyệt").click()
    expect(flash(staff, "Đã lưu và gửi duyệt hồ sơ “")).to_be_visible()
    expect(staff.locator("#entry-state")).to_have_text("Chờ Trưởng phòng duyệt")
    entry_id = int(staff.url.rsplit("/", 1)[1])

    # 6. The unit head, the deputy, Văn phòng.
    approve(page_for(world.head_a), entry_id, "Chờ Trưởng phòng duyệt", DEPUTY_WAITING)
    deputy = page_for(world.deputy)
    approve(deputy, entry_id, DEPUTY_WAITING, "Chờ Văn phòng Sở duyệt")
    office = page_for(world.office)
    approve(office, entry_id, "Chờ Văn phòng Sở duyệt", "Đã duyệt")
    expect_history(
        office,
        [
            ("Tạo hồ sơ", staff_name),
            ("Gửi duyệt", staff_name),
            ("Duyệt", head_name),
            ("Duyệt", deputy_name),
            ("Duyệt", office_name),
        ],
    )
    expect(history(office).nth(1)).to_contain_text("Nháp → Chờ Trưởng phòng duyệt")
    expect(history(office).nth(2)).to_contain_text(f"Chờ Trưởng phòng duyệt → {DEPUTY_WAITING}")
    expect(history(office).nth(3)).to_contain_text(f"{DEPUTY_WAITING} → Chờ Văn phòng Sở duyệt")
    expect(history(office).nth(4)).to_contain_text("Chờ Văn phòng Sở duyệt → Đã duyệt")
    photograph(office, shot, "08-entry-approved")

    # 7. The administrator's list counts it.
    admin.goto("/quan-tri/ke-hoach")
    row = admin.locator("#campaigns-table tbody tr").first
    expect(row).to_contain_text("Đang thực hiện")
    expect(row).to_contain_text("1 đã duyệt")
    photograph(admin, shot, "09-campaign-list-after")
