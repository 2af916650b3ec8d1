"""Administration: agency, units, users; the audit log; who may open it; password resets."""

from __future__ import annotations

import json
import re
import unicodedata

import pytest
from flask import url_for
from sqlalchemy import func, select

from danvan import audit, ledger
from danvan.extensions import db
from danvan.models import Agency, AuditLog, Role, Unit, User, UserSession
from danvan.operations import Invalid, NotAllowed
from danvan.operations import admin as ops
from danvan.passwords import check_password_policy
from tests.factories import PASSWORD

NEW_PASSWORD = "Một câu dài dễ nhớ 2030"


def log_rows(object_type: str | None = None) -> list[AuditLog]:
    stmt = select(AuditLog).order_by(AuditLog.id)
    if object_type:
        stmt = stmt.where(AuditLog.object_type == object_type)
    return list(db.session.scalars(stmt))


def unit_fields(**overrides) -> dict:
    fields = {"name": "Phòng Kinh tế và Vật liệu xây dựng", "abbreviation": "KTVL"}
    fields.update(overrides)
    return fields


def user_fields(**overrides) -> dict:
    fields = {
        "username": "tran.thi.my",
        "full_name": "Trần Thị Mỹ",
        "email": "tranthimy@hanam.gov.vn",
        "position_title": "Chuyên viên",
    }
    fields.update(overrides)
    return fields


def signed_in(client) -> bool:
    response = client.get("/ca-nhan")
    return response.status_code == 200 and "/dang-nhap" not in response.headers.get("Location", "")


# --- Agency ---------------------------------------------------------------------------------


def agency_fields(agency: Agency, **overrides) -> dict:
    fields = {name: getattr(agency, name) for name in ops.AGENCY_FIELDS}
    fields.update(overrides)
    return fields


def test_update_agency_logs_before_and_after(world):
    agency = world.agency
    changed = ops.update_agency(
        agency,
        actor=world.admin,
        fields=agency_fields(
            agency,
            parent_name="UBND TỈNH NINH BÌNH",
            full_name="Sở Xây dựng tỉnh Ninh Bình",
            place_name="Ninh Bình",
            organ_id="000.00.31.h23",  # typed in lower case: stored as the standard writes it
            default_signer_id=world.director.id,
        ),
    )
    db.session.commit()
    assert changed
    assert (agency.place_name, agency.organ_id) == ("Ninh Bình", "000.00.31.H23")
    assert agency.default_signer_id == world.director.id
    (row,) = log_rows("agency")
    assert (row.actor_id, row.object_id, row.action) == (world.admin.id, agency.id, "update")
    assert audit.changed(row.before, row.after) == {
        "default_signer_id": (None, world.director.id),
        "full_name": ("Sở Xây dựng tỉnh Hà Nam", "Sở Xây dựng tỉnh Ninh Bình"),
        "organ_id": (None, "000.00.31.H23"),
        "parent_name": ("UBND TỈNH HÀ NAM", "UBND TỈNH NINH BÌNH"),
        "place_name": ("Hà Nam", "Ninh Bình"),
    }
    # Saving the same values again changes nothing and logs nothing.
    assert not ops.update_agency(agency, actor=world.admin, fields=agency_fields(agency))
    assert len(log_rows("agency")) == 1
    assert ledger.check_chain("audit_log") is None


@pytest.mark.parametrize(
    "organ_id", ["000.00.31", "00.00.31.H23", "000.00.31.HH3", "000-00-31-H23"]
)
def test_organ_id_must_follow_qcvn_102(world, organ_id):
    with pytest.raises(Invalid) as refused:
        ops.update_agency(
            world.agency, actor=world.admin, fields=agency_fields(world.agency, organ_id=organ_id)
        )
    assert refused.value.errors["organ_id"] == ops.ORGAN_ID_MESSAGE
    assert "000.00.31.H23" in ops.ORGAN_ID_MESSAGE


def test_default_signer_must_be_a_director_or_deputy(world):
    for signer in (world.deputy, world.director):
        ops.update_agency(
            world.agency,
            actor=world.admin,
            fields=agency_fields(world.agency, default_signer_id=signer.id),
        )
    with pytest.raises(Invalid) as refused:
        ops.update_agency(
            world.agency,
            actor=world.admin,
            fields=agency_fields(world.agency, default_signer_id=world.chief.id),
        )
    assert "Giám đốc hoặc Phó Giám đốc" in refused.value.errors["default_signer_id"]


def test_required_agency_fields(world):
    with pytest.raises(Invalid) as refused:
        ops.update_agency(
            world.agency, actor=world.admin, fields=agency_fields(world.agency, abbreviation=" ")
        )
    assert refused.value.errors == {"abbreviation": "Vui lòng nhập ký hiệu cơ quan."}


# --- Units ----------------------------------------------------------------------------------


def test_create_and_rename_a_unit(world):
    unit = ops.create_unit(world.agency, actor=world.admin, fields=unit_fields())
    db.session.commit()
    assert (unit.name, unit.abbreviation, unit.active, unit.is_office) == (
        "Phòng Kinh tế và Vật liệu xây dựng",
        "KTVL",
        True,
        False,
    )
    assert unit.position == 3  # after the last one
    ops.update_unit(unit, actor=world.admin, fields=unit_fields(name="Phòng Kinh tế", position=5))
    db.session.commit()
    create, update = log_rows("unit")
    assert (create.action, create.before, create.after["name"]) == (
        "create",
        None,
        "Phòng Kinh tế và Vật liệu xây dựng",
    )
    assert audit.changed(update.before, update.after) == {
        "name": ("Phòng Kinh tế và Vật liệu xây dựng", "Phòng Kinh tế"),
        "position": (3, 5),
    }
    with pytest.raises(Invalid) as refused:  # abbreviations are unique, whatever the case
        ops.create_unit(world.agency, actor=world.admin, fields=unit_fields(abbreviation="qlxd"))
    assert refused.value.errors["abbreviation"] == (
        "Ký hiệu qlxd đã được dùng cho Phòng Quản lý xây dựng."
    )


def test_exactly_one_office_unit(world):
    # The only Văn phòng cannot lose its flag...
    with pytest.raises(Invalid) as refused:
        ops.update_unit(
            world.office_unit,
            actor=world.admin,
            fields=unit_fields(name="Văn phòng Sở", abbreviation="VP", is_office=False),
        )
    assert "đúng một đơn vị Văn phòng" in refused.value.errors["is_office"]
    # ...and flagging another unit moves the flag.
    ops.update_unit(
        world.unit_b,
        actor=world.admin,
        fields=unit_fields(name="Thanh tra Sở", abbreviation="TTr", is_office=True),
    )
    db.session.commit()
    offices = db.session.scalars(select(Unit).where(Unit.is_office.is_(True))).all()
    assert offices == [world.unit_b]
    moved, flagged = log_rows("unit")
    assert moved.object_id == world.office_unit.id
    assert audit.changed(moved.before, moved.after) == {"is_office": (True, False)}
    assert audit.changed(flagged.before, flagged.after) == {"is_office": (False, True)}
    # A new unit created as Văn phòng takes the flag too.
    unit = ops.create_unit(world.agency, actor=world.admin, fields=unit_fields(is_office=True))
    db.session.commit()
    assert db.session.scalars(select(Unit).where(Unit.is_office.is_(True))).all() == [unit]


def test_a_unit_with_active_members_cannot_be_deactivated(world):
    fields = unit_fields(name="Phòng Quản lý xây dựng", abbreviation="QLXD", active=False)
    with pytest.raises(Invalid) as refused:
        ops.update_unit(world.unit_a, actor=world.admin, fields=fields)
    assert refused.value.errors["active"] == (
        "Không thể ngừng hoạt động Phòng Quản lý xây dựng: đơn vị còn 3 người dùng đang hoạt "
        "động. Hãy chuyển họ sang đơn vị khác hoặc ngừng hoạt động tài khoản trước."
    )
    # Once its people have left (or were deactivated), it can.
    for user in (world.staff_a, world.staff_a2, world.head_a):
        ops.deactivate_user(user, actor=world.admin)
    ops.update_unit(world.unit_a, actor=world.admin, fields=fields)
    db.session.commit()
    assert world.unit_a.active is False
    assert log_rows("unit")[-1].action == "deactivate"
    # Nobody can then be put into it.
    with pytest.raises(Invalid) as refused:
        ops.create_user(actor=world.admin, fields=user_fields(), roles=["staff"], unit=world.unit_a)
    assert "đã ngừng hoạt động" in refused.value.errors["unit_id"]


def test_only_an_admin_may_administer(world):
    for actor in (world.director, world.chief, world.staff_a):
        with pytest.raises(NotAllowed):
            ops.create_unit(world.agency, actor=actor, fields=unit_fields())
        with pytest.raises(NotAllowed):
            ops.reset_password(world.staff_b, actor=actor)
        with pytest.raises(NotAllowed):
            ops.deactivate_user(world.staff_b, actor=actor)


# --- Users ----------------------------------------------------------------------------------


def test_create_user_normalises_the_username_and_logs_no_secret(world):
    decomposed = unicodedata.normalize("NFD", "  Ngô.Thị.Thủy ")
    user, temporary = ops.create_user(
        actor=world.admin,
        fields=user_fields(
            username=decomposed, full_name=unicodedata.normalize("NFD", "Ngô Thị Thủy")
        ),
        roles=["staff", "unit_head"],
        unit=world.unit_b,
    )
    db.session.commit()
    assert user.username == unicodedata.normalize("NFC", "ngô.thị.thủy")
    assert user.full_name == "Ngô Thị Thủy" and unicodedata.is_normalized("NFC", user.full_name)
    assert user.roles == {Role.STAFF, Role.UNIT_HEAD}
    assert user.must_change_password and user.active
    assert temporary and check_password_policy(temporary, user.username) == []
    assert user.check_password(temporary)
    (row,) = log_rows("user")
    assert (row.action, row.actor_id, row.object_id) == ("create", world.admin.id, user.id)
    assert row.after["roles"] == ["staff", "unit_head"]
    assert row.after["unit_id"] == world.unit_b.id
    stored = json.dumps([row.before, row.after, row.summary], ensure_ascii=False)
    assert "password" not in stored.replace("must_change_password", "")
    assert temporary not in stored and user.password_hash not in stored


def test_create_user_refusals(world):
    def refused(**kw) -> dict:
        args = {"fields": user_fields(), "roles": ["staff"], "unit": world.unit_a, **kw}
        with pytest.raises(Invalid) as error:
            ops.create_user(actor=world.admin, **args)
        db.session.rollback()
        return error.value.errors

    assert refused(fields=user_fields(username="CV.A")) == {"username": "Tên đăng nhập cv.a đã có."}
    ops.create_user(actor=world.admin, fields=user_fields(username="hoa"), roles=["staff"],
                    unit=world.unit_a)  # fmt: skip
    assert "chỉ khác dấu" in refused(fields=user_fields(username="hòa"))["username"]
    assert refused(fields=user_fields(username="tran thi my")) == {"username": ops.USERNAME_MESSAGE}
    assert refused(password="matkhau123")["password"].startswith("Mật khẩu này quá phổ biến")
    assert refused(password="ngắn")["password"].startswith("Mật khẩu phải có ít nhất 10 ký tự")
    assert refused(roles=[]) == {"roles": "Vui lòng chọn ít nhất một vai trò."}
    assert refused(unit=None) == {"unit_id": "Vai trò Chuyên viên phải thuộc một đơn vị."}
    assert refused(roles=["office"]) == {
        "unit_id": "Vai trò Chuyên viên Văn phòng phải thuộc Văn phòng."
    }
    assert refused(fields=user_fields(email="không phải thư")) == {"email": ops.EMAIL_MESSAGE}
    assert refused(roles=["boss"]) == {"roles": "Vai trò không hợp lệ."}


def test_create_user_with_a_chosen_password(world):
    user, temporary = ops.create_user(
        actor=world.admin, fields=user_fields(), roles=["director"], unit=None,
        password=NEW_PASSWORD,
    )  # fmt: skip
    assert temporary is None and user.check_password(NEW_PASSWORD)
    assert user.must_change_password  # the administrator knows it: the person changes it


def test_update_user_roles_unit_and_profile(world):
    user = world.staff_b
    changed = ops.update_user(
        user,
        actor=world.admin,
        fields={"full_name": "Lý Văn Tuấn", "email": "", "position_title": "Phó Trưởng phòng"},
        roles=["staff", "unit_head"],
        unit=world.unit_a,
    )
    db.session.commit()
    assert changed
    db.session.expire_all()
    user = db.session.get(User, world.staff_b.id)
    assert (user.unit_id, user.email, user.position_title) == (
        world.unit_a.id,
        None,
        "Phó Trưởng phòng",
    )
    assert user.roles == {Role.STAFF, Role.UNIT_HEAD}
    (row,) = log_rows("user")
    assert audit.changed(row.before, row.after) == {
        "email": ("cv.b@example.vn", None),
        "position_title": (None, "Phó Trưởng phòng"),
        "roles": (["staff"], ["staff", "unit_head"]),
        "unit_id": (world.unit_b.id, world.unit_a.id),
    }


def test_nobody_removes_their_own_admin_role_or_deactivates_themselves(world):
    admin = world.admin
    keep = {"full_name": admin.full_name, "email": admin.email, "position_title": None}
    with pytest.raises(Invalid) as refused:
        ops.update_user(admin, actor=admin, fields=keep, roles=["director"], unit=None)
    assert refused.value.errors["roles"] == (
        "Bạn không thể tự bỏ vai trò Quản trị hệ thống của chính mình."
    )
    with pytest.raises(Invalid) as refused:
        ops.update_user(
            admin, actor=admin, fields={**keep, "active": False}, roles=["admin"], unit=None
        )
    assert refused.value.errors["active"] == (
        "Bạn không thể tự ngừng hoạt động tài khoản của chính mình."
    )
    with pytest.raises(Invalid) as refused:
        ops.deactivate_user(admin, actor=admin)
    assert refused.value.message == "Bạn không thể tự ngừng hoạt động tài khoản của chính mình."
    with pytest.raises(Invalid):
        ops.reset_password(admin, actor=admin)
    db.session.rollback()
    assert db.session.get(User, admin.id).active and admin.has_role(Role.ADMIN)
    assert log_rows() == []
    # Another administrator may.
    other, _ = ops.create_user(
        actor=admin, fields=user_fields(username="qt2"), roles=["admin"], unit=None
    )
    ops.update_user(admin, actor=other, fields=keep, roles=["director"], unit=world.office_unit)
    assert admin.roles == {Role.DIRECTOR}


def test_the_default_signer_stays_a_signer(world):
    ops.update_agency(
        world.agency,
        actor=world.admin,
        fields=agency_fields(world.agency, default_signer_id=world.director.id),
    )
    with pytest.raises(Invalid) as refused:
        ops.deactivate_user(world.director, actor=world.admin)
    assert "người ký mặc định" in refused.value.message
    with pytest.raises(Invalid) as refused:
        ops.update_user(
            world.director,
            actor=world.admin,
            fields={"full_name": world.director.full_name},
            roles=["staff"],
            unit=world.office_unit,
        )
    assert "người ký mặc định" in refused.value.errors["roles"]


def test_deactivate_user_ends_sessions_and_keeps_the_account(world, app, login):
    client = login(world.staff_a)
    assert signed_in(client)
    ended = ops.deactivate_user(world.staff_a, actor=world.admin)
    db.session.commit()
    assert ended == 1
    assert not signed_in(client)
    assert db.session.get(User, world.staff_a.id) is not None  # never deleted
    live = select(func.count(UserSession.id)).where(
        UserSession.user_id == world.staff_a.id, UserSession.revoked_at.is_(None)
    )
    assert db.session.scalar(live) == 0
    response = app.test_client().post("/dang-nhap", data={"username": "cv.a", "password": PASSWORD})
    assert response.status_code == 401
    (row,) = log_rows("user")
    assert row.action == "deactivate"
    assert audit.changed(row.before, row.after) == {"active": (True, False)}
    assert "kết thúc 1 phiên đăng nhập" in row.summary
    with pytest.raises(Invalid):
        ops.deactivate_user(world.staff_a, actor=world.admin)


def test_there_is_no_way_to_delete_a_user(app):
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("admin.")]
    assert rules and all("DELETE" not in r.methods for r in rules)
    assert not any(re.search(r"xoa|delete|remove", r.rule + r.endpoint) for r in rules)
    assert not any(name.startswith(("delete", "remove")) for name in dir(ops))


# --- Password reset -------------------------------------------------------------------------


def test_reset_password_revokes_sessions_and_logs_no_secret(world, login):
    client = login(world.staff_b)
    old_hash = world.staff_b.password_hash
    temporary = ops.reset_password(world.staff_b, actor=world.admin)
    db.session.commit()
    assert not signed_in(client)  # the old session is over
    user = db.session.get(User, world.staff_b.id)
    assert user.must_change_password and user.check_password(temporary)
    assert not user.check_password(PASSWORD)
    (row,) = log_rows("user")
    assert row.action == "reset_password"
    assert audit.changed(row.before, row.after) == {"must_change_password": (False, True)}
    stored = json.dumps([row.before, row.after, row.summary], ensure_ascii=False)
    for secret in (temporary, old_hash, user.password_hash):
        assert secret not in stored


def test_reset_password_forces_a_change_at_next_login(world, client):
    # The administrator resets the password through the page, which shows it once.
    client.post("/dang-nhap", data={"username": "admin", "password": PASSWORD})
    page = client.post(f"/quan-tri/nguoi-dung/{world.staff_a.id}/dat-lai-mat-khau")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    temporary = re.search(r'id="temporary-password">([^<]+)<', html).group(1)
    assert "chỉ hiện <strong>một lần</strong>" in html
    client.post("/dang-xuat")

    # The person signs in with it and is sent to "Đổi mật khẩu", from every page.
    response = client.post("/dang-nhap", data={"username": "cv.a", "password": temporary})
    assert response.status_code == 302
    first = client.get(response.headers["Location"])
    assert first.status_code == 302 and first.headers["Location"].endswith("/doi-mat-khau")
    for path in ("/", "/hoat-dong", "/viec-can-xu-ly", "/ca-nhan", "/kiem-tra"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].endswith("/doi-mat-khau"), path
    posted = client.post(f"/ke-hoach/{world.campaign.id}/hoat-dong/moi", data={})
    assert posted.status_code == 303 and posted.headers["Location"].endswith("/doi-mat-khau")
    assert client.get("/static/css/app.css").status_code == 200
    change_page = client.get("/doi-mat-khau")
    assert change_page.status_code == 200
    assert "Bạn đang dùng mật khẩu tạm thời" in change_page.get_data(as_text=True)

    # Changing it clears the flag; the pages open again.
    response = client.post(
        "/doi-mat-khau",
        data={"current": temporary, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 302
    user = db.session.get(User, world.staff_a.id)
    assert not user.must_change_password and user.check_password(NEW_PASSWORD)
    assert client.get("/hoat-dong").status_code == 200
    # Logout still works for someone who has not changed it (the hook lets it through).
    ops.reset_password(user, actor=world.admin)
    db.session.commit()
    assert client.post("/dang-xuat").status_code == 302


# --- Permissions ----------------------------------------------------------------------------


def admin_get_routes(app) -> list[str]:
    urls = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if rule.endpoint.startswith("admin.") and "GET" in rule.methods:
                urls.append(url_for(rule.endpoint, **{a: 1 for a in rule.arguments}))
    return urls


def admin_post_routes(app) -> list[str]:
    with app.test_request_context():
        return [
            url_for(rule.endpoint, **{a: 1 for a in rule.arguments})
            for rule in app.url_map.iter_rules()
            if rule.endpoint.startswith("admin.") and "POST" in rule.methods
        ]


@pytest.mark.parametrize("who", ["staff_a", "head_a", "office", "chief", "director", "clerk"])
def test_only_admins_open_the_administration(world, app, login, who):
    client = login(getattr(world, who))
    for url in admin_get_routes(app) + ["/quan-tri"]:
        response = client.get(url)
        assert response.status_code == 403, url
        assert "Chỉ Quản trị hệ thống mới được vào trang quản trị." in response.get_data(
            as_text=True
        )
    for url in admin_post_routes(app):
        assert client.post(url, data={"name": "x"}).status_code == 403, url
    assert ">Quản trị</a>" not in client.get("/hoat-dong").get_data(as_text=True)
    assert db.session.scalar(select(func.count(AuditLog.id))) == 0


def test_anonymous_visitors_are_sent_to_login(client, world):
    response = client.get("/quan-tri/nguoi-dung")
    assert response.status_code == 302 and "/dang-nhap" in response.headers["Location"]


def test_admin_pages_open_for_an_admin(world, login):
    client = login(world.admin)
    for url in (
        "/quan-tri",
        "/quan-tri/co-quan",
        "/quan-tri/don-vi",
        f"/quan-tri/don-vi/{world.unit_a.id}",
        "/quan-tri/nguoi-dung",
        "/quan-tri/nguoi-dung/moi",
        f"/quan-tri/nguoi-dung/{world.staff_a.id}",
        "/quan-tri/nhat-ky",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
    html = client.get("/quan-tri").get_data(as_text=True)
    for link in ("Cơ quan", "Đơn vị", "Người dùng", "Nhật ký quản trị", "Kế hoạch"):
        assert f">{link}<" in html, link
    menu = r'<a class="nav-link dropdown-toggle active" href="/quan-tri"[^>]*>Quản trị</a>'
    assert re.search(menu, html)
    assert '<a class="dropdown-item" href="/uy-quyen">Ủy quyền</a>' in html


def test_post_needs_a_csrf_token(world, app, login):
    client = login(world.admin)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post(f"/quan-tri/nguoi-dung/{world.staff_a.id}/ngung-hoat-dong")
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 400
    assert db.session.get(User, world.staff_a.id).active


# --- Pages ----------------------------------------------------------------------------------


def test_unit_pages_create_edit_and_show_members(world, login):
    client = login(world.admin)
    response = client.post(
        "/quan-tri/don-vi", data={"name": "Phòng Quản lý nhà", "abbreviation": "QLN", "active": "y"}
    )
    assert response.status_code == 303
    unit = db.session.scalar(select(Unit).where(Unit.abbreviation == "QLN"))
    assert unit.active and not unit.is_office
    html = client.get("/quan-tri/don-vi").get_data(as_text=True)
    assert "Phòng Quản lý nhà" in html and "Đã tạo đơn vị Phòng Quản lý nhà." in html
    assert "Vũ Đức Minh" in html  # unit A's head
    html = client.get(f"/quan-tri/don-vi/{world.unit_a.id}").get_data(as_text=True)
    for name in ("Nguyễn Thị Hoa", "Kiều Văn Phúc", "Vũ Đức Minh"):
        assert name in html
    assert "<strong>Trưởng đơn vị:</strong> Vũ Đức Minh" in html
    # Deactivating a unit with members: the refusal is under the field, announced.
    response = client.post(
        f"/quan-tri/don-vi/{world.unit_a.id}",
        data={"name": "Phòng Quản lý xây dựng", "abbreviation": "QLXD", "position": "1"},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'role="alert"' in html and "đơn vị còn 3 người dùng đang hoạt động" in html
    assert db.session.get(Unit, world.unit_a.id).active
    missing = client.post("/quan-tri/don-vi", data={"name": "", "abbreviation": ""})
    assert missing.status_code == 422
    assert "Vui lòng nhập tên đơn vị." in missing.get_data(as_text=True)


def test_user_pages_create_edit_reset_deactivate(world, login):
    client = login(world.admin)
    response = client.post(
        "/quan-tri/nguoi-dung/moi",
        data={
            "username": "Tran.Thi.My",
            "full_name": "Trần Thị Mỹ",
            "email": "",
            "position_title": "Trưởng phòng",
            "unit_id": str(world.unit_b.id),
            "roles": ["staff", "unit_head"],
            "password": "",
        },
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Đã tạo tài khoản Trần Thị Mỹ" in html
    temporary = re.search(r'id="temporary-password">([^<]+)<', html).group(1)
    user = db.session.scalar(select(User).where(User.username == "tran.thi.my"))
    assert user.check_password(temporary) and user.roles == {Role.STAFF, Role.UNIT_HEAD}

    response = client.post(
        f"/quan-tri/nguoi-dung/{user.id}",
        data={
            "full_name": "Trần Thị Mỹ",
            "email": "my@hanam.gov.vn",
            "position_title": "Trưởng phòng",
            "unit_id": str(world.unit_b.id),
            "roles": ["unit_head"],
            "active": "y",
        },
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(User, user.id).roles == {Role.UNIT_HEAD}

    response = client.post(f"/quan-tri/nguoi-dung/{user.id}/ngung-hoat-dong")
    assert response.status_code == 303
    assert not db.session.get(User, user.id).active
    # Self-deactivation through the page: refused with the message.
    response = client.post(
        f"/quan-tri/nguoi-dung/{world.admin.id}/ngung-hoat-dong", follow_redirects=True
    )
    assert "Bạn không thể tự ngừng hoạt động tài khoản của chính mình." in response.get_data(
        as_text=True
    )
    response = client.post(
        f"/quan-tri/nguoi-dung/{world.admin.id}",
        data={"full_name": "Quản trị", "unit_id": "0", "roles": ["director"], "active": "y"},
    )
    assert response.status_code == 422
    assert "Bạn không thể tự bỏ vai trò Quản trị hệ thống" in response.get_data(as_text=True)
    assert db.session.get(User, world.admin.id).has_role(Role.ADMIN)


def test_user_list_filters_and_accent_insensitive_search(world, login):
    client = login(world.admin)

    def names(query: str) -> list[str]:
        html = client.get(f"/quan-tri/nguoi-dung?{query}").get_data(as_text=True)
        table = re.search(r'<table[^>]*id="users-table".*?</table>', html, re.S).group(0)
        return re.findall(r'<td class="stack-title"><a [^>]+>([^<]+)</a>', table)

    assert names("q=nguyen thi hoa") == ["Nguyễn Thị Hoa"]
    assert names("q=NGUYỄN") == ["Nguyễn Quang Huy", "Nguyễn Thị Hoa"]
    assert names("q=cv.a2") == ["Kiều Văn Phúc"]
    assert names(f"don_vi={world.unit_b.id}") == ["Lý Văn Tuấn", "Ngô Thị Mai"]
    assert names("vai_tro=unit_head") == ["Lê Văn Thắng", "Ngô Thị Mai", "Vũ Đức Minh"]
    ops.deactivate_user(world.staff_b, actor=world.admin)
    db.session.commit()
    assert names("trang_thai=ngung") == ["Lý Văn Tuấn"]
    assert "Lý Văn Tuấn" not in names("trang_thai=hoat-dong")
    assert names(f"don_vi={world.unit_b.id}&trang_thai=hoat-dong&q=mai") == ["Ngô Thị Mai"]
    assert names("q=không có ai") == []


def test_agency_page_saves_and_explains_the_organ_id(world, login):
    client = login(world.admin)
    data = {
        "name": "SỞ XÂY DỰNG",
        "full_name": "Sở Xây dựng tỉnh Hà Nam",
        "parent_name": "UBND TỈNH HÀ NAM",
        "abbreviation": "SXD",
        "place_name": "Hà Nam",
        "organ_id": "31.H23",
        "default_signer_id": str(world.director.id),
    }
    response = client.post("/quan-tri/co-quan", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Mã định danh phải có dạng 000.00.31.H23" in html and 'role="alert"' in html
    response = client.post("/quan-tri/co-quan", data={**data, "organ_id": "000.00.31.H23"})
    assert response.status_code == 303
    assert db.session.get(Agency, world.agency.id).organ_id == "000.00.31.H23"


# --- The audit log page ---------------------------------------------------------------------


def test_audit_log_page_shows_who_when_and_what_changed(world, login):
    ops.update_user(
        world.staff_b,
        actor=world.admin,
        fields={"full_name": "Lý Văn Tuấn", "email": "cv.b@example.vn"},
        roles=["staff", "unit_head"],
        unit=world.unit_a,
    )
    ops.reset_password(world.staff_a, actor=world.admin)
    db.session.commit()
    html = login(world.admin).get("/quan-tri/nhat-ky").get_data(as_text=True)
    assert html.count("<tr>") == 3  # header + two rows
    assert re.search(r"<time [^>]+>\d{2}/\d{2}/\d{4} \d{2}:\d{2}</time>", html)
    assert "Quản trị</td>" in html  # who
    assert f"Người dùng #{world.staff_b.id} · Sửa" in html
    change = re.search(r"Đơn vị:</span> <span class=\"audit-before\">([^<]+)</span>.*?"
                       r"<span class=\"audit-after\">([^<]+)</span>", html, re.S)  # fmt: skip
    assert change.groups() == ("Thanh tra Sở", "Phòng Quản lý xây dựng")
    assert "Chuyên viên</span>" in html and "Chuyên viên, Trưởng phòng</span>" in html
    assert 'Phải đổi mật khẩu:</span> <span class="audit-before">Không</span>' in html
    assert "password_hash" not in html and "scrypt" not in html


def test_audit_log_is_paginated_by_fifty(world, login):
    for n in range(120):
        audit.record(world.admin, "unit", world.unit_a.id, "update", f"Thay đổi số {n}")
    db.session.commit()
    client = login(world.admin)
    first = client.get("/quan-tri/nhat-ky").get_data(as_text=True)
    assert first.count("Thay đổi số ") == 50
    assert "Thay đổi số 119<" in first and "Thay đổi số 70<" in first  # newest first
    assert "trang 1/3" in first
    for n in (2, 3):
        assert f'href="/quan-tri/nhat-ky?trang={n}"' in first
    last = client.get("/quan-tri/nhat-ky?trang=3").get_data(as_text=True)
    assert last.count("Thay đổi số ") == 20 and "Thay đổi số 0<" in last
    assert 'aria-current="page"><span class="page-link">3<' in last
    # A page beyond the last is refused with a warning, page 1 shown.
    beyond = client.get("/quan-tri/nhat-ky?trang=9", follow_redirects=True).get_data(as_text=True)
    assert "trang 1/3" in beyond and "không hợp lệ nên đã được bỏ qua" in beyond
    # One object's rows.
    one = client.get(f"/quan-tri/nhat-ky?doi_tuong=unit&ma={world.unit_a.id}").get_data(
        as_text=True
    )
    assert "đơn vị Phòng Quản lý xây dựng" in one


def test_the_audit_log_is_append_only(world):
    ops.deactivate_user(world.staff_a, actor=world.admin)
    db.session.commit()
    row = log_rows()[0]
    row.summary = "đã sửa"
    with pytest.raises(Exception, match="append-only|permission denied|quyền"):
        db.session.commit()
    db.session.rollback()
