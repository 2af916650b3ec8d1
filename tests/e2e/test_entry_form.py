"""Issue 7, "A clerk's first day": the entry form as a new user meets it, in Chromium, on a
laptop (1366×768) and on a phone (390×844).

Evidence goes on the form itself (several files, drag and drop, a progress bar per file), the
campaign may require it, files can still be added while the entry waits for the unit head;
required marks, an error summary, examples that fit the field and the year, live character
counters, a warning for characters the official documents cannot print; two tabs on one entry
lose nothing; without JavaScript the files go with the form.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from danvan.extensions import db
from danvan.models import Entry, Event
from danvan.operations import entries as ops
from tests.e2e.conftest import expect_history, field, flash, history, png_bytes
from tests.factories import create_campaign

VIEWPORTS = {"laptop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}
TITLE = "Thăm hỏi, tặng quà hộ nghèo nhân Ngày vì người nghèo phường Lê Hồng Phong"
SHORT = "“Thăm hỏi, tặng quà hộ nghèo nhân Ngày vì người nghèo… (QLXD)”"


def big_png(size: int) -> bytes:
    """A PNG padded to ``size`` bytes (the type is read from the content)."""
    data = png_bytes()
    return data + b"\x00" * (size - len(data))


def open_as(page_for, user, viewport: str) -> Page:
    page = page_for(user)
    page.set_viewport_size(VIEWPORTS[viewport])
    return page


def evidence_items(page: Page):
    return page.locator("#evidence-list .evidence-item")


def drop_file(page: Page, name: str, content: bytes) -> None:
    """Drag a file from the desktop onto the drop zone (a real DataTransfer, a real drop)."""
    transfer = page.evaluate_handle(
        """([name, bytes]) => {
            const dt = new DataTransfer();
            dt.items.add(new File([new Uint8Array(bytes)], name, {type: "image/png"}));
            return dt;
        }""",
        [name, list(content)],
    )
    page.dispatch_event("#evidence .evidence-drop", "dragover", {"dataTransfer": transfer})
    expect(page.locator("#evidence .evidence-drop")).to_have_class(re.compile("is-dragover"))
    page.dispatch_event("#evidence .evidence-drop", "drop", {"dataTransfer": transfer})


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_new_entry_with_evidence_from_form_to_unit_approval(world, page_for, shot, viewport):
    campaign = create_campaign(world.agency, year=2026, evidence_required=True)
    db.session.commit()
    staff_name = world.staff_a.full_name
    staff = open_as(page_for, world.staff_a, viewport)

    # 1. The empty form: required fields marked, hints that fit the field and the year.
    staff.goto(f"/ke-hoach/{campaign.id}/hoat-dong/moi")
    expect(staff.get_by_role("heading", name="Thêm hồ sơ hoạt động")).to_be_visible()
    expect(staff.locator("#required-legend")).to_have_text("Trường có dấu * là bắt buộc.")
    expect(staff.locator(".entry-field .required-mark")).to_have_count(4)
    for label in ("Nội dung", "Tên hoạt động", "Từ ngày", "Đến ngày"):
        expect(field(staff, label)).to_have_attribute("aria-required", "true")
    expect(staff.locator("#date_from-hint")).to_have_text("Dạng ngày/tháng/năm, ví dụ 15/10/2026.")
    expect(staff.locator("#participants_citizens-hint")).to_contain_text("ví dụ 120")
    expect(staff.locator("#amount_vnd-hint")).to_contain_text("ví dụ 1.234.500")
    expect(staff.locator("#title-count")).to_have_text("Tối đa 500 ký tự.")
    expect(staff.locator(".evidence-fieldset legend")).to_contain_text("bắt buộc khi gửi duyệt")
    expect(staff.locator("#evidence-intro")).to_contain_text(
        "bổ sung được minh chứng cho đến khi trưởng phòng duyệt"
    )
    shot(staff, f"{viewport}-01-empty-form")

    # 2. Only a title, "Lưu và gửi duyệt": every error in one Vietnamese summary.
    field(staff, "Tên hoạt động").fill(TITLE)
    field(staff, "Người dân tham gia").fill("một trăm")
    staff.get_by_role("button", name="Lưu và gửi duyệt").click()
    summary = staff.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    expect(summary.locator("li")).to_have_count(3)
    expect(summary).to_contain_text("Từ ngày: Vui lòng nhập ngày bắt đầu.")
    expect(summary).to_contain_text("Đến ngày: Vui lòng nhập ngày kết thúc.")
    expect(summary).to_contain_text("Người dân tham gia: Vui lòng nhập số nguyên, ví dụ 120.")
    expect(field(staff, "Tên hoạt động")).to_have_value(TITLE)
    expect(field(staff, "Người dân tham gia")).to_have_value("một trăm")
    shot(staff, f"{viewport}-02-error-summary")

    # 3. Live counters and the warning about characters the documents cannot print.
    field(staff, "Từ ngày").fill("17/10/2026")
    field(staff, "Đến ngày").fill("17/10/2026")
    field(staff, "Người dân tham gia").fill("120")
    field(staff, "Địa điểm").fill("Nhà văn hóa " * 26)  # 312 characters
    expect(staff.locator("#place-count")).to_have_text(
        "Tối đa 300 ký tự · đã nhập 312, vượt 12 ký tự — hãy rút gọn trước khi lưu."
    )
    expect(staff.locator("#place-count")).to_have_class(re.compile("is-over"))
    field(staff, "Địa điểm").fill("Nhà văn hóa tổ dân phố số 5")
    expect(staff.locator("#place-count")).to_have_text("Tối đa 300 ký tự · đã nhập 27.")
    field(staff, "Quà tặng, hiện vật").fill("50 suất quà 🎁 (gạo, dầu ăn)\n20 chăn ấm")
    warning = staff.locator("#gifts-print")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("ký tự không in được trong văn bản hành chính: 🎁")
    expect(staff.locator("#title-print")).to_be_hidden()
    field(staff, "Kết quả").fill("Trao 50 suất quà cho hộ nghèo, hộ cận nghèo.")
    shot(staff, f"{viewport}-03-counter-and-warning")

    # 4. Sent without a file: refused, everything typed is still there.
    staff.get_by_role("button", name="Lưu và gửi duyệt").click()
    expect(staff.locator("#error-summary")).to_contain_text("kế hoạch này yêu cầu minh chứng")
    expect(staff.locator("#evidence .invalid-feedback")).to_contain_text("yêu cầu minh chứng")
    expect(field(staff, "Quà tặng, hiện vật")).to_have_value(
        "50 suất quà 🎁 (gạo, dầu ăn)\n20 chăn ấm"
    )
    expect(field(staff, "Người dân tham gia")).to_have_value("120")
    assert db.session.query(Entry).count() == 0
    shot(staff, f"{viewport}-04-evidence-required")

    # 5. Two files at once over a slow line: one progress bar each.
    cdp = staff.context.new_cdp_session(staff)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 400_000},
    )
    staff.get_by_label("Chọn tệp minh chứng").set_input_files(
        [
            {"name": "Ảnh trao quà.png", "mimeType": "image/png", "buffer": big_png(600_000)},
            {"name": "Danh sách hộ nhận quà.png", "mimeType": "image/png", "buffer": png_bytes()},
        ]
    )
    expect(evidence_items(staff)).to_have_count(2)
    uploading = staff.locator("#evidence-list .evidence-item.is-uploading")
    expect(uploading.first.locator("progress")).to_be_visible()
    expect(uploading.first.locator(".evidence-status")).to_contain_text("Đang tải lên")
    shot(staff, f"{viewport}-05-uploading")
    done = staff.locator("#evidence-list .evidence-item.is-done")
    expect(done).to_have_count(2, timeout=30_000)
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    expect(done.first).to_contain_text("Đã tải lên, sẽ đính kèm khi lưu hồ sơ")
    expect(staff.get_by_label("Chọn tệp minh chứng")).to_have_value("")  # not posted twice

    # A third by drag and drop; a file of the wrong type is refused before uploading.
    drop_file(staff, "Biên bản kéo thả.png", png_bytes(30, 20))
    expect(done).to_have_count(3)
    staff.get_by_label("Chọn tệp minh chứng").set_input_files(
        {"name": "ghi-chu.txt", "mimeType": "text/plain", "buffer": b"khong phai minh chung"}
    )
    refused = staff.locator("#evidence-list .evidence-item.is-error")
    expect(refused).to_contain_text("Không nhận loại tệp này")
    shot(staff, f"{viewport}-06-files-ready")
    refused.get_by_role("button", name="Bỏ tệp ghi-chu.txt").click()
    expect(refused).to_have_count(0)

    # 6. Sent: the flash names the entry, the files are in the history.
    staff.get_by_role("button", name="Lưu và gửi duyệt").click()
    expect(
        flash(staff, f"Đã lưu và gửi duyệt hồ sơ {SHORT} (kèm 3 tệp minh chứng).")
    ).to_be_visible()
    expect(flash(staff, "(🎁 ở “Quà tặng, hiện vật”)")).to_be_visible()
    expect(staff.locator("#entry-state")).to_have_text("Chờ Trưởng phòng duyệt")
    entry_id = int(staff.url.rsplit("/", 1)[1])
    expect(staff.locator("#attachments li")).to_have_count(3)
    expect_history(
        staff,
        [("Tạo hồ sơ", staff_name)]
        + [("Thêm minh chứng", staff_name)] * 3
        + [("Gửi duyệt", staff_name)],
    )
    shot(staff, f"{viewport}-07-sent")

    # 7. While it waits for the head, the author still adds a file: "Bổ sung minh chứng".
    expect(staff.locator("#supplement-note")).to_be_visible()
    staff.get_by_label("Chọn tệp minh chứng").set_input_files(
        {"name": "Ảnh bổ sung.png", "mimeType": "image/png", "buffer": png_bytes(40, 30)}
    )
    expect(flash(staff, f"Đã tải lên 1 tệp minh chứng cho hồ sơ {SHORT}.")).to_be_visible()
    expect(staff.locator("#attachments li")).to_have_count(4)
    expect(history(staff).last.locator("strong")).to_have_text("Bổ sung minh chứng")
    expect(history(staff).last).to_contain_text("Ảnh bổ sung.png")
    shot(staff, f"{viewport}-08-supplemented")

    # 8. The head sees the supplement in the history and approves; then no more files.
    head = open_as(page_for, world.head_a, viewport)
    head.goto(f"/hoat-dong/{entry_id}")
    supplement = history(head).filter(has=head.locator("strong", has_text="Bổ sung minh chứng"))
    expect(supplement).to_contain_text("Ảnh bổ sung.png")
    expect(head.locator("#evidence")).to_have_count(0)
    head.locator("#entry-actions").get_by_role("button", name="Duyệt", exact=True).click()
    expect(flash(head, f"Đã duyệt hồ sơ {SHORT}.")).to_be_visible()
    shot(head, f"{viewport}-09-head-approved")
    staff.reload()
    expect(staff.locator("#entry-state")).to_have_text("Chờ Văn phòng Sở duyệt")
    expect(staff.locator("#evidence")).to_have_count(0)
    db.session.rollback()  # read what the server committed, not an older snapshot
    entry = db.session.get(Entry, entry_id)
    assert entry.gifts == "50 suất quà 🎁 (gạo, dầu ăn)\n20 chăn ấm"  # kept as typed
    assert sorted(a.filename for a in entry.attachments) == sorted(
        ["Ảnh trao quà.png", "Danh sách hộ nhận quà.png", "Biên bản kéo thả.png", "Ảnh bổ sung.png"]
    )
    events = db.session.query(Event).filter_by(entry_id=entry_id).order_by(Event.id)
    actions = [e.action for e in events]
    assert actions == ["create", "attach", "attach", "attach", "submit", "supplement", "approve"]


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_two_tabs_lose_nothing(world, page_for, shot, viewport):
    entry = ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    db.session.commit()
    first = open_as(page_for, world.staff_a, viewport)
    second = first.context.new_page()
    second.set_viewport_size(VIEWPORTS[viewport])
    for tab in (first, second):
        tab.goto(f"/hoat-dong/{entry.id}/sua")
        expect(tab.get_by_role("heading", name="Sửa hồ sơ hoạt động")).to_be_visible()

    field(second, "Kết quả").fill("Kết quả ghi ở thẻ thứ hai.")
    second.get_by_role("button", name="Lưu nháp").click()
    expect(flash(second, "Đã lưu thay đổi hồ sơ “Hội nghị tuyên truyền")).to_be_visible()

    field(first, "Tên hoạt động").fill("Hội nghị tuyên truyền (tên sửa ở thẻ thứ nhất)")
    field(first, "Kết quả").fill("Kết quả ghi ở thẻ thứ nhất.")
    first.get_by_role("button", name="Lưu nháp").click()
    conflict = first.locator("#conflict")
    expect(conflict).to_be_visible()
    expect(conflict).to_contain_text(
        re.compile(
            r"Hồ sơ đã được cập nhật lúc \d\d:\d\d bởi bạn, so với bản bạn đang sửa: Kết quả\."
        )
    )
    expect(conflict.locator("tbody tr")).to_have_count(1)
    expect(conflict.locator("tbody tr")).to_contain_text("Kết quả ghi ở thẻ thứ hai.")
    expect(field(first, "Tên hoạt động")).to_have_value(
        "Hội nghị tuyên truyền (tên sửa ở thẻ thứ nhất)"
    )
    expect(field(first, "Kết quả")).to_have_value("Kết quả ghi ở thẻ thứ nhất.")
    shot(first, f"{viewport}-conflict")

    first.get_by_role("button", name="Lưu nháp").click()
    expect(flash(first, "Đã lưu thay đổi hồ sơ")).to_be_visible()
    db.session.expire_all()
    saved = db.session.get(Entry, entry.id)
    assert saved.title == "Hội nghị tuyên truyền (tên sửa ở thẻ thứ nhất)"
    assert saved.result == "Kết quả ghi ở thẻ thứ nhất."


def test_without_javascript_the_files_go_with_the_form(world, page_for, shot):
    page = page_for(world.staff_a, java_script_enabled=False)
    page.goto(f"/ke-hoach/{world.campaign.id}/hoat-dong/moi")
    expect(page.locator("#evidence .evidence-drop-text")).to_be_hidden()
    assert "Trình duyệt đang tắt JavaScript" in page.locator("main").inner_text()
    field(page, "Nội dung").select_option(index=0)
    field(page, "Tên hoạt động").fill("Tuyên truyền trên website của Sở")
    field(page, "Từ ngày").fill("05/10/2023")
    field(page, "Đến ngày").fill("05/10/2023")
    page.get_by_label("Chọn tệp minh chứng").set_input_files(
        [
            {"name": "trang-web.png", "mimeType": "image/png", "buffer": png_bytes()},
            {"name": "bai-viet.png", "mimeType": "image/png", "buffer": png_bytes(30, 10)},
        ]
    )
    shot(page, "01-no-js-form")
    page.get_by_role("button", name="Lưu nháp").click()
    expect(flash(page, "(kèm 2 tệp minh chứng)")).to_be_visible()
    expect(page.locator("#attachments li")).to_have_count(2)
    shot(page, "02-no-js-saved")
