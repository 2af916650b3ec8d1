"""The campaign report through the whole chain, as people do it in Chromium.

The director uploads a signature image on the profile page. Văn phòng compiles the report,
edits section I, downloads the draft and previews its pages; the office chief submits it; the
director returns it once, sends one entry back to Văn phòng, then signs (number 01/BC-SXD, PAdES
PDF); Văn thư issues it (agency seal, register, archive). Anyone can then verify the archived PDF
or .docx on /kiem-tra, and nobody can act on the issued report any more, by button or by POST.
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from danvan import keys
from danvan.blobs import store_blob
from danvan.demo import artwork
from danvan.documents import pdf as pdfmod
from danvan.documents import signing
from danvan.extensions import db
from danvan.models import ArchivedDocument, Entry, Event, RegisterEntry, Report
from danvan.operations import entries as entry_ops
from danvan.text import today_vn
from danvan.workflow import EntryAction
from tests.factories import require

SPECIAL_TITLE = "Đối thoại \"Nhà ở & đất đai\" <lần 2> với 'hộ dân' 🏠"
PRINTED_TITLE = SPECIAL_TITLE.removesuffix(" 🏠")  # as the .docx and the PDF print it
PLAIN_TITLE = "Hội nghị tuyên truyền Luật Xây dựng năm 2020 cho cán bộ phường"
SENT_BACK_TITLE = "Thăm hỏi, tặng quà hộ nghèo nhân Ngày vì người nghèo"
LEADERSHIP = "Sở đã ban hành Kế hoạch số 125/KH-SXD & 03 văn bản chỉ đạo <đợt 1>."
RETURN_COMMENT = "Bổ sung số liệu mục I trước khi trình lại"
SEND_BACK_COMMENT = "Hoạt động này thuộc kế hoạch khác, đề nghị kiểm tra lại"
NUMBER = "01/BC-SXD"
SLOW_MS = 90_000  # LibreOffice renders the preview and the PDF/A inside the request


def flash(page: Page, text: str):
    return page.locator(".alert").filter(has_text=text)


def report_state(page: Page):
    return page.locator("#report-state")


def docx_xml(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = sorted(n for n in zf.namelist() if n.startswith("word/") and n.endswith(".xml"))
        return "".join(zf.read(n).decode() for n in names)


def download(page: Page, link) -> bytes:
    with page.expect_download() as info:
        link.click()
    return Path(info.value.path()).read_bytes()


def image_bytes(mode: str, fmt: str, color) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (200, 80), color).save(buf, format=fmt)
    return buf.getvalue()


def approve(world, author, head, title: str) -> Entry:
    entry = entry_ops.create_entry(
        world.campaign, actor=author, fields=world.entry_fields(title=title)
    )
    entry_ops.act(entry, EntryAction.SUBMIT, actor=author)
    entry_ops.act(entry, EntryAction.APPROVE, actor=head)
    entry_ops.act(entry, EntryAction.APPROVE, actor=world.office)
    return entry


def validate(pdf: bytes, roots: list) -> list:
    """``signing.validate_pdf`` in a worker thread: pyHanko calls ``asyncio.run``, which cannot
    run in this thread, where Playwright's sync API keeps an event loop running."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(signing.validate_pdf, pdf, roots).result()


def flipped_outside_signatures(pdf: bytes) -> bytes:
    """The PDF with one byte in the middle inverted, avoiding the signature /Contents gaps."""
    gaps = [
        (int(m.group(2)), int(m.group(3)))
        for m in re.finditer(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf)
    ]
    at = len(pdf) // 2
    while any(start <= at < end for start, end in gaps):
        at = next(end for start, end in gaps if start <= at < end) + 16
    data = bytearray(pdf)
    data[at] ^= 0xFF
    return bytes(data)


def verify(page: Page, name: str, data: bytes, mime: str):
    page.goto("/kiem-tra")
    page.get_by_label("Tệp văn bản (.pdf hoặc .docx)").set_input_files(
        {"name": name, "mimeType": mime, "buffer": data}
    )
    page.get_by_role("button", name="Kiểm tra").click()
    expect(page.locator("#verdict")).to_be_visible()
    return page.locator("#verdict")


def test_report_through_the_whole_chain(world, app, key_dir, page_for, shot, tmp_path):
    require(pdfmod.libreoffice_available(), "LibreOffice (soffice) chưa được cài")
    campaign_id = world.campaign.id
    director_id = world.director.id
    director_label = f"{world.director.full_name} ({world.director.role_labels})"
    director_name = world.director.full_name
    roots = keys.trust_roots(app.config, app.instance_path)
    assert roots, "no demo CA in the instance folder"

    # Set-up with the ORM: the agency seal and three approved entries.
    world.agency.seal_sha256 = store_blob(
        artwork.make_seal_png("SỞ XÂY DỰNG", "TỈNH HÀ NAM")
    ).sha256
    special = approve(world, world.staff_b, world.head_b, SPECIAL_TITLE)
    approve(world, world.staff_a, world.head_a, PLAIN_TITLE)
    sent_back = approve(world, world.staff_a, world.head_a, SENT_BACK_TITLE)
    db.session.commit()
    special_id, sent_back_id = special.id, sent_back.id

    # 0. The director uploads a signature image on the profile page; JPEG and opaque PNG fail.
    director = page_for(world.director)
    director.goto("/ca-nhan")
    expect(director.locator("#signature-card")).to_contain_text("Chưa có ảnh chữ ký.")
    picker = director.get_by_label("Chọn ảnh chữ ký PNG")
    upload = director.locator("#signature-card").get_by_role("button", name="Tải lên")
    refusals = [
        ("chu-ky.jpg", image_bytes("RGB", "JPEG", "white"), "Ảnh chữ ký phải là tệp PNG."),
        (
            "chu-ky-nen-trang.png",
            image_bytes("RGB", "PNG", "white"),
            "Ảnh chữ ký phải có nền trong suốt (PNG có kênh alpha).",
        ),
        (
            "chu-ky-rgba-nen-trang.png",
            image_bytes("RGBA", "PNG", (255, 255, 255, 255)),
            "Ảnh chữ ký không có nền trong suốt: hãy xoá nền trắng rồi tải lên lại.",
        ),
    ]
    for name, data, message in refusals:
        path = tmp_path / name
        path.write_bytes(data)
        picker.set_input_files(path)
        upload.click()
        expect(flash(director, message)).to_be_visible()
        expect(director.locator("#signature-card")).to_contain_text("Chưa có ảnh chữ ký.")
    shot(director, "00-profile-refused")
    signature = tmp_path / "chu-ky.png"
    signature.write_bytes(artwork.make_signature_png(world.director.full_name))
    picker.set_input_files(signature)
    upload.click()
    expect(flash(director, "Đã cập nhật ảnh chữ ký.")).to_be_visible()
    preview_img = director.get_by_alt_text("Ảnh chữ ký hiện tại")
    expect(preview_img).to_be_visible()
    assert preview_img.evaluate("img => img.complete && img.naturalWidth") > 0
    shot(director, "01-profile-signature")

    # 1. Văn phòng compiles the report, edits section I, downloads and previews the draft.
    office = page_for(world.office)
    office.goto(f"/ke-hoach/{campaign_id}")
    office.get_by_role("button", name="Tổng hợp báo cáo").click()
    expect(flash(office, "Đã tổng hợp báo cáo năm 2023 từ 3 hồ sơ đã duyệt.")).to_be_visible()
    expect(office).to_have_url(re.compile(r"/bao-cao/\d+$"))
    report_id = int(office.url.rsplit("/", 1)[1])
    report_url = f"/bao-cao/{report_id}"
    expect(report_state(office)).to_have_text("Dự thảo")
    rows = office.locator("#report-entries tbody tr")
    expect(rows).to_have_count(3)
    expect(office.locator("#report-entries")).to_contain_text(SPECIAL_TITLE)
    expect(office.get_by_role("link", name=SPECIAL_TITLE)).to_be_visible()
    expect(office.locator("#report-history > li").first).to_contain_text("Tổng hợp báo cáo")
    section_i = office.get_by_label("I. Công tác lãnh đạo, chỉ đạo, tuyên truyền")
    section_i.fill(LEADERSHIP)
    office.get_by_role("button", name="Lưu nội dung").click()
    expect(flash(office, "Đã lưu nội dung báo cáo năm 2023.")).to_be_visible()
    expect(section_i).to_have_value(LEADERSHIP)
    shot(office, "02-office-draft")

    draft = download(office, office.get_by_role("link", name="Tải dự thảo (.docx)"))
    xml = docx_xml(draft)
    assert "DỰ THẢO" in xml
    assert "Nhà ở &amp; đất đai" in xml and "&lt;lần 2&gt;" in xml
    # The documents drop what Liberation Serif cannot print (danvan/text.py PRINTABLE_RANGES).
    assert "🏠" not in xml and PRINTED_TITLE in html.unescape(xml)
    assert "125/KH-SXD &amp; 03 văn bản chỉ đạo &lt;đợt 1&gt;" in xml

    office.get_by_role("link", name="Xem trước các trang").click()
    pages = office.locator("img.report-page")
    expect(pages.first).to_be_visible(timeout=SLOW_MS)
    expect(office.locator(".breadcrumb")).to_contain_text(re.compile(r"Xem trước \(\d+ trang\)"))
    office.wait_for_function(
        "() => [...document.querySelectorAll('img.report-page')]"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )
    shot(office, "03-preview")

    # 2. The office chief chooses the director and submits.
    chief = page_for(world.chief)
    expect(chief.locator("#todo-count")).to_have_text("1")  # a compiled draft waits for him
    chief.goto(report_url)
    expect(report_state(chief)).to_have_text("Dự thảo")
    chief.get_by_label("Người ký").select_option(label=director_label)
    chief.get_by_role("button", name="Trình ký").click()
    expect(
        flash(chief, f"Đã trình ký báo cáo năm 2023 tới Giám đốc {director_name}.")
    ).to_be_visible()
    expect(report_state(chief)).to_have_text("Chờ ký")
    expect(chief.locator("#todo-count")).to_have_text("0")

    # 3. The director returns it with a comment; Văn phòng sees it; the chief resubmits.
    director.goto("/")
    assert int(director.locator("#todo-count").inner_text()) >= 1
    director.get_by_role("link", name="Việc cần xử lý").click()
    inbox = director.locator("#report-inbox tbody tr")
    expect(inbox).to_have_count(1)
    expect(inbox).to_contain_text("Chờ ký")
    expect(inbox).to_contain_text(world.campaign.report_subject)
    inbox.get_by_role("link", name="Mở báo cáo").click()
    expect(director).to_have_url(re.compile(rf"{report_url}$"))
    expect(report_state(director)).to_have_text("Chờ ký")
    actions = director.locator("#report-actions")
    expect(actions.get_by_role("link", name="Ký duyệt")).to_be_visible()
    shot(director, "04-director-report")
    actions.get_by_placeholder("Ý kiến (bắt buộc)").fill(RETURN_COMMENT)
    actions.get_by_role("button", name="Trả lại").click()
    expect(flash(director, "Đã trả lại báo cáo năm 2023 cho Văn phòng Sở.")).to_be_visible()
    expect(report_state(director)).to_have_text("Dự thảo")

    office.goto(report_url)
    expect(report_state(office)).to_have_text("Dự thảo")
    expect(office.locator("#report-comment")).to_contain_text(RETURN_COMMENT)
    shot(office, "05-office-returned")

    chief.goto(report_url)
    expect(chief.get_by_label("Người ký")).to_have_value(str(director_id))
    chief.get_by_role("button", name="Trình ký").click()
    expect(
        flash(chief, f"Đã trình ký báo cáo năm 2023 tới Giám đốc {director_name}.")
    ).to_be_visible()
    expect(report_state(chief)).to_have_text("Chờ ký")

    # The director sends one entry back to Văn phòng; it leaves the report.
    director.goto(report_url)
    expect(report_state(director)).to_have_text("Chờ ký")
    entry_rows = director.locator("#report-entries tbody tr")
    expect(entry_rows).to_have_count(3)
    row = entry_rows.filter(has_text=SENT_BACK_TITLE)
    row.get_by_label(f"Ý kiến khi trả hồ sơ {SENT_BACK_TITLE}").fill(SEND_BACK_COMMENT)
    row.get_by_role("button", name="Trả về").click()
    expect(flash(director, f"Đã trả hồ sơ “{SENT_BACK_TITLE}” về Văn phòng.")).to_be_visible()
    expect(entry_rows).to_have_count(2)
    expect(director.locator("#report-entries")).not_to_contain_text(SENT_BACK_TITLE)
    expect(report_state(director)).to_have_text("Chờ ký")
    shot(director, "06-director-sent-back")

    office.goto(f"/hoat-dong/{sent_back_id}")
    expect(office.locator("#entry-state")).to_have_text("Chờ Văn phòng Sở duyệt")
    expect(office.locator("#return-comment")).to_contain_text(SEND_BACK_COMMENT)
    shot(office, "07-entry-sent-back")

    # The director signs: number, date, signed PDF.
    director.locator("#report-actions").get_by_role("link", name="Ký duyệt").click()
    dialog = director.get_by_role("dialog", name="Ký duyệt báo cáo?")
    expect(dialog).to_contain_text(f"Văn bản sẽ mang số {NUMBER} ngày {today_vn():%d/%m/%Y}.")
    dialog.get_by_role("button", name="Ký duyệt").click()
    expect(flash(director, f"Đã ký báo cáo số {NUMBER}.")).to_be_visible(timeout=SLOW_MS)
    expect(report_state(director)).to_have_text("Đã ký")
    expect(director.locator("#report-number")).to_have_text(NUMBER)
    today = today_vn()
    expect(director.locator("#report-number").locator("..")).to_contain_text(
        f"ngày {today:%d/%m/%Y}"
    )
    shot(director, "08-director-signed")
    signed_pdf = download(director, director.get_by_role("link", name="PDF đã ký"))
    [director_sig] = validate(signed_pdf, roots)
    assert director_sig.ok, director_sig.summary
    assert director_sig.coverage == "ENTIRE_FILE"
    assert "Nguyễn Quang Huy" in (director_sig.signer_cn or "")
    text_layer = " ".join(pdfmod.pdf_text(signed_pdf).split())
    assert NUMBER in text_layer and LEADERSHIP in text_layer
    assert PRINTED_TITLE in text_layer
    assert SENT_BACK_TITLE not in text_layer

    # 4. Văn thư issues it: register and archive.
    clerk = page_for(world.clerk)
    expect(clerk.locator("#todo-count")).to_have_text("1")
    clerk.get_by_role("link", name="Việc cần xử lý").click()
    inbox = clerk.locator("#report-inbox tbody tr")
    expect(inbox).to_have_count(1)
    expect(inbox).to_contain_text("Đã ký")
    inbox.get_by_role("link", name="Mở báo cáo").click()
    expect(report_state(clerk)).to_have_text("Đã ký")
    clerk.locator("#report-actions").get_by_role("link", name="Phát hành").click()
    dialog = clerk.get_by_role("dialog", name=f"Phát hành báo cáo số {NUMBER}?")
    dialog.get_by_role("button", name="Phát hành").click()
    expect(flash(clerk, f"Đã phát hành báo cáo số {NUMBER}")).to_be_visible(timeout=SLOW_MS)
    expect(report_state(clerk)).to_have_text("Đã phát hành")
    expect(clerk.locator("#todo-count")).to_have_text("0")
    history = clerk.locator("#report-history > li strong")
    expect(history).to_have_text(
        [
            "Tổng hợp báo cáo",
            "Trình ký",
            "Trả lại",
            "Trình ký",
            "Trả hồ sơ về Văn phòng",
            "Ký duyệt",
            "Phát hành",
        ]
    )
    shot(clerk, "09-clerk-issued")

    clerk.goto(f"/so-van-ban-di?nam={today.year}")
    register_rows = clerk.locator("#register-table tbody tr")
    expect(register_rows).to_have_count(1)
    expect(register_rows.first.locator("td").first).to_have_text(NUMBER)
    expect(register_rows.first).to_contain_text(world.director.full_name)
    register_docx = download(clerk, clerk.get_by_role("link", name="In sổ (.docx)"))
    assert NUMBER in docx_xml(register_docx)
    shot(clerk, "10-register")

    clerk.goto("/luu-tru")
    archive_row = clerk.locator("#archive-table tbody tr").filter(has_text=NUMBER)
    expect(archive_row).to_have_count(1)
    shot(clerk, "11-archive")
    archived_pdf = download(clerk, archive_row.get_by_role("link", name="PDF", exact=True))
    archived_docx = download(clerk, archive_row.get_by_role("link", name=".docx", exact=True))
    first, second = validate(archived_pdf, roots)
    assert first.ok and second.ok, (first.summary, second.summary)
    assert (second.coverage, second.modification_level) == ("ENTIRE_FILE", "NONE")
    assert "DỰ THẢO" not in docx_xml(archived_docx)

    # 5. Any user (here a staff member) verifies files on /kiem-tra.
    staff = page_for(world.staff_a)
    verdict = verify(staff, "bao-cao.pdf", archived_pdf, "application/pdf")
    expect(verdict).to_have_text(re.compile(r"^Văn bản hợp lệ"))
    expect(staff.locator("#verify-number")).to_contain_text(NUMBER)
    expect(staff.locator("#signatures tbody tr")).to_have_count(2)
    shot(staff, "12-verify-valid")
    verdict = verify(
        staff, "bao-cao-sua.pdf", flipped_outside_signatures(archived_pdf), "application/pdf"
    )
    expect(verdict).not_to_have_text(re.compile(r"hợp lệ"))
    expect(verdict).to_have_class(re.compile(r"text-danger"))
    shot(staff, "13-verify-tampered")
    docx_mime = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    verdict = verify(staff, "bao-cao.docx", archived_docx, docx_mime)
    expect(verdict).to_have_text(re.compile(r"^Văn bản hợp lệ"))
    expect(staff.locator("#verify-number")).to_contain_text(NUMBER)
    expect(staff.locator("#verify-result")).to_contain_text(
        "Đã dùng chữ ký .p7s lưu trong hệ thống để kiểm tra."
    )
    shot(staff, "14-verify-docx")

    # 6. The issued report is read-only for everybody, by button and by a forged POST.
    db.session.expire_all()
    report = db.session.get(Report, report_id)
    version = report.version
    events = db.session.scalar(select(func.count(Event.id)).where(Event.report_id == report_id))
    for person, page in (("office", office), ("chief", chief), ("director", director)):
        page.goto(report_url)
        expect(report_state(page)).to_have_text("Đã phát hành")
        expect(page.locator("main form")).to_have_count(0)
        expect(page.locator("main button")).to_have_count(0)
        expect(page.locator("#report-number")).to_have_text(NUMBER)
        shot(page, f"15-issued-as-{person}")
    clerk.goto(report_url)
    expect(report_state(clerk)).to_have_text("Đã phát hành")
    expect(clerk.locator("main form")).to_have_count(0)
    expect(clerk.locator("main button")).to_have_count(0)
    for page, action in ((director, "sign"), (clerk, "issue"), (clerk, "sign"), (office, "issue")):
        token = page.locator("input[name=csrf_token]").first.get_attribute("value")
        for form in ({"csrf_token": token, "version": str(version)}, {"csrf_token": token}):
            response = page.request.post(
                f"{report_url}/thao-tac/{action}", form=form, max_redirects=0
            )
            assert response.status == 403, (action, form, response.status)
    db.session.expire_all()
    report = db.session.get(Report, report_id)
    assert report.version == version and report.number_symbol == NUMBER
    assert (
        db.session.scalar(select(func.count(Event.id)).where(Event.report_id == report_id))
        == events
    )
    assert db.session.scalar(select(func.count(ArchivedDocument.id))) == 1
    assert db.session.scalar(select(func.count(RegisterEntry.id))) == 1
    assert db.session.get(Entry, special_id).report_id == report_id
