"""The administration log as people read it: field names, units and people by name, dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from danvan import audit
from danvan.extensions import db
from danvan.models import AuditLog, Role, Unit, User
from danvan.operations.campaigns import AUDIT_ACTION_LABELS, AUDIT_FIELD_LABELS
from danvan.text import format_datetime
from danvan.web import EMPTY

OBJECT_LABELS = {
    "agency": "Cơ quan",
    "unit": "Đơn vị",
    "user": "Người dùng",
    "delegation": "Ủy quyền",
    "campaign": "Kế hoạch",
}
ACTION_LABELS = {
    "create": "Tạo mới",
    "update": "Sửa",
    "deactivate": "Ngừng hoạt động",
    "reset_password": "Đặt lại mật khẩu",
    "revoke": "Thu hồi",
    **AUDIT_ACTION_LABELS,  # campaign administration
}
FIELD_LABELS = {
    "agency": {
        "name": "Tên cơ quan",
        "full_name": "Tên đầy đủ",
        "parent_name": "Cơ quan chủ quản",
        "abbreviation": "Ký hiệu",
        "place_name": "Địa danh",
        "organ_id": "Mã định danh",
        "default_signer_id": "Người ký mặc định",
    },
    "unit": {
        "name": "Tên đơn vị",
        "abbreviation": "Ký hiệu",
        "is_office": "Là Văn phòng",
        "position": "Thứ tự",
        "active": "Đang hoạt động",
    },
    "user": {
        "username": "Tên đăng nhập",
        "full_name": "Họ và tên",
        "email": "Thư điện tử",
        "position_title": "Chức vụ",
        "unit_id": "Đơn vị",
        "active": "Đang hoạt động",
        "must_change_password": "Phải đổi mật khẩu",
        "roles": "Vai trò",
    },
    "delegation": {
        "head_id": "Người ủy quyền",
        "delegate_id": "Người được ủy quyền",
        "unit_id": "Đơn vị",
        "starts_at": "Bắt đầu lúc",
        "ends_at": "Kết thúc lúc",
        "created_by_id": "Người lập",
        "revoked_at": "Thu hồi lúc",
    },
    "campaign": AUDIT_FIELD_LABELS,
}
USER_KEYS = {"default_signer_id", "head_id", "delegate_id", "created_by_id", "signer_id"}
UNIT_KEYS = {"unit_id"}
TIME_KEYS = {"starts_at", "ends_at", "revoked_at", "created_at"}
OBJECT_ENDPOINTS = {"user": "admin.edit_user", "unit": "admin.edit_unit", "agency": "admin.agency"}


@dataclass(frozen=True)
class Change:
    label: str
    before: str
    after: str


@dataclass(frozen=True)
class LogRow:
    row: AuditLog
    object_label: str
    action_label: str
    changes: list[Change]
    created: bool  # no "before": the values are shown without arrows


def _ids(rows: list[AuditLog], keys: set[str]) -> set[int]:
    found = set()
    for row in rows:
        for side in (row.before or {}, row.after or {}):
            found.update(v for k, v in side.items() if k in keys and isinstance(v, int))
    return found


def _text(key: str, value, users: dict[int, str], units: dict[int, str]) -> str:
    if value is None or value == "" or value == []:
        return EMPTY
    if isinstance(value, bool):
        return "Có" if value else "Không"
    if key in USER_KEYS and isinstance(value, int):
        return users.get(value, f"#{value}")
    if key in UNIT_KEYS and isinstance(value, int):
        return units.get(value, f"#{value}")
    if key == "roles" and isinstance(value, list):
        labels = [Role(v).label if v in Role._value2member_map_ else str(v) for v in value]
        return ", ".join(labels) or EMPTY
    if key in TIME_KEYS and isinstance(value, str):
        try:
            return format_datetime(datetime.fromisoformat(value))
        except ValueError:
            return value
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def log_rows(rows: list[AuditLog]) -> list[LogRow]:
    """The rows with their changed fields spelled out (two queries for all names)."""
    user_ids, unit_ids = _ids(rows, USER_KEYS), _ids(rows, UNIT_KEYS)
    users = {
        uid: name
        for uid, name in db.session.execute(
            select(User.id, User.full_name).where(User.id.in_(user_ids))
        )
    }
    units = {
        uid: name
        for uid, name in db.session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(unit_ids)))
    }
    out = []
    for row in rows:
        labels = FIELD_LABELS.get(row.object_type, {})
        order = {key: n for n, key in enumerate(labels)}  # the form's order, then the rest
        diff = audit.changed(row.before, row.after)
        changes = [
            Change(
                labels.get(key, key),
                _text(key, diff[key][0], users, units),
                _text(key, diff[key][1], users, units),
            )
            for key in sorted(diff, key=lambda k: (order.get(k, len(order)), k))
        ]
        out.append(
            LogRow(
                row=row,
                object_label=OBJECT_LABELS.get(row.object_type, row.object_type),
                action_label=ACTION_LABELS.get(row.action, row.action),
                changes=changes,
                created=row.before is None,
            )
        )
    return out


def page_numbers(page: int, pages: int, around: int = 2) -> list[int | None]:
    """Page links to show: the first, the last and a few around ``page``; None for a gap."""
    shown = sorted({1, pages, *range(max(1, page - around), min(pages, page + around) + 1)})
    out: list[int | None] = []
    for previous, n in zip([None, *shown], shown, strict=False):
        if previous is not None and n - previous > 1:
            out.append(None)
        out.append(n)
    return out
