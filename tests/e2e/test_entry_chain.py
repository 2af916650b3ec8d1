"""One activity entry through the whole chain, as people do it in Chromium.

Staff drafts it, attaches a photo and sends it; the unit head returns it with a comment; staff
corrects it and sends it again; the head and then Văn phòng approve it. Each step checks what
the person sees: the state badge, the flash message, the history and the header's to-do badge.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from danvan.extensions import db
from danvan.models import Entry, Event
from tests.e2e.conftest import expect_history, field, flash, history, png_bytes

TITLE = "Hội nghị tuyên truyền pháp luật về xây dựng cho người dân phường Lê Hồng Phong"
RESULT = "Người dân nắm được thủ tục cấp giấy phép xây dựng nhà ở riêng lẻ.\nĐã giải đáp 7 ý kiến."
PHOTO_NAME = "Ảnh hội nghị ngày 12-10.png"
COMMENT = "Bổ sung số người dân tham gia"


def state_badge(page: Page):
    return page.locator("#entry-state")


def event_count(entry_id: int, action: str | None = None) -> int:
    stmt = select(func.count(Event.id)).where(Event.entry_id == entry_id)
    if action:
        stmt = stmt.where(Event.action == action)
    return db.session.scalar(stmt)


def test_entry_through_the_whole_chain(world, page_for, shot):
    campaign_id = world.campaign.id
    staff_name, head_name, office_name = (
        world.staff_a.full_name,
        world.head_a.full_name,
        world.office.full_name,
    )

    # 1. Staff fills the new-entry form and saves a draft.
    staff = page_for(world.staff_a)
    expect(staff.locator("#todo-count")).to_have_text("0")
    staff.goto(f"/ke-hoach/{campaign_id}/hoat-dong/moi")
    expect(staff.get_by_role("heading", name="Thêm hồ sơ hoạt động")).to_be_visible()
    expect(staff.get_by_text("Thời gian kế hoạch: 01/10/2023 - 31/10/2023.")).to_be_visible()
    field(staff, "Nội dung").select_option(
        label="1. Tuyên truyền Ngày truyền thống công tác dân vận"
    )
    field(staff, "Tên hoạt động").fill(TITLE)
    field(staff, "Từ ngày").fill("12/10/2023")
    field(staff, "Đến ngày").fill("12/10/2023")
    field(staff, "Địa điểm").fill("Nhà văn hóa tổ dân phố số 5, phường Lê Hồng Phong")
    field(staff, "Hình thức").fill("Hội nghị")
    field(staff, "Hưởng ứng ngày kỷ niệm").select_option(
        label="15/10 – Ngày truyền thống công tác dân vận (93 năm)"
    )
    field(staff, "Cán bộ, đảng viên tham gia").fill("40")
    field(staff, "Người dân tham gia").fill("15")
    field(staff, "Kinh phí, quà (đồng)").fill("1.234.500")
    field(staff, "Quà tặng, hiện vật").fill("10 suất quà cho hộ nghèo")
    field(staff, "Kết quả").fill(RESULT)
    shot(staff, "01-new-entry-form")
    staff.get_by_role("button", name="Lưu nháp").click()

    expect(flash(staff, "Đã lưu nháp hồ sơ “")).to_be_visible()
    expect(staff).to_have_url(re.compile(r"/hoat-dong/\d+$"))
    entry_id = int(staff.url.rsplit("/", 1)[1])
    expect(staff.get_by_role("heading", name=TITLE)).to_be_visible()
    expect(state_badge(staff)).to_have_text("Nháp")
    fields = staff.locator("dl.entry-fields")
    expect(fields).to_contain_text("Nguyễn Thị Hoa")
    expect(fields).to_contain_text("1. Tuyên truyền Ngày truyền thống công tác dân vận")
    expect(fields).to_contain_text("12/10/2023")
    expect(fields).to_contain_text("15/10 – Ngày truyền thống công tác dân vận (93 năm)")
    expect(fields).to_contain_text("40 cán bộ, đảng viên; 15 người dân")
    expect(fields).to_contain_text("1.234.500 đồng")
    expect(fields).to_contain_text("Đã giải đáp 7 ý kiến.")
    expect_history(staff, [("Tạo hồ sơ", staff_name)])

    # 2. Staff attaches a photo to the draft, then sends it for approval.
    expect(staff.locator("#attachments")).to_contain_text("Chưa có tệp minh chứng.")
    staff.get_by_label("Chọn tệp minh chứng").set_input_files(
        {"name": PHOTO_NAME, "mimeType": "image/png", "buffer": png_bytes()}
    )
    staff.get_by_role("button", name="Tải lên").click()
    expect(flash(staff, "Đã tải lên 1 tệp minh chứng cho hồ sơ")).to_be_visible()
    expect(staff.locator("#attachments li")).to_have_count(1)
    expect(staff.locator("#attachments")).to_contain_text(PHOTO_NAME)
    expect(staff.get_by_role("heading", name="Minh chứng (1/10)")).to_be_visible()
    shot(staff, "02-draft-with-photo")
    staff.locator("#entry-actions").get_by_role("button", name="Gửi duyệt").click()
    expect(flash(staff, "Đã gửi duyệt hồ sơ “")).to_be_visible()
    expect(state_badge(staff)).to_have_text("Chờ Trưởng phòng duyệt")
    expect(staff.get_by_role("link", name="Sửa", exact=True)).to_have_count(0)
    # Evidence can still be added until the head approves (issue 7).
    expect(staff.locator("form.upload-form")).to_have_count(1)
    expect_history(
        staff,
        [("Tạo hồ sơ", staff_name), ("Thêm minh chứng", staff_name), ("Gửi duyệt", staff_name)],
    )
    expect(history(staff).nth(2)).to_contain_text("Nháp → Chờ Trưởng phòng duyệt")
    shot(staff, "03-submitted")

    # 3. The unit head sees it in the inbox and returns it; first without a comment.
    head = page_for(world.head_a)
    expect(head.locator("#todo-count")).to_have_text("1")
    head.get_by_role("link", name="Việc cần xử lý").click()
    expect(head.get_by_role("heading", name="Việc cần xử lý")).to_be_visible()
    rows = head.locator("#inbox-table tbody tr")
    expect(rows).to_have_count(1)
    row = rows.first
    expect(row.get_by_role("link", name=TITLE)).to_be_visible()
    for text in ("Phòng Quản lý xây dựng", staff_name, "12/10/2023", "Chờ Trưởng phòng duyệt"):
        expect(row).to_contain_text(text)
    expect(row.get_by_role("button", name="Duyệt", exact=True)).to_be_visible()
    shot(head, "04-head-inbox")
    row.get_by_role("link", name=TITLE).click()
    expect(head).to_have_url(re.compile(rf"/hoat-dong/{entry_id}$"))
    expect(state_badge(head)).to_have_text("Chờ Trưởng phòng duyệt")
    photo_link = head.locator("#attachments").get_by_role("link", name=PHOTO_NAME)
    download = head.request.get(photo_link.get_attribute("href"))
    assert download.status == 200
    assert download.headers["content-type"] == "image/png"
    assert download.body() == png_bytes()

    comment_box = head.get_by_placeholder("Ý kiến (bắt buộc)")
    return_button = head.locator("#entry-actions").get_by_role("button", name="Trả lại")
    return_button.click()
    # The browser refuses the empty required comment: nothing is sent.
    assert comment_box.evaluate("el => el.validity.valueMissing")
    head.wait_for_timeout(300)
    expect(head).to_have_url(re.compile(rf"/hoat-dong/{entry_id}$"))
    head.reload()
    expect(state_badge(head)).to_have_text("Chờ Trưởng phòng duyệt")
    expect(history(head)).to_have_count(3)
    assert event_count(entry_id, "return") == 0

    # A comment of spaces passes the browser's check; the server refuses it.
    comment_box.fill("   ")
    return_button.click()
    expect(flash(head, "Vui lòng nhập ý kiến khi trả lại.")).to_be_visible()
    expect(state_badge(head)).to_have_text("Chờ Trưởng phòng duyệt")
    expect(history(head)).to_have_count(3)

    comment_box.fill(COMMENT)
    return_button.click()
    expect(flash(head, "Đã trả lại hồ sơ “")).to_be_visible()
    expect(state_badge(head)).to_have_text("Bị trả lại")
    expect(head.locator("#return-comment")).to_contain_text(COMMENT)
    expect(head.locator("#todo-count")).to_have_text("0")
    expect(history(head).last).to_contain_text(f"“{COMMENT}”")
    expect(history(head).last).to_contain_text("Chờ Trưởng phòng duyệt → Bị trả lại")

    # 4. Staff sees the comment, corrects the number of citizens and sends it again.
    staff.goto(f"/hoat-dong/{entry_id}")
    expect(staff.locator("#todo-count")).to_have_text("1")
    expect(state_badge(staff)).to_have_text("Bị trả lại")
    expect(staff.locator("#return-comment")).to_have_text(f"Ý kiến khi trả lại: {COMMENT}")
    shot(staff, "05-returned")
    staff.get_by_role("link", name="Sửa", exact=True).click()
    expect(staff.get_by_role("heading", name="Sửa hồ sơ hoạt động")).to_be_visible()
    expect(staff.get_by_text(f"Ý kiến khi trả lại: {COMMENT}")).to_be_visible()
    expect(field(staff, "Tên hoạt động")).to_have_value(TITLE)
    expect(field(staff, "Từ ngày")).to_have_value("12/10/2023")
    expect(field(staff, "Kinh phí, quà (đồng)")).to_have_value("1.234.500")
    expect(field(staff, "Người dân tham gia")).to_have_value("15")
    field(staff, "Người dân tham gia").fill("35")
    shot(staff, "06-edit-form")
    staff.get_by_role("button", name="Lưu và gửi duyệt lại").click()
    expect(flash(staff, "Đã lưu và gửi duyệt lại hồ sơ “")).to_be_visible()
    expect(state_badge(staff)).to_have_text("Chờ Trưởng phòng duyệt")
    expect(staff.locator("#return-comment")).to_have_count(0)
    expect(staff.locator("dl.entry-fields")).to_contain_text("40 cán bộ, đảng viên; 35 người dân")
    expect(staff.locator("#todo-count")).to_have_text("0")
    resubmit = history(staff).filter(has=staff.locator("strong", has_text="Gửi duyệt lại"))
    expect(resubmit).to_have_count(1)
    expect(resubmit).to_contain_text("Bị trả lại → Chờ Trưởng phòng duyệt")
    expect(resubmit.locator("summary")).to_have_text("Thay đổi kể từ lần trả lại (1)")
    change_rows = resubmit.locator("table.changes tbody tr")
    expect(change_rows).to_have_count(1)
    expect(change_rows.first.locator("td")).to_have_text(["Người dân tham gia", "15", "35"])
    shot(staff, "07-resubmitted")

    # 5. The head approves (a rapid double click: exactly one transition), then Văn phòng.
    head.goto(f"/hoat-dong/{entry_id}")
    expect(head.locator("#todo-count")).to_have_text("1")
    expect(state_badge(head)).to_have_text("Chờ Trưởng phòng duyệt")
    rows_before = history(head).count()
    approve_form = head.locator("#entry-actions form[action$='/thao-tac/approve']")
    replay = {
        name: approve_form.locator(f"input[name={name}]").get_attribute("value")
        for name in ("csrf_token", "version")
    }
    replay_url = approve_form.get_attribute("action")
    approve_form.get_by_role("button", name="Duyệt", exact=True).dblclick()
    expect(flash(head, "Đã duyệt hồ sơ “")).to_be_visible()
    expect(state_badge(head)).to_have_text("Chờ Văn phòng Sở duyệt")
    expect(history(head)).to_have_count(rows_before + 1)
    head.wait_for_timeout(300)  # let a second request, if one went out, finish
    head.reload()
    expect(history(head)).to_have_count(rows_before + 1)
    assert event_count(entry_id, "approve") == 1
    # The same form sent once more (a click that got through before the page changed): the
    # server sees the old version and does nothing, but tells the head it is already done.
    again = head.request.post(replay_url, form=replay, max_redirects=0)
    assert again.status == 303
    head.reload()
    expect(flash(head, "Thao tác “Duyệt” với hồ sơ")).to_be_visible()
    expect(history(head)).to_have_count(rows_before + 1)
    assert event_count(entry_id, "approve") == 1
    expect(head.locator("#todo-count")).to_have_text("0")

    office = page_for(world.office)
    expect(office.locator("#todo-count")).to_have_text("1")
    office.get_by_role("link", name="Việc cần xử lý").click()
    row = office.locator("#inbox-table tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(TITLE)
    expect(row).to_contain_text("Chờ Văn phòng Sở duyệt")
    shot(office, "08-office-inbox")
    row.get_by_role("button", name="Duyệt", exact=True).click()
    expect(flash(office, "Đã duyệt hồ sơ “")).to_be_visible()
    expect(office).to_have_url(re.compile(r"/viec-can-xu-ly$"))
    expect(office.get_by_text("Không có hồ sơ nào đang chờ bạn xử lý.")).to_be_visible()
    expect(office.locator("#todo-count")).to_have_text("0")

    office.goto(f"/hoat-dong/{entry_id}")
    expect(state_badge(office)).to_have_text("Đã duyệt")
    expect(office.locator("#entry-actions button")).to_have_count(0)
    expect_history(
        office,
        [
            ("Tạo hồ sơ", staff_name),
            ("Thêm minh chứng", staff_name),
            ("Gửi duyệt", staff_name),
            ("Trả lại", head_name),
            ("Gửi duyệt lại", staff_name),
            ("Duyệt", head_name),
            ("Duyệt", office_name),
        ],
    )
    expect(history(office).nth(5)).to_contain_text(
        "Chờ Trưởng phòng duyệt → Chờ Văn phòng Sở duyệt"
    )
    expect(history(office).nth(6)).to_contain_text("Chờ Văn phòng Sở duyệt → Đã duyệt")
    shot(office, "09-approved-history")

    staff.reload()
    expect(state_badge(staff)).to_have_text("Đã duyệt")

    # 6. A rapid double click on "Lưu và gửi duyệt" creates one entry, not two.
    entries_before = db.session.scalar(select(func.count(Entry.id)))
    staff.goto(f"/ke-hoach/{campaign_id}/hoat-dong/moi")
    field(staff, "Nội dung").select_option(index=1)
    field(staff, "Tên hoạt động").fill("Thăm hỏi, tặng quà hộ nghèo nhân Ngày vì người nghèo")
    field(staff, "Từ ngày").fill("17/10/2023")
    field(staff, "Đến ngày").fill("17/10/2023")
    staff.get_by_role("button", name="Lưu và gửi duyệt").dblclick()
    expect(flash(staff, "Đã lưu và gửi duyệt hồ sơ “")).to_be_visible()
    expect(state_badge(staff)).to_have_text("Chờ Trưởng phòng duyệt")
    staff.wait_for_timeout(300)
    assert db.session.scalar(select(func.count(Entry.id))) == entries_before + 1
    head.reload()
    expect(head.locator("#todo-count")).to_have_text("1")
