"""The JSON API /api/v1: tokens, problem+json, ETag/If-Match, pagination, UI parity, the chain."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from danvan.api import tokens
from danvan.demo import artwork
from danvan.extensions import db
from danvan.models import Blob, Entry, User
from danvan.models.api import ApiToken
from danvan.operations import entries as ops
from danvan.text import utcnow
from danvan.workflow import EntryAction
from tests.factories import approve

PROBLEM = "application/problem+json"


def token_for(user: User, **kwargs) -> str:
    """A fresh token for the user (committed)."""
    new = tokens.create_token(user, name=kwargs.pop("name", "Kiểm thử"), **kwargs)
    db.session.commit()
    return new.secret


class Api:
    """A client of /api/v1 with one Bearer token."""

    def __init__(self, client, secret: str):
        self.client, self.secret = client, secret

    def open(self, method: str, path: str, *, headers=None, **kwargs):
        headers = {"Authorization": f"Bearer {self.secret}", **(headers or {})}
        return self.client.open("/api/v1" + path, method=method, headers=headers, **kwargs)

    def get(self, path, **kwargs):
        return self.open("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.open("POST", path, **kwargs)


@pytest.fixture
def api(client):
    """api(user, **token options) → an Api client with a new token of that user."""

    def make(user: User, **kwargs) -> Api:
        return Api(client, token_for(user, **kwargs))

    return make


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert set(body) >= {"type", "title", "status", "detail", "instance"}
    assert body["status"] == status
    assert body["type"].startswith("urn:danvan:problem:")
    assert not body["title"].isascii()  # Vietnamese
    return body


def new_entry_body(world, **overrides) -> dict:
    body = {
        "campaign_id": world.campaign.id,
        "content_item_id": world.campaign.content_items[0].id,
        "title": "Hội nghị dân vận khéo qua API",
        "date_from": "2023-10-12",
        "date_to": "2023-10-12",
        "place": "Hội trường Sở",
        "participants_officials": 12,
        "amount_vnd": 1_234_500,
    }
    body.update(overrides)
    return body


# --- Tokens ---------------------------------------------------------------------------------


def test_token_is_stored_hashed_and_shown_once_by_the_cli(app, world, client):
    result = app.test_cli_runner().invoke(
        args=["danvan", "create-token", world.staff_a.username, "--name", "Bảng tính"]
    )
    assert result.exit_code == 0, result.output
    secret = result.output.strip()
    assert secret.startswith("dv_") and len(secret) > 40
    row = db.session.scalar(select(ApiToken).where(ApiToken.user_id == world.staff_a.id))
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert row.prefix == secret[:8] and secret not in (row.name, row.prefix)
    assert not row.read_only and row.last_used_at is None
    me = Api(client, secret).get("/me")
    assert me.status_code == 200
    assert me.get_json()["username"] == world.staff_a.username
    db.session.refresh(row)
    assert row.last_used_at is not None
    unknown = app.test_cli_runner().invoke(args=["danvan", "create-token", "khong-co"])
    assert unknown.exit_code != 0


def test_profile_creates_shows_once_and_revokes(world, login, client):
    web = login(world.staff_a)
    page = web.post("/ca-nhan/ma-api", data={"name": "Máy chủ thống kê", "expires": "30"})
    assert page.status_code == 201
    html = page.get_data(as_text=True)
    row = db.session.scalar(select(ApiToken).where(ApiToken.user_id == world.staff_a.id))
    secret = html.split('id="new-api-token" type="text" readonly value="')[1].split('"')[0]
    assert hashlib.sha256(secret.encode()).hexdigest() == row.token_hash
    assert row.expires_at - utcnow() < timedelta(days=31)
    again = web.get("/ca-nhan").get_data(as_text=True)
    assert secret not in again and row.prefix in again and "Máy chủ thống kê" in again
    api = Api(client, secret)
    assert api.get("/me").status_code == 200
    assert web.post(f"/ca-nhan/ma-api/{row.id}/thu-hoi").status_code == 303
    assert_problem(api.get("/me"), 401)
    # Someone else's token is not theirs to revoke.
    other = token_for(world.staff_b)
    other_row = db.session.scalar(select(ApiToken).where(ApiToken.user_id == world.staff_b.id))
    assert web.post(f"/ca-nhan/ma-api/{other_row.id}/thu-hoi").status_code == 404
    assert Api(client, other).get("/me").status_code == 200


def test_read_only_expired_revoked_inactive_and_cookie_only(world, api, client, login):
    reader = api(world.staff_a, read_only=True)
    assert reader.get("/entries").status_code == 200
    body = assert_problem(reader.post("/entries", json=new_entry_body(world)), 403)
    assert "chỉ được đọc" in body["detail"]
    assert db.session.scalar(select(Entry.id)) is None

    expired = tokens.create_token(world.staff_a, name="Cũ", expires_in_days=1)
    expired.row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = Api(client, expired.secret).get("/me")
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")

    writer = api(world.staff_b)
    world.staff_b.active = False
    db.session.commit()
    assert_problem(writer.get("/me"), 401)
    assert_problem(Api(client, "dv_" + "x" * 43).get("/me"), 401)

    # A browser's session cookie alone is not enough, and sets no cookie of its own.
    web = login(world.office)
    response = web.get("/api/v1/me")
    assert_problem(response, 401)
    assert "Set-Cookie" not in response.headers
    assert web.get("/ca-nhan").status_code == 200  # the HTML pages still use the cookie


def test_failed_tokens_are_rate_limited(world, client):
    bad = Api(client, "dv_sai")
    statuses = [bad.get("/me").status_code for _ in range(22)]
    assert statuses[:20] == [401] * 20 and statuses[-1] == 429
    assert_problem(bad.get("/me"), 429)


# --- Problems --------------------------------------------------------------------------------


def test_problem_json_inside_api_and_html_pages_outside(world, api, client):
    reader = api(world.office)
    body = assert_problem(reader.get("/khong-co"), 404)
    assert body["instance"] == "/api/v1/khong-co"
    assert_problem(reader.open("DELETE", "/entries"), 405)
    assert_problem(reader.get("/entries/999999"), 404)
    assert_problem(reader.get("/entries?per_page=201"), 422)
    page = client.get("/khong-co")
    assert page.status_code == 404 and page.mimetype == "text/html"


def test_validation_lists_the_fields_in_vietnamese(world, api):
    writer = api(world.staff_a)
    response = writer.post("/entries", json={"campaign_id": world.campaign.id, "title": ""})
    body = assert_problem(response, 422)
    fields = {e["field"]: e["message"] for e in body["errors"]}
    assert {"title", "content_item_id", "date_from", "date_to"} <= set(fields)
    assert fields["content_item_id"] == "Bắt buộc."
    assert all(not m.isascii() for m in fields.values())
    # The operation's own checks come back the same way.
    late = writer.post("/entries", json=new_entry_body(world, date_to="2023-10-01"))
    body = assert_problem(late, 422)
    assert body["errors"] == [
        {"field": "date_to", "message": "Ngày kết thúc phải sau hoặc bằng ngày bắt đầu."}
    ]
    wrong = writer.post("/entries", data="title=x", content_type="text/plain")
    assert_problem(wrong, 415)


# --- Permissions as in the UI -----------------------------------------------------------------


def test_another_units_entry_is_404_as_in_the_ui(world, api, login):
    entry = approve(world, world.staff_a, world.head_a)
    draft = ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    db.session.commit()
    outsider = api(world.staff_b)
    web = login(world.staff_b)
    for item in (entry, draft):
        assert_problem(outsider.get(f"/entries/{item.id}"), 404)
        assert web.get(f"/hoat-dong/{item.id}").status_code == 404
    colleague = api(world.staff_a2)
    assert colleague.get(f"/entries/{entry.id}").status_code == 200
    assert_problem(colleague.get(f"/entries/{draft.id}"), 404)
    listed = {e["id"] for e in outsider.get("/entries").get_json()["items"]}
    assert entry.id not in listed and draft.id not in listed


def test_self_approval_and_if_match(world, api):
    author = api(world.staff_a)
    created = author.post("/entries", json=new_entry_body(world, submit=True))
    assert created.status_code == 201, created.get_data(as_text=True)
    entry_id = created.get_json()["id"]
    etag = created.headers["ETag"]
    assert created.get_json()["state"] == "pending"
    # No If-Match: 428; the author approving their own entry: refused as in the UI.
    assert_problem(author.post(f"/entries/{entry_id}/actions/approve", json={}), 428)
    refused = author.post(
        f"/entries/{entry_id}/actions/approve", json={}, headers={"If-Match": etag}
    )
    assert_problem(refused, 403)
    head = api(world.head_a)
    got = head.get(f"/entries/{entry_id}")
    assert got.headers["ETag"] == etag and "approve" in got.get_json()["available_actions"]
    stale = head.post(
        f"/entries/{entry_id}/actions/approve", json={}, headers={"If-Match": '"999"'}
    )
    assert_problem(stale, 412)
    done = head.post(f"/entries/{entry_id}/actions/approve", json={}, headers={"If-Match": etag})
    assert done.status_code == 200, done.get_data(as_text=True)
    assert done.headers["ETag"] != etag
    assert done.get_json()["state_label"].startswith("Chờ")
    again = head.post(f"/entries/{entry_id}/actions/approve", json={}, headers={"If-Match": etag})
    assert_problem(again, 412)
    history = author.get(f"/entries/{entry_id}/history").get_json()
    assert [e["action"] for e in history["items"]] == ["create", "submit", "approve"]
    assert history["items"][2]["action_label"] == "Duyệt"


def test_update_needs_if_match_and_the_authors_editable_entry(world, api):
    author = api(world.staff_a)
    created = author.post("/entries", json=new_entry_body(world)).get_json()
    body = new_entry_body(world, title="Tên mới")
    body.pop("campaign_id")
    path = f"/entries/{created['id']}"
    assert_problem(author.open("PUT", path, json=body), 428)
    updated = author.open("PUT", path, json=body, headers={"If-Match": f'"{created["version"]}"'})
    assert updated.status_code == 200 and updated.get_json()["title"] == "Tên mới"
    colleague = api(world.staff_a2)
    assert_problem(colleague.open("PUT", path, json=body, headers={"If-Match": "*"}), 404)


def test_pagination_totals_and_filters(world, api, count_queries):
    for i in range(5):
        approve(world, world.staff_a, world.head_a, title=f"Hoạt động phân trang {i}")
    approve(world, world.staff_b, world.head_b, title="Việc của Thanh tra")
    db.session.commit()
    office = api(world.office)
    first = office.get("/entries?per_page=2").get_json()
    assert (first["total"], first["page"], first["per_page"], len(first["items"])) == (6, 1, 2, 2)
    last = office.get("/entries?per_page=2&page=3").get_json()
    assert len(last["items"]) == 2 and last["total"] == 6
    ids = {
        e["id"]
        for page in (1, 2, 3)
        for e in office.get(f"/entries?per_page=2&page={page}").get_json()["items"]
    }
    assert len(ids) == 6
    by_unit = office.get(f"/entries?unit_id={world.unit_b.id}").get_json()
    assert by_unit["total"] == 1 and by_unit["items"][0]["unit"]["abbreviation"] == "TTr"
    assert office.get("/entries?q=phan trang").get_json()["total"] == 5
    assert office.get("/entries?state=draft").get_json()["total"] == 0
    with count_queries() as small:
        office.get("/entries?per_page=1")
    with count_queries() as large:
        office.get("/entries?per_page=200")
    assert large.n <= small.n + 2  # no query per row


def test_inbox_lists_what_waits_for_the_user(world, api):
    entry = ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    ops.act(entry, EntryAction.SUBMIT, actor=world.staff_a)
    db.session.commit()
    inbox = api(world.head_a).get("/inbox").get_json()
    assert [e["id"] for e in inbox["items"]] == [entry.id] and inbox["total"] == 1
    assert api(world.head_b).get("/inbox").get_json()["total"] == 0


# --- The whole chain through the API ---------------------------------------------------------


def test_entry_to_issued_report_through_the_api(dept, app, api, cached_conversion):
    world = dept
    author, head, office = api(world.staff_a), api(world.head_a), api(world.office)
    chief, director, clerk = api(world.chief), api(world.director), api(world.clerk)

    created = author.post("/entries", json=new_entry_body(world))
    assert created.status_code == 201
    entry_id = created.get_json()["id"]
    png = artwork.make_signature_png("Minh chứng")
    uploaded = author.post(
        f"/entries/{entry_id}/attachments",
        data={"file": (io.BytesIO(png), "anh-hoi-nghi.png")},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 201, uploaded.get_data(as_text=True)
    attachment = uploaded.get_json()["attachments"][0]
    got = author.get(f"/entries/{entry_id}/attachments/{attachment['id']}")
    assert got.data == png

    for client, action in ((author, "submit"), (head, "approve"), (office, "approve")):
        etag = client.get(f"/entries/{entry_id}").headers["ETag"]
        response = client.post(
            f"/entries/{entry_id}/actions/{action}", json={}, headers={"If-Match": etag}
        )
        assert response.status_code == 200, (action, response.get_data(as_text=True))
    assert author.get(f"/entries/{entry_id}").get_json()["state"] == "approved"

    compiled = office.post(f"/campaigns/{world.campaign.id}/report", json={})
    assert compiled.status_code == 200, compiled.get_data(as_text=True)
    report = compiled.get_json()
    assert entry_id in report["entry_ids"] and len(report["entry_ids"]) == 4
    path = f"/reports/{report['id']}"

    def report_act(client, action, **body):
        etag = client.get(path).headers["ETag"]
        response = client.post(f"{path}/actions/{action}", json=body, headers={"If-Match": etag})
        assert response.status_code == 200, (action, response.get_data(as_text=True))
        return response.get_json()

    assert report_act(chief, "submit", signer_id=world.director.id)["state"] == "submitted"
    assert_problem(author.get(path), 404)  # staff do not see reports, as in the UI
    signed = report_act(director, "sign")
    assert signed["state"] == "signed" and signed["number_symbol"]
    issued = report_act(clerk, "issue")
    assert issued["state"] == "issued" and issued["archived_document_id"]

    register = clerk.get(f"/register?year={utcnow().year}").get_json()
    assert register["total"] >= 1
    archive = office.get("/archive").get_json()
    assert archive["total"] == 1
    doc = archive["items"][0]
    pdf = office.get(f"/archive/{doc['id']}/files/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data == db.session.get(Blob, doc["pdf_sha256"]).data
    verdict = office.post(
        "/verification",
        data={"file": (io.BytesIO(pdf.data), "ban-tai-ve.pdf")},
        content_type="multipart/form-data",
    )
    assert verdict.status_code == 200, verdict.get_data(as_text=True)
    result = verdict.get_json()
    assert result["valid"] is True and result["status"] == "valid"
    assert result["document"] == issued["number_symbol"]
    history = office.get(f"{path}/history").get_json()
    assert [e["action"] for e in history["items"]] == ["compile", "submit", "sign", "issue"]
