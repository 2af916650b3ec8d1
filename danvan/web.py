"""Helpers shared by the views: URL converters, query parameters, template helpers, commit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, date
from typing import Any

from flask import Flask, abort, current_app, flash
from flask_login import current_user
from werkzeug.routing import IntegerConverter

from danvan import permissions, queries
from danvan.extensions import db
from danvan.fields import parse_vn_date
from danvan.forms import ID_MAX
from danvan.models import Role
from danvan.operations import Conflict, Invalid, OperationError
from danvan.text import clean_line, format_date, format_datetime, format_number, format_vnd
from danvan.workflow import (
    ENTRY_STATE_COLORS,
    ENTRY_STATE_LABELS,
    REPORT_STATE_COLORS,
    REPORT_STATE_LABELS,
    EntryAction,
    EntryState,
    ReportAction,
    ReportState,
    state_label,
)

# History labels: the workflow's own action labels plus the in-place events.
ACTION_LABELS = {
    "create": "Tạo hồ sơ",
    "edit": "Chỉnh sửa",
    "attach": "Thêm minh chứng",
    "supplement": "Bổ sung minh chứng",  # added while the entry waits at the unit step
    "detach": "Xóa minh chứng",
    **{action.value: action.label for action in EntryAction},
}
REPORT_EVENT_LABELS = {
    **{action.value: action.label for action in ReportAction},
    "send_back": "Trả hồ sơ về Văn phòng",
}

# Years a path or filter may name: what ``datetime.date`` can represent (date(0, 1, 1) raises).
YEAR_MIN, YEAR_MAX = MINYEAR, MAXYEAR


class IdConverter(IntegerConverter):
    """``<int:…>`` in every route: ASCII digits, 1 … 2**31-1 (PostgreSQL integer), else 404."""

    regex = r"[0-9]+"

    def __init__(self, map, fixed_digits=0, min=1, max=ID_MAX, signed=False):
        super().__init__(map, fixed_digits, min, max, signed)


class YearConverter(IdConverter):
    """``<year:…>``: a year ``datetime.date`` can represent (1 … 9999), else 404."""

    def __init__(self, map, fixed_digits=0, min=YEAR_MIN, max=YEAR_MAX, signed=False):
        super().__init__(map, fixed_digits, min, max, signed)


def register_url_converters(app: Flask) -> None:
    """Bound every number in a path; must run before the blueprints are registered."""
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["year"] = YearConverter


def int_arg(args, name: str, label: str, *, minimum: int = 1, maximum: int = ID_MAX) -> int | None:
    """An integer query parameter within bounds; anything else is ignored with a warning."""
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    # The length bound keeps int() away from 5,000-digit strings (ValueError in Python ≥ 3.11).
    digits = raw.isascii() and raw.isdigit() and len(raw) <= len(str(maximum))
    if digits and minimum <= int(raw) <= maximum:
        return int(raw)
    flash(f"Giá trị lọc “{label}” không hợp lệ nên đã được bỏ qua.", "warning")
    return None


def posted_ids(values) -> list[int]:
    """The ids among submitted values (ASCII digits, 1 … 2**31-1); anything else is dropped."""
    return [
        int(v)
        for v in values
        if v.isascii() and v.isdigit() and len(v) <= 10 and 1 <= int(v) <= ID_MAX
    ]


def year_arg(args, name: str = "nam") -> int | None:
    """A year query parameter (1 … 9999); anything else is ignored with a warning."""
    return int_arg(args, name, "Năm", minimum=YEAR_MIN, maximum=YEAR_MAX)


def text_arg(args, name: str) -> str:
    """A one-line text query parameter, cleaned like form text (NFC, no control characters)."""
    return clean_line(args.get(name) or "")


EMPTY = "—"  # what a page shows for a value nobody filled in


def or_dash(value) -> str:
    """The value, or "—" when it is empty (None, blank text, zero counts stay as given)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return EMPTY
    return value


def format_date_range(start: date | None, end: date | None) -> str:
    """The wording guide's range, 01/10/2023 - 03/10/2023; one date when both ends agree."""
    if start is None and end is None:
        return EMPTY
    if start is None or end is None or start == end:
        return format_date(start or end)
    return f"{format_date(start)} - {format_date(end)}"


def event_state_label(entry, state: str | None, step: int | None) -> str:
    """A history row's state as users read it, naming the step of the entry's chain."""
    steps = entry.steps
    return state_label(state or "", steps[step] if step is not None and step < len(steps) else None)


def register_template_helpers(app: Flask) -> None:
    """Expose Vietnamese formatting and workflow enums to Jinja."""
    app.jinja_env.filters.update(
        vn_date=format_date,
        vn_date_range=format_date_range,
        vn_datetime=format_datetime,
        vn_number=format_number,
        vnd=format_vnd,
        or_dash=or_dash,
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
        event_state_label=event_state_label,
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
        "unit_id": int_arg(args, "don_vi", "Đơn vị"),
        "content_item_id": int_arg(args, "noi_dung", "Nội dung"),
        "state": state if state in {s.value for s in EntryState} else None,
        "text": text_arg(args, "q"),
    }
    for key, name in (("tu_ngay", "date_from"), ("den_ngay", "date_to")):
        try:
            filters[name] = parse_vn_date(args.get(key))
        except ValueError:
            filters[name] = None
            flash("Ngày lọc không hợp lệ, hãy nhập theo dạng dd/mm/yyyy.", "warning")
    return filters


def visible_campaign_or_404(campaign_id: int):
    """The campaign of a page; 404 when missing, or a draft under preparation (admins only)."""
    from danvan.models import Campaign

    campaign = db.get_or_404(Campaign, campaign_id)
    if campaign.status == "draft" and not current_user.has_role(Role.ADMIN):
        abort(404)
    return campaign


def form_version(form) -> int | None:
    """The object version a form was rendered with (optimistic locking), if any."""
    raw = (form.version.data or "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None


def commit_and_notify() -> None:
    """Commit the request's single unit of work, then enqueue the sending of its e-mails."""
    from danvan import jobs

    db.session.commit()
    try:
        jobs.for_app(current_app._get_current_object()).enqueue_mail()
    except Exception:  # noqa: BLE001 - the outbox keeps the mail; the periodic job sends it
        db.session.rollback()
        current_app.logger.exception("Chưa xếp được việc gửi thư; thư vẫn nằm trong hàng đợi.")


def flash_error(error: OperationError) -> None:
    """Roll back and show an operation's refusal."""
    db.session.rollback()
    flash_refusal(error)


def flash_refusal(error: OperationError) -> None:
    """Show an operation's refusal (already rolled back): a conflict warns, the rest is an error."""
    flash(error.message, "danger" if error.status != 409 else "warning")


@dataclass(frozen=True)
class Outcome:
    """What ``run_operation`` gives back: the operation's value, or the refusal it expected."""

    value: Any = None
    error: Exception | None = None


def run_operation(
    fn: Callable[..., Any],
    *args,
    expected: tuple[type[Exception], ...] = (Invalid, Conflict),
    **kwargs,
) -> Outcome:
    """Run one operation. An ``expected`` refusal comes back after a rollback, for the view
    to show; any other refusal rolls back and aborts with its status and Vietnamese message."""
    try:
        return Outcome(value=fn(*args, **kwargs))
    except expected as error:
        db.session.rollback()
        return Outcome(error=error)
    except OperationError as error:
        db.session.rollback()
        abort(error.status, description=error.message)


def require(condition: bool, message: str = "Bạn không có quyền thực hiện thao tác này.") -> None:
    """Abort with 403 and a Vietnamese message unless ``condition`` holds."""
    if not condition:
        abort(403, description=message)
