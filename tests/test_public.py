"""The public face: the "công khai" flag, the anonymous campaign page, its Atom feed, and that
nothing else answers an anonymous visitor."""

from __future__ import annotations

import re
import unicodedata

import pytest
from flask import url_for
from lxml import etree
from sqlalchemy import select

from danvan import create_app, publication
from danvan.extensions import db
from danvan.models import AuditLog, Entry, Report, Unit
from danvan.operations import STALE_MESSAGE, Conflict, NotAllowed
from danvan.operations import entries as entry_ops
from danvan.workflow import EntryAction, EntryState
from tests.conftest import csrf_token_from
from tests.factories import PASSWORD, approve, create_campaign, signed_report, submitted

ATOM = "{http://www.w3.org/2005/Atom}"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def approved_entries(dept) -> list[Entry]:
    return list(
        db.session.scalars(
            select(Entry).where(Entry.state == EntryState.APPROVED).order_by(Entry.id)
        )
    )


def publish(entry: Entry, actor, public: bool = True) -> None:
    publication.publish(entry, actor=actor, public=public, expected_version=entry.version)
    db.session.commit()


def page(client, campaign_id: int) -> str:
    response = client.get(f"/cong-khai/ke-hoach/{campaign_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def feed(client, campaign_id: int):
    response = client.get(f"/cong-khai/ke-hoach/{campaign_id}/atom.xml")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    return response, etree.fromstring(response.data)


# --- The operation -------------------------------------------------------------------------


def test_office_publishes_and_unpublishes_with_an_audit_row(dept):
    entry = approved_entries(dept)[0]
    version = entry.version
    assert publication.publish(entry, actor=dept.office, public=True, expected_version=version)
    db.session.commit()
    assert entry.published_at is not None and entry.published_by_id == dept.office.id
    assert publication.is_public(entry)
    publish(entry, dept.office, public=False)
    assert entry.published_at is None and entry.published_by_id is None
    rows = list(
        db.session.scalars(
            select(AuditLog).where(AuditLog.object_type == "entry").order_by(AuditLog.id)
        )
    )
    assert [(r.action, r.object_id, r.actor_id) for r in rows] == [
        ("publish", entry.id, dept.office.id),
        ("unpublish", entry.id, dept.office.id),
    ]
    assert rows[0].summary.startswith(f"Công khai hoạt động #{entry.id}")
    assert rows[1].summary.startswith(f"Thôi công khai hoạt động #{entry.id}")
    assert rows[0].after["published_by_id"] == dept.office.id


def test_the_office_chief_plays_office_too(dept):
    entry = approved_entries(dept)[0]
    publish(entry, dept.chief)
    assert publication.is_public(entry)


@pytest.mark.parametrize("who", ["staff_a", "head_a", "director", "deputy", "clerk", "admin"])
def test_only_the_office_may_set_the_flag(dept, who):
    entry = approved_entries(dept)[0]
    with pytest.raises(NotAllowed) as refused:
        publication.publish(
            entry, actor=getattr(dept, who), public=True, expected_version=entry.version
        )
    assert refused.value.message == publication.NOT_OFFICE_MESSAGE
    db.session.rollback()
    assert db.session.get(Entry, entry.id).published_at is None


def test_not_on_a_pending_entry_and_not_with_a_stale_version(dept):
    entry = entry_ops.create_entry(dept.campaign, actor=dept.staff_a, fields=dept.entry_fields())
    entry_ops.act(entry, EntryAction.SUBMIT, actor=dept.staff_a)
    db.session.commit()
    with pytest.raises(NotAllowed) as refused:
        publication.publish(entry, actor=dept.office, public=True, expected_version=entry.version)
    assert "Chỉ công khai được hoạt động đã duyệt hoặc đã ký" in refused.value.message
    assert "Chờ" in refused.value.message
    db.session.rollback()
    approved = approved_entries(dept)[0]
    with pytest.raises(Conflict) as stale:
        publication.publish(
            approved, actor=dept.office, public=True, expected_version=approved.version - 1
        )
    assert stale.value.message == STALE_MESSAGE
    db.session.rollback()
    assert db.session.get(Entry, approved.id).published_at is None


# --- The staff's button --------------------------------------------------------------------


def test_office_button_publishes_through_the_route(dept, login):
    entry = approved_entries(dept)[0]
    client = login(dept.office)
    view = client.get(f"/hoat-dong/{entry.id}").get_data(as_text=True)
    assert "Công khai trên trang thông tin" in view and "Đã công khai" not in view
    response = client.post(
        f"/cong-khai/hoat-dong/{entry.id}", data={"version": entry.version, "cong_khai": "1"}
    )
    assert response.status_code == 303
    view = client.get(f"/hoat-dong/{entry.id}").get_data(as_text=True)
    assert "Đã công khai hoạt động trên trang thông tin" in view
    assert 'id="entry-public"' in view and "Thôi công khai" in view
    entry = db.session.get(Entry, entry.id)
    assert entry.published_at is not None
    # A second click with the old version: already done, said so, nothing changes.
    response = client.post(
        f"/cong-khai/hoat-dong/{entry.id}", data={"version": entry.version - 1, "cong_khai": "1"}
    )
    assert "Hoạt động này đã được công khai." in client.get(response.location).get_data(
        as_text=True
    )
    client.post(
        f"/cong-khai/hoat-dong/{entry.id}", data={"version": entry.version, "cong_khai": "0"}
    )
    assert db.session.get(Entry, entry.id).published_at is None


@pytest.mark.parametrize("who", ["staff_a", "head_a", "director", "admin"])
def test_others_get_403_in_vietnamese_and_see_no_button(dept, login, who):
    entry = approved_entries(dept)[0]
    client = login(getattr(dept, who))
    view = client.get(f"/hoat-dong/{entry.id}").get_data(as_text=True)
    assert "Công khai trên trang thông tin" not in view
    response = client.post(
        f"/cong-khai/hoat-dong/{entry.id}", data={"version": entry.version, "cong_khai": "1"}
    )
    assert response.status_code == 403
    assert publication.NOT_OFFICE_MESSAGE in response.get_data(as_text=True)
    assert db.session.get(Entry, entry.id).published_at is None


def test_route_refuses_other_units_pending_stale_and_bad_values(dept, login):
    entry = approved_entries(dept)[0]  # unit A's
    other = login(dept.staff_b)
    url = f"/cong-khai/hoat-dong/{entry.id}"
    assert other.post(url, data={"version": entry.version, "cong_khai": "1"}).status_code == 404
    client = login(dept.office)
    assert client.post(url, data={"version": entry.version, "cong_khai": "x"}).status_code == 400
    response = client.post(url, data={"version": entry.version + 5, "cong_khai": "1"})
    assert STALE_MESSAGE in client.get(response.location).get_data(as_text=True)
    pending = entry_ops.create_entry(dept.campaign, actor=dept.staff_a, fields=dept.entry_fields())
    entry_ops.act(pending, EntryAction.SUBMIT, actor=dept.staff_a)
    db.session.commit()
    view = client.get(f"/hoat-dong/{pending.id}").get_data(as_text=True)
    assert "Công khai trên trang thông tin" not in view
    response = client.post(
        f"/cong-khai/hoat-dong/{pending.id}", data={"version": pending.version, "cong_khai": "1"}
    )
    assert response.status_code == 403
    assert "Chỉ công khai được hoạt động đã duyệt hoặc đã ký" in response.get_data(as_text=True)
    assert db.session.get(Entry, entry.id).published_at is None
    assert db.session.get(Entry, pending.id).published_at is None
    assert client.get(url).status_code == 405


def test_the_flag_needs_the_csrf_token(dept, app_config):
    entry = approved_entries(dept)[0]
    csrf_app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    client = csrf_app.test_client()
    token = csrf_token_from(client.get("/dang-nhap").get_data(as_text=True))
    client.post("/dang-nhap", data={"username": "vp", "password": PASSWORD, "csrf_token": token})
    view = client.get(f"/hoat-dong/{entry.id}").get_data(as_text=True)
    form = view[view.index('class="publish-form') :]
    token = csrf_token_from(form)
    url = f"/cong-khai/hoat-dong/{entry.id}"
    response = client.post(url, data={"version": entry.version, "cong_khai": "1"})
    assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True)
    with csrf_app.app_context():
        assert db.session.get(Entry, entry.id).published_at is None
    response = client.post(
        url, data={"version": entry.version, "cong_khai": "1", "csrf_token": token}
    )
    assert response.status_code == 303
    with csrf_app.app_context():
        assert db.session.get(Entry, entry.id).published_at is not None


# --- The public page and feed --------------------------------------------------------------


@pytest.fixture
def published(dept):
    """The department with one published entry that has evidence, a comment in its history
    and an amount; one approved entry left unpublished; one published, then sent back and
    approved again (its publication lapsed)."""
    entry = approve(
        dept,
        dept.staff_a,
        dept.head_a,
        title="Đối thoại với người dân về thủ tục cấp phép",
        place="Nhà văn hóa phường Lê Hồng Phong",
        activity_form="Đối thoại trực tiếp",
        participants_officials=12,
        participants_citizens=1234,
        amount_vnd=9_876_543,
        gifts="Quà tặng hộ nghèo ông Trần Văn Bí Mật",
        result="Giải đáp 15 kiến nghị.",
        model_name="Một cửa thân thiện",
        model_description="Mô tả nội bộ của mô hình",
    )
    db.session.commit()
    lapsed, hidden = approved_entries(dept)[0], approved_entries(dept)[1]
    publish(entry, dept.office)
    publish(lapsed, dept.office)
    report = submitted(dept)
    entry_ops.act(
        lapsed, EntryAction.SEND_BACK, actor=dept.director, comment="Ý kiến riêng của Giám đốc"
    )
    entry_ops.act(lapsed, EntryAction.APPROVE, actor=dept.office)
    db.session.commit()
    assert lapsed.state == EntryState.APPROVED and report is not None
    return dept, entry, lapsed, hidden


def with_evidence_and_comment(dept) -> Entry:
    """An entry returned with a comment, given a file, resubmitted and approved."""
    entry = entry_ops.create_entry(
        dept.campaign, actor=dept.staff_b, fields=dept.entry_fields(title="Thăm hỏi gia đình")
    )
    entry_ops.add_attachment(
        entry,
        actor=dept.staff_b,
        filename="bien-ban-noi-bo.png",
        data=PNG,
        max_bytes=10**6,
        max_files=10,
    )
    entry_ops.act(entry, EntryAction.SUBMIT, actor=dept.staff_b)
    entry_ops.act(
        entry, EntryAction.RETURN, actor=dept.head_b, comment="Bổ sung danh sách hộ nhận quà"
    )
    entry_ops.act(entry, EntryAction.RESUBMIT, actor=dept.staff_b)
    entry_ops.act(entry, EntryAction.APPROVE, actor=dept.head_b)
    entry_ops.act(entry, EntryAction.APPROVE, actor=dept.office)
    db.session.commit()
    return entry


FORBIDDEN = [
    "Nguyễn Thị Hoa",  # staff_a, the author
    "Lý Văn Tuấn",  # staff_b
    "Vũ Đức Minh",  # head_a
    "Ngô Thị Mai",  # head_b
    "Phạm Thị Lan",  # the office member who published
    "Nguyễn Quang Huy",  # the director
    "Ý kiến riêng của Giám đốc",
    "Bổ sung danh sách hộ nhận quà",
    "bien-ban-noi-bo",
    "minh-chung",
    "9.876.543",
    "1.234.500",
    "Bí Mật",
    "Mô tả nội bộ",
]


def test_page_and_feed_show_only_what_was_published(published, client):
    dept, entry, lapsed, hidden = published
    extra = with_evidence_and_comment(dept)
    publish(extra, dept.office)
    html = page(client, dept.campaign.id)
    response, root = feed(client, dept.campaign.id)
    xml = response.get_data(as_text=True)
    for text in (html, xml):
        assert "Đối thoại với người dân về thủ tục cấp phép" in text
        assert "Thăm hỏi gia đình" in text
        assert lapsed.title.replace("&", "&amp;").replace("<", "&lt;") not in text
        assert hidden.title.replace("&", "&amp;").replace("<", "&lt;") not in text
        assert "Hoạt động số" not in text
        for secret in FORBIDDEN:
            assert secret not in text, secret
    for shown in (
        "Phòng Quản lý xây dựng",
        "12/10/2023",
        "Nhà văn hóa phường Lê Hồng Phong",
        "Đối thoại trực tiếp",
        "1.246",
        "Giải đáp 15 kiến nghị.",
        "Một cửa thân thiện",
        "125/KH-SXD",
        "27/09/2023",
        "01/10/2023 - 31/10/2023",
        "Tuyên truyền Ngày truyền thống công tác dân vận",
        "Ngày truyền thống công tác dân vận (93 năm)",
        f'id="hd-{entry.id}"',
        "Sở Xây dựng tỉnh Hà Nam",
    ):
        assert shown in html, shown
    assert unicodedata.is_normalized("NFC", html)
    assert "/dang-nhap" not in html  # no staff navigation
    assert not re.search(r"\sstyle=", html) and "<script" not in html
    # Unpublishing takes it off at once.
    publish(entry, dept.office, public=False)
    assert "Đối thoại với người dân" not in page(client, dept.campaign.id)
    assert "Đối thoại với người dân" not in feed(client, dept.campaign.id)[0].get_data(as_text=True)


def test_lapsed_publication_is_said_on_the_staff_page_and_can_be_renewed(published, login):
    dept, entry, lapsed, hidden = published
    assert publication.entry_public_state(lapsed) == "lapsed"
    client = login(dept.office)
    view = client.get(f"/hoat-dong/{lapsed.id}").get_data(as_text=True)
    assert "đang ẩn" in view and "Công khai trên trang thông tin" in view
    publish(db.session.get(Entry, lapsed.id), dept.office)
    assert publication.is_public(db.session.get(Entry, lapsed.id))


def test_returned_entry_leaves_the_page(dept, client):
    entry = entry_ops.create_entry(
        dept.campaign, actor=dept.staff_a, fields=dept.entry_fields(title="Sẽ bị trả lại")
    )
    entry_ops.act(entry, EntryAction.SUBMIT, actor=dept.staff_a)
    entry_ops.act(entry, EntryAction.APPROVE, actor=dept.head_a)
    entry_ops.act(entry, EntryAction.APPROVE, actor=dept.office)
    db.session.commit()
    publish(entry, dept.office)
    assert "Sẽ bị trả lại" in page(client, dept.campaign.id)
    report = submitted(dept)
    entry_ops.act(entry, EntryAction.SEND_BACK, actor=dept.director, comment="Xem lại")
    db.session.commit()
    assert entry.state == EntryState.PENDING and report is not None
    assert "Sẽ bị trả lại" not in page(client, dept.campaign.id)
    assert "Sẽ bị trả lại" not in feed(client, dept.campaign.id)[0].get_data(as_text=True)


def test_draft_campaign_is_404_and_not_listed(dept, client):
    draft = create_campaign(dept.agency, year=2030, status="draft")
    draft.title = "Kế hoạch nháp chưa ban hành"
    db.session.commit()
    assert client.get(f"/cong-khai/ke-hoach/{draft.id}").status_code == 404
    assert client.get(f"/cong-khai/ke-hoach/{draft.id}/atom.xml").status_code == 404
    assert client.get("/cong-khai/ke-hoach/999999").status_code == 404
    index = client.get("/cong-khai/").get_data(as_text=True)
    assert "Kế hoạch nháp chưa ban hành" not in index
    assert f"/cong-khai/ke-hoach/{dept.campaign.id}" in index
    # Closed campaigns stay public.
    dept.campaign.status = "closed"
    db.session.commit()
    assert client.get(f"/cong-khai/ke-hoach/{dept.campaign.id}").status_code == 200


def test_feed_is_valid_atom(published, client):
    dept, entry, lapsed, hidden = published
    [second] = [e for e in approved_entries(dept) if e.id not in (entry.id, lapsed.id, hidden.id)]
    publish(second, dept.office)
    response, root = feed(client, dept.campaign.id)
    assert root.tag == f"{ATOM}feed"
    assert root.findtext(f"{ATOM}id").startswith("tag:127.0.0.1,2023:")
    assert "Tháng cao điểm dân vận năm 2023" in root.findtext(f"{ATOM}title")
    assert root.find(f"{ATOM}author/{ATOM}name").text == "Sở Xây dựng tỉnh Hà Nam"
    links = {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}
    page_url = f"http://127.0.0.1:5000/cong-khai/ke-hoach/{dept.campaign.id}"
    assert links == {"self": f"{page_url}/atom.xml", "alternate": page_url}
    rfc3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
    assert rfc3339.match(root.findtext(f"{ATOM}updated"))
    items = root.findall(f"{ATOM}entry")
    assert [i.findtext(f"{ATOM}title") for i in items] == [second.title, entry.title]
    for item in items:
        assert item.findtext(f"{ATOM}id").startswith("tag:")
        assert rfc3339.match(item.findtext(f"{ATOM}updated"))
        assert item.find(f"{ATOM}link").get("href").startswith(f"{page_url}#hd-")
        assert item.find(f"{ATOM}content").get("type") == "text"
    assert root.findtext(f"{ATOM}updated") == items[0].findtext(f"{ATOM}updated")
    ids = [i.findtext(f"{ATOM}id") for i in items]
    assert len(set(ids)) == len(ids)
    assert second.title in response.get_data(as_text=True).replace("&amp;", "&").replace(
        "&lt;", "<"
    ).replace("&gt;", ">")


def test_feed_strips_characters_xml_cannot_carry_and_is_nfc(published, client):
    dept, entry, *_ = published
    unit = db.session.get(Unit, entry.unit_id)
    unit.name = "Phòng\x0b Quản lý\x1f " + unicodedata.normalize("NFD", "xây dựng")
    db.session.commit()
    response, root = feed(client, dept.campaign.id)  # lxml parses it: well-formed
    summary = root.find(f"{ATOM}entry/{ATOM}summary").text
    assert summary.startswith("Phòng Quản lý xây dựng")
    assert unicodedata.is_normalized("NFC", response.get_data(as_text=True))
    assert publication.xml_text("a\x00\x01b\ufffec\td") == "abc\td"


def test_empty_feed_and_page(dept, client):
    assert "Chưa có hoạt động nào được công khai." in page(client, dept.campaign.id)
    _, root = feed(client, dept.campaign.id)
    assert root.findall(f"{ATOM}entry") == []
    assert root.findtext(f"{ATOM}updated") == "2023-09-26T17:00:00Z"  # 27/09/2023 00:00 +07


def test_public_pages_are_cacheable_and_set_no_cookie(published, client):
    dept = published[0]
    for url in (
        "/cong-khai/",
        f"/cong-khai/ke-hoach/{dept.campaign.id}",
        f"/cong-khai/ke-hoach/{dept.campaign.id}/atom.xml",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "public, max-age=300"
        assert "Set-Cookie" not in response.headers, url
        assert "Content-Security-Policy" in response.headers


def test_public_page_queries_do_not_grow_with_entries(dept, client, count_queries):
    for entry in approved_entries(dept):
        publish(entry, dept.office)
    url = f"/cong-khai/ke-hoach/{dept.campaign.id}"
    with count_queries() as few:
        page(client, dept.campaign.id)
    for i in range(8):
        entry = approve(dept, dept.staff_b, dept.head_b, title=f"Thêm {i}")
        db.session.commit()
        publish(entry, dept.office)
    with count_queries() as many:
        html = client.get(url).get_data(as_text=True)
    assert "Thêm 7" in html
    assert many.n == few.n and few.n <= 6
    with count_queries() as feed_queries:
        client.get(f"{url}/atom.xml")
    assert feed_queries.n <= 5


# --- Nothing else answers an anonymous visitor ---------------------------------------------

PUBLIC_ENDPOINTS = {
    "auth.login",
    "static",
    "public.index",
    "public.campaign",
    "public.feed",
    "api-docs.openapi_json",  # the API's description; every operation needs a token
}


def verification_route(rule) -> bool:
    """The archive's verification pages: /kiem-tra… and /xm/…."""
    return rule.endpoint.startswith("archive.") and (
        rule.rule.startswith("/kiem-tra") or rule.rule.startswith("/xm/")
    )


def test_nothing_else_is_reachable_anonymously(published, app, client):
    dept, entry, *_ = published
    report = db.session.scalar(select(Report).limit(1))
    attachment = with_evidence_and_comment(dept).attachments[0]
    ids = {
        "campaign_id": dept.campaign.id,
        "entry_id": entry.id,
        "attachment_id": attachment.id,
        "report_id": report.id,
        "document_id": 1,
        "user_id": dept.staff_a.id,
        "unit_id": dept.unit_a.id,
        "delegation_id": 1,
        "observance_id": dept.campaign.observances[0].id,
        "item_id": dept.campaign.content_items[0].id,
        "page": 1,
        "year": 2023,
    }
    words = {"action": "approve", "kind": "pdf", "code": "ABCD1234", "filename": "css/app.css"}
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS or verification_route(rule):
            continue
        values = {arg: ids.get(arg, words.get(arg, 1)) for arg in rule.arguments}
        with app.test_request_context():
            url = url_for(rule.endpoint, **values)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            status = response.status_code
            if status in (301, 302, 303, 307, 308):
                location = response.headers["Location"]
                assert "/dang-nhap" in location, (rule.endpoint, method, url, location)
            else:
                assert status in (401, 403, 404, 405), (rule.endpoint, method, url, status)
            assert entry.title not in response.get_data(as_text=True)
            checked += 1
    assert checked >= 60
    # The whitelisted ones answer without an account.
    assert client.get("/cong-khai/").status_code == 200
    assert client.get("/kiem-tra").status_code == 200


def test_signed_entries_stay_public(dept, app, client):
    entry = approved_entries(dept)[0]
    publish(entry, dept.office)
    signed_report(dept, app)
    entry = db.session.get(Entry, entry.id)
    assert entry.state == EntryState.SIGNED and publication.is_public(entry)
    assert "Hoạt động số 1 &amp; &lt;thử&gt;" in page(client, dept.campaign.id)
    # Unpublishing works in any state.
    publish(entry, dept.office, public=False)
    assert "Hoạt động số 1" not in page(client, dept.campaign.id)
