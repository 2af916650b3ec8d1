"""The campaign's entries and per-unit statistics as .xlsx and .csv bytes (no Flask request).

Numbers stay numbers: counts and money are integers with the format ``[$-42A]#,##0``, the
thousands-separator format tagged with the Vietnamese locale (LCID 0x042A). LibreOffice
displays it with Vietnamese separators (1.234.567) whatever the machine's locale; Excel shows
its own system separators (1.234.567 on a Vietnamese Windows). A format with literal dots
would show the same on every machine but turns the column into text for sums and sorting.
Dates are real dates formatted dd/mm/yyyy.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select
from sqlalchemy.orm import noload

from danvan.documents.context import unit_statistics
from danvan.documents.model import UnitStats
from danvan.documents.report_docx import APPENDIX_FIELDS, APPENDIX_HEADINGS
from danvan.extensions import db
from danvan.models import Campaign, Entry, Report, Unit, User
from danvan.permissions import OVERSEER_ROLES, identities
from danvan.queries import OVERVIEW_STATES, apply_entry_filters, visibility_filter
from danvan.text import clean_text, format_date
from danvan.workflow import EntryState, ReportState

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIMETYPE = "text/csv; charset=utf-8"
NUMBER_FORMAT = "[$-42A]#,##0"
DATE_FORMAT = "dd/mm/yyyy"
LINE_HEIGHT = 15.0  # points per line of 11 pt text
ENTRIES_SHEET = "Hoạt động"
STATISTICS_SHEET = "Thống kê theo đơn vị"
# Characters that make a spreadsheet read a CSV cell as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    heading: str
    width: float
    kind: str = "text"  # text | wrap | date | number | int


ENTRY_COLUMNS = (
    Column("STT", 6, "int"),
    Column("Đơn vị", 24, "wrap"),
    Column("Nội dung", 30, "wrap"),
    Column("Tên hoạt động", 40, "wrap"),
    Column("Từ ngày", 12, "date"),
    Column("Đến ngày", 12, "date"),
    Column("Địa điểm", 24, "wrap"),
    Column("Hình thức", 18, "wrap"),
    Column("Ngày kỷ niệm", 26, "wrap"),
    Column("Cán bộ/đảng viên", 12, "number"),
    Column("Người dân", 12, "number"),
    Column("Tổng người tham gia", 13, "number"),
    Column("Kinh phí (đồng)", 16, "number"),
    Column("Mô hình “Dân vận khéo”", 28, "wrap"),
    Column("Trạng thái", 22, "wrap"),
    Column("Kết quả", 50, "wrap"),
)
# The report's appendix, column for column: its headings (report_docx.APPENDIX_HEADINGS) over
# the UnitStats fields in the same order, so the sheet and the signed table read alike.
STAT_FIELDS = APPENDIX_FIELDS
_STAT_WIDTHS = (6, 32, 12, 14, 14, 12, 12, 16, 36, 14)
STAT_COLUMNS = tuple(
    Column(
        heading,
        width,
        "int" if i == 0 else "wrap" if i == 1 or STAT_FIELDS[i - 2] == "gifts" else "number",
    )
    for i, (heading, width) in enumerate(zip(APPENDIX_HEADINGS, _STAT_WIDTHS, strict=True))
)


@dataclass(frozen=True)
class Statistics:
    """The statistics sheet: per-unit rows, their total and what they count."""

    rows: tuple[UnitStats, ...]
    total: UnitStats
    note: str


def export_entries(campaign: Campaign, *, visible_to: User | None, **filters) -> list[Entry]:
    """The entries the list shows for these filters (apply_entry_filters), in its order, with
    no row limit; without a user (the CLI), every entry but drafts and withdrawn ones."""
    stmt = (
        select(Entry)
        .order_by(Entry.date_from.desc(), Entry.id.desc())
        .options(noload(Entry.attachments), noload(Entry.approval_rows))
    )
    stmt = apply_entry_filters(stmt, campaign_id=campaign.id, **filters)
    if visible_to is not None:
        stmt = stmt.where(visibility_filter(visible_to))
    else:
        stmt = stmt.where(Entry.state.in_([s.value for s in OVERVIEW_STATES]))
    return list(db.session.scalars(stmt).unique())


def sees_statistics(user: User | None) -> bool:
    """Whether the workbook carries the statistics sheet: for whoever may read the report
    (permissions.can_view_report); a unit's staff only export the entries they see."""
    if user is None:
        return True
    roles = {r.value for r in OVERSEER_ROLES}
    return any(i.roles.intersection(roles) for i in identities(user))


def _report_units(campaign: Campaign) -> list[Unit]:
    """The report's unit list and order (operations.reports._units): every unit of the agency."""
    stmt = select(Unit).where(Unit.agency_id == campaign.agency_id).order_by(Unit.position)
    return list(db.session.scalars(stmt))


def campaign_statistics(campaign: Campaign) -> Statistics:
    """Per-unit statistics of the whole campaign: the issued reports' entries (so the totals
    are the signed appendix's), else approved and signed entries as provisional figures."""
    issued = list(
        db.session.scalars(
            select(Report)
            .where(Report.campaign_id == campaign.id, Report.state == ReportState.ISSUED.value)
            .order_by(Report.id)
        )
    )
    stmt = select(Entry).options(noload(Entry.attachments), noload(Entry.approval_rows))
    if issued:
        stmt = stmt.where(Entry.report_id.in_([r.id for r in issued]))
        cited = ", ".join(f"số {r.number_symbol} ngày {format_date(r.issued_date)}" for r in issued)
        kind = "các Báo cáo" if len(issued) > 1 else "Báo cáo"
        note = (
            f"Số liệu của {kind} {cited} (đã phát hành), bằng Phụ lục của báo cáo. "
            "Toàn bộ kế hoạch, không theo bộ lọc của danh sách hồ sơ."
        )
    else:
        states = [EntryState.APPROVED.value, EntryState.SIGNED.value]
        stmt = stmt.where(Entry.campaign_id == campaign.id, Entry.state.in_(states))
        note = (
            "Số liệu tạm tính: các hồ sơ đã duyệt và đã ký, chưa có báo cáo được phát hành. "
            "Toàn bộ kế hoạch, không theo bộ lọc của danh sách hồ sơ."
        )
    entries = list(db.session.scalars(stmt.order_by(Entry.id)).unique())
    rows = unit_statistics(_report_units(campaign), entries)
    sums = {f: sum(getattr(r, f) for r in rows) for f in STAT_FIELDS if f != "gifts"}
    total = UnitStats(unit_name="Tổng cộng", gifts="", **sums)
    return Statistics(rows, total, note)


def _text(value: str | None) -> str:
    """NFC text without the control characters XML 1.0 (and so .xlsx) refuses."""
    return ILLEGAL_CHARACTERS_RE.sub("", clean_text(value) or "")


def entry_values(index: int, entry: Entry) -> list[object]:
    """One entry's row: Python values in ENTRY_COLUMNS order (dates as dates, None if blank)."""
    item = entry.content_item
    return [
        index,
        _text(entry.unit.name),
        _text(f"{item.position}. {item.title}"),
        _text(entry.title),
        entry.date_from,
        entry.date_to,
        _text(entry.place),
        _text(entry.activity_form),
        _text(entry.observance.name) if entry.observance else "",
        entry.participants_officials or 0,
        entry.participants_citizens or 0,
        entry.participants_total,
        entry.amount_vnd,
        _text(entry.model_name),
        _text(entry.state_label),
        _text(entry.result),
    ]


def _stat_values(index: int | None, stats: UnitStats) -> list[object]:
    return [index, _text(stats.unit_name), *(getattr(stats, f) for f in STAT_FIELDS)]


_BOLD = Font(bold=True)
_HEADER_ALIGN = Alignment(horizontal="center", vertical="center", wrap_text=True)
_WRAP = Alignment(vertical="top", wrap_text=True)
_TOP = Alignment(vertical="top")


def _row_height(columns, values) -> float | None:
    """Points for the row's longest wrapped text: neither Calc nor Excel fits rows written
    by openpyxl on opening, so wrapped cells would overlap the next row."""
    lines = 1
    for column, value in zip(columns, values, strict=True):
        if column.kind == "wrap" and isinstance(value, str) and value:
            per_line = max(1, int(column.width * 1.1))
            wrapped = sum(-(-max(1, len(part)) // per_line) for part in value.split("\n"))
            lines = max(lines, wrapped)
    return min(409.0, lines * LINE_HEIGHT) if lines > 1 else None


def _write_row(ws: Worksheet, row: int, columns, values, *, bold: bool = False) -> None:
    ws.row_dimensions[row].height = _row_height(columns, values)
    for col, (column, value) in enumerate(zip(columns, values, strict=True), start=1):
        cell = ws.cell(row=row, column=col)
        if value is None or value == "":
            cell.value = None
        elif isinstance(value, str):
            cell.value = value
            cell.data_type = "s"  # a title "=1+1" stays text, never a formula
        else:
            cell.value = value
        if column.kind == "date":
            cell.number_format = DATE_FORMAT
        elif column.kind == "number":
            cell.number_format = NUMBER_FORMAT
        cell.alignment = _WRAP if column.kind == "wrap" else _TOP
        if bold:
            cell.font = _BOLD


def _start_sheet(ws: Worksheet, columns) -> None:
    """Bold, wrapped header in row 1, frozen; column widths."""
    for col, column in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=col, value=column.heading)
        cell.font = _BOLD
        cell.alignment = _HEADER_ALIGN
        ws.column_dimensions[get_column_letter(col)].width = column.width
    ws.freeze_panes = "A2"
    ws.row_dimensions[1].height = 45
    # Printed: landscape, as wide as the page, the header row on every page.
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"


def build_workbook(
    campaign: Campaign, entries: Iterable[Entry], statistics: Statistics | None
) -> bytes:
    """The .xlsx: sheet "Hoạt động" (the given entries), then, when given, the statistics."""
    wb = Workbook()
    wb.properties.title = _text(f"Hồ sơ hoạt động – {campaign.title}")
    wb.properties.creator = _text(campaign.agency.full_name)
    wb.properties.language = "vi-VN"
    ws = wb.active
    ws.title = ENTRIES_SHEET
    _start_sheet(ws, ENTRY_COLUMNS)
    last = 1
    for index, entry in enumerate(entries, start=1):
        last = index + 1
        _write_row(ws, last, ENTRY_COLUMNS, entry_values(index, entry))
    ws.auto_filter.ref = f"A1:{get_column_letter(len(ENTRY_COLUMNS))}{last}"
    if statistics is not None:
        ws = wb.create_sheet(STATISTICS_SHEET)
        _start_sheet(ws, STAT_COLUMNS)
        row = 1
        for index, stats in enumerate(statistics.rows, start=1):
            row = index + 1
            _write_row(ws, row, STAT_COLUMNS, _stat_values(index, stats))
        _write_row(ws, row + 1, STAT_COLUMNS, _stat_values(None, statistics.total), bold=True)
        note = ws.cell(row=row + 3, column=1, value=_text(statistics.note))
        note.data_type = "s"
        note.font = Font(italic=True)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _csv_cell(value: object) -> object:
    if isinstance(value, date):
        return format_date(value)
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def entries_csv(entries: Iterable[Entry]) -> bytes:
    """The entry list as CSV: UTF-8 with BOM, CRLF, dd/mm/yyyy, integers without separators."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.heading for c in ENTRY_COLUMNS])
    for index, entry in enumerate(entries, start=1):
        writer.writerow([_csv_cell(v) for v in entry_values(index, entry)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def file_name(campaign: Campaign, extension: str) -> str:
    """Download name with the campaign's year: "hoạt-động-2023.xlsx"."""
    return f"hoạt-động-{campaign.year}.{extension}"


def campaign_workbook(campaign: Campaign, user: User | None = None, **filters) -> bytes:
    """The workbook the web download (for ``user``, with the list's filters) and the CLI
    (no user, no filters) write."""
    entries = export_entries(campaign, visible_to=user, **filters)
    stats = campaign_statistics(campaign) if sees_statistics(user) else None
    return build_workbook(campaign, entries, stats)
