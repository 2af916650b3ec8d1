"""Turn a report and its entries into the plain data the .docx renderers take.

Deterministic: the same entries and texts give the same ReportData (entries are ordered by
content item, unit, date and id; nothing depends on the clock).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from danvan.documents.model import (
    AgencyInfo,
    ContentGroup,
    EntryLine,
    RegisterData,
    RegisterRow,
    ReportData,
    SignerBlock,
    UnitGroup,
    UnitStats,
)
from danvan.models import Agency, Campaign, Entry, RegisterEntry, Report, Role, Unit, User
from danvan.text import format_date, format_number

DOC_TYPE_NAME = {"BC": "Báo cáo"}


def agency_info(agency: Agency) -> AgencyInfo:
    """The agency as printed in document headers."""
    return AgencyInfo(
        parent_name=agency.parent_name,
        name=agency.name,
        abbreviation=agency.abbreviation,
        place_name=agency.place_name,
    )


# The head's and the deputy's titles: a Sở's (Giám đốc), a Ban's in its roll-up (Trưởng ban).
HEAD_TITLES = {False: ("Giám đốc", "Phó Giám đốc"), True: ("Trưởng ban", "Phó Trưởng ban")}


def signer_block(user: User | None, *, rollup: bool = False) -> SignerBlock | None:
    """NĐ30 signer block: the head signs "GIÁM ĐỐC", a deputy "KT. GIÁM ĐỐC / PHÓ GIÁM ĐỐC"
    ("TRƯỞNG BAN", "KT. TRƯỞNG BAN / PHÓ TRƯỞNG BAN" in a Ban's roll-up)."""
    if user is None:
        return None
    head, deputy = (title.upper() for title in HEAD_TITLES[rollup])
    if user.has_role(Role.DIRECTOR):
        return SignerBlock(head, None, user.full_name)
    return SignerBlock(f"KT. {head}", deputy, user.full_name)


def signer_title(user: User, *, rollup: bool = False) -> str:
    """The signer's title for registers and the archive ("Trưởng ban" in a Ban's roll-up)."""
    head, deputy = HEAD_TITLES[rollup]
    return head if user.has_role(Role.DIRECTOR) else deputy


def basis_sentence(campaign: Campaign) -> str:
    """The căn cứ sentence citing the plan."""
    plan = f"Kế hoạch số {campaign.plan_number}" if campaign.plan_number else "Kế hoạch"
    if campaign.plan_date:
        plan += f" ngày {format_date(campaign.plan_date)}"
    agency = campaign.agency.full_name
    return (
        f"Thực hiện {plan} của {agency} về {campaign.title[0].lower()}{campaign.title[1:]}, "
        f"{agency} báo cáo kết quả thực hiện như sau:"
    )


def supplement_subject(subject: str) -> str:
    """Trích yếu of a supplementary report: "Bổ sung kết quả triển khai …"."""
    return f"Bổ sung {subject[0].lower()}{subject[1:]}" if subject else "Báo cáo bổ sung"


def supplement_basis(campaign: Campaign, number_symbol: str, issued: date) -> str:
    """Căn cứ of a supplementary report: the plan, then the report it follows."""
    agency = campaign.agency.full_name
    plan = basis_sentence(campaign).removesuffix(f", {agency} báo cáo kết quả thực hiện như sau:")
    return (
        f"{plan}; tiếp theo Báo cáo số {number_symbol} ngày {format_date(issued)}, "
        f"{agency} báo cáo bổ sung kết quả thực hiện như sau:"
    )


def default_narratives(campaign: Campaign) -> dict[str, str]:
    """Pre-filled texts for sections I, III and IV; Văn phòng edits them."""
    plan = campaign.plan_number or "…"
    return {
        "section_leadership": (
            f"Ngay sau khi nhận được văn bản chỉ đạo của cấp trên, Sở đã ban hành Kế hoạch số "
            f"{plan} tổ chức các hoạt động “Tháng cao điểm” thực hiện công tác dân vận; giao Văn "
            "phòng Sở làm đầu mối, các phòng chuyên môn, đơn vị thuộc Sở phối hợp triển khai.\n"
            "Công tác tuyên truyền được thực hiện qua Website của Sở, sinh hoạt chi bộ, đoàn thể "
            "và các hội nghị của cơ quan, góp phần nâng cao nhận thức của cán bộ, công chức, viên "
            "chức và người lao động về công tác dân vận."
        ),
        "section_strengths": (
            "Các phòng, đơn vị đã chủ động triển khai kế hoạch, gắn các hoạt động dân vận với "
            "nhiệm vụ chuyên môn; các hoạt động được tổ chức thiết thực, đúng thời gian."
        ),
        "section_weaknesses": (
            "Một số hoạt động còn lồng ghép, chưa có nhiều mô hình mới; việc báo cáo kết quả "
            "của một số đơn vị còn chậm."
        ),
        "section_proposals": (
            "Đề nghị Ban Dân vận Tỉnh ủy tiếp tục quan tâm hướng dẫn, tạo điều kiện để Sở thực "
            "hiện tốt công tác dân vận trong thời gian tới."
        ),
    }


def _entry_line(entry: Entry) -> EntryLine:
    return EntryLine(
        title=entry.title,
        unit_name=entry.unit.name,
        date_from=entry.date_from,
        date_to=entry.date_to,
        place=entry.place,
        activity_form=entry.activity_form,
        observance=entry.observance.name if entry.observance else None,
        participants_officials=entry.participants_officials,
        participants_citizens=entry.participants_citizens,
        amount_vnd=entry.amount_vnd,
        result=entry.result,
        model_name=entry.model_name,
        gifts=entry.gifts or "",
    )


def _gift_lines(text: str | None) -> list[str]:
    return [line.strip(" ;") for line in (text or "").splitlines() if line.strip(" ;")]


def unit_statistics(units: list[Unit], entries: list[Entry]) -> tuple[UnitStats, ...]:
    """Per-unit figures for the Phụ lục, for every unit of the agency (zeros included)."""
    rows = []
    by_unit: dict[int, list[Entry]] = defaultdict(list)
    for entry in entries:
        by_unit[entry.unit_id].append(entry)
    for unit in units:
        mine = by_unit.get(unit.id, [])
        officials = sum(e.participants_officials for e in mine)
        citizens = sum(e.participants_citizens for e in mine)
        rows.append(
            UnitStats(
                unit_name=unit.name,
                activities=len(mine),
                participants=officials + citizens,
                officials=officials,
                citizens=citizens,
                amount_vnd=sum(e.amount_vnd or 0 for e in mine),
                observance_activities=sum(1 for e in mine if e.observance_id),
                models=sum(1 for e in mine if e.model_name),
                gifts="; ".join(line for e in mine for line in _gift_lines(e.gifts)),
            )
        )
    return tuple(rows)


def report_data(
    report: Report,
    entries: list[Entry],
    units: list[Unit],
    *,
    signer: User | None,
    number: str | None = None,
    issued_date: date | None = None,
    draft_year: int | None = None,
    follows: tuple[str, date] | None = None,
    verify_url: str | None = None,
) -> ReportData:
    """ReportData for a draft (no number) or the final document (number and date).

    ``draft_year`` is the year printed in a draft's blank date line: the year it will be
    signed in (default: the campaign's year). ``follows`` (number and date of the report
    already signed) makes it a supplementary report ("Bổ sung …"). ``verify_url`` (final
    documents only) is printed in page 1's footer with its QR code.
    """
    campaign = report.campaign
    position = {unit.id: unit.position for unit in units}
    ordered = sorted(
        entries,
        key=lambda e: (e.content_item.position, position.get(e.unit_id, 0), e.date_from, e.id),
    )
    groups = []
    for item in campaign.content_items:
        in_item = [e for e in ordered if e.content_item_id == item.id]
        unit_groups = []
        for unit in units:
            lines = tuple(_entry_line(e) for e in in_item if e.unit_id == unit.id)
            if lines:
                unit_groups.append(UnitGroup(unit.name, lines))
        groups.append(ContentGroup(item.title, tuple(unit_groups)))
    return ReportData(
        agency=agency_info(campaign.agency),
        doc_symbol=f"{report.doc_type}-{campaign.agency.abbreviation}",
        number=number,
        issued_date=issued_date,
        draft_year=draft_year or campaign.year,
        is_draft=number is None,
        subject=supplement_subject(campaign.report_subject) if follows else campaign.report_subject,
        basis=supplement_basis(campaign, *follows) if follows else basis_sentence(campaign),
        section_leadership=report.section_leadership,
        content_groups=tuple(groups),
        total_activities=len(entries),
        total_participants=sum(e.participants_total for e in entries),
        total_amount_vnd=sum(e.amount_vnd or 0 for e in entries),
        section_strengths=report.section_strengths,
        section_weaknesses=report.section_weaknesses,
        section_proposals=report.section_proposals,
        recipients=tuple(campaign.recipient_lines),
        signer=signer_block(signer),
        appendix=unit_statistics(units, entries),
        verify_url=verify_url if number is not None else None,
    )


def register_data(agency: Agency, year: int, rows: list[RegisterEntry]) -> RegisterData:
    """The outgoing register of a year, as the register renderer takes it."""
    return RegisterData(
        agency=agency_info(agency),
        year=year,
        rows=tuple(
            RegisterRow(
                number_symbol=r.number_symbol,
                doc_date=r.doc_date,
                type_and_subject=r.type_and_subject,
                signer=r.signer_name,
                recipients=r.recipients,
                archive_holder=r.archive_holder,
                copies=r.copies,
                sent_date=r.sent_date,
                received_by=r.received_by,
                note=r.note,
            )
            for r in rows
        ),
    )


# --- The roll-up report (Ban Dân vận Tỉnh ủy): the Sở reports received, summed ------------

ROLLUP_GROUP_TITLE = "Kết quả thực hiện của các sở, ban, ngành"


def rollup_basis(campaign: Campaign, follows: tuple[str, date] | None) -> str:
    """Căn cứ of the roll-up report: the plan, the Sở reports received (and the report it
    follows, for a supplement)."""
    agency = campaign.agency.full_name
    plan = f"Kế hoạch số {campaign.plan_number}" if campaign.plan_number else "Kế hoạch"
    if campaign.plan_date:
        plan += f" ngày {format_date(campaign.plan_date)}"
    title = f"{campaign.title[0].lower()}{campaign.title[1:]}"
    text = f"Thực hiện {plan} của {agency} về {title}; trên cơ sở báo cáo của các cơ quan, đơn vị"
    if follows:
        text += f"; tiếp theo Báo cáo số {follows[0]} ngày {format_date(follows[1])}"
        return f"{text}, {agency} báo cáo bổ sung kết quả tổng hợp như sau:"
    return f"{text}, {agency} báo cáo kết quả tổng hợp như sau:"


def _rollup_line(campaign: Campaign, totals: dict, gifts: str) -> EntryLine:
    """A Sở's reported totals as one line of section II."""
    title = f"Tổ chức {format_number(totals['activities'])} hoạt động"
    if totals["observance_activities"]:
        title += (
            f", trong đó {format_number(totals['observance_activities'])} hoạt động hưởng ứng "
            "các ngày kỷ niệm"
        )
    result = (
        f"Xây dựng {format_number(totals['models'])} mô hình “Dân vận khéo”"
        if totals["models"]
        else ""
    )
    return EntryLine(
        title=title,
        unit_name="",
        date_from=campaign.period_start,
        date_to=campaign.period_end,
        place="",
        activity_form="",
        observance=None,
        participants_officials=totals["officials"],
        participants_citizens=totals["citizens"],
        amount_vnd=totals["amount_vnd"],
        result=result,
        gifts=gifts,
    )


def rollup_report_data(
    report: Report,
    figures,
    *,
    signer: User | None,
    number: str | None = None,
    issued_date: date | None = None,
    draft_year: int | None = None,
    follows: tuple[str, date] | None = None,
    verify_url: str | None = None,
) -> ReportData:
    """ReportData of a roll-up report from ``figures`` (``danvan.rollup.RollupFigures`` of the
    report's incoming documents): section II and the Phụ lục have one part per Sở, naming the
    reports its figures come from; an expected Sở without any is "chưa báo cáo" (with zeros)
    in the first report and left out of a supplement."""
    campaign = report.campaign
    groups, rows = [], []
    for agency in figures.agencies:
        if agency.reported:
            label = f"{agency.name} ({agency.sources_label})"
            line = _rollup_line(campaign, agency.totals, agency.gifts)
            groups.append(UnitGroup(label, (line,)))
        elif agency.expected and not follows:
            label = f"{agency.name} (chưa báo cáo)"
        else:
            continue
        totals = agency.totals
        rows.append(
            UnitStats(
                unit_name=label,
                activities=totals["activities"],
                participants=totals["participants"],
                officials=totals["officials"],
                citizens=totals["citizens"],
                amount_vnd=totals["amount_vnd"],
                observance_activities=totals["observance_activities"],
                models=totals["models"],
                gifts=agency.gifts,
            )
        )
    totals = figures.totals
    subject = campaign.report_subject
    return ReportData(
        agency=agency_info(campaign.agency),
        doc_symbol=f"{report.doc_type}-{campaign.agency.abbreviation}",
        number=number,
        issued_date=issued_date,
        draft_year=draft_year or campaign.year,
        is_draft=number is None,
        subject=supplement_subject(subject) if follows else subject,
        basis=rollup_basis(campaign, follows),
        section_leadership=report.section_leadership,
        content_groups=(ContentGroup(ROLLUP_GROUP_TITLE, tuple(groups)),),
        total_activities=totals["activities"],
        total_participants=totals["participants"],
        total_amount_vnd=totals["amount_vnd"],
        section_strengths=report.section_strengths,
        section_weaknesses=report.section_weaknesses,
        section_proposals=report.section_proposals,
        recipients=tuple(campaign.recipient_lines),
        signer=signer_block(signer, rollup=True),
        appendix=tuple(rows),
        verify_url=verify_url if number is not None else None,
    )


def rollup_narratives(campaign: Campaign) -> dict[str, str]:
    """Pre-filled texts for sections I, III and IV of a roll-up report; Văn phòng edits them."""
    plan = campaign.plan_number or "…"
    return {
        "section_leadership": (
            f"Thực hiện Kế hoạch số {plan}, các cơ quan, đơn vị đã ban hành kế hoạch, tổ chức các "
            "hoạt động “Tháng cao điểm” thực hiện công tác dân vận và gửi báo cáo kết quả qua hệ "
            "thống quản lý văn bản điện tử."
        ),
        "section_strengths": (
            "Các cơ quan, đơn vị đã chủ động triển khai, gắn các hoạt động dân vận với nhiệm vụ "
            "chuyên môn; nhiều hoạt động thiết thực, hướng về cơ sở."
        ),
        "section_weaknesses": "Một số cơ quan, đơn vị gửi báo cáo chậm so với thời hạn.",
        "section_proposals": (
            "Đề nghị các cơ quan, đơn vị tiếp tục phát huy kết quả đạt được, báo cáo đúng thời "
            "hạn trong các đợt tiếp theo."
        ),
    }
