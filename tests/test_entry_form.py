"""The entry form as a clerk meets it on day one: evidence on the form and while the entry waits
for the unit head, evidence a campaign may require, required marks, error summary, examples
that fit the field and the year, length limits, two tabs, gifts in the report, characters the
official fonts cannot print, and flash messages that name the entry."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import date
from pathlib import Path

import pytest

from danvan.documents import context as doc_context
from danvan.documents.model import clean_text
from danvan.documents.report_docx import APPENDIX_HEADINGS, render_report_docx
from danvan.entries.forms import EntryForm
from danvan.extensions import db
from danvan.models import ENTRY_FIELDS, Attachment, Entry, Event, Report
from danvan.operations import Invalid, NotAllowed
from danvan.operations import entries as ops
from danvan.text import (
    PRINTABLE_RANGES,
    shorten,
    strip_unprintable,
    unprintable_chars,
    unprintable_js_pattern,
)
from danvan.workflow import EntryAction, EntryState
from tests.factories import create_campaign, require, waiting_at

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
NAME = "“Hội nghị tuyên truyền công tác dân vận (QLXD)”"


def png(n: int) -> bytes:
    return PNG + bytes([n])


def form_data(world, campaign=None, **overrides) -> dict:
    campaign = campaign or world.campaign
    year = campaign.year
    data = {
        "content_item_id": campaign.content_items[0].id,
        "title": "Hội nghị tuyên truyền công tác dân vận",
        "date_from": f"12/10/{year}",
        "date_to": f"12/10/{year}",
        "place": "Hội trường Sở",
        "observance_id": "0",
        "participants_officials": "40",
        "participants_citizens": "15",
        "result": "Quán triệt đầy đủ.",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def with_files(data: dict, *files: tuple[str, bytes]) -> dict:
    return {**data, "files": [(io.BytesIO(content), name) for name, content in files]}


def post_new(client, world, data, campaign=None):
    campaign = campaign or world.campaign
    return client.post(
        f"/ke-hoach/{campaign.id}/hoat-dong/moi",
        data=data,
        content_type="multipart/form-data",
    )


def page_of(response) -> str:
    return response.get_data(as_text=True)


def events_of(entry_id: int) -> list[tuple[str, str | None]]:
    rows = db.session.query(Event).filter_by(entry_id=entry_id).order_by(Event.id)
    return [(e.action, e.comment) for e in rows]


@pytest.fixture
def strict(world):
    """The world's campaign asks for evidence before "Gửi duyệt"."""
    world.campaign.evidence_required = True
    db.session.commit()
    return world.campaign


@pytest.fixture
def pending(world):
    """An entry of staff_a waiting for the unit head, with one photo."""
    entry = ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    ops.add_attachment(
        entry, actor=world.staff_a, filename="anh.png", data=png(1), max_bytes=10**6, max_files=10
    )
    ops.act(entry, EntryAction.SUBMIT, actor=world.staff_a)
    db.session.commit()
    return entry


# --- Evidence on the form ----------------------------------------------------------------------


def test_new_form_has_a_multiple_file_input_and_says_when_files_can_be_added(world, login):
    page = page_of(login(world.staff_a).get(f"/ke-hoach/{world.campaign.id}/hoat-dong/moi"))
    assert 'enctype="multipart/form-data"' in page
    assert re.search(r'<input[^>]*type="file"[^>]*name="files"[^>]*multiple', page)
    assert "kéo thả tệp" in page and "đính kèm vào hồ sơ khi bấm lưu" in page
    assert "bổ sung được minh chứng cho đến khi trưởng phòng duyệt" in page
    assert "/static/js/evidence.js" in page and "<script>" not in page  # CSP: files only


def test_files_posted_with_the_form_are_attached_and_logged(world, login):
    client = login(world.staff_a)
    data = with_files({**form_data(world), "gui_duyet": "1"}, ("a.png", png(1)), ("b.png", png(2)))
    response = post_new(client, world, data)
    assert response.status_code == 303
    entry = db.session.scalars(db.select(Entry)).one()
    assert [a.filename for a in entry.attachments] == ["a.png", "b.png"]
    assert waiting_at(entry) == "unit_head"
    assert events_of(entry.id) == [
        ("create", None),
        ("attach", "a.png"),
        ("attach", "b.png"),
        ("submit", None),
    ]
    page = page_of(client.get(f"/hoat-dong/{entry.id}"))
    assert f"Đã lưu và gửi duyệt hồ sơ {NAME} (kèm 2 tệp minh chứng)." in page


def test_staged_upload_answers_a_token_the_form_posts_back(world, login):
    client = login(world.staff_a)
    answer = client.post(
        "/minh-chung/tai-len",
        data={"file": (io.BytesIO(png(3)), "ảnh hội nghị.png")},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["name"] == "ảnh hội nghị.png" and body["size"].endswith("KB")
    assert db.session.query(Attachment).count() == 0  # stored, not attached yet
    response = post_new(client, world, {**form_data(world), "staged": body["token"]})
    assert response.status_code == 303
    entry = db.session.scalars(db.select(Entry)).one()
    assert [a.filename for a in entry.attachments] == ["ảnh hội nghị.png"]


def test_staged_upload_refuses_a_disguised_file_in_vietnamese(world, login):
    answer = login(world.staff_a).post(
        "/minh-chung/tai-len",
        data={"file": (io.BytesIO(b"MZ\x90\x00" + b"\x00" * 50), "bien-ban.pdf")},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 422
    assert "không phải định dạng được phép" in answer.get_json()["error"]


def test_a_token_is_the_uploaders_own_and_cannot_be_forged(world, login):
    client = login(world.staff_a)
    token = client.post(
        "/minh-chung/tai-len",
        data={"file": (io.BytesIO(png(4)), "a.png")},
        content_type="multipart/form-data",
    ).get_json()["token"]
    other = login(world.staff_a2)
    for bad in (token, token[:-3] + "abc", "khong-phai-token"):
        page = page_of(post_new(other, world, {**form_data(world), "staged": bad}))
        assert "không còn dùng được" in page
    assert db.session.query(Entry).count() == 0


def test_a_refused_form_keeps_its_files(world, login):
    client = login(world.staff_a)
    data = with_files(form_data(world, title=""), ("giu-lai.png", png(5)))
    page = page_of(post_new(client, world, data))
    assert "giu-lai.png" in page and 'name="staged"' in page
    token = re.search(r'name="staged" value="([^"]+)"', page).group(1)
    response = post_new(client, world, {**form_data(world), "staged": token})
    assert response.status_code == 303
    assert [a.filename for a in db.session.scalars(db.select(Attachment))] == ["giu-lai.png"]


# --- Evidence while the entry waits for the unit head ---------------------------------------------


def test_author_supplements_evidence_at_the_unit_step_and_the_head_sees_it(world, login, pending):
    client = login(world.staff_a)
    page = page_of(client.get(f"/hoat-dong/{pending.id}"))
    assert 'class="upload-form"' in page and "cho đến khi trưởng phòng duyệt" in page
    assert ">Xóa</button>" not in page  # files can be added, not removed, once sent
    response = client.post(
        f"/hoat-dong/{pending.id}/minh-chung",
        data={"files": [(io.BytesIO(png(6)), "bien-ban.png")]},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert f"Đã tải lên 1 tệp minh chứng cho hồ sơ {NAME}." in page_of(response)
    assert events_of(pending.id)[-1] == ("supplement", "bien-ban.png")
    head_page = page_of(login(world.head_a).get(f"/hoat-dong/{pending.id}"))
    assert "Bổ sung minh chứng" in head_page and "bien-ban.png" in head_page
    assert 'class="upload-form"' not in head_page


def test_nobody_else_adds_files_and_nobody_after_the_unit_approval(world, login, pending):
    with pytest.raises(NotAllowed):
        ops.add_attachment(
            pending, actor=world.head_a, filename="x.png", data=png(7), max_bytes=10**6, max_files=9
        )
    with pytest.raises(NotAllowed):
        ops.remove_attachment(pending.attachments[0], actor=world.staff_a)
    ops.act(pending, EntryAction.APPROVE, actor=world.head_a)
    db.session.commit()
    with pytest.raises(NotAllowed):
        ops.add_attachment(
            pending,
            actor=world.staff_a,
            filename="x.png",
            data=png(7),
            max_bytes=10**6,
            max_files=9,
        )
    db.session.rollback()
    client = login(world.staff_a)
    assert 'class="upload-form"' not in page_of(client.get(f"/hoat-dong/{pending.id}"))
    response = client.post(
        f"/hoat-dong/{pending.id}/minh-chung",
        data={"files": [(io.BytesIO(png(8)), "muon.png")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 403


def test_draft_uploads_and_removals_are_in_the_history(world, login):
    entry = ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    attachment = ops.add_attachment(
        entry, actor=world.staff_a, filename="nham.png", data=png(9), max_bytes=10**6, max_files=9
    )
    db.session.commit()
    client = login(world.staff_a)
    response = client.post(
        f"/hoat-dong/{entry.id}/minh-chung/{attachment.id}/xoa", follow_redirects=True
    )
    page = page_of(response)
    assert f"Đã xóa tệp minh chứng “nham.png” khỏi hồ sơ {NAME}." in page
    assert events_of(entry.id) == [("create", None), ("attach", "nham.png"), ("detach", "nham.png")]
    assert "Thêm minh chứng" in page and "Xóa minh chứng" in page


def test_edit_form_removes_and_adds_files_on_save(world, login):
    entry = ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    old = ops.add_attachment(
        entry, actor=world.staff_a, filename="cu.png", data=png(10), max_bytes=10**6, max_files=9
    )
    db.session.commit()
    client = login(world.staff_a)
    page = page_of(client.get(f"/hoat-dong/{entry.id}/sua"))
    assert "Xóa khi lưu" in page and "cu.png" in page
    data = with_files(
        {**form_data(world), "version": str(entry.version), "remove_file": str(old.id)},
        ("moi.png", png(11)),
    )
    response = client.post(
        f"/hoat-dong/{entry.id}/sua", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 303
    assert [a.filename for a in db.session.get(Entry, entry.id).attachments] == ["moi.png"]


# --- A campaign may require evidence ------------------------------------------------------------


def test_campaign_default_is_no_evidence_required(world):
    assert world.campaign.evidence_required is False


def test_submit_without_evidence_is_refused_when_the_campaign_requires_it(world, strict):
    entry = ops.create_entry(strict, actor=world.staff_a, fields=world.entry_fields())
    with pytest.raises(Invalid) as refused:
        ops.act(entry, EntryAction.SUBMIT, actor=world.staff_a)
    assert refused.value.message == ops.EVIDENCE_REQUIRED_MESSAGE
    assert "yêu cầu minh chứng" in refused.value.message
    ops.add_attachment(
        entry, actor=world.staff_a, filename="a.png", data=png(12), max_bytes=10**6, max_files=9
    )
    ops.act(entry, EntryAction.SUBMIT, actor=world.staff_a)
    assert waiting_at(entry) == "unit_head"


def test_new_form_send_without_files_keeps_everything_typed(world, login, strict):
    client = login(world.staff_a)
    response = post_new(client, world, {**form_data(world, gifts="10 suất quà"), "gui_duyet": "1"})
    page = page_of(response)
    assert response.status_code == 200
    assert "kế hoạch này yêu cầu minh chứng" in page
    assert 'value="Hội nghị tuyên truyền công tác dân vận"' in page and "10 suất quà" in page
    assert db.session.query(Entry).count() == 0
    # "Lưu nháp" needs no file.
    assert post_new(client, world, form_data(world)).status_code == 303
    entry = db.session.scalars(db.select(Entry)).one()
    page = page_of(client.get(f"/hoat-dong/{entry.id}"))
    assert "yêu cầu ít nhất một tệp minh chứng trước khi gửi duyệt" in page
    refused = client.post(
        f"/hoat-dong/{entry.id}/thao-tac/submit",
        data={"version": entry.version},
        follow_redirects=True,
    )
    assert "kế hoạch này yêu cầu minh chứng" in page_of(refused)
    assert db.session.get(Entry, entry.id).state == EntryState.DRAFT


def test_seed_asks_for_evidence_in_the_current_campaign_only(app):
    from danvan.seed import seed_demo

    objects = seed_demo()
    assert objects["current"].evidence_required is True
    assert objects["past"].evidence_required is False


# --- Required marks, error summary, examples, limits -------------------------------------------


def test_required_fields_are_marked(world, login):
    page = page_of(login(world.staff_a).get(f"/ke-hoach/{world.campaign.id}/hoat-dong/moi"))
    assert "Trường có dấu" in page and "là bắt buộc" in page
    assert page.count('aria-required="true"') == 4
    for name in EntryForm.REQUIRED:
        tag = re.search(rf'<(?:input|select)[^>]*id="{name}"[^>]*>', page).group(0)
        assert 'aria-required="true"' in tag, name


@pytest.mark.parametrize(
    "overrides,expected",
    [
        ({"title": ""}, "Tên hoạt động</a>: Vui lòng nhập tên hoạt động."),
        ({"date_from": ""}, "Từ ngày</a>: Vui lòng nhập ngày bắt đầu."),
        ({"participants_citizens": "mười"}, "Vui lòng nhập số nguyên, ví dụ 120."),
        ({"participants_officials": "-3"}, "Số người phải từ 0 đến 10.000.000."),
        ({"amount_vnd": "nhiều"}, "Vui lòng nhập số nguyên, ví dụ 1.234.500."),
        ({"content_item_id": "999"}, "Nội dung</a>: Lựa chọn không hợp lệ."),
        ({"date_to": "01/10/2023"}, "Ngày kết thúc phải sau hoặc bằng ngày bắt đầu."),
        ({"title": "x" * 501}, "Tên hoạt động</a>: Không được dài quá 500 ký tự."),
    ],
)
def test_every_kind_of_error_is_in_the_summary(world, login, overrides, expected):
    page = page_of(post_new(login(world.staff_a), world, form_data(world, **overrides)))
    summary = re.search(r'<div class="alert[^"]*error-summary".*?</div>', page, re.S)
    assert summary, "no error summary"
    assert expected in summary.group(0)
    assert db.session.query(Entry).count() == 0


def test_hints_fit_the_field_and_the_campaigns_year(world, login):
    campaign = create_campaign(world.agency, year=2026)
    db.session.commit()
    client = login(world.staff_a)
    page = page_of(client.get(f"/ke-hoach/{campaign.id}/hoat-dong/moi"))
    assert "ví dụ 15/10/2026" in page and "2023" not in page.split("<form", 1)[1]
    assert "Số người, ví dụ 120" in page and "ví dụ 1.234.500" in page
    bad = post_new(client, world, form_data(world, campaign, date_from="32/10/2026"), campaign)
    assert "hãy nhập theo dạng dd/mm/yyyy (ví dụ 15/10/2026)." in page_of(bad)


def test_text_limits_are_stated_and_long_text_is_never_cut(world, login):
    client = login(world.staff_a)
    page = page_of(client.get(f"/ke-hoach/{world.campaign.id}/hoat-dong/moi"))
    for limit in ("500", "300", "200", "2.000", "20.000"):
        assert f"Tối đa {limit} ký tự" in page
    assert "maxlength" not in page  # the browser would cut pasted text silently
    long_title = "Hội nghị " * 70  # 630 characters
    page = page_of(post_new(client, world, form_data(world, title=long_title)))
    assert f'value="{long_title.strip()}"' in page  # all of it, as typed
    assert "đã nhập 629, vượt 129 ký tự" in page


# --- Two tabs -------------------------------------------------------------------------------------


def _edit_page(client, entry) -> tuple[dict, str]:
    page = page_of(client.get(f"/hoat-dong/{entry.id}/sua"))
    hidden = {
        name: re.search(rf'id="{name}" name="{name}" type="hidden" value="([^"]*)"', page)
        for name in ("version", "original")
    }
    values = {k: (m.group(1).replace("&#34;", '"') if m else "") for k, m in hidden.items()}
    return values, page


def test_second_tab_save_keeps_what_was_typed_and_shows_the_conflict(world, login):
    entry = ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    db.session.commit()
    client = login(world.staff_a)
    tab_a, _ = _edit_page(client, entry)
    tab_b, _ = _edit_page(client, entry)
    assert json.loads(tab_a["original"]).keys() == ENTRY_FIELDS.keys()
    # Tab B changes the result and saves.
    first = client.post(
        f"/hoat-dong/{entry.id}/sua", data={**form_data(world, result="Kết quả từ thẻ B"), **tab_b}
    )
    assert first.status_code == 303
    # Tab A, still on the old version, changes the title and the result.
    typed = form_data(
        world, title="Tên mới từ thẻ A", result="Kết quả từ thẻ A", place="Nhà văn hóa"
    )
    second = client.post(f"/hoat-dong/{entry.id}/sua", data={**typed, **tab_a})
    page = page_of(second)
    assert second.status_code == 409
    assert re.search(
        r"Hồ sơ đã được cập nhật lúc \d\d:\d\d bởi bạn, so với bản bạn đang sửa: Kết quả\.", page
    )
    assert 'value="Tên mới từ thẻ A"' in page and "Kết quả từ thẻ A</textarea>" in page
    assert "Kết quả từ thẻ B" in page  # the saved value, shown next to it
    saved = db.session.get(Entry, entry.id)
    assert (saved.title, saved.result) == (
        "Hội nghị tuyên truyền công tác dân vận",
        "Kết quả từ thẻ B",
    )
    # Saving again (the form now carries the saved version) keeps A's values.
    version = re.search(r'id="version" name="version" type="hidden" value="(\d+)"', page).group(1)
    original = re.search(r'id="original" name="original" type="hidden" value="([^"]*)"', page)
    third = client.post(
        f"/hoat-dong/{entry.id}/sua",
        data={**typed, "version": version, "original": original.group(1).replace("&#34;", '"')},
    )
    assert third.status_code == 303
    db.session.expire_all()
    saved = db.session.get(Entry, entry.id)
    assert (saved.title, saved.result, saved.place) == (
        "Tên mới từ thẻ A",
        "Kết quả từ thẻ A",
        "Nhà văn hóa",
    )


def test_a_field_only_the_other_tab_changed_is_taken_over(world, login):
    entry = ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    db.session.commit()
    client = login(world.staff_a)
    tab_a, _ = _edit_page(client, entry)
    tab_b, _ = _edit_page(client, entry)
    client.post(
        f"/hoat-dong/{entry.id}/sua", data={**form_data(world, place="Xã Thanh Hà"), **tab_b}
    )
    page = page_of(
        client.post(f"/hoat-dong/{entry.id}/sua", data={**form_data(world, title="Tên A"), **tab_a})
    )
    assert "so với bản bạn đang sửa: Địa điểm." in page
    assert 'value="Xã Thanh Hà"' in page and 'value="Tên A"' in page
    assert "bản đã lưu</td>" in page


def test_entry_sent_from_the_other_tab_shows_the_conflict_without_saving(world, login):
    entry = ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    db.session.commit()
    client = login(world.staff_a)
    tab_a, _ = _edit_page(client, entry)
    tab_b, _ = _edit_page(client, entry)
    client.post(f"/hoat-dong/{entry.id}/sua", data={**form_data(world), **tab_b, "gui_duyet": "1"})
    response = client.post(
        f"/hoat-dong/{entry.id}/sua", data={**form_data(world, result="Bản của thẻ A"), **tab_a}
    )
    page = page_of(response)
    assert response.status_code == 409
    assert "bởi bạn (Gửi duyệt)" in page and "Bản của thẻ A</textarea>" in page
    assert "Không thể sửa hồ sơ ở trạng thái “Chờ Trưởng phòng duyệt”" in page
    assert 'name="gui_duyet"' not in page
    assert db.session.get(Entry, entry.id).result == "Quán triệt đầy đủ."


def test_conflict_names_another_person(world, app):
    from danvan.entries.conflict import resolve_conflict

    entry = ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    ops.act(entry, EntryAction.SUBMIT, actor=world.staff_a)
    ops.act(entry, EntryAction.RETURN, actor=world.head_a, comment="Bổ sung ảnh")
    db.session.commit()
    with app.test_request_context(method="POST", data=form_data(world)):
        form = EntryForm(campaign=world.campaign)
        conflict = resolve_conflict(entry, form, world.staff_a)
    assert "bởi Vũ Đức Minh (Trả lại)" in conflict.message
    assert conflict.editable


# --- Flash messages name the entry ---------------------------------------------------------------


def test_action_flashes_name_the_entry(world, login):
    entry = ops.create_entry(
        world.campaign,
        actor=world.staff_a,
        fields=world.entry_fields(
            title="Thăm hỏi, tặng quà các hộ gia đình chính sách, hộ nghèo phường Lê Hồng Phong"
        ),
    )
    db.session.commit()
    name = "“Thăm hỏi, tặng quà các hộ gia đình chính sách, hộ nghèo… (QLXD)”"
    staff = login(world.staff_a)

    def act(client, action, **data):
        response = client.post(
            f"/hoat-dong/{entry.id}/thao-tac/{action}",
            data={"version": db.session.get(Entry, entry.id).version, **data},
            follow_redirects=True,
        )
        return page_of(response)

    assert f"Đã gửi duyệt hồ sơ {name}." in act(staff, "submit")
    assert f"Đã rút lại hồ sơ {name}." in act(staff, "withdraw")
    act(staff, "submit")
    head = login(world.head_a)
    assert f"Đã trả lại hồ sơ {name}." in act(head, "return", comment="Thiếu ảnh")
    staff = login(world.staff_a)
    assert f"Đã gửi duyệt lại hồ sơ {name}." in act(staff, "resubmit")
    assert f"Đã duyệt hồ sơ {name}." in act(login(world.head_a), "approve")


def test_shorten_cuts_at_a_word():
    assert shorten("Hội nghị") == "Hội nghị"
    cut = shorten("Thăm hỏi, tặng quà các hộ gia đình chính sách, hộ nghèo phường Lê Hồng Phong")
    assert cut == "Thăm hỏi, tặng quà các hộ gia đình chính sách, hộ nghèo…" and len(cut) <= 60


# --- Characters the official fonts cannot print ---------------------------------------------------


def test_unprintable_characters_are_found_and_dropped_without_a_gap():
    assert strip_unprintable("Vui 🎉 vẻ") == "Vui vẻ"
    assert strip_unprintable("Hoàn thành ✅") == "Hoàn thành"
    assert strip_unprintable("👍🏽 Tốt\nDòng 2 🇻🇳 🎉") == "Tốt\nDòng 2"
    assert strip_unprintable("Ký hiệu ≤ 5%, № 3, “dẫn” – x ½") == "Ký hiệu ≤ 5%, № 3, “dẫn” – x ½"
    assert strip_unprintable("Thăm hỏi\thộ nghèo") == "Thăm hỏi\thộ nghèo"
    assert unprintable_chars("a 👨‍👩‍👧 b 🎉 c 🎉") == ["👨\u200d👩\u200d👧", "🎉"]
    assert unprintable_chars("Tiếng Việt có dấu: Đ ư ơ ẫ ỹ") == []
    pattern = unprintable_js_pattern()
    assert pattern.startswith("[^\\t\\n\\r\\u{20}-\\u{7e}") and pattern.endswith("]")


def test_printable_table_is_what_liberation_serif_prints():
    fonts = Path("/usr/share/fonts/truetype/liberation2")
    require(fonts.is_dir(), "không có phông Liberation Serif 2 (fonts-liberation2)")
    import unicodedata

    from fontTools.ttLib import TTFont

    styles = ("Regular", "Bold", "Italic", "BoldItalic")
    maps = [set(TTFont(fonts / f"LiberationSerif-{s}.ttf").getBestCmap()) for s in styles]
    glyphs = {
        c for c in set.intersection(*maps) if unicodedata.category(chr(c)) not in ("Cc", "Cf", "Co")
    }
    table = {c for a, b in PRINTABLE_RANGES for c in range(a, b + 1)}
    assert table == glyphs


def test_documents_drop_what_the_fonts_cannot_print(world):
    assert clean_text("Tặng quà 🎁 hộ nghèo") == "Tặng quà hộ nghèo"
    entry = ops.create_entry(
        world.campaign,
        actor=world.staff_a,
        fields=world.entry_fields(title="Trung thu 🌕 cho em", gifts="50 suất quà 🎁\n20 chăn ấm"),
    )
    assert entry.title == "Trung thu 🌕 cho em"  # the entry keeps what was typed
    blob = _report_docx(world, [entry])
    assert "🌕" not in blob and "🎁" not in blob
    assert "Trung thu cho em (" in blob


def test_form_warns_about_unprintable_characters(world, login):
    entry = ops.create_entry(
        world.campaign, actor=world.staff_a, fields=world.entry_fields(result="Rất vui 🎉")
    )
    db.session.commit()
    client = login(world.staff_a)
    page = page_of(client.get(f"/hoat-dong/{entry.id}/sua"))
    assert "ký tự không in được trong văn bản hành chính" in page
    warning = re.search(r'id="result-print"[^>]*>(.*?)</div>', page, re.S).group(1)
    assert "🎉" in warning
    assert re.search(r'id="title-print"[^>]*hidden', page)
    assert "data-unprintable=" in page
    saved = client.post(
        f"/hoat-dong/{entry.id}/sua",
        data={**form_data(world, gifts="Quà ✨"), "version": entry.version},
        follow_redirects=True,
    )
    assert "ký tự không in được trong văn bản hành chính (✨ ở “Quà tặng, hiện vật”)" in page_of(
        saved
    )


# --- Gifts reach the report; its columns are the form's labels ------------------------------------


def _report_docx(world, entries) -> str:
    report = Report(
        campaign=world.campaign,
        doc_type="BC",
        section_leadership="Lãnh đạo.",
        section_strengths="Ưu.",
        section_weaknesses="Hạn chế.",
        section_proposals="Kiến nghị.",
    )
    units = [world.office_unit, world.unit_a, world.unit_b]
    data = doc_context.report_data(
        report, entries, units, signer=world.director, number="05", issued_date=date(2023, 11, 5)
    )
    with zipfile.ZipFile(io.BytesIO(render_report_docx(data))) as z:
        xml = z.read("word/document.xml").decode()
    return "".join(re.findall(r"<w:t(?: [^>]*)?>([^<]*)</w:t>", xml))


def test_gifts_reach_section_ii_and_the_appendix(world):
    one = ops.create_entry(
        world.campaign,
        actor=world.staff_a,
        fields=world.entry_fields(gifts="50 suất quà (gạo, dầu ăn)\n20 chăn ấm"),
    )
    two = ops.create_entry(
        world.campaign,
        actor=world.staff_a,
        fields=world.entry_fields(title="Tặng sách", gifts="100 cuốn sách"),
    )
    stats = doc_context.unit_statistics([world.unit_a], [one, two])
    assert stats[0].gifts == "50 suất quà (gạo, dầu ăn); 20 chăn ấm; 100 cuốn sách"
    line = doc_context._entry_line(one)
    assert line.gifts == "50 suất quà (gạo, dầu ăn)\n20 chăn ấm"
    text = _report_docx(world, [one, two])
    assert "Quà tặng, hiện vật: 50 suất quà (gạo, dầu ăn); 20 chăn ấm." in text
    assert "50 suất quà (gạo, dầu ăn); 20 chăn ấm; 100 cuốn sách" in text  # the appendix cell


def test_appendix_columns_are_the_form_labels():
    for name in (
        "observance_id",
        "participants_officials",
        "participants_citizens",
        "amount_vnd",
        "gifts",
    ):
        assert ENTRY_FIELDS[name] in APPENDIX_HEADINGS, name
    assert "Mô hình “Dân vận khéo”" in APPENDIX_HEADINGS  # the form's group of model fields


def test_form_labels_are_entry_fields(app):
    with app.test_request_context():
        form = EntryForm()
    for name, label in ENTRY_FIELDS.items():
        assert form[name].label.text == label, name
