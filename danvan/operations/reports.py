"""Operations on the report: compile, edit texts, submit for signature, return, sign, issue.

Signing and issuing take a ``SigningServices`` bundle (certificates, images, LibreOffice
availability) so that these functions stay free of Flask and of configuration files.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from danvan.documents import context as doc_context
from danvan.documents import pdf as pdfmod
from danvan.documents import signing
from danvan.documents.report_docx import render_report_docx
from danvan.extensions import db
from danvan.keys import SigningIdentity
from danvan.models import (
    ArchivedDocument,
    Blob,
    Campaign,
    Entry,
    Event,
    NumberSequence,
    RegisterEntry,
    Report,
    Role,
    Unit,
    User,
)
from danvan.operations import Invalid, NotAllowed
from danvan.operations.entries import check_version, flush_or_conflict, mark_signed, store_blob
from danvan.permissions import can_act_report
from danvan.text import clean_text, fold, to_vn, today_vn, utcnow
from danvan.workflow import EntryState, ReportAction, ReportState, report_transition_for

NARRATIVE_FIELDS = (
    "section_leadership",
    "section_strengths",
    "section_weaknesses",
    "section_proposals",
)
ARCHIVE_LINE = "VT, VP"


@dataclass(frozen=True)
class SigningServices:
    """What signing needs from the outside world, passed in by the caller."""

    signer_identity: SigningIdentity | None = None
    agency_identity: SigningIdentity | None = None
    signature_png: bytes | None = None
    seal_png: bytes | None = None
    make_pdf: bool = True  # False when LibreOffice is not installed
    pdf_timeout: float = 180


def _check(report: Report, action: ReportAction, actor: User, expected_version: int | None):
    check_version(report, expected_version)
    decision = can_act_report(actor, report, action)
    if not decision:
        raise NotAllowed(decision.reason)
    return report_transition_for(action, report.state_enum)


def _log(
    report: Report, actor: User, action: str, source, target, comment=None, when=None
) -> Event:
    event = Event(
        report_id=report.id,
        actor=actor,
        action=action,
        from_state=str(source),
        to_state=str(target),
        comment=comment,
        created_at=when or utcnow(),
    )
    db.session.add(event)
    return event


def _units(campaign: Campaign) -> list[Unit]:
    stmt = select(Unit).where(Unit.agency_id == campaign.agency_id).order_by(Unit.position)
    return list(db.session.scalars(stmt))


def report_entries(report: Report) -> list[Entry]:
    """Entries the report contains, in a stable order."""
    stmt = select(Entry).where(Entry.report_id == report.id).order_by(Entry.id)
    return list(db.session.scalars(stmt))


def open_report(campaign: Campaign) -> Report | None:
    """The campaign's report that is not yet signed, if any."""
    stmt = select(Report).where(
        Report.campaign_id == campaign.id,
        Report.state.in_([ReportState.DRAFT.value, ReportState.SUBMITTED.value]),
    )
    return db.session.scalar(stmt)


def render_draft(report: Report) -> bytes:
    """The draft .docx (DỰ THẢO, number blank) of the report as it stands."""
    entries = report_entries(report)
    data = doc_context.report_data(
        report,
        entries,
        _units(report.campaign),
        signer=report.signer,
        draft_year=today_vn().year,
    )
    return render_report_docx(data)


def _store_draft(report: Report) -> None:
    report.draft_docx_sha256 = store_blob(render_draft(report)).sha256


def compile_report(campaign: Campaign, *, actor: User, now: datetime | None = None) -> Report:
    """Build (or rebuild) the draft from every approved entry; narrative texts are kept."""
    report = open_report(campaign)
    if report is None:
        if not actor.has_role(Role.OFFICE, Role.OFFICE_CHIEF):
            raise NotAllowed("Chỉ Văn phòng Sở được tổng hợp báo cáo.")
        report = Report(campaign=campaign, state=ReportState.DRAFT)
        for name, text in doc_context.default_narratives(campaign).items():
            setattr(report, name, text)
        db.session.add(report)
        db.session.flush()
    else:
        _check(report, ReportAction.COMPILE, actor, None)
    # One UPDATE for every newly approved entry (a version bump keeps stale forms out).
    added = db.session.execute(
        update(Entry)
        .where(
            Entry.campaign_id == campaign.id,
            Entry.state == EntryState.APPROVED.value,
            Entry.report_id.is_(None),
        )
        .values(report_id=report.id, version=Entry.version + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.expire_all()
    flush_or_conflict()
    db.session.expire(report)
    report.compiled_at = now or utcnow()
    _store_draft(report)
    _log(report, actor, "compile", report.state, report.state, f"Thêm {added} hồ sơ mới.", now)
    flush_or_conflict()
    return report


def update_report_texts(
    report: Report, *, actor: User, texts: dict[str, str], expected_version: int | None
) -> Report:
    """Save the narrative sections (I, III, IV) edited by Văn phòng."""
    _check(report, ReportAction.EDIT, actor, expected_version)
    for name in NARRATIVE_FIELDS:
        if name in texts:
            setattr(report, name, (clean_text(texts[name]) or "").strip())
    flush_or_conflict()
    _store_draft(report)
    flush_or_conflict()
    return report


def submit_report(
    report: Report,
    *,
    actor: User,
    signer: User,
    expected_version: int | None,
    now: datetime | None = None,
) -> Report:
    """Chánh Văn phòng sends the draft to the director or a deputy for signature."""
    transition = _check(report, ReportAction.SUBMIT, actor, expected_version)
    if not signer.active or not signer.has_role(Role.DIRECTOR, Role.DEPUTY_DIRECTOR):
        raise Invalid("Người ký phải là Giám đốc hoặc Phó Giám đốc.")
    if report.compiled_at is None or not report_entries(report):
        raise Invalid("Báo cáo chưa có hồ sơ nào đã duyệt; hãy tổng hợp trước khi trình ký.")
    report.signer_id = signer.id
    db.session.flush()
    db.session.refresh(report)
    _store_draft(report)  # the draft now shows the signer's block
    report.state = transition.target
    report.last_comment = None
    _log(report, actor, "submit", transition.source, transition.target, f"Người ký: {signer}", now)
    flush_or_conflict()
    return report


def return_report(
    report: Report, *, actor: User, comment: str | None, expected_version: int | None
) -> Report:
    """The signer returns the draft to Văn phòng with a comment."""
    transition = _check(report, ReportAction.RETURN, actor, expected_version)
    comment = (clean_text(comment) or "").strip()
    if not comment:
        raise Invalid("Vui lòng nhập ý kiến khi trả lại.", errors={"comment": "Bắt buộc."})
    report.state = transition.target
    report.last_comment = comment
    _log(report, actor, "return", transition.source, transition.target, comment)
    flush_or_conflict()
    return report


def refresh_after_send_back(report: Report, *, actor: User, entry: Entry) -> None:
    """Log that the signer sent one entry back to Văn phòng and re-render the draft."""
    _log(
        report,
        actor,
        "send_back",
        report.state,
        report.state,
        f"“{entry.title}”: {entry.last_comment}",
    )
    _store_draft(report)
    flush_or_conflict()


def next_number(agency_id: int, year: int) -> int:
    """Take the next number of the agency's yearly sequence (row-locked; unique per year)."""
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    # Create the year's row if missing without racing a concurrent signer for it.
    db.session.execute(
        insert(NumberSequence)
        .values(agency_id=agency_id, year=year, last_number=0)
        .on_conflict_do_nothing(index_elements=["agency_id", "year"])
    )
    stmt = (
        select(NumberSequence)
        .where(NumberSequence.agency_id == agency_id, NumberSequence.year == year)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    sequence = db.session.scalar(stmt)
    sequence.last_number += 1
    db.session.flush()
    return sequence.last_number


def format_number_symbol(number: int, doc_type: str, agency_abbr: str) -> str:
    """NĐ30: leading zero below 10, "/" then type and agency: 05/BC-SXD."""
    return f"{number:02d}/{doc_type}-{agency_abbr}"


def sign_report(
    report: Report,
    *,
    actor: User,
    services: SigningServices,
    expected_version: int | None,
    now: datetime | None = None,
) -> Report:
    """Sign: number and date, final .docx, PDF/A with PAdES signature, .p7s; entries signed."""
    transition = _check(report, ReportAction.SIGN, actor, expected_version)
    if services.signer_identity is None:
        raise Invalid("Chưa cấu hình chứng thư số cho người ký; không thể ký số.")
    if not services.signature_png:
        raise Invalid("Bạn chưa tải lên ảnh chữ ký (PNG nền trong suốt) trong trang cá nhân.")
    entries = report_entries(report)
    if not entries:
        raise Invalid("Báo cáo không còn hồ sơ nào; không thể ký.")
    moment = now or utcnow()
    signed_date: date = to_vn(moment).date()
    campaign = report.campaign
    agency = campaign.agency
    number = next_number(agency.id, signed_date.year)
    report.number = number
    report.number_year = signed_date.year
    report.number_symbol = format_number_symbol(number, report.doc_type, agency.abbreviation)
    report.issued_date = signed_date
    data = doc_context.report_data(
        report,
        entries,
        _units(campaign),
        signer=actor,
        number=f"{number:02d}",
        issued_date=signed_date,
    )
    final_docx = render_report_docx(data, services.signature_png)
    identity = services.signer_identity
    p7s = signing.cms_sign_detached(
        final_docx, key=identity.key, cert=identity.cert, extra_certs=identity.chain
    )
    report.final_docx_sha256 = store_blob(final_docx).sha256
    report.p7s_sha256 = store_blob(p7s).sha256
    if services.make_pdf:
        # The PDF is drawn from the same document without the embedded image: the visible
        # PAdES stamp puts the signature image in its place (no double image).
        pdf = pdfmod.docx_to_pdf(render_report_docx(data), timeout=services.pdf_timeout)
        signed_pdf = signing.sign_by_signer(
            pdf,
            signer=identity.signer,
            signature_png=services.signature_png,
            docx=final_docx,
            docx_name=f"{report.number_symbol.replace('/', '-')}.docx",
            signer_name=actor.full_name,
            reason="Phê duyệt báo cáo",
            location=agency.place_name,
            signed_at=to_vn(moment),
        )
        report.signed_pdf_sha256 = store_blob(signed_pdf).sha256
    report.signer_cert_sha256 = identity.fingerprint
    report.signed_by_id = actor.id
    report.signed_at = moment
    report.state = transition.target
    _log(
        report,
        actor,
        "sign",
        transition.source,
        transition.target,
        f"Số {report.number_symbol}",
        moment,
    )
    for entry in entries:
        mark_signed(entry, actor=actor)
    flush_or_conflict()
    return report


def issue_report(
    report: Report,
    *,
    actor: User,
    services: SigningServices,
    expected_version: int | None,
    copies: int = 1,
    now: datetime | None = None,
) -> ArchivedDocument:
    """Văn thư: agency signature with the seal, outgoing register row, issue and archive."""
    transition = _check(report, ReportAction.ISSUE, actor, expected_version)
    moment = now or utcnow()
    campaign = report.campaign
    agency = campaign.agency
    pdf_sha = report.signed_pdf_sha256
    agency_fp = None
    if pdf_sha:
        if services.agency_identity is None or not services.seal_png:
            raise Invalid("Chưa cấu hình chứng thư số và ảnh con dấu của cơ quan.")
        signed_pdf = db.session.get(Blob, pdf_sha).data
        issued_pdf = signing.sign_by_agency(
            signed_pdf,
            signer=services.agency_identity.signer,
            seal_png=services.seal_png,
            number_symbol=report.number_symbol,
            signed_at=to_vn(moment),
            location=agency.place_name,
        )
        pdf_sha = store_blob(issued_pdf).sha256
        agency_fp = services.agency_identity.fingerprint
    signer = db.session.get(User, report.signed_by_id)
    subject = f"Báo cáo {campaign.report_subject[0].lower()}{campaign.report_subject[1:]}"
    recipients = "; ".join(campaign.recipient_lines)
    db.session.add(
        RegisterEntry(
            agency_id=agency.id,
            year=report.number_year,
            number=report.number,
            number_symbol=report.number_symbol,
            doc_date=report.issued_date,
            type_and_subject=subject,
            signer_name=signer.full_name,
            recipients=recipients,
            archive_holder=f"Lưu: {ARCHIVE_LINE}",
            copies=copies,
            sent_date=to_vn(moment).date(),
            received_by="Gửi qua Hệ thống",
            note="",
            report_id=report.id,
        )
    )
    archived = ArchivedDocument(
        agency_id=agency.id,
        report_id=report.id,
        number_symbol=report.number_symbol,
        year=report.number_year,
        subject=subject,
        subject_folded=fold(subject),
        doc_date=report.issued_date,
        signer_name=signer.full_name,
        signer_title=doc_context.signer_title(signer),
        signed_at=report.signed_at,
        issued_at=moment,
        pdf_sha256=pdf_sha,
        docx_sha256=report.final_docx_sha256,
        p7s_sha256=report.p7s_sha256,
        signer_cert_sha256=report.signer_cert_sha256,
        agency_cert_sha256=agency_fp,
        archive_line=ARCHIVE_LINE,
    )
    db.session.add(archived)
    report.issued_at = moment
    report.issued_by_id = actor.id
    report.state = transition.target
    _log(
        report,
        actor,
        "issue",
        transition.source,
        transition.target,
        f"Vào sổ văn bản đi số {report.number_symbol}",
        moment,
    )
    flush_or_conflict()
    return archived
