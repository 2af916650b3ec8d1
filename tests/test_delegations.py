"""Ủy quyền: who may delegate, the Vietnam-day window, overlaps, revocation, the page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from danvan.extensions import db
from danvan.models import AuditLog, Delegation
from danvan.operations import Invalid, NotAllowed
from danvan.operations import delegations as ops
from danvan.text import today_vn


def days(n: int):
    return today_vn() + timedelta(days=n)


def audit_rows() -> list[AuditLog]:
    stmt = select(AuditLog).where(AuditLog.object_type == "delegation").order_by(AuditLog.id)
    return list(db.session.scalars(stmt))


def test_a_delegation_covers_whole_vietnam_days(world):
    start, end = days(10), days(12)
    delegation = ops.create_delegation(world.head_a, world.staff_a, start, end, actor=world.head_a)
    db.session.commit()
    # 00:00 in Hà Nội is 17:00 UTC the day before; the window ends at 00:00 after the last day.
    assert delegation.starts_at == datetime(start.year, start.month, start.day, tzinfo=UTC) - (
        timedelta(hours=7)
    )
    assert delegation.ends_at - delegation.starts_at == timedelta(days=3)
    assert (delegation.unit_id, delegation.created_by_id) == (world.unit_a.id, world.head_a.id)
    assert (ops.first_day(delegation), ops.last_day(delegation)) == (start, end)
    assert ops.period_text(delegation) == f"{start:%d/%m/%Y} - {end:%d/%m/%Y}"

    def held(at: datetime) -> list[Delegation]:
        return Delegation.active_for(world.staff_a, at=at)

    starts, ends = delegation.starts_at, delegation.ends_at
    assert held(starts - timedelta(seconds=1)) == []  # before: 23:59:59 the evening before
    assert held(starts) == [delegation]  # during: from 00:00 of the first day…
    assert held(ends - timedelta(seconds=1)) == [delegation]  # …to 23:59:59 of the last
    assert held(ends) == []  # after
    assert ops.status(delegation, starts - timedelta(seconds=1)) == "upcoming"
    assert ops.status(delegation, starts) == "active"
    assert ops.status(delegation, ends) == "ended"
    assert Delegation.active_for(world.head_a, at=starts) == []  # the principal holds nothing

    ops.revoke_delegation(delegation, actor=world.head_a)
    db.session.commit()
    assert delegation.revoked_at is not None
    assert held(starts + timedelta(hours=1)) == []  # revoked
    assert ops.status(delegation) == "revoked"
    created, revoked = audit_rows()
    assert (created.action, created.actor_id, created.object_id) == (
        "create",
        world.head_a.id,
        delegation.id,
    )
    assert created.after["head_id"] == world.head_a.id
    assert created.after["delegate_id"] == world.staff_a.id
    assert "Vũ Đức Minh ủy quyền cho Nguyễn Thị Hoa" in created.summary
    assert revoked.action == "revoke"
    assert revoked.before["revoked_at"] is None and revoked.after["revoked_at"] is not None


def test_a_single_day(world):
    today = days(0)
    delegation = ops.create_delegation(world.chief, world.office, today, today, actor=world.chief)
    assert ops.period_text(delegation) == f"{days(0):%d/%m/%Y}"
    assert Delegation.active_for(world.office) == [delegation]  # today, now


@pytest.mark.parametrize("who", ["head_a", "chief", "director"])
def test_heads_chief_and_director_may_delegate(world, who):
    principal = getattr(world, who)
    ops.create_delegation(principal, world.staff_b, days(1), days(2), actor=principal)


@pytest.mark.parametrize("who", ["staff_a", "office", "deputy", "clerk"])
def test_others_may_not_delegate(world, who):
    principal = getattr(world, who)
    with pytest.raises(NotAllowed):
        ops.create_delegation(principal, world.staff_b, days(1), days(2), actor=principal)


def test_only_for_oneself_unless_admin(world):
    with pytest.raises(NotAllowed):  # another head cannot delegate for head A
        ops.create_delegation(world.head_a, world.staff_a, days(1), days(2), actor=world.head_b)
    delegation = ops.create_delegation(
        world.head_a, world.staff_a, days(1), days(2), actor=world.admin
    )
    db.session.commit()
    assert delegation.head_id == world.head_a.id and delegation.created_by_id == world.admin.id
    (row,) = audit_rows()
    assert row.actor_id == world.admin.id and "(do Quản trị lập thay)" in row.summary
    with pytest.raises(NotAllowed):
        ops.revoke_delegation(delegation, actor=world.head_b)
    with pytest.raises(NotAllowed):
        ops.revoke_delegation(delegation, actor=world.staff_a)  # nor the delegate
    ops.revoke_delegation(delegation, actor=world.admin)
    assert "thu hồi thay" in audit_rows()[-1].summary


def test_delegate_and_dates_are_checked(world):
    def refused(delegate, start, end) -> dict:
        with pytest.raises(Invalid) as error:
            ops.create_delegation(world.head_a, delegate, start, end, actor=world.head_a)
        return error.value.errors

    assert refused(world.head_a, days(1), days(2)) == {
        "delegate_id": "Không thể tự ủy quyền cho chính mình."
    }
    world.staff_a.active = False
    assert refused(world.staff_a, days(1), days(2)) == {
        "delegate_id": "Tài khoản Nguyễn Thị Hoa đã ngừng hoạt động."
    }
    assert refused(world.staff_a2, days(3), days(2)) == {
        "ends_on": "Ngày kết thúc không được trước ngày bắt đầu."
    }
    assert "đã qua" in refused(world.staff_a2, days(-5), days(-1))["ends_on"]
    assert db.session.scalars(select(Delegation)).all() == []


def test_overlapping_delegations_are_refused(world):
    first = ops.create_delegation(world.head_a, world.staff_a, days(5), days(9), actor=world.head_a)
    db.session.commit()
    clashes = [(days(9), days(12)), (days(1), days(5)), (days(6), days(7)), (days(0), days(20))]
    for start, end in clashes:
        with pytest.raises(Invalid) as refused:
            ops.create_delegation(world.head_a, world.staff_a2, start, end, actor=world.head_a)
        assert "trùng với thời gian này" in refused.value.message
        assert "Nguyễn Thị Hoa" in refused.value.message
    # Days next to it are free, and so is everything once it is revoked.
    ops.create_delegation(world.head_a, world.staff_a2, days(10), days(11), actor=world.head_a)
    ops.create_delegation(world.head_a, world.staff_a2, days(2), days(4), actor=world.head_a)
    ops.revoke_delegation(first, actor=world.head_a)
    ops.create_delegation(world.head_a, world.staff_a2, days(6), days(7), actor=world.head_a)
    # Another principal's delegation in the same days is no overlap.
    ops.create_delegation(world.head_b, world.staff_a2, days(5), days(9), actor=world.head_b)


def test_revoking_twice_or_after_the_end(world):
    delegation = ops.create_delegation(
        world.head_a, world.staff_a, days(1), days(2), actor=world.head_a
    )
    ops.revoke_delegation(delegation, actor=world.head_a)
    with pytest.raises(Invalid, match="đã được thu hồi"):
        ops.revoke_delegation(delegation, actor=world.head_a)
    ended = Delegation(
        head_id=world.head_b.id,
        delegate_id=world.staff_b.id,
        starts_at=datetime.now(UTC) - timedelta(days=3),
        ends_at=datetime.now(UTC) - timedelta(days=1),
    )
    db.session.add(ended)
    db.session.flush()
    with pytest.raises(Invalid, match="đã hết hạn"):
        ops.revoke_delegation(ended, actor=world.head_b)


# --- The page -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["staff_a", "office", "deputy", "clerk"])
def test_the_page_is_for_heads_and_admins(world, login, who):
    client = login(getattr(world, who))
    response = client.get("/uy-quyen")
    assert response.status_code == 403
    assert "chức năng ủy quyền" in response.get_data(as_text=True)
    assert client.post("/uy-quyen/moi", data={}).status_code == 403
    assert ">Ủy quyền</a>" not in client.get("/hoat-dong").get_data(as_text=True)


def test_a_head_delegates_and_revokes_on_the_page(world, login):
    client = login(world.head_a)
    html = client.get("/uy-quyen").get_data(as_text=True)
    assert 'href="/uy-quyen" aria-current="page">Ủy quyền</a>' in html
    assert 'name="principal_id"' not in html  # one delegates for oneself
    options = re.findall(r'<option value="(\d+)"', html)
    assert str(world.head_a.id) not in options and str(world.staff_a.id) in options
    assert f'value="{today_vn():%d/%m/%Y}"' in html  # starts today by default

    start, end = days(3), days(4)
    response = client.post(
        "/uy-quyen/moi",
        data={
            "delegate_id": str(world.staff_a.id),
            "starts_on": f"{start:%d/%m/%Y}",
            "ends_on": f"{end:%d/%m/%Y}",
        },
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert f"Đã ủy quyền cho Nguyễn Thị Hoa ({start:%d/%m/%Y} - {end:%d/%m/%Y})." in html
    assert "Chưa đến ngày" in html
    delegation = db.session.scalar(select(Delegation))
    # The same days again: refused under the date, announced.
    response = client.post(
        "/uy-quyen/moi",
        data={
            "delegate_id": str(world.staff_a2.id),
            "starts_on": f"{start:%d/%m/%Y}",
            "ends_on": f"{end:%d/%m/%Y}",
        },
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'role="alert"' in html and "trùng với thời gian này" in html
    # Bad dates are named, in Vietnamese.
    response = client.post(
        "/uy-quyen/moi", data={"delegate_id": str(world.staff_a2.id), "starts_on": "31/02/2030"}
    )
    html = response.get_data(as_text=True)
    assert "Ngày không hợp lệ, hãy nhập theo dạng dd/mm/yyyy" in html
    assert "Vui lòng nhập ngày kết thúc." in html

    # The delegate sees nothing (staff); head B cannot revoke it.
    assert login(world.head_b).post(f"/uy-quyen/{delegation.id}/thu-hoi").status_code == 403
    client = login(world.head_a)
    response = client.post(f"/uy-quyen/{delegation.id}/thu-hoi", follow_redirects=True)
    assert "Đã thu hồi ủy quyền cho Nguyễn Thị Hoa" in response.get_data(as_text=True)
    assert db.session.get(Delegation, delegation.id).revoked_at is not None
    response = client.post(f"/uy-quyen/{delegation.id}/thu-hoi", follow_redirects=True)
    assert "đã được thu hồi từ trước" in response.get_data(as_text=True)


def test_received_delegations_are_listed(world, login):
    ops.create_delegation(world.director, world.chief, days(1), days(2), actor=world.director)
    db.session.commit()
    html = login(world.chief).get("/uy-quyen").get_data(as_text=True)
    received = re.search(r'id="delegations-received".*?</table>', html, re.S).group(0)
    assert "Nguyễn Quang Huy" in received


def test_an_admin_delegates_on_behalf_of_a_head(world, login):
    client = login(world.admin)
    html = client.get("/uy-quyen").get_data(as_text=True)
    principals = re.search(r'<select[^>]*name="principal_id".*?</select>', html, re.S).group(0)
    assert "Vũ Đức Minh" in principals and "Nguyễn Thị Hoa" not in principals
    response = client.post(
        "/uy-quyen/moi",
        data={
            "principal_id": str(world.head_b.id),
            "delegate_id": str(world.staff_b.id),
            "starts_on": f"{days(0):%d/%m/%Y}",
            "ends_on": f"{days(1):%d/%m/%Y}",
        },
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    everyone = re.search(r'id="delegations-all".*?</table>', html, re.S).group(0)
    assert "Ngô Thị Mai" in everyone and "Đang hiệu lực" in everyone
    delegation = db.session.scalar(select(Delegation))
    assert (delegation.head_id, delegation.created_by_id) == (world.head_b.id, world.admin.id)
    # The admin's log lists it.
    log = client.get("/quan-tri/nhat-ky").get_data(as_text=True)
    assert f"Ủy quyền #{delegation.id} · Tạo mới" in log
    assert "Người ủy quyền:</span>" in log and "Ngô Thị Mai</span>" in log


def test_anonymous_visitors_are_sent_to_login(client, world):
    response = client.get("/uy-quyen")
    assert response.status_code == 302 and "/dang-nhap" in response.headers["Location"]
