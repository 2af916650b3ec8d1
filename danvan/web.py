"""Helpers shared by the views: template filters and globals, commit-then-notify."""

from __future__ import annotations

from flask import Flask, abort, current_app, flash
from flask_login import current_user

from danvan import mail, permissions, queries
from danvan.extensions import db
from danvan.fields import parse_vn_date
from danvan.models import Role
from danvan.operations import OperationError
from danvan.text import format_date, format_datetime, format_number, format_vnd
from danvan.workflow import (
    ENTRY_STATE_COLORS,
    ENTRY_STATE_LABELS,
    REPORT_STATE_COLORS,
    REPORT_STATE_LABELS,
    EntryAction,
    EntryState,
    ReportAction,
    ReportState,
)

# History labels: the workflow's own action labels plus the in-place events.
ACTION_LABELS = {
    "create": "Tạo hồ sơ",
    "edit": "Chỉnh sửa",
    "attach": "Thêm minh chứng",
    "detach": "Xóa minh chứng",
    **{action.value: action.label for action in EntryAction},
}
REPORT_EVENT_LABELS = {
    **{action.value: action.label for action in ReportAction},
    "send_back": "Trả hồ sơ về Văn phòng",
}


def register_template_helpers(app: Flask) -> None:
    """Expose Vietnamese formatting and workflow enums to Jinja."""
    app.jinja_env.filters.update(
        vn_date=format_date,
        vn_datetime=format_datetime,
        vn_number=format_number,
        vnd=format_vnd,
    )
    app.jinja_env.globals.update(
        EntryState=EntryState,
        ReportState=ReportState,
        Role=Role,
        ENTRY_STATE_LABELS=ENTRY_STATE_LABELS,
        ENTRY_STATE_COLORS=ENTRY_STATE_COLORS,
        REPORT_STATE_LABELS=REPORT_STATE_LABELS,
        REPORT_STATE_COLORS=REPORT_STATE_COLORS,
        ACTION_LABELS=ACTION_LABELS,
        REPORT_EVENT_LABELS=REPORT_EVENT_LABELS,
        permissions=permissions,
    )

    @app.context_processor
    def header_counts():
        if current_user.is_authenticated:
            return {"todo_count": queries.todo_count(current_user)}
        return {"todo_count": 0}


def entry_filters_from(args) -> dict:
    """Entry list filters from query parameters (don_vi, noi_dung, trang_thai, q, dates)."""
    state = args.get("trang_thai") or None
    filters = {
        "unit_id": args.get("don_vi", type=int),
        "content_item_id": args.get("noi_dung", type=int),
        "state": state if state in {s.value for s in EntryState} else None,
        "text": args.get("q", "").strip(),
    }
    for key, name in (("tu_ngay", "date_from"), ("den_ngay", "date_to")):
        try:
            filters[name] = parse_vn_date(args.get(key))
        except ValueError:
            filters[name] = None
            flash("Ngày lọc không hợp lệ, hãy nhập theo dạng dd/mm/yyyy.", "warning")
    return filters


def form_version(form) -> int | None:
    """The object version a form was rendered with (optimistic locking), if any."""
    raw = (form.version.data or "").strip()
    return int(raw) if raw.isdigit() else None


def commit_and_notify() -> None:
    """Commit the request's single unit of work, then send the queued e-mails."""
    db.session.commit()
    try:
        mail.send_outbox(current_app.config)
    except Exception:  # noqa: BLE001 - a mail failure must not undo a committed decision
        db.session.rollback()
        current_app.logger.exception("Gửi thư thông báo thất bại; thư vẫn nằm trong hàng đợi.")


def flash_error(error: OperationError) -> None:
    """Roll back and show an operation's refusal."""
    db.session.rollback()
    flash(error.message, "danger" if error.status != 409 else "warning")


def require(condition: bool, message: str = "Bạn không có quyền thực hiện thao tác này.") -> None:
    """Abort with 403 and a Vietnamese message unless ``condition`` holds."""
    if not condition:
        abort(403, description=message)
