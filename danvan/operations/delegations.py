"""Ủy quyền: a head lets someone act for them from one day to another; audit-logged.

Days are Vietnam days: a delegation from 12/10 to 14/10 runs from 00:00 on 12/10 to 00:00 on
15/10, Asia/Ho_Chi_Minh, stored in UTC. Who may then do what is permissions.py's business.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from danvan import audit
from danvan.extensions import db
from danvan.models import Delegation, Role, User
from danvan.operations import Invalid, NotAllowed
from danvan.text import VN_TZ, format_date, to_vn, today_vn, utcnow

DELEGATING_ROLES = (Role.UNIT_HEAD, Role.OFFICE_CHIEF, Role.DIRECTOR)
DELEGATION_FIELDS = (
    "head_id",
    "delegate_id",
    "unit_id",
    "starts_at",
    "ends_at",
    "created_by_id",
    "revoked_at",
)

# Status of a delegation → (label, Bootstrap colour).
STATUS = {
    "active": ("Đang hiệu lực", "success"),
    "upcoming": ("Chưa đến ngày", "info"),
    "ended": ("Đã hết hạn", "secondary"),
    "revoked": ("Đã thu hồi", "dark"),
}


def vn_midnight(day: date) -> datetime:
    """00:00 of ``day`` in Vietnam, as an aware UTC datetime."""
    return datetime.combine(day, time(0), tzinfo=VN_TZ).astimezone(UTC)


def first_day(delegation: Delegation) -> date:
    """The first Vietnam day the delegation covers."""
    return to_vn(delegation.starts_at).date()


def last_day(delegation: Delegation) -> date:
    """The last Vietnam day the delegation covers (it ends at 00:00 of the next day)."""
    return (to_vn(delegation.ends_at) - timedelta(microseconds=1)).date()


def period_text(delegation: Delegation) -> str:
    """The days covered, "12/10/2023 - 14/10/2023" (one date for a single day)."""
    start, end = first_day(delegation), last_day(delegation)
    return format_date(start) if start == end else f"{format_date(start)} - {format_date(end)}"


def status(delegation: Delegation, now: datetime | None = None) -> str:
    """The state now: "active", "upcoming", "ended" or "revoked" (keys of ``STATUS``)."""
    now = now or utcnow()
    if delegation.revoked_at is not None:
        return "revoked"
    if now < delegation.starts_at:
        return "upcoming"
    return "active" if now < delegation.ends_at else "ended"


def can_delegate(user: User) -> bool:
    """Whether the user holds a role that may be delegated (head, Chánh Văn phòng, director)."""
    return user.active and user.has_role(*DELEGATING_ROLES)


def may_manage(actor: User, principal: User) -> bool:
    """The principal themselves, or an administrator acting on their behalf."""
    return actor.id == principal.id or actor.has_role(Role.ADMIN)


def overlapping(principal: User, starts_at: datetime, ends_at: datetime) -> list[Delegation]:
    """The principal's delegations not revoked whose window meets [starts_at, ends_at)."""
    stmt = select(Delegation).where(
        Delegation.head_id == principal.id,
        Delegation.revoked_at.is_(None),
        Delegation.starts_at < ends_at,
        Delegation.ends_at > starts_at,
    )
    return list(db.session.scalars(stmt.order_by(Delegation.starts_at)))


def create_delegation(
    principal: User, delegate: User, starts_on: date, ends_on: date, *, actor: User
) -> Delegation:
    """Let ``delegate`` act for ``principal`` from ``starts_on`` to ``ends_on`` (both included)."""
    if not may_manage(actor, principal):
        raise NotAllowed("Bạn chỉ được ủy quyền thay cho chính mình.")
    if not can_delegate(principal):
        raise NotAllowed(
            f"{principal.full_name} không giữ chức vụ được ủy quyền (Trưởng phòng, Chánh Văn "
            "phòng hoặc Giám đốc)."
        )
    errors: dict[str, str] = {}
    if delegate is None:
        errors["delegate_id"] = "Vui lòng chọn người được ủy quyền."
    elif delegate.id == principal.id:
        errors["delegate_id"] = "Không thể tự ủy quyền cho chính mình."
    elif not delegate.active:
        errors["delegate_id"] = f"Tài khoản {delegate.full_name} đã ngừng hoạt động."
    if starts_on is None:
        errors["starts_on"] = "Vui lòng nhập ngày bắt đầu."
    if ends_on is None:
        errors["ends_on"] = "Vui lòng nhập ngày kết thúc."
    elif starts_on is not None and ends_on < starts_on:
        errors["ends_on"] = "Ngày kết thúc không được trước ngày bắt đầu."
    elif ends_on < today_vn():
        errors["ends_on"] = "Ngày kết thúc đã qua; ủy quyền phải còn hiệu lực từ hôm nay."
    if errors:
        raise Invalid(f"Chưa tạo được ủy quyền: {next(iter(errors.values()))}", errors=errors)
    starts_at, ends_at = vn_midnight(starts_on), vn_midnight(ends_on + timedelta(days=1))
    clash = overlapping(principal, starts_at, ends_at)
    if clash:
        other = clash[0]
        message = (
            f"{principal.full_name} đã ủy quyền cho {other.delegate.full_name} trong thời gian "
            f"{period_text(other)}, trùng với thời gian này; hãy thu hồi ủy quyền đó trước "
            "hoặc chọn ngày khác."
        )
        raise Invalid(message, errors={"starts_on": message})
    delegation = Delegation(
        head_id=principal.id,
        delegate_id=delegate.id,
        unit_id=principal.unit_id,
        starts_at=starts_at,
        ends_at=ends_at,
        created_by_id=actor.id,
        created_at=utcnow(),
    )
    db.session.add(delegation)
    db.session.flush()
    summary = (
        f"{principal.full_name} ủy quyền cho {delegate.full_name} từ {format_date(starts_on)} "
        f"đến {format_date(ends_on)}"
    )
    if actor.id != principal.id:
        summary += f" (do {actor.full_name} lập thay)"
    audit.record(
        actor, "delegation", delegation.id, "create", summary,
        after=audit.snapshot(delegation, DELEGATION_FIELDS),
    )  # fmt: skip
    db.session.flush()
    return delegation


def revoke_delegation(delegation: Delegation, *, actor: User) -> None:
    """End a delegation now (or before it starts); it stays in the record as revoked."""
    if not may_manage(actor, delegation.head):
        raise NotAllowed("Chỉ người ủy quyền hoặc Quản trị hệ thống mới được thu hồi ủy quyền.")
    now = utcnow()
    state = status(delegation, now)
    if state == "revoked":
        raise Invalid("Ủy quyền này đã được thu hồi từ trước.")
    if state == "ended":
        raise Invalid("Ủy quyền này đã hết hạn, không cần thu hồi.")
    before = audit.snapshot(delegation, DELEGATION_FIELDS)
    delegation.revoked_at = now
    summary = (
        f"Thu hồi ủy quyền của {delegation.head.full_name} cho {delegation.delegate.full_name} "
        f"({period_text(delegation)})"
    )
    if actor.id != delegation.head_id:
        summary += f" (do {actor.full_name} thu hồi thay)"
    audit.record(
        actor, "delegation", delegation.id, "revoke", summary,
        before=before, after=audit.snapshot(delegation, DELEGATION_FIELDS),
    )  # fmt: skip
    db.session.flush()
