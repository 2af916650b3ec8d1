"""Plain data handed to the .docx renderers, plus Vietnamese formatting helpers (pure Python)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from danvan.text import clean_text as _clean_text
from danvan.text import format_date, format_number, format_vnd, strip_unprintable

__all__ = [
    "AgencyInfo",
    "ContentGroup",
    "EntryLine",
    "RegisterData",
    "RegisterRow",
    "ReportData",
    "SignerBlock",
    "UnitGroup",
    "UnitStats",
    "clean_text",
    "format_date",
    "format_date_range",
    "format_number",
    "format_vnd",
    "nd30_blank_date_line",
    "nd30_date_line",
]


@dataclass(frozen=True)
class AgencyInfo:
    """The issuing agency as printed in the document header."""

    parent_name: str  # "UBND TỈNH HÀ NAM"
    name: str  # "SỞ XÂY DỰNG"
    abbreviation: str  # "SXD"
    place_name: str  # "Hà Nam"


@dataclass(frozen=True)
class EntryLine:
    """One approved activity entry, as quoted in section II of the report."""

    title: str
    unit_name: str
    date_from: date
    date_to: date
    place: str
    activity_form: str
    observance: str | None
    participants_officials: int
    participants_citizens: int
    amount_vnd: int | None
    result: str
    model_name: str | None = None  # "Dân vận khéo" model, optional
    gifts: str = ""  # Quà tặng, hiện vật


@dataclass(frozen=True)
class UnitGroup:
    """The entries of one unit inside a content group."""

    unit_name: str
    entries: tuple[EntryLine, ...]


@dataclass(frozen=True)
class ContentGroup:
    """One content item of the plan: a numbered "1.", "2." block in section II."""

    title: str
    units: tuple[UnitGroup, ...]


@dataclass(frozen=True)
class UnitStats:
    """One row of the per-unit statistics appendix."""

    unit_name: str
    activities: int
    participants: int
    officials: int
    citizens: int
    amount_vnd: int
    observance_activities: int
    models: int
    gifts: str = ""  # the unit's "Quà tặng, hiện vật", entry by entry ("; " between them)


@dataclass(frozen=True)
class SignerBlock:
    """The signature block: authority line, optional position line, full name."""

    authority_line: str  # "GIÁM ĐỐC" or "KT. GIÁM ĐỐC"
    position_line: str | None  # None, or "PHÓ GIÁM ĐỐC" for a deputy
    full_name: str


@dataclass(frozen=True)
class ReportData:
    """Everything the BÁO CÁO renderer needs; built by the caller from the database."""

    agency: AgencyInfo
    doc_symbol: str  # "BC-SXD"
    number: str | None  # "05" when signed; None in a draft
    issued_date: date | None  # None in a draft
    draft_year: int
    is_draft: bool
    subject: str  # trích yếu
    basis: str  # căn cứ sentence
    section_leadership: str  # I. narrative; paragraphs separated by "\n"
    content_groups: tuple[ContentGroup, ...]  # II. Kết quả thực hiện
    total_activities: int
    total_participants: int
    total_amount_vnd: int
    section_strengths: str  # III.1 Ưu điểm
    section_weaknesses: str  # III.2 Hạn chế
    section_proposals: str  # IV. Kiến nghị, đề xuất
    recipients: tuple[str, ...]  # Nơi nhận entries without "- " and ";"
    signer: SignerBlock | None
    appendix: tuple[UnitStats, ...]
    archive_line: str = "VT, VP"
    # The signed document's public verification page (QR code and short URL in page 1's
    # footer); None in drafts and where no verification page is published.
    verify_url: str | None = None


@dataclass(frozen=True)
class RegisterRow:
    """One line of the Sổ đăng ký văn bản đi (NĐ 30/2020, Phụ lục IV)."""

    number_symbol: str
    doc_date: date
    type_and_subject: str
    signer: str
    recipients: str
    archive_holder: str
    copies: int
    sent_date: date | None
    received_by: str
    note: str


@dataclass(frozen=True)
class RegisterData:
    """The outgoing register of one agency for one year."""

    agency: AgencyInfo
    year: int
    rows: tuple[RegisterRow, ...]


def clean_text(s: str | None) -> str:
    """Return `s` in NFC without control characters, nor characters the fonts cannot print.

    Every text of the official documents passes here. Emoji and other symbols that Times New
    Roman (Liberation Serif in the PDF) has no glyph for are dropped, with the blanks around
    them, rather than printed as a box or a gap (see ``danvan.text.PRINTABLE_RANGES``); the
    entry itself keeps what its author typed, and the entry form warns about them.
    """
    return strip_unprintable(_clean_text(s) or "")


def format_date_range(start: date, end: date) -> str:
    """Format a date range: "01/10/2023 - 31/10/2023", or one date when both are equal."""
    if start == end:
        return format_date(start)
    return f"{format_date(start)} - {format_date(end)}"


def _nd30_day_month(d: date) -> tuple[str, str]:
    day = f"{d.day:02d}"
    month = f"{d.month:02d}" if d.month <= 2 else str(d.month)
    return day, month


def nd30_date_line(place: str, d: date) -> str:
    """NĐ 30 date line "Hà Nam, ngày 05 tháng 11 năm 2023": leading 0 for day < 10, month 1–2."""
    day, month = _nd30_day_month(d)
    return f"{clean_text(place).strip()}, ngày {day} tháng {month} năm {d.year}"


def nd30_blank_date_line(place: str, year: int) -> str:
    """Date line of a draft, day and month left blank: "Hà Nam, ngày      tháng      năm 2023"."""
    blank = " " * 6
    return f"{clean_text(place).strip()}, ngày{blank}tháng{blank}năm {year}"
