"""Administration in Chromium: the administrator creates a unit and a user with a role, resets
the password; the person signs in with the temporary password and must change it first.

Each admin page is photographed at 1366×768 and 390×844 (test-artifacts/screenshots/), checked
for nothing wider than the phone screen and, when axe-core is installed, for serious
accessibility violations.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import select

from danvan.extensions import db
from danvan.models import Role, Unit, User
from tests.e2e.conftest import REPO_ROOT, TIMEOUT_MS

UNIT_NAME = "Phòng Quản lý nhà và thị trường bất động sản"
FULL_NAME = "Trần Thị Mỹ Hạnh"
USERNAME = "tran.thi.my.hanh"
NEW_PASSWORD = "Hoa sen nở giữa đầm 2030"
VIEWPORTS = {"desktop": (1366, 768), "phone": (390, 844)}
AXE = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_URL = "**/__test__/axe.min.js"

# Elements of <main> whose right edge passes the window, unless a scrolling box holds them.
STICKING_OUT = """() => {
  const width = document.documentElement.clientWidth;
  const scrolls = (el) => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== "visible") return true;
    }
    return false;
  };
  const out = [];
  for (const el of document.querySelectorAll("main *, nav *")) {
    const r = el.getBoundingClientRect();
    if (r.width && r.height && r.right > width + 1 && !scrolls(el)) {
      out.push(`${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}.${el.className} ` +
               `“${(el.textContent || "").trim().slice(0, 40)}” ends at ${Math.round(r.right)}px`);
    }
  }
  return out.slice(0, 5);
}"""


def flash(page: Page, text: str):
    return page.locator(".alert").filter(has_text=text)


def check_page(page: Page, shot, step: str) -> None:
    """Screenshots at both sizes; nothing sticks out; no serious axe violation."""
    problems = []
    for name, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(100)
        shot(page, f"{step}-{name}")
        problems += [f"{step} ({name}): {p}" for p in page.evaluate(STICKING_OUT)]
    if AXE.exists():
        page.unroute(AXE_URL)
        page.route(AXE_URL, lambda route: route.fulfill(path=AXE, content_type="text/javascript"))
        page.add_script_tag(url="/__test__/axe.min.js")
        result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
        problems += [
            f"{step}: [{v['impact']}] {v['id']}: {v['help']} — "
            + "; ".join(" ".join(n["target"]) for n in v["nodes"][:3])
            for v in result["violations"]
            if v["impact"] in {"serious", "critical"}
        ]
    page.set_viewport_size({"width": 1366, "height": 768})
    assert not problems, "\n".join(problems)


def test_admin_creates_a_unit_and_a_user_who_must_change_the_password(
    world, page_for, browser, live_server, shot
):
    admin = page_for(world.admin)
    admin.on("dialog", lambda dialog: dialog.accept())  # the "are you sure?" of risky buttons
    admin.set_viewport_size({"width": 1366, "height": 768})

    # 1. The administration's front page.
    admin.get_by_role("button", name="Quản trị", exact=True).click()  # the menu opens
    admin.get_by_role("link", name="Tổng quan quản trị").click()
    expect(admin.get_by_role("heading", name="Quản trị hệ thống")).to_be_visible()
    for link in ("Cơ quan", "Đơn vị", "Người dùng", "Nhật ký quản trị"):
        expect(admin.get_by_role("link", name=link, exact=True)).to_be_visible()
    check_page(admin, shot, "01-admin-index")

    # 2. A new unit; first without its code: the error is announced and linked to the field.
    admin.get_by_role("link", name="Đơn vị", exact=True).click()
    expect(admin.get_by_role("heading", name="Đơn vị", exact=True)).to_be_visible()
    admin.get_by_label("Tên đơn vị").fill(UNIT_NAME)
    admin.get_by_role("button", name="Tạo đơn vị").click()
    summary = admin.locator("#error-summary")
    expect(summary).to_have_attribute("role", "alert")
    expect(summary).to_contain_text("Vui lòng nhập ký hiệu đơn vị.")
    expect(admin.get_by_label("Ký hiệu", exact=True)).to_have_attribute("aria-invalid", "true")
    admin.get_by_label("Ký hiệu", exact=True).fill("QLN")
    admin.get_by_role("button", name="Tạo đơn vị").click()
    expect(flash(admin, f"Đã tạo đơn vị {UNIT_NAME}.")).to_be_visible()
    row = admin.locator("#units-table tbody tr").filter(has_text=UNIT_NAME)
    expect(row).to_contain_text("QLN")
    expect(row).to_contain_text("Đang hoạt động")
    check_page(admin, shot, "02-units")
    unit = db.session.scalar(select(Unit).where(Unit.abbreviation == "QLN"))
    assert unit is not None and unit.active

    # 3. A user in that unit, with the role Trưởng phòng; the temporary password is shown once.
    admin.get_by_role("button", name="Quản trị", exact=True).click()
    admin.locator("#nav").get_by_role("link", name="Người dùng", exact=True).click()
    admin.get_by_role("link", name="Thêm người dùng").click()
    expect(admin.get_by_role("heading", name="Thêm người dùng")).to_be_visible()
    admin.get_by_label("Tên đăng nhập").fill(USERNAME)
    admin.get_by_label("Họ và tên").fill(FULL_NAME)
    admin.get_by_label("Thư điện tử").fill("tranthimyhanh@hanam.gov.vn")
    admin.get_by_label("Chức vụ").fill("Trưởng phòng")
    admin.get_by_label("Đơn vị").select_option(label=UNIT_NAME)
    admin.get_by_label("Trưởng phòng", exact=True).check()
    check_page(admin, shot, "03-new-user-form")
    admin.get_by_role("button", name="Tạo tài khoản").click()
    expect(admin.get_by_role("heading", name=f"Đã tạo tài khoản {FULL_NAME}")).to_be_visible()
    first_password = admin.locator("#temporary-password").inner_text().strip()
    assert re.fullmatch(r"[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}", first_password)
    user = db.session.scalar(select(User).where(User.username == USERNAME))
    assert user.roles == {Role.STAFF, Role.UNIT_HEAD} and user.unit_id == unit.id
    assert user.must_change_password

    # 4. The list finds her without accents; her page resets the password.
    admin.get_by_role("link", name="Danh sách người dùng").click()
    admin.get_by_label("Tìm kiếm").fill("tran thi my hanh")
    admin.get_by_role("button", name="Lọc").click()
    rows = admin.locator("#users-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(FULL_NAME)
    expect(rows.first).to_contain_text("Chờ đổi mật khẩu")
    check_page(admin, shot, "04-user-list")
    rows.first.get_by_role("link", name=FULL_NAME, exact=True).click()
    expect(admin.get_by_role("heading", name=f"Tài khoản {FULL_NAME}")).to_be_visible()
    expect(admin.get_by_label("Trưởng phòng", exact=True)).to_be_checked()
    check_page(admin, shot, "05-edit-user")
    admin.get_by_role("button", name="Đặt lại mật khẩu").click()
    expect(admin.get_by_role("heading", name=f"Đã đặt lại mật khẩu {FULL_NAME}")).to_be_visible()
    temporary = admin.locator("#temporary-password").inner_text().strip()
    assert temporary != first_password
    check_page(admin, shot, "06-temporary-password")

    # 5. She signs in on her phone with the old temporary password (refused), then the new one.
    context = browser.new_context(
        base_url=live_server,
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
        viewport={"width": 390, "height": 844},
    )
    context.set_default_timeout(TIMEOUT_MS)
    try:
        person = context.new_page()
        person.goto("/dang-nhap")
        person.get_by_label("Tên đăng nhập").fill(USERNAME)
        person.get_by_label("Mật khẩu").fill(first_password)
        person.get_by_role("button", name="Đăng nhập").click()
        expect(flash(person, "Tên đăng nhập hoặc mật khẩu không đúng.")).to_be_visible()
        person.get_by_label("Tên đăng nhập").fill(USERNAME)
        person.get_by_label("Mật khẩu").fill(temporary)
        person.get_by_role("button", name="Đăng nhập").click()
        expect(person).to_have_url(re.compile(r"/doi-mat-khau$"))
        expect(person.locator("#must-change-password")).to_contain_text(
            "Bạn đang dùng mật khẩu tạm thời"
        )
        shot(person, "07-must-change-phone")
        person.goto("/hoat-dong")  # every other page sends her back
        expect(person).to_have_url(re.compile(r"/doi-mat-khau$"))
        person.get_by_label("Mật khẩu hiện tại").fill(temporary)
        person.get_by_label("Mật khẩu mới", exact=True).fill(NEW_PASSWORD)
        person.get_by_label("Nhập lại mật khẩu mới").fill(NEW_PASSWORD)
        person.get_by_role("button", name="Lưu mật khẩu mới").click()
        expect(flash(person, "Đã đổi mật khẩu.")).to_be_visible()
        expect(person).not_to_have_url(re.compile(r"/doi-mat-khau$"))
        person.goto("/hoat-dong")
        expect(person).to_have_url(re.compile(r"/hoat-dong$"))
        shot(person, "08-after-change-phone")
    finally:
        context.close()
    db.session.expire_all()
    assert not db.session.get(User, user.id).must_change_password

    # 6. The administration log tells the story, newest first.
    admin.goto("/quan-tri/nhat-ky")
    log = admin.locator("#audit-log tbody tr")
    expect(log).to_have_count(3)
    expect(log.nth(0)).to_contain_text("Đặt lại mật khẩu tài khoản")
    expect(log.nth(1)).to_contain_text(f"Tạo tài khoản {FULL_NAME} ({USERNAME})")
    expect(log.nth(1)).to_contain_text("Chuyên viên, Trưởng phòng")
    expect(log.nth(1)).to_contain_text(UNIT_NAME)
    expect(log.nth(2)).to_contain_text(f"Tạo đơn vị {UNIT_NAME} (QLN)")
    for i in range(3):
        expect(log.nth(i).locator("time")).to_have_text(
            re.compile(r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}$")
        )
        expect(log.nth(i)).to_contain_text("Quản trị")
    expect(admin.locator("#audit-log")).not_to_contain_text(temporary)
    check_page(admin, shot, "09-audit-log")


def test_a_head_delegates_for_a_few_days_and_revokes(world, page_for, shot):
    from datetime import timedelta

    from danvan.models import Delegation
    from danvan.text import today_vn

    start, end = today_vn(), today_vn() + timedelta(days=2)
    head = page_for(world.head_a)
    head.on("dialog", lambda dialog: dialog.accept())
    head.get_by_role("link", name="Ủy quyền", exact=True).click()
    expect(head.get_by_role("heading", name="Ủy quyền", exact=True)).to_be_visible()
    expect(head.get_by_label("Từ ngày")).to_have_value(f"{start:%d/%m/%Y}")
    head.get_by_label("Người được ủy quyền").select_option(value=str(world.staff_a.id))
    head.get_by_label("Đến ngày").fill(f"{start - timedelta(days=1):%d/%m/%Y}")
    head.get_by_role("button", name="Ủy quyền", exact=True).click()
    expect(head.locator("#error-summary")).to_contain_text(
        "Ngày kết thúc không được trước ngày bắt đầu."
    )
    head.get_by_label("Đến ngày").fill(f"{end:%d/%m/%Y}")
    head.get_by_role("button", name="Ủy quyền", exact=True).click()
    period = f"{start:%d/%m/%Y} - {end:%d/%m/%Y}"
    expect(flash(head, f"Đã ủy quyền cho Nguyễn Thị Hoa ({period}).")).to_be_visible()
    row = head.locator("#delegations-given tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(period)
    expect(row).to_contain_text("Đang hiệu lực")
    check_page(head, shot, "01-delegations")
    assert Delegation.active_for(world.staff_a) != []
    row.get_by_role("button", name=re.compile("^Thu hồi ủy quyền cho Nguyễn Thị Hoa")).click()
    expect(flash(head, "Đã thu hồi ủy quyền cho Nguyễn Thị Hoa")).to_be_visible()
    expect(row).to_contain_text("Đã thu hồi")
    assert Delegation.active_for(world.staff_a) == []
    check_page(head, shot, "02-revoked")
