"""Turn a parsed plan into a draft campaign (status "draft") for review: flush, never commit."""

from __future__ import annotations

import re

from danvan import audit
from danvan.extensions import db
from danvan.models import Agency, Campaign, ContentItem, Observance, User
from danvan.plans.parser import ParsedPlan
from danvan.text import fold, shorten

AUDIT_FIELDS = (
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
)


class PlanImportError(Exception):
    """A draft campaign cannot be made from the plan; ``problems`` says why, in Vietnamese."""

    def __init__(self, problems: list[str]):
        super().__init__(" ".join(problems))
        self.problems = list(problems)


def missing_fields(parsed: ParsedPlan) -> list[str]:
    """What a draft campaign needs and the plan did not give (Vietnamese, empty when none)."""
    problems = []
    if not parsed.title:
        problems.append("Thiếu tên kế hoạch (dòng sau “KẾ HOẠCH”).")
    if parsed.period_start is None or parsed.period_end is None:
        problems.append("Thiếu thời gian thực hiện (từ ngày … đến ngày …).")
    if parsed.report_deadline is None:
        problems.append("Thiếu hạn gửi báo cáo kết quả về Ban Dân vận Tỉnh ủy.")
    return problems


_LEAD = re.compile(
    r"^(?:tổ\s+chức\s+(?:các\s+)?(?:hoạt\s+động\s+)?|triển\s+khai\s+(?:thực\s+hiện\s+)?"
    r"|thực\s+hiện\s+)",
    re.IGNORECASE,
)
_TAIL = re.compile(
    r"\s*(?:,\s*)?(?:\bnhân\s+(?:dịp\s+)?|\bchào\s+mừng\b|\bhưởng\s+ứng\b|\bk[ỷỉ]\s+niệm\b|\().*$",
    re.IGNORECASE,
)


def report_subject_for(parsed: ParsedPlan) -> str:
    """The result report's trích yếu: "Kết quả triển khai <the plan's subject> năm <year>"."""
    year = parsed.period_start.year if parsed.period_start else None
    core = re.sub(r"[“”\"]", "", parsed.title or "").strip()
    core = _TAIL.sub("", _LEAD.sub("", core)).strip(" ,.;:-–")
    core = re.sub(r"\s+năm\s+\d{4}$", "", core, flags=re.IGNORECASE)
    if not core:
        core = "Tháng cao điểm thực hiện công tác dân vận"
    subject = f"Kết quả triển khai {core[0].upper()}{core[1:]}"
    return shorten(f"{subject} năm {year}" if year else subject, 500)


def _report_recipient(parsed: ParsedPlan) -> str | None:
    """The body the report goes to; else the provincial Ban the "Nơi nhận" list names."""
    if parsed.report_recipient:
        return parsed.report_recipient
    for line in parsed.recipients:
        folded = fold(line)
        if folded.startswith("ban") and re.search(r"\btinh uy\b", folded):
            return line
    return None


def create_draft_campaign(agency: Agency, parsed: ParsedPlan, *, actor: User | None) -> Campaign:
    """Create a draft campaign with the plan's content items and observances; flush only."""
    problems = missing_fields(parsed)
    if agency is None:
        problems.append("Chưa chọn cơ quan cho kế hoạch.")
    if problems:
        raise PlanImportError(problems)
    campaign = Campaign(
        agency=agency,
        title=shorten(parsed.title, 500),
        year=parsed.period_start.year,
        plan_number=shorten(parsed.plan_number, 50) if parsed.plan_number else None,
        plan_date=parsed.plan_date,
        period_start=parsed.period_start,
        period_end=parsed.period_end,
        report_deadline=parsed.report_deadline,
        report_subject=report_subject_for(parsed),
        recipients="\n".join(parsed.recipients),
    )
    recipient = _report_recipient(parsed)
    if recipient:  # otherwise the column's default, which the problems list asks to check
        campaign.report_recipient = shorten(recipient, 200)
    if hasattr(Campaign, "status"):
        campaign.status = "draft"
    campaign.content_items = [
        ContentItem(position=i, title=shorten(title, 500))
        for i, title in enumerate(parsed.content_items, start=1)
    ]
    campaign.observances = [
        Observance(day=o.date, name=shorten(o.name, 300), founding_year=o.founding_year)
        for o in parsed.observances
    ]
    db.session.add(campaign)
    db.session.flush()
    audit.record(
        actor,
        "campaign",
        campaign.id,
        "import",
        f"Nhập kế hoạch {campaign.plan_number or '(chưa có số)'} thành bản nháp: {campaign.title}",
        after={
            **audit.snapshot(campaign, AUDIT_FIELDS),
            "content_items": [item.title for item in campaign.content_items],
            "observances": [o.display_name for o in campaign.observances],
        },
    )
    db.session.flush()
    return campaign
