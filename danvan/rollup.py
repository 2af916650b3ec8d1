"""The province's roll-up (Ban Dân vận Tỉnh ủy): Sở reports received as edXML, summed.

A roll-up campaign (``Campaign.kind == "rollup"``) lists the Sở expected to report
(``ReportingAgency``). An incoming Báo cáo from one of them, dated between the campaign's
start and its report deadline + ``LINK_WINDOW_DAYS``, is linked to the campaign on arrival and
its appendix ("Phụ lục SỐ LIỆU KẾT QUẢ THEO ĐƠN VỊ") is read from its signed .docx into
``IncomingDocument.figures``. Per Sở, the latest full report counts and every supplementary
report ("Bổ sung" in the trích yếu) adds to it; documents whose signatures are not valid or
whose appendix cannot be read are listed with the reason and never summed.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from danvan.documents.report_docx import APPENDIX_FIELDS, APPENDIX_HEADINGS
from danvan.extensions import db
from danvan.models import Blob, Campaign, IncomingDocument, ReportingAgency, Role, User
from danvan.operations import Conflict, Invalid
from danvan.text import clean_line, fold, format_date, format_number, to_vn

# A Sở report dated up to this many days after the deadline still belongs to the campaign.
LINK_WINDOW_DAYS = 60
NUMBER_FIELDS = tuple(f for f in APPENDIX_FIELDS if f != "gifts")
TOTAL_LABEL = "Tổng cộng"
HEADING_OF = dict(zip(APPENDIX_FIELDS, APPENDIX_HEADINGS[2:], strict=True))
_VN_NUMBER = re.compile(r"^\d{1,3}(?:\.\d{3})*$")


class AppendixError(ValueError):
    """The appendix of a received report cannot be read; the message is Vietnamese."""


# --- Reading the appendix --------------------------------------------------------------------


def parse_vn_number(text: str) -> int:
    """ "1.234.567" → 1234567; "" or anything else → ValueError."""
    text = "".join(text.split())
    if not _VN_NUMBER.match(text):
        raise ValueError(text)
    return int(text.replace(".", ""))


def _cell_text(cell) -> str:
    return " ".join(cell.text.split())


def _appendix_table(document):
    headings = [" ".join(h.split()) for h in APPENDIX_HEADINGS]
    for table in document.tables:
        if table.rows and [_cell_text(c) for c in table.rows[0].cells] == headings:
            return table
    return None


def _row_figures(cells: list[str], label: str) -> dict:
    out: dict = {}
    for name, text in zip(APPENDIX_FIELDS, cells[2:], strict=True):
        if name == "gifts":
            out[name] = text
            continue
        try:
            out[name] = parse_vn_number(text)
        except ValueError:
            raise AppendixError(
                f"Số liệu “{text}” ở dòng “{label}”, cột “{HEADING_OF[name]}” không phải là số."
            ) from None
    return out


def read_appendix(docx: bytes) -> dict:
    """The Phụ lục of a danvan BÁO CÁO .docx: {"rows": [...], "total": {...}}; AppendixError."""
    from docx import Document

    try:
        document = Document(io.BytesIO(docx))
    except Exception as exc:  # not a zip, not a Word document, damaged parts
        raise AppendixError("Không đọc được tệp .docx của báo cáo.") from exc
    table = _appendix_table(document)
    if table is None:
        raise AppendixError(
            "Không tìm thấy bảng “Phụ lục SỐ LIỆU KẾT QUẢ THEO ĐƠN VỊ” trong báo cáo."
        )
    rows, total = [], None
    for row in table.rows[1:]:
        cells = [_cell_text(c) for c in row.cells]
        if len(cells) != len(APPENDIX_HEADINGS):
            raise AppendixError("Bảng phụ lục không đúng số cột của mẫu.")
        if cells[1] == TOTAL_LABEL:
            total = _row_figures(cells, TOTAL_LABEL)
            total.pop("gifts", None)
            break
        rows.append({"unit": cells[1], **_row_figures(cells, cells[1])})
    if total is None:
        raise AppendixError(f"Bảng phụ lục không có dòng “{TOTAL_LABEL}”.")
    for name in NUMBER_FIELDS:
        summed = sum(r[name] for r in rows)
        if summed != total[name]:
            raise AppendixError(
                f"Dòng “{TOTAL_LABEL}” cột “{HEADING_OF[name]}” ({format_number(total[name])}) "
                f"không bằng tổng các đơn vị ({format_number(summed)})."
            )
    total["gifts"] = "; ".join(r["gifts"] for r in rows if r["gifts"])
    return {"rows": rows, "total": total}


def _blob(sha: str | None) -> bytes | None:
    blob = db.session.get(Blob, sha) if sha else None
    return blob.data if blob is not None else None


def _signed_docx(doc: IncomingDocument) -> bytes:
    """The .docx the figures are read from: the package's, if it is the one the signed PDF
    embeds (so the PDF's signatures cover the figures); else the PDF's embedded source."""
    from danvan.documents import signing

    docx, pdf = _blob(doc.docx_sha256), _blob(doc.pdf_sha256)
    if pdf is None:
        if docx is None:
            raise AppendixError("Gói văn bản không có tệp .docx để đọc phụ lục số liệu.")
        return docx
    try:
        embedded = [v for v in signing.embedded_files(pdf).values() if v[:2] == b"PK"]
    except ValueError:
        embedded = []
    if docx is not None:
        digest = hashlib.sha256(docx).hexdigest()
        if any(hashlib.sha256(e).hexdigest() == digest for e in embedded):
            return docx
        if embedded:
            raise AppendixError(
                "Tệp .docx trong gói khác bản .docx gắn trong tệp PDF đã ký số; không dùng "
                "số liệu của nó."
            )
        return docx
    if embedded:
        return embedded[0]
    raise AppendixError("Gói văn bản không có tệp .docx để đọc phụ lục số liệu.")


def read_figures(doc: IncomingDocument) -> dict:
    """The source appendix of ``doc`` as stored in ``figures``, or {"error": reason}."""
    try:
        return read_appendix(_signed_docx(doc))
    except AppendixError as exc:
        return {"error": str(exc)}


# --- Linking arrivals ------------------------------------------------------------------------


def is_report(doc: IncomingDocument) -> bool:
    """Whether the document is a Báo cáo (by its type name, else its "/BC-" symbol)."""
    if doc.doc_type_name:
        return fold(doc.doc_type_name) == fold("Báo cáo")
    return "/BC-" in (doc.number_symbol or "").upper()


def is_supplement(doc: IncomingDocument) -> bool:
    """A supplementary report ("Bổ sung …" in the trích yếu): it adds new activities."""
    return "bo sung" in fold(doc.subject)


def in_window(campaign: Campaign, day: date) -> bool:
    """Whether a report dated ``day`` can report on ``campaign``."""
    return campaign.period_start <= day <= campaign.report_deadline + timedelta(LINK_WINDOW_DAYS)


def matching_campaign(doc: IncomingDocument) -> Campaign | None:
    """The receiving agency's roll-up campaign (not a draft) this document reports on."""
    if not is_report(doc):
        return None
    stmt = (
        select(Campaign)
        .join(ReportingAgency, ReportingAgency.campaign_id == Campaign.id)
        .where(
            Campaign.agency_id == doc.agency_id,
            Campaign.kind == "rollup",
            Campaign.status != "draft",
            ReportingAgency.organ_id == doc.sender_organ_id,
        )
        .order_by(Campaign.year.desc(), Campaign.id.desc())
    )
    return next((c for c in db.session.scalars(stmt) if in_window(c, doc.doc_date)), None)


def attach_arrival(doc: IncomingDocument) -> None:
    """Link a newly registered incoming document to the roll-up campaign it reports on."""
    campaign = matching_campaign(doc)
    if campaign is None:
        return
    doc.campaign_id = campaign.id
    doc.figures = read_figures(doc)


def link_waiting(campaign: Campaign) -> int:
    """Link the campaign's Sở reports that arrived before their Sở was listed; how many."""
    expected = [a.organ_id for a in campaign.reporting_agencies]
    if not expected:
        return 0
    stmt = select(IncomingDocument).where(
        IncomingDocument.agency_id == campaign.agency_id,
        IncomingDocument.campaign_id.is_(None),
        IncomingDocument.sender_organ_id.in_(expected),
    )
    linked = 0
    for doc in db.session.scalars(stmt):
        if matching_campaign(doc) is campaign:
            doc.campaign_id = campaign.id
            doc.figures = read_figures(doc)
            linked += 1
    return linked


# --- The list of expected Sở -----------------------------------------------------------------

VIEWER_ROLES = (
    Role.ADMIN,
    Role.OFFICE,
    Role.OFFICE_CHIEF,
    Role.DIRECTOR,
    Role.DEPUTY_DIRECTOR,
    Role.CLERK,
)
LIST_CHANGED = (
    "Danh sách cơ quan phải báo cáo vừa được người khác thay đổi; vui lòng xem lại rồi thao tác."
)


def can_view_rollup(user: User) -> bool:
    """Văn phòng, leaders, Văn thư and the administrator follow the Sở reports."""
    return user.is_authenticated and user.has_role(*VIEWER_ROLES)


def can_edit_rollup(user: User) -> bool:
    """The administrator and Văn phòng edit the list of Sở expected to report."""
    return user.is_authenticated and user.has_role(Role.ADMIN, Role.OFFICE, Role.OFFICE_CHIEF)


def list_version(campaign: Campaign) -> str:
    """A fingerprint of the list as shown: a form made from another list is refused."""
    rows = ",".join(f"{a.id}:{a.organ_id}" for a in campaign.reporting_agencies)
    return hashlib.sha256(rows.encode()).hexdigest()[:16]


def check_list_version(campaign: Campaign, expected: str | None) -> None:
    """Conflict unless ``expected`` (None: no check) is the list's current fingerprint."""
    if expected is not None and expected != list_version(campaign):
        raise Conflict(LIST_CHANGED)


ORGAN_ID_PATTERN = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$")


def add_reporting_agency(
    campaign: Campaign, *, organ_id: str, name: str, seen_version: str | None = None
) -> ReportingAgency:
    """Add a Sở to the campaign's list and link the reports it already sent."""
    check_list_version(campaign, seen_version)
    organ_id = (clean_line(organ_id) or "").strip()
    name = (clean_line(name) or "").strip()
    errors = {}
    if not ORGAN_ID_PATTERN.match(organ_id):
        errors["organ_id"] = "Mã định danh phải có dạng 000.00.31.H23."
    if not name:
        errors["name"] = "Vui lòng nhập tên cơ quan."
    if errors:
        raise Invalid(" ".join(errors.values()), errors=errors)
    for existing in campaign.reporting_agencies:
        if existing.organ_id == organ_id:
            raise Invalid(
                f"Mã định danh {organ_id} đã có trong danh sách ({existing.name}).",
                errors={"organ_id": "Đã có trong danh sách."},
            )
    position = max((a.position for a in campaign.reporting_agencies), default=0) + 1
    row = ReportingAgency(campaign_id=campaign.id, organ_id=organ_id, name=name, position=position)
    try:
        with db.session.begin_nested():  # uq (campaign_id, organ_id): a parallel add won
            db.session.add(row)
            db.session.flush()
    except IntegrityError as exc:
        raise Conflict(LIST_CHANGED) from exc
    db.session.expire(campaign, ["reporting_agencies"])
    link_waiting(campaign)
    return row


def remove_reporting_agency(
    campaign: Campaign, row_id: int, *, seen_version: str | None = None
) -> ReportingAgency:
    """Take a Sở off the list; its reports not yet in a roll-up report are unlinked."""
    check_list_version(campaign, seen_version)
    row = next((a for a in campaign.reporting_agencies if a.id == row_id), None)
    if row is None:
        raise Conflict("Cơ quan này không còn trong danh sách (có thể người khác vừa bỏ).")
    used = db.session.scalar(
        select(IncomingDocument.id).where(
            IncomingDocument.campaign_id == campaign.id,
            IncomingDocument.sender_organ_id == row.organ_id,
            IncomingDocument.rollup_report_id.is_not(None),
        )
    )
    if used is not None:
        raise Invalid(
            f"Báo cáo của {row.name} đã được đưa vào báo cáo tổng hợp nên không thể bỏ cơ quan "
            "này khỏi danh sách."
        )
    db.session.execute(
        update(IncomingDocument)
        .where(
            IncomingDocument.campaign_id == campaign.id,
            IncomingDocument.sender_organ_id == row.organ_id,
        )
        .values(campaign_id=None, version=IncomingDocument.version + 1)
        .execution_options(synchronize_session=False)
    )
    campaign.reporting_agencies.remove(row)
    db.session.flush()
    return row


# --- Status ----------------------------------------------------------------------------------


def received_date(doc: IncomingDocument) -> date:
    """The day the document arrived, in Hà Nội."""
    return to_vn(doc.received_at).date()


def source_label(doc: IncomingDocument) -> str:
    """ "Báo cáo số 01/BC-SXD ngày 03/11/2023"."""
    return f"Báo cáo số {doc.number_symbol} ngày {format_date(doc.doc_date)}"


@dataclass
class Arrival:
    """One linked incoming document of an expected Sở, against the deadline."""

    doc: IncomingDocument
    received: date
    late_days: int  # 0: on time

    @property
    def supplement(self) -> bool:
        return is_supplement(self.doc)


@dataclass
class ExpectedStatus:
    """An expected Sở: what it sent and whether on time, or how overdue it is."""

    agency: ReportingAgency
    arrivals: list[Arrival]
    days_to_deadline: int  # from today; negative once passed

    @property
    def reported(self) -> bool:
        return bool(self.arrivals)

    @property
    def first(self) -> Arrival | None:
        main = [a for a in self.arrivals if not a.supplement]
        return (main or self.arrivals or [None])[0]

    @property
    def state(self) -> str:
        """ "on_time", "late", "missing" (deadline passed) or "waiting"."""
        if self.first is not None:
            return "late" if self.first.late_days else "on_time"
        return "missing" if self.days_to_deadline < 0 else "waiting"

    @property
    def label(self) -> str:
        state = self.state
        if state == "on_time":
            return "Đã báo cáo đúng hạn"
        if state == "late":
            return f"Đã báo cáo, trễ {self.first.late_days} ngày"
        if state == "missing":
            return f"Chưa báo cáo (quá hạn {-self.days_to_deadline} ngày)"
        left = self.days_to_deadline
        return "Chưa báo cáo (hạn là hôm nay)" if left == 0 else f"Chưa báo cáo (còn {left} ngày)"


@dataclass
class ReportingStatus:
    """The campaign's expected Sở and the reports from senders not on the list."""

    campaign: Campaign
    today: date
    expected: list[ExpectedStatus]
    unexpected: list[IncomingDocument]

    def count(self, state: str) -> int:
        return sum(1 for row in self.expected if row.state == state)


def linked_documents(campaign: Campaign) -> list[IncomingDocument]:
    """Every incoming document linked to the campaign, in order of arrival (one query)."""
    stmt = (
        select(IncomingDocument)
        .where(IncomingDocument.campaign_id == campaign.id)
        .order_by(IncomingDocument.received_at, IncomingDocument.id)
    )
    return list(db.session.scalars(stmt))


def reporting_status(campaign: Campaign, today: date) -> ReportingStatus:
    """Per expected Sở: reported (on time / late by N days) or not (overdue / days left)."""
    by_sender: dict[str, list[Arrival]] = {}
    for doc in linked_documents(campaign):
        received = received_date(doc)
        late = max(0, (received - campaign.report_deadline).days)
        by_sender.setdefault(doc.sender_organ_id, []).append(Arrival(doc, received, late))
    expected = [
        ExpectedStatus(a, by_sender.get(a.organ_id, []), (campaign.report_deadline - today).days)
        for a in campaign.reporting_agencies
    ]
    listed = {a.organ_id for a in campaign.reporting_agencies}
    stmt = (
        select(IncomingDocument)
        .where(
            IncomingDocument.agency_id == campaign.agency_id,
            IncomingDocument.campaign_id.is_(None),
            IncomingDocument.doc_date >= campaign.period_start,
            IncomingDocument.doc_date <= campaign.report_deadline + timedelta(LINK_WINDOW_DAYS),
        )
        .order_by(IncomingDocument.received_at, IncomingDocument.id)
    )
    unexpected = [
        d for d in db.session.scalars(stmt) if d.sender_organ_id not in listed and is_report(d)
    ]
    return ReportingStatus(campaign, today, expected, unexpected)


# --- Figures ---------------------------------------------------------------------------------


def _zero() -> dict:
    return dict.fromkeys(NUMBER_FIELDS, 0)


@dataclass
class Contribution:
    """One linked document of a Sở: its figures, and whether (or why not) they are summed."""

    doc: IncomingDocument
    figures: dict | None  # the appendix's "Tổng cộng" row (with "gifts")
    summed: bool
    reason: str | None = None

    @property
    def label(self) -> str:
        return source_label(self.doc)

    @property
    def source(self) -> dict:
        """Where the figures come from: incoming document, number, date, PDF SHA-256."""
        d = self.doc
        return {
            "incoming_id": d.id,
            "number_symbol": d.number_symbol,
            "doc_date": d.doc_date.isoformat(),
            "pdf_sha256": d.pdf_sha256,
        }


@dataclass
class AgencyFigures:
    """One Sở: its documents and the sums of those that count."""

    organ_id: str
    name: str
    expected: bool
    contributions: list[Contribution] = field(default_factory=list)
    totals: dict = field(default_factory=_zero)
    gifts: str = ""

    @property
    def sources(self) -> list[Contribution]:
        return [c for c in self.contributions if c.summed]

    @property
    def reported(self) -> bool:
        return bool(self.sources)

    @property
    def sources_label(self) -> str:
        """ "Báo cáo số 01/BC-SXD ngày 03/11/2023; Báo cáo số 02/BC-SXD ngày 10/11/2023"."""
        return "; ".join(c.label for c in self.sources)

    def figure_sources(self, name: str) -> list[dict]:
        """The sources of one figure: each summed document and the value it gave."""
        return [{**c.source, "value": c.figures[name]} for c in self.sources]


@dataclass
class RollupFigures:
    """Per Sở sums with their sources, and the campaign's totals."""

    agencies: list[AgencyFigures]
    totals: dict
    gifts: str

    @property
    def reported(self) -> list[AgencyFigures]:
        return [a for a in self.agencies if a.reported]


def signature_reason(doc: IncomingDocument) -> str:
    """Why a document's signatures do not count, in Vietnamese."""
    reasons = list((doc.verification or {}).get("reasons") or [])
    if not doc.pdf_sha256:
        reasons = reasons or ["không có bản PDF ký số để kiểm tra"]
    text = "; ".join(r.rstrip(".") for r in reasons) or "chữ ký số không hợp lệ"
    return f"Chữ ký số không hợp lệ: {text}."


def _contribution(doc: IncomingDocument) -> Contribution:
    figures = doc.figures or {"error": "Chưa đọc được phụ lục số liệu của báo cáo."}
    if not doc.signatures_valid:
        return Contribution(doc, figures.get("total"), False, signature_reason(doc))
    if "error" in figures:
        return Contribution(doc, None, False, figures["error"])
    return Contribution(doc, figures["total"], True)


def _sum_agency(row: AgencyFigures) -> None:
    usable = [c for c in row.contributions if c.summed]
    full = [c for c in usable if not is_supplement(c.doc)]
    latest = max(full, key=lambda c: (c.doc.doc_date, c.doc.received_at, c.doc.id), default=None)
    for c in full:
        if c is not latest:
            c.summed = False
            c.reason = (
                f"Đã được thay thế bởi {source_label(latest.doc)} (chỉ cộng báo cáo mới nhất "
                "và các báo cáo bổ sung)."
            )
    for c in row.sources:
        for name in NUMBER_FIELDS:
            row.totals[name] += c.figures[name]
    row.gifts = "; ".join(c.figures.get("gifts") for c in row.sources if c.figures.get("gifts"))


def figures_of(
    campaign: Campaign, documents: list[IncomingDocument], *, unexpected: bool = True
) -> RollupFigures:
    """Per Sở (the expected ones in order, then any other sender) the sums of ``documents``."""
    rows = {
        a.organ_id: AgencyFigures(a.organ_id, a.name, True) for a in campaign.reporting_agencies
    }
    for doc in documents:
        if doc.sender_organ_id not in rows:
            if not unexpected:
                continue
            rows[doc.sender_organ_id] = AgencyFigures(doc.sender_organ_id, doc.sender_name, False)
        rows[doc.sender_organ_id].contributions.append(_contribution(doc))
    totals = _zero()
    for row in rows.values():
        _sum_agency(row)
        for name in NUMBER_FIELDS:
            totals[name] += row.totals[name]
    gifts = "; ".join(r.gifts for r in rows.values() if r.gifts)
    return RollupFigures(list(rows.values()), totals, gifts)


def rollup_figures(campaign: Campaign) -> RollupFigures:
    """Per Sở the sums of its valid linked documents (each with its source), and the totals."""
    return figures_of(campaign, linked_documents(campaign))


# --- The roll-up report's documents ----------------------------------------------------------


def usable_filter(campaign: Campaign):
    """Linked documents a roll-up report may take: valid signatures, not in a report yet."""
    return (
        IncomingDocument.campaign_id == campaign.id,
        IncomingDocument.signatures_valid.is_(True),
        IncomingDocument.rollup_report_id.is_(None),
    )


def unreported_documents(campaign: Campaign) -> list[IncomingDocument]:
    """Valid linked documents with readable figures that no roll-up report contains yet."""
    stmt = select(IncomingDocument).where(*usable_filter(campaign)).order_by(IncomingDocument.id)
    return [d for d in db.session.scalars(stmt) if d.figures and "error" not in d.figures]


def take_documents(campaign: Campaign, report_id: int) -> int:
    """Put every unreported usable document into the report (``rollup_report_id``)."""
    ids = [d.id for d in unreported_documents(campaign)]
    if not ids:
        return 0
    return db.session.execute(
        update(IncomingDocument)
        .where(IncomingDocument.id.in_(ids), IncomingDocument.rollup_report_id.is_(None))
        .values(rollup_report_id=report_id, version=IncomingDocument.version + 1)
        .execution_options(synchronize_session=False)
    ).rowcount


def report_documents(report_id: int) -> list[IncomingDocument]:
    """The incoming documents a roll-up report contains, in a stable order."""
    stmt = (
        select(IncomingDocument)
        .where(IncomingDocument.rollup_report_id == report_id)
        .order_by(IncomingDocument.id)
    )
    return list(db.session.scalars(stmt))
