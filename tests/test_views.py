"""Views: login required everywhere, ownership, wrong-state 403s, forms, search, N+1."""

from __future__ import annotations

import re
import unicodedata

import pytest

from danvan.extensions import db
from danvan.models import Entry, Event
from danvan.operations import entries as ops
from danvan.workflow import EntryAction, EntryState
from tests.factories import waiting_at

# Recipients verify without an account: the upload page and the page a document's QR opens.
# The department's public page (tests/test_public.py walks every route anonymously).
PUBLIC = {
    "static",
    "auth.login",
    "archive.verify",
    "archive.document",
    "archive.document_pdf",
    "public.index",
    "public.campaign",
    "public.feed",
}


def all_routes(app, *, api: bool = False):
    """Every (method, url) of the HTML pages, or with ``api`` of /api/v1."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC or rule.rule.startswith("/api/") != api:
            continue
        values = {arg: 1 for arg in rule.arguments}
        if "action" in rule.arguments:
            values["action"] = "approve"
        from flask import url_for

        with app.test_request_context():
            url = url_for(rule.endpoint, **values)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, url


def test_every_route_requires_login(app, client):
    routes = list(all_routes(app))
    assert len(routes) >= 12
    for method, url in routes:
        response = client.open(url, method=method)
        if url == "/dang-xuat":
            continue
        assert response.status_code == 302, (method, url)
        assert "/dang-nhap" in response.headers["Location"], (method, url)


def test_every_api_route_requires_a_token(app, client):
    """/api/v1 answers 401 problem+json without a Bearer token; only its OpenAPI document
    is public."""
    routes = list(all_routes(app, api=True))
    assert len(routes) >= 20
    for method, url in routes:
        response = client.open(url, method=method)
        if url == "/api/v1/openapi.json":
            assert response.status_code == 200
            continue
        assert response.status_code == 401, (method, url)
        assert response.mimetype == "application/problem+json", (method, url)


def test_other_units_entry_is_404(world, login):
    entry = ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    ops.act(entry, EntryAction.SUBMIT, actor=world.staff_a)
    db.session.commit()
    client = login(world.staff_b)
    for url in (f"/hoat-dong/{entry.id}", f"/hoat-dong/{entry.id}/sua"):
        assert client.get(url).status_code == 404
    assert (
        client.post(
            f"/hoat-dong/{entry.id}/thao-tac/approve", data={"version": entry.version}
        ).status_code
        == 404
    )
    assert entry.title not in client.get("/hoat-dong").get_data(as_text=True)
    # ...while the own unit's head and the office see it.
    assert login(world.head_a).get(f"/hoat-dong/{entry.id}").status_code == 200
    assert login(world.office).get(f"/hoat-dong/{entry.id}").status_code == 200


def test_drafts_are_private_to_their_author(world, login):
    entry = ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    db.session.commit()
    assert login(world.head_a).get(f"/hoat-dong/{entry.id}").status_code == 404
    assert login(world.staff_a).get(f"/hoat-dong/{entry.id}").status_code == 200


def test_action_not_allowed_is_403_with_message(world, login):
    entry = ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    ops.act(entry, EntryAction.SUBMIT, actor=world.staff_a)
    db.session.commit()
    # The author cannot approve their own entry.
    response = login(world.staff_a).post(
        f"/hoat-dong/{entry.id}/thao-tac/approve", data={"version": entry.version}
    )
    assert response.status_code == 403
    assert "Bạn không có quyền thực hiện “Duyệt”" in response.get_data(as_text=True)
    # The office cannot act before the unit step.
    response = login(world.office).post(
        f"/hoat-dong/{entry.id}/thao-tac/approve", data={"version": entry.version}
    )
    assert response.status_code == 403
    assert "Chờ Trưởng phòng duyệt" in response.get_data(as_text=True)
    assert waiting_at(db.session.get(Entry, entry.id)) == "unit_head"


def test_return_without_comment_is_a_form_error(world, login):
    entry = ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    ops.act(entry, EntryAction.SUBMIT, actor=world.staff_a)
    db.session.commit()
    client = login(world.head_a)
    response = client.post(
        f"/hoat-dong/{entry.id}/thao-tac/return",
        data={"version": entry.version, "comment": "  "},
        follow_redirects=True,
    )
    assert "Vui lòng nhập ý kiến khi trả lại." in response.get_data(as_text=True)
    assert waiting_at(db.session.get(Entry, entry.id)) == "unit_head"


def test_double_submit_makes_one_transition(world, login):
    entry = ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    db.session.commit()
    client = login(world.staff_a)
    version = entry.version
    first = client.post(
        f"/hoat-dong/{entry.id}/thao-tac/submit", data={"version": version}, follow_redirects=True
    )
    second = client.post(
        f"/hoat-dong/{entry.id}/thao-tac/submit", data={"version": version}, follow_redirects=True
    )
    assert first.status_code == second.status_code == 200
    assert "đã được thực hiện" in second.get_data(as_text=True)
    submits = db.session.query(Event).filter_by(entry_id=entry.id, action="submit").count()
    assert submits == 1


def test_two_approvers_at_once(world, login, app):
    entry = ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    ops.act(entry, EntryAction.SUBMIT, actor=world.staff_a)
    ops.act(entry, EntryAction.APPROVE, actor=world.head_a)
    world.chief.role_rows  # noqa: B018 - chief is office too
    db.session.commit()
    version = entry.version
    office = login(world.office)
    other = app.test_client()
    other.post("/dang-nhap", data={"username": world.chief.username, "password": "matkhau-123"})
    ok = office.post(
        f"/hoat-dong/{entry.id}/thao-tac/approve", data={"version": version}, follow_redirects=True
    )
    late = other.post(
        f"/hoat-dong/{entry.id}/thao-tac/return",
        data={"version": version, "comment": "Trả lại"},
        follow_redirects=True,
    )
    assert "Đã duyệt hồ sơ “Hội nghị tuyên truyền công tác dân vận (QLXD)”." in ok.get_data(
        as_text=True
    )
    assert "Hồ sơ đã được người khác xử lý, vui lòng tải lại trang." in late.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Entry, entry.id).state == EntryState.APPROVED
    assert db.session.query(Event).filter_by(entry_id=entry.id, action="return").count() == 0


def test_create_through_form_cleans_text_and_parses_vietnamese_numbers(world, login):
    client = login(world.staff_a)
    title = unicodedata.normalize("NFD", "Thăm hỏi hộ nghèo xã Thanh Hà") + "\x0b"
    response = client.post(
        f"/ke-hoach/{world.campaign.id}/hoat-dong/moi",
        data={
            "content_item_id": world.campaign.content_items[1].id,
            "title": title,
            "date_from": "17/10/2023",
            "date_to": "17/10/2023",
            "place": "Xã Thanh Hà",
            "activity_form": "Tặng quà",
            "observance_id": "0",
            "participants_officials": "12",
            "participants_citizens": "1.030",
            "amount_vnd": "15.000.000 đồng",
            "result": "Tốt",
            "gui_duyet": "1",
        },
    )
    assert response.status_code == 303
    entry = db.session.scalars(db.select(Entry)).one()
    assert entry.title == "Thăm hỏi hộ nghèo xã Thanh Hà"
    assert (entry.participants_citizens, entry.amount_vnd) == (1030, 15_000_000)
    assert waiting_at(entry) == "unit_head"
    page = client.get(f"/hoat-dong/{entry.id}").get_data(as_text=True)
    assert "15.000.000 đồng" in page and "17/10/2023" in page and "1.030 người dân" in page


def test_form_shows_errors_for_bad_dates(world, login):
    client = login(world.staff_a)
    url = f"/ke-hoach/{world.campaign.id}/hoat-dong/moi"
    base = {"content_item_id": world.campaign.content_items[0].id, "title": "Hội nghị"}
    page = client.post(url, data={**base, "date_from": "32/10/2023", "date_to": "01/10/2023"})
    assert "Ngày không hợp lệ" in page.get_data(as_text=True)
    page = client.post(url, data={**base, "date_from": "20/10/2023", "date_to": "10/10/2023"})
    assert "Ngày kết thúc phải sau hoặc bằng ngày bắt đầu." in page.get_data(as_text=True)
    page = client.post(url, data={**base, "date_from": "01/11/2023", "date_to": "02/11/2023"})
    text = page.get_data(as_text=True)
    assert "nằm ngoài thời gian kế hoạch" in text and 'name="confirm_outside"' in text
    assert db.session.query(Entry).count() == 0
    response = client.post(
        url,
        data={**base, "date_from": "01/11/2023", "date_to": "02/11/2023", "confirm_outside": "y"},
    )
    assert response.status_code == 303 and db.session.query(Entry).count() == 1


def test_accent_insensitive_search_and_filters(world, login):
    for title in ("Hội nghị dân vận khéo", "Tiếp công dân", "Thăm hỏi người nghèo"):
        entry = ops.create_entry(
            world.campaign, actor=world.staff_a, fields=world.entry_fields(title=title)
        )
        ops.act(entry, EntryAction.SUBMIT, actor=world.staff_a)
    db.session.commit()
    client = login(world.office)
    page = client.get("/hoat-dong?q=dan+van").get_data(as_text=True)
    assert "Hội nghị dân vận khéo" in page and "Tiếp công dân" not in page
    page = client.get("/hoat-dong?q=NGHEO").get_data(as_text=True)
    assert "Thăm hỏi người nghèo" in page and "Hội nghị" not in page
    page = client.get(f"/hoat-dong?don_vi={world.unit_b.id}").get_data(as_text=True)
    assert "0 hồ sơ" in page
    page = client.get("/hoat-dong?tu_ngay=13/10/2023").get_data(as_text=True)
    assert "0 hồ sơ" in page
    page = client.get("/hoat-dong?trang_thai=pending&q=%25").get_data(as_text=True)
    assert "0 hồ sơ" in page  # "%" is matched literally, not as a wildcard


def test_campaign_page_counts_and_deadline(world, login):
    entry = ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    ops.act(entry, EntryAction.SUBMIT, actor=world.staff_a)
    ops.create_entry(world.campaign, actor=world.staff_b, fields=world.entry_fields())
    db.session.commit()
    page = login(world.office).get(f"/ke-hoach/{world.campaign.id}").get_data(as_text=True)
    assert "01/10/2023 - 31/10/2023" in page and "05/11/2023" in page
    assert "đã quá hạn" in page
    row = re.search(r"Phòng Quản lý xây dựng</a></td>(.*?)</tr>", page, re.S).group(1)
    assert re.findall(r">(\d+)<", row) == ["1", "1"]


@pytest.mark.parametrize("path", ["/viec-can-xu-ly", "/hoat-dong"])
def test_lists_have_no_n_plus_one(world, login, count_queries, path):
    client = login(world.office)

    def add(n):
        for i in range(n):
            entry = ops.create_entry(
                world.campaign,
                actor=world.staff_a,
                fields=world.entry_fields(title=f"Hoạt động {i}"),
            )
            ops.act(entry, EntryAction.SUBMIT, actor=world.staff_a)
            ops.act(entry, EntryAction.APPROVE, actor=world.head_a)
        db.session.commit()

    add(2)
    with count_queries() as few:
        assert client.get(path).status_code == 200
    add(20)
    with count_queries() as many:
        page = client.get(path).get_data(as_text=True)
    assert page.count("Hoạt động 1") >= 1
    assert many.n == few.n, (few.n, many.n)


def test_security_headers(client):
    response = client.get("/dang-nhap")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert '<meta charset="utf-8">' in response.get_data(as_text=True)


def test_repeated_new_entry_post_creates_one_entry(world, login):
    client = login(world.staff_a)
    data = {
        "content_item_id": world.campaign.content_items[0].id,
        "title": "Hội nghị",
        "date_from": "12/10/2023",
        "date_to": "12/10/2023",
        "form_token": "tok-123",
    }
    first = client.post(f"/ke-hoach/{world.campaign.id}/hoat-dong/moi", data=data)
    second = client.post(
        f"/ke-hoach/{world.campaign.id}/hoat-dong/moi", data=data, follow_redirects=True
    )
    assert first.status_code == 303
    assert "biểu mẫu được gửi hai lần" in second.get_data(as_text=True)
    assert db.session.query(Entry).count() == 1
    # The token is the author's own: another user's identical token makes their own entry.
    login(world.staff_a2).post(
        f"/ke-hoach/{world.campaign.id}/hoat-dong/moi", data={**data, "form_token": "tok-456"}
    )
    assert db.session.query(Entry).count() == 2


def test_office_inbox_filters(world, login):
    for author, head, title in (
        (world.staff_a, world.head_a, "Hội nghị dân vận khéo"),
        (world.staff_b, world.head_b, "Tiếp công dân"),
    ):
        entry = ops.create_entry(
            world.campaign, actor=author, fields=world.entry_fields(title=title)
        )
        ops.act(entry, EntryAction.SUBMIT, actor=author)
        ops.act(entry, EntryAction.APPROVE, actor=head)
    db.session.commit()
    client = login(world.office)
    page = client.get("/viec-can-xu-ly").get_data(as_text=True)
    assert "Hội nghị dân vận khéo" in page and "Tiếp công dân" in page
    page = client.get("/viec-can-xu-ly?q=DAN+VAN").get_data(as_text=True)
    assert "Hội nghị dân vận khéo" in page and "Tiếp công dân" not in page
    page = client.get(f"/viec-can-xu-ly?don_vi={world.unit_b.id}").get_data(as_text=True)
    assert "Tiếp công dân" in page and "Hội nghị dân vận khéo" not in page
    page = client.get("/viec-can-xu-ly?tu_ngay=20/10/2023").get_data(as_text=True)
    assert "Hồ sơ hoạt động (0)" in page
