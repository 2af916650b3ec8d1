"""Campaign administration: a plan's details, status, approval chain and the yearly copy.

Operations take ``actor`` (an administrator), flush and never commit. Every change is written
to the administration log under the campaign (object type "campaign", before → after), so the
campaign's log shows its items, observances and chain too. Content items and observances are
in danvan/operations/campaign_items.py; the chain checks in danvan/operations/chains.py.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum

from sqlalchemy import func, select

from danvan import audit
from danvan.extensions import db
from danvan.models import Agency, Campaign, ContentItem, Entry, Observance, User
from danvan.operations import Invalid
from danvan.operations.admin import require_admin
from danvan.operations.chains import (  # noqa: F401 - part of this module's interface
    chain_change_impact,
    chain_problems,
    chain_warnings,
    with_names,
)
from danvan.text import clean_line, clean_text, fold, format_date
from danvan.workflow import ChainStep, chain_data


class CampaignStatus(StrEnum):
    DRAFT = "draft"  # being prepared: not open to entries yet
    ACTIVE = "active"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]

    @property
    def color(self) -> str:
        return STATUS_COLORS[self]


STATUS_LABELS = {
    CampaignStatus.DRAFT: "Đang soạn",
    CampaignStatus.ACTIVE: "Đang thực hiện",
    CampaignStatus.CLOSED: "Đã kết thúc",
}
STATUS_COLORS = {
    CampaignStatus.DRAFT: "secondary",
    CampaignStatus.ACTIVE: "success",
    CampaignStatus.CLOSED: "light",
}
RESUME_POLICIES = {
    "start": "Duyệt lại từ bước đầu tiên",
    "returning_step": "Chuyển thẳng đến bước đã trả lại",
}
CAMPAIGN_FIELDS = (
    "title",
    "year",
    "plan_number",
    "plan_date",
    "period_start",
    "period_end",
    "report_deadline",
    "report_recipient",
    "report_subject",
    "recipients",
    "resume_policy",
    "evidence_required",
)
LINE_LIMITS = {
    "title": 500,
    "plan_number": 50,
    "report_recipient": 200,
    "report_subject": 500,
}
REQUIRED_TEXT = {
    "title": "tên kế hoạch",
    "report_recipient": "cơ quan nhận báo cáo",
    "report_subject": "trích yếu báo cáo",
}
REQUIRED_DATES = {
    "period_start": "ngày bắt đầu thực hiện",
    "period_end": "ngày kết thúc thực hiện",
    "report_deadline": "hạn gửi báo cáo",
}
RECIPIENT_LIMIT = 300  # characters per line of Nơi nhận

# How the administration log (danvan/admin/display.py) names what these operations record.
AUDIT_ACTION_LABELS = {
    "publish": "Công bố",
    "close": "Kết thúc",
    "reopen": "Mở lại",
    "copy": "Sao chép sang năm sau",
    "set_chain": "Đổi quy trình duyệt",
    "add_item": "Thêm nội dung",
    "update_item": "Sửa nội dung",
    "reorder_items": "Sắp xếp nội dung",
    "archive_item": "Lưu trữ nội dung",
    "restore_item": "Khôi phục nội dung",
    "delete_item": "Xóa nội dung",
    "add_observance": "Thêm ngày kỷ niệm",
    "update_observance": "Sửa ngày kỷ niệm",
    "archive_observance": "Lưu trữ ngày kỷ niệm",
    "restore_observance": "Khôi phục ngày kỷ niệm",
    "delete_observance": "Xóa ngày kỷ niệm",
}
AUDIT_FIELD_LABELS = {
    "title": "Tên kế hoạch",
    "year": "Năm",
    "plan_number": "Số, ký hiệu",
    "plan_date": "Ngày ban hành",
    "period_start": "Thực hiện từ ngày",
    "period_end": "Thực hiện đến ngày",
    "report_deadline": "Hạn gửi báo cáo",
    "report_recipient": "Cơ quan nhận báo cáo",
    "report_subject": "Trích yếu báo cáo",
    "recipients": "Nơi nhận",
    "resume_policy": "Khi gửi duyệt lại",
    "evidence_required": "Bắt buộc minh chứng",
    "status": "Trạng thái",
    "chain": "Quy trình duyệt",
    "copied_from": "Sao chép từ kế hoạch số",
    "content_items": "Nội dung",
    "observances": "Ngày kỷ niệm",
    "item_title": "Nội dung",
    "item_position": "Số thứ tự",
    "item_archived": "Đã lưu trữ",
    "observance_day": "Ngày",
    "observance_name": "Tên ngày kỷ niệm",
    "founding_year": "Năm khởi đầu",
    "observance_archived": "Đã lưu trữ",
}


def campaign_name(campaign: Campaign) -> str:
    """ "“Tháng cao điểm dân vận năm 2023” (125/KH-SXD)", as summaries name a campaign."""
    number = f" ({campaign.plan_number})" if campaign.plan_number else ""
    return f"“{campaign.title}”{number}"


def campaign_snapshot(campaign: Campaign) -> dict:
    """What the log keeps of a campaign's details."""
    return audit.snapshot(campaign, CAMPAIGN_FIELDS)


def recipient_text(value) -> str:
    """Nơi nhận as stored: one recipient per line, cleaned, blank lines dropped."""
    lines = (
        value if isinstance(value, list | tuple) else (clean_text(value or "") or "").split("\n")
    )
    return "\n".join(filter(None, (clean_line(line) for line in lines if isinstance(line, str))))


def _refuse(errors: dict[str, str], what: str) -> None:
    if errors:
        first = next(iter(errors.values()))
        raise Invalid(f"Chưa lưu được {what}: {first}", errors=errors)


def _campaign_values(fields: dict) -> dict:
    """Cleaned values, or Invalid naming each field that cannot be saved."""
    errors: dict[str, str] = {}
    values: dict = {}
    for name, limit in LINE_LIMITS.items():
        raw = fields.get(name)
        values[name] = (clean_line(raw) if isinstance(raw, str) else "") or ""
        if len(values[name]) > limit:
            errors[name] = f"Không được dài quá {limit} ký tự."
    for name, label in REQUIRED_TEXT.items():
        if not values[name]:
            errors[name] = f"Vui lòng nhập {label}."
    values["plan_number"] = values["plan_number"] or None
    for name in ("plan_date", *REQUIRED_DATES):
        value = fields.get(name)
        values[name] = value if isinstance(value, date) else None
    for name, label in REQUIRED_DATES.items():
        if values[name] is None:
            errors.setdefault(name, f"Vui lòng nhập {label} (dạng dd/mm/yyyy).")
    start, end, deadline = values["period_start"], values["period_end"], values["report_deadline"]
    if start and end and start > end:
        errors["period_end"] = (
            f"Ngày kết thúc phải sau hoặc bằng ngày bắt đầu ({format_date(start)})."
        )
    if start and deadline and deadline < start:
        errors["report_deadline"] = (
            f"Hạn gửi báo cáo không thể trước ngày bắt đầu thực hiện ({format_date(start)})."
        )
    values["recipients"] = recipient_text(fields.get("recipients"))
    if any(len(line) > RECIPIENT_LIMIT for line in values["recipients"].split("\n")):
        errors["recipients"] = f"Mỗi nơi nhận không được dài quá {RECIPIENT_LIMIT} ký tự."
    values["resume_policy"] = fields.get("resume_policy") or "start"
    if values["resume_policy"] not in RESUME_POLICIES:
        errors["resume_policy"] = "Lựa chọn không hợp lệ."
    values["evidence_required"] = bool(fields.get("evidence_required"))
    _refuse(errors, "kế hoạch")
    values["year"] = start.year
    return values


def campaign_warnings(campaign: Campaign) -> list[str]:
    """Unusual but possible dates, for the administrator to double-check (saved anyway)."""
    out = []
    if campaign.report_deadline < campaign.period_end:
        out.append(
            f"Hạn gửi báo cáo ({format_date(campaign.report_deadline)}) sớm hơn ngày kết thúc "
            f"thực hiện ({format_date(campaign.period_end)}): các đơn vị sẽ phải báo cáo khi kế "
            "hoạch chưa kết thúc. Hãy kiểm tra lại nếu không phải như vậy."
        )
    if campaign.plan_date and campaign.plan_date > campaign.period_start:
        out.append(
            f"Ngày ban hành kế hoạch ({format_date(campaign.plan_date)}) sau ngày bắt đầu thực "
            f"hiện ({format_date(campaign.period_start)})."
        )
    return out


def create_campaign(agency: Agency, *, actor: User, fields: dict) -> Campaign:
    """Open a new campaign as a draft ("Đang soạn"): not offered to entries until published."""
    require_admin(actor)
    values = _campaign_values(fields)
    campaign = Campaign(agency_id=agency.id, status=CampaignStatus.DRAFT.value, **values)
    db.session.add(campaign)
    db.session.flush()
    audit.record(
        actor, "campaign", campaign.id, "create", f"Tạo kế hoạch {campaign_name(campaign)}",
        after=campaign_snapshot(campaign),
    )  # fmt: skip
    db.session.flush()
    return campaign


def update_campaign(campaign: Campaign, *, actor: User, fields: dict) -> bool:
    """Change a campaign's details (title, number, dates, report, recipients…); True if any."""
    require_admin(actor)
    values = _campaign_values(fields)
    before = campaign_snapshot(campaign)
    for name, value in values.items():
        setattr(campaign, name, value)
    after = campaign_snapshot(campaign)
    if not audit.changed(before, after):
        return False
    audit.record(
        actor, "campaign", campaign.id, "update", f"Sửa kế hoạch {campaign_name(campaign)}",
        before=before, after=after,
    )  # fmt: skip
    db.session.flush()
    return True


# --- Status ---------------------------------------------------------------------------------


def _set_status(campaign: Campaign, actor: User, to: CampaignStatus, action: str) -> None:
    before = {"status": campaign.status}
    campaign.status = to.value
    verb = {"publish": "Công bố", "close": "Kết thúc", "reopen": "Mở lại"}[action]
    audit.record(
        actor, "campaign", campaign.id, action, f"{verb} kế hoạch {campaign_name(campaign)}",
        before=before, after={"status": campaign.status},
    )  # fmt: skip
    db.session.flush()


def publish_campaign(campaign: Campaign, *, actor: User) -> None:
    """Draft → active: the campaign is open to entries. Needs content and a workable chain."""
    require_admin(actor)
    if campaign.status != CampaignStatus.DRAFT:
        raise Invalid(f"Chỉ kế hoạch đang soạn mới công bố được ({_status_of(campaign)}).")
    problems = []
    if not campaign.active_content_items:
        problems.append("kế hoạch chưa có nội dung nào để cán bộ chọn khi lập hồ sơ")
    if chain_problems(campaign.agency, campaign.steps):
        problems.append("chuỗi phê duyệt chưa dùng được (xem trang Quy trình duyệt)")
    if problems:
        raise Invalid(f"Chưa công bố được kế hoạch: {'; '.join(problems)}.")
    _set_status(campaign, actor, CampaignStatus.ACTIVE, "publish")


def close_campaign(campaign: Campaign, *, actor: User) -> None:
    """Active → closed ("Đã kết thúc"): the plan's month is over."""
    require_admin(actor)
    if campaign.status != CampaignStatus.ACTIVE:
        raise Invalid(f"Chỉ kế hoạch đang thực hiện mới kết thúc được ({_status_of(campaign)}).")
    _set_status(campaign, actor, CampaignStatus.CLOSED, "close")


def reopen_campaign(campaign: Campaign, *, actor: User) -> None:
    """Closed → active again (a close made by mistake)."""
    require_admin(actor)
    if campaign.status != CampaignStatus.CLOSED:
        raise Invalid(f"Chỉ kế hoạch đã kết thúc mới mở lại được ({_status_of(campaign)}).")
    _set_status(campaign, actor, CampaignStatus.ACTIVE, "reopen")


def _status_of(campaign: Campaign) -> str:
    return f"kế hoạch này {CampaignStatus(campaign.status).label.lower()}"


# --- The approval chain ---------------------------------------------------------------------


class ChainRefused(Invalid):
    """A chain that could strand entries; ``problems`` says why, one reason per line."""

    def __init__(self, problems: list[str]):
        super().__init__("Chưa lưu được chuỗi phê duyệt: " + " ".join(problems))
        self.problems = problems


def set_chain(campaign: Campaign, steps: list[ChainStep], *, actor: User) -> bool:
    """Give the campaign a new approval chain for the entries sent from now on (entries in
    flight keep theirs); refused when ``chain_problems`` finds any; True if it changed."""
    require_admin(actor)
    steps = with_names(steps)
    problems = chain_problems(campaign.agency, steps)
    if problems:
        raise ChainRefused(problems)
    before = {"chain": [s.label for s in campaign.steps]}
    stored = chain_data(steps)
    if stored == chain_data(campaign.steps):
        return False
    campaign.chain = stored
    audit.record(
        actor, "campaign", campaign.id, "set_chain",
        f"Đổi chuỗi phê duyệt của kế hoạch {campaign_name(campaign)}: "
        + " → ".join(s.label for s in steps),
        before=before, after={"chain": [s.label for s in steps]},
    )  # fmt: skip
    db.session.flush()
    return True


# --- Sao chép sang năm sau ------------------------------------------------------------------


def next_year(day: date | None) -> date | None:
    """The same day a year later; 29/02 becomes 28/02."""
    if day is None:
        return None
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


def next_year_text(text: str, year: int) -> str:
    """ "… năm 2023" → "… năm 2024" wherever the text names the campaign's year."""
    pattern = re.compile(rf"\b(năm)(\s+){year}\b", re.IGNORECASE)
    return pattern.sub(lambda m: f"{m[1]}{m[2]}{year + 1}", text)


def copy_preview(campaign: Campaign) -> dict:
    """What ``copy_to_next_year`` would create (nothing is changed), for the confirmation."""
    year = campaign.year
    return {
        "title": next_year_text(campaign.title, year),
        "year": next_year(campaign.period_start).year,
        "period_start": next_year(campaign.period_start),
        "period_end": next_year(campaign.period_end),
        "report_deadline": next_year(campaign.report_deadline),
        "report_subject": next_year_text(campaign.report_subject, year),
        "content_items": [i.title for i in campaign.active_content_items],
        "observances": [
            Observance(day=next_year(o.day), name=o.name, founding_year=o.founding_year)
            for o in campaign.active_observances
        ],
        "chain": [s.label for s in campaign.steps],
    }


def copy_to_next_year(campaign: Campaign, *, actor: User) -> Campaign:
    """A draft for next year: every date a year later, the same content items, observances
    (their anniversaries counting one more year), recipients, chain and evidence rule; the
    plan's number and date are left empty for the new plan."""
    require_admin(actor)
    year = campaign.year
    title = next_year_text(campaign.title, year)
    twin = db.session.scalar(
        select(Campaign).where(
            Campaign.agency_id == campaign.agency_id,
            Campaign.year == year + 1,
            Campaign.title == title,
        )
    )
    if twin is not None:
        raise Invalid(
            f"Đã có kế hoạch {campaign_name(twin)} năm {year + 1}; hãy sửa kế hoạch đó thay vì "
            "sao chép thêm lần nữa."
        )
    start = next_year(campaign.period_start)
    copy = Campaign(
        agency_id=campaign.agency_id,
        title=title,
        year=start.year,
        plan_number=None,
        plan_date=None,
        period_start=start,
        period_end=next_year(campaign.period_end),
        report_deadline=next_year(campaign.report_deadline),
        report_recipient=campaign.report_recipient,
        report_subject=next_year_text(campaign.report_subject, year),
        recipients=campaign.recipients,
        chain=[dict(step) for step in chain_data(campaign.steps)],
        resume_policy=campaign.resume_policy,
        evidence_required=campaign.evidence_required,
        status=CampaignStatus.DRAFT.value,
    )
    copy.content_items = [
        ContentItem(position=n, title=item.title)
        for n, item in enumerate(campaign.active_content_items, start=1)
    ]
    copy.observances = [
        Observance(day=next_year(o.day), name=o.name, founding_year=o.founding_year)
        for o in campaign.active_observances
    ]
    db.session.add(copy)
    db.session.flush()
    audit.record(
        actor, "campaign", copy.id, "copy",
        f"Tạo kế hoạch {campaign_name(copy)} bằng cách sao chép kế hoạch năm {year} "
        f"{campaign_name(campaign)}",
        after={
            **campaign_snapshot(copy),
            "copied_from": campaign.id,
            "content_items": [i.title for i in copy.content_items],
            "observances": [o.display_name for o in copy.observances],
            "chain": [s.label for s in copy.steps],
        },
    )  # fmt: skip
    db.session.flush()
    return copy


# --- Content items (Nội dung) ---------------------------------------------------------------

ITEM_LIMIT = 500
OBSERVANCE_LIMIT = 300


def _uses(column, object_id: int) -> int:
    """How many entries (in any state, drafts too) refer to the item or observance."""
    return db.session.scalar(select(func.count(Entry.id)).where(column == object_id))


def item_snapshot(item: ContentItem) -> dict:
    """What the log keeps of a content item."""
    return {
        "item_title": item.title,
        "item_position": item.position,
        "item_archived": item.archived,
    }


def _item_title(campaign: Campaign, title, item: ContentItem | None) -> str:
    value = (clean_line(title) if isinstance(title, str) else "") or ""
    message = None
    if not value:
        message = "Vui lòng nhập tên nội dung."
    elif len(value) > ITEM_LIMIT:
        message = f"Tên nội dung không được dài quá {ITEM_LIMIT} ký tự."
    elif any(
        fold(other.title) == fold(value) and other is not item
        for other in campaign.active_content_items
    ):
        message = f"Kế hoạch đã có nội dung “{value}”."
    if message:
        raise Invalid(f"Chưa lưu được nội dung: {message}", errors={"title": message})
    return value


def _renumber(campaign: Campaign, active: list[ContentItem]) -> None:
    """Positions 1…n for the offered items in this order (the number the entry form and the
    report show), then the archived ones."""
    archived = sorted((i for i in campaign.content_items if i.archived), key=lambda i: i.position)
    for n, item in enumerate([*active, *archived], start=1):
        item.position = n
    campaign.content_items.sort(key=lambda i: i.position)


def _log_item(actor, item: ContentItem, action: str, verb: str, before=None, after=None):
    campaign = item.campaign
    audit.record(
        actor, "campaign", campaign.id, action,
        f"{verb} nội dung “{item.title}” của kế hoạch {campaign_name(campaign)}",
        before=before, after=after,
    )  # fmt: skip
    db.session.flush()


def add_content_item(campaign: Campaign, *, actor: User, title: str) -> ContentItem:
    """Add a content item at the end of the campaign's list."""
    require_admin(actor)
    item = ContentItem(title=_item_title(campaign, title, None), archived=False)
    campaign.content_items.append(item)
    _renumber(campaign, [*campaign.active_content_items])
    db.session.flush()
    _log_item(actor, item, "add_item", "Thêm", after=item_snapshot(item))
    return item


def update_content_item(item: ContentItem, *, actor: User, title: str) -> bool:
    """Rename a content item (entries that refer to it show the new name); True if changed."""
    require_admin(actor)
    value = _item_title(item.campaign, title, item)
    if value == item.title:
        return False
    before = item_snapshot(item)
    item.title = value
    _log_item(actor, item, "update_item", "Sửa", before, item_snapshot(item))
    return True


def reorder_content_items(campaign: Campaign, item_ids: list[int], *, actor: User) -> bool:
    """Put the offered content items in this order (their ids); True if the order changed."""
    require_admin(actor)
    active = campaign.active_content_items
    by_id = {item.id: item for item in active}
    if sorted(item_ids) != sorted(by_id):
        raise Invalid("Danh sách nội dung đã thay đổi, vui lòng tải lại trang.")
    before = {"content_items": [i.title for i in active]}
    if [i.id for i in active] == list(item_ids):
        return False
    _renumber(campaign, [by_id[i] for i in item_ids])
    after = {"content_items": [i.title for i in campaign.active_content_items]}
    audit.record(
        actor, "campaign", campaign.id, "reorder_items",
        f"Sắp xếp lại nội dung của kế hoạch {campaign_name(campaign)}",
        before=before, after=after,
    )  # fmt: skip
    db.session.flush()
    return True


def move_content_item(item: ContentItem, offset: int, *, actor: User) -> bool:
    """Move a content item up (-1) or down (+1) the list; False at either end."""
    if item.archived:
        raise Invalid("Nội dung đã lưu trữ không nằm trong danh sách để sắp xếp.")
    ids = [i.id for i in item.campaign.active_content_items]
    at = ids.index(item.id)
    to = at + offset
    if not 0 <= to < len(ids):
        return False
    ids[at], ids[to] = ids[to], ids[at]
    return reorder_content_items(item.campaign, ids, actor=actor)


def _keep_one(campaign: Campaign, item: ContentItem) -> None:
    left = [i for i in campaign.active_content_items if i is not item]
    if not left and campaign.status != CampaignStatus.DRAFT:
        raise Invalid(
            "Kế hoạch đã công bố phải còn ít nhất một nội dung để cán bộ chọn khi lập hồ sơ; "
            "hãy thêm nội dung khác trước."
        )


def archive_content_item(item: ContentItem, *, actor: User) -> None:
    """Stop offering a content item; entries that refer to it keep it."""
    require_admin(actor)
    if item.archived:
        raise Invalid(f"Nội dung “{item.title}” đã được lưu trữ từ trước.")
    _keep_one(item.campaign, item)
    before = item_snapshot(item)
    item.archived = True
    _renumber(item.campaign, [i for i in item.campaign.active_content_items])
    _log_item(actor, item, "archive_item", "Lưu trữ", before, item_snapshot(item))


def restore_content_item(item: ContentItem, *, actor: User) -> None:
    """Offer an archived content item again, at the end of the list."""
    require_admin(actor)
    if not item.archived:
        raise Invalid(f"Nội dung “{item.title}” đang được sử dụng, không cần khôi phục.")
    _item_title(item.campaign, item.title, item)  # no active twin
    before = item_snapshot(item)
    item.archived = False
    _renumber(
        item.campaign, [*(i for i in item.campaign.active_content_items if i is not item), item]
    )
    _log_item(actor, item, "restore_item", "Khôi phục", before, item_snapshot(item))


def delete_content_item(item: ContentItem, *, actor: User) -> None:
    """Delete a content item no entry refers to (one that entries use can only be archived)."""
    require_admin(actor)
    used = _uses(Entry.content_item_id, item.id)
    if used:
        raise Invalid(
            f"Không xóa được nội dung “{item.title}”: đã có {used} hồ sơ hoạt động thuộc nội "
            "dung này. Hãy lưu trữ để không cho chọn nữa; các hồ sơ đã có vẫn giữ nguyên."
        )
    campaign = item.campaign
    if not item.archived:
        _keep_one(campaign, item)
    _log_item(actor, item, "delete_item", "Xóa", before=item_snapshot(item))
    campaign.content_items.remove(item)
    db.session.delete(item)
    _renumber(campaign, [*campaign.active_content_items])
    db.session.flush()


# --- Observances (Ngày kỷ niệm) -------------------------------------------------------------


def observance_snapshot(observance: Observance) -> dict:
    """What the log keeps of an observance."""
    return {
        "observance_day": observance.day,
        "observance_name": observance.name,
        "founding_year": observance.founding_year,
        "observance_archived": observance.archived,
    }


def _observance_values(campaign: Campaign, fields: dict, observance: Observance | None) -> dict:
    errors: dict[str, str] = {}
    day = fields.get("day") if isinstance(fields.get("day"), date) else None
    raw = fields.get("name")
    name = (clean_line(raw) if isinstance(raw, str) else "") or ""
    founded = fields.get("founding_year")
    if day is None:
        errors["day"] = "Vui lòng nhập ngày kỷ niệm (dạng dd/mm/yyyy)."
    if not name:
        errors["name"] = "Vui lòng nhập tên ngày kỷ niệm."
    elif len(name) > OBSERVANCE_LIMIT:
        errors["name"] = f"Tên ngày kỷ niệm không được dài quá {OBSERVANCE_LIMIT} ký tự."
    if founded is not None and (not isinstance(founded, int) or founded < 1):
        errors["founding_year"] = "Năm không hợp lệ."
    elif founded is not None and day is not None and founded > day.year:
        errors["founding_year"] = f"Năm khởi đầu không thể sau năm {day.year} của ngày kỷ niệm."
    if day is not None and name:
        for other in campaign.active_observances:
            if other is not observance and other.day == day and fold(other.name) == fold(name):
                errors["name"] = f"Kế hoạch đã có ngày kỷ niệm “{name}” ngày {format_date(day)}."
    _refuse(errors, "ngày kỷ niệm")
    return {"day": day, "name": name, "founding_year": founded}


def _log_observance(actor, observance: Observance, action: str, verb: str, before, after):
    campaign = observance.campaign
    audit.record(
        actor, "campaign", campaign.id, action,
        f"{verb} ngày kỷ niệm “{observance.display_name}” của kế hoạch {campaign_name(campaign)}",
        before=before, after=after,
    )  # fmt: skip
    db.session.flush()


def add_observance(campaign: Campaign, *, actor: User, fields: dict) -> Observance:
    """Add a commemorative day (day, name, founding year for "(93 năm)")."""
    require_admin(actor)
    observance = Observance(**_observance_values(campaign, fields, None), archived=False)
    campaign.observances.append(observance)
    campaign.observances.sort(key=lambda o: o.day)
    db.session.flush()
    _log_observance(
        actor, observance, "add_observance", "Thêm", None, observance_snapshot(observance)
    )
    return observance


def update_observance(observance: Observance, *, actor: User, fields: dict) -> bool:
    """Change an observance's day, name or founding year; True if anything changed."""
    require_admin(actor)
    values = _observance_values(observance.campaign, fields, observance)
    before = observance_snapshot(observance)
    for name, value in values.items():
        setattr(observance, name, value)
    after = observance_snapshot(observance)
    if not audit.changed(before, after):
        return False
    observance.campaign.observances.sort(key=lambda o: o.day)
    _log_observance(actor, observance, "update_observance", "Sửa", before, after)
    return True


def archive_observance(observance: Observance, *, actor: User) -> None:
    """Stop offering an observance; entries that answer it keep it."""
    require_admin(actor)
    if observance.archived:
        raise Invalid(f"Ngày kỷ niệm “{observance.name}” đã được lưu trữ từ trước.")
    before = observance_snapshot(observance)
    observance.archived = True
    after = observance_snapshot(observance)
    _log_observance(actor, observance, "archive_observance", "Lưu trữ", before, after)


def restore_observance(observance: Observance, *, actor: User) -> None:
    """Offer an archived observance again."""
    require_admin(actor)
    if not observance.archived:
        raise Invalid(f"Ngày kỷ niệm “{observance.name}” đang được sử dụng, không cần khôi phục.")
    fields = {"day": observance.day, "name": observance.name, "founding_year": None}
    _observance_values(observance.campaign, fields, observance)  # no active twin
    before = observance_snapshot(observance)
    observance.archived = False
    after = observance_snapshot(observance)
    _log_observance(actor, observance, "restore_observance", "Khôi phục", before, after)


def delete_observance(observance: Observance, *, actor: User) -> None:
    """Delete an observance no entry answers (one that entries use can only be archived)."""
    require_admin(actor)
    used = _uses(Entry.observance_id, observance.id)
    if used:
        raise Invalid(
            f"Không xóa được ngày kỷ niệm “{observance.name}”: đã có {used} hồ sơ hoạt động "
            "hưởng ứng ngày này. Hãy lưu trữ để không cho chọn nữa; các hồ sơ đã có vẫn giữ "
            "nguyên."
        )
    campaign = observance.campaign
    _log_observance(
        actor, observance, "delete_observance", "Xóa", observance_snapshot(observance), None
    )
    campaign.observances.remove(observance)
    db.session.delete(observance)
    db.session.flush()
