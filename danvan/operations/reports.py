"""Operations on the report: compile, edit texts, submit for signature, return, sign, issue.

Signing and issuing take a ``SigningServices`` bundle (certificates, images, LibreOffice
availability) so that these functions stay free of Flask and of configuration files.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import partial

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from danvan import rollup
from danvan.blobs import store_blob
from danvan.documents import context as doc_context
from danvan.documents import interrupted, signing
from danvan.documents import pdf as pdfmod
from danvan.documents.nd30_check import Deviation, check_report_docx
from danvan.documents.report_docx import render_report_docx
from danvan.extensions import db
from danvan.keys import SigningIdentity, SigningUnavailable
from danvan.models import (
    ArchivedDocument,
    Blob,
    Campaign,
    CampaignRecipient,
    Entry,
    Event,
    NumberSequence,
    RegisterEntry,
    Report,
    Role,
    Unit,
    User,
)
from danvan.operations import Conflict, Invalid, NotAllowed
from danvan.operations.entries import check_version, flush_or_conflict, mark_signed
from danvan.permissions import can_act_report, can_compile, report_preparer_ids
from danvan.text import clean_text, fold, format_date, format_number, to_vn, today_vn, utcnow
from danvan.verification import document_code, verification_url
from danvan.workflow import (
    EntryState,
    ReportAction,
    ReportState,
    ReportTransition,
    report_transition_for,
)

NARRATIVE_FIELDS = (
    "section_leadership",
    "section_strengths",
    "section_weaknesses",
    "section_proposals",
)
ARCHIVE_LINE = "VT, VP"
REPORT_STALE = "Báo cáo đã được người khác xử lý trong lúc bạn thao tác, vui lòng tải lại trang."
COMPILED_MEANWHILE = (
    "Báo cáo của kế hoạch này vừa được tổng hợp (có thể do người khác thực hiện). "
    "Vui lòng tải lại trang để xem báo cáo."
)
NUMBER_BUSY = "Hệ thống đang cấp số cho văn bản khác nên báo cáo chưa được ký; vui lòng ký lại."
NOTHING_TO_SUPPLEMENT = (
    "Chưa có hồ sơ nào được duyệt sau khi báo cáo số {number} được ký nên chưa có gì để báo cáo "
    "bổ sung."
)
# Renderings per signature when other reports of the agency keep taking the next number.
SIGN_ATTEMPTS = 3
HSM_PERSONAL_KEY = (
    "Khóa của người ký được cấu hình trên HSM (PKCS#11): danvan chỉ dùng HSM cho con dấu số "
    "của cơ quan, không tạo được chữ ký .p7s của tệp .docx bằng khóa này. Hãy ký bằng USB "
    "token qua danvan-sign."
)
NO_SEAL = "Chưa cấu hình chứng thư số và ảnh con dấu của cơ quan."


@dataclass(frozen=True)
class SigningServices:
    """What signing needs from the outside world, passed in by the caller."""

    signer_identity: SigningIdentity | None = None
    agency_identity: SigningIdentity | None = None
    signature_png: bytes | None = None
    seal_png: bytes | None = None
    make_pdf: bool = True  # False when LibreOffice is not installed
    pdf_timeout: float = 180
    # Where the public verification pages live (``{base}/xm/<code>``): printed with a QR code
    # on the signed document; None prints none. The key makes the codes (the app's secret).
    verify_base_url: str | None = None
    verify_key: bytes = b""
    # How long a USB-token signature request waits (config SIGNATURE_REQUEST_MINUTES).
    signature_request_minutes: int = 30
    # Why an identity configured for the signer or the seal cannot be used (Vietnamese).
    signer_unavailable: str | None = None
    agency_unavailable: str | None = None
    # PAdES B-LTA at issue (config SIGNING_TSA_URL); None: B-B, no network.
    ltv: signing.LtvSettings | None = None


def _check(report: Report, action: ReportAction, actor: User, expected_version: int | None):
    check_version(report, expected_version)
    decision = can_act_report(actor, report, action)
    if not decision:
        raise NotAllowed(decision.reason)
    # Whom the actor acts for (ủy quyền): the history says "thay mặt".
    db.session.info.setdefault("danvan_acting_for", {})[(report.id, actor.id)] = decision.acting_for
    return report_transition_for(action, report.state_enum)


def _log(
    report: Report, actor: User, action: str, source, target, comment=None, when=None
) -> Event:
    # Set by the permission check of this very action (popped: it never outlives the action).
    acting = db.session.info.get("danvan_acting_for", {}).pop((report.id, actor.id), None)
    event = Event(
        report_id=report.id,
        actor=actor,
        acting_for=acting,
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


def report_contents(report: Report) -> tuple[list, partial]:
    """What the report contains (its entries, or for a roll-up campaign the Sở reports it
    sums) and the ``ReportData`` builder for it, which takes the signer, number, date…"""
    campaign = report.campaign
    if campaign.is_rollup:
        documents = rollup.report_documents(report.id)
        figures = rollup.figures_of(campaign, documents, unexpected=False)
        return documents, partial(doc_context.rollup_report_data, report, figures)
    entries = report_entries(report)
    return entries, partial(doc_context.report_data, report, entries, _units(campaign))


def contents_label(report: Report, count: int) -> str:
    """ "12 hồ sơ", or for a roll-up report "3 báo cáo của các sở, ban, ngành"."""
    noun = "báo cáo của các sở, ban, ngành" if report.campaign.is_rollup else "hồ sơ"
    return f"{format_number(count)} {noun}"


def _open_report_stmt(campaign: Campaign):
    return select(Report).where(
        Report.campaign_id == campaign.id,
        Report.state.in_([ReportState.DRAFT.value, ReportState.SUBMITTED.value]),
    )


def open_report(campaign: Campaign) -> Report | None:
    """The campaign's report that is not yet signed, if any."""
    return db.session.scalar(_open_report_stmt(campaign))


def signed_report(campaign: Campaign, *, before: Report | None = None) -> Report | None:
    """The campaign's latest signed or issued report (created before ``before``, if given)."""
    stmt = (
        select(Report)
        .where(
            Report.campaign_id == campaign.id,
            Report.state.in_([ReportState.SIGNED.value, ReportState.ISSUED.value]),
        )
        .order_by(Report.id.desc())
        .limit(1)
    )
    if before is not None and before.id is not None:
        stmt = stmt.where(Report.id < before.id)
    return db.session.scalar(stmt)


def supplemented_report(report: Report) -> Report | None:
    """The signed report a supplementary report follows; None for a campaign's first report.

    A report compiled after the campaign's report was signed can only be a deliberate
    supplement ("Báo cáo bổ sung"), so this needs no column of its own.
    """
    return signed_report(report.campaign, before=report)


def unreported_entries(campaign: Campaign) -> list[Entry]:
    """Approved entries of the campaign that no report contains yet."""
    stmt = (
        select(Entry)
        .where(
            Entry.campaign_id == campaign.id,
            Entry.state == EntryState.APPROVED.value,
            Entry.report_id.is_(None),
        )
        .order_by(Entry.id)
    )
    return list(db.session.scalars(stmt))


class AlreadySigned(Invalid):
    """The campaign's report is signed: another one must be asked for as a supplement."""

    def __init__(self, report: Report):
        verb = "phát hành" if report.state_enum == ReportState.ISSUED else "ký"
        super().__init__(
            f"Báo cáo của kế hoạch này đã được {verb}: số {report.number_symbol} ngày "
            f"{format_date(report.issued_date)}. Các hồ sơ được duyệt sau đó chỉ được đưa vào "
            "một báo cáo bổ sung."
        )
        self.report = report


class FormatDeviations(Invalid):
    """The document departs from NĐ 30/2020 and the user has not confirmed signing it anyway."""

    def __init__(self, deviations: list[Deviation], verb: str):
        super().__init__(
            f"Văn bản còn {len(deviations)} điểm chưa đúng thể thức NĐ 30/2020 (xem mục “Kiểm "
            f"tra thể thức” trên trang báo cáo). Nếu vẫn {verb}, hãy đánh dấu ô xác nhận; việc "
            "xác nhận được ghi vào lịch sử xử lý."
        )
        self.deviations = deviations


def format_deviations(report: Report) -> list[Deviation]:
    """Deviations of the report's current draft from NĐ 30/2020 (blank number and date allowed)."""
    if not report.draft_docx_sha256:
        return []
    return check_report_docx(db.session.get(Blob, report.draft_docx_sha256).data, final=False)


def _deviation_note(deviations: list[Deviation], verb: str, accepted: bool) -> str | None:
    """What the history records of the check: nothing when the document passed."""
    if not deviations:
        return None
    if not accepted:
        raise FormatDeviations(deviations, verb)
    listed = "; ".join(f"{d.part}: {d.message}" for d in deviations)
    return f"Đã xác nhận {verb} dù văn bản chưa đúng thể thức NĐ 30/2020 ({listed})"


def report_label(report: Report) -> str:
    """How messages name the report: "báo cáo số 02/BC-SXD", "báo cáo bổ sung năm 2026"."""
    if report.number_symbol:
        return f"báo cáo số {report.number_symbol}"
    kind = "báo cáo bổ sung" if supplemented_report(report) else "báo cáo"
    return f"{kind} năm {report.campaign.year}"


def file_stem(year: int, number_symbol: str) -> str:
    """Download name of a numbered document: year and symbol, "2023-01-BC-SXD"."""
    return f"{year}-{number_symbol.replace('/', '-')}"


def draft_file_name(report: Report) -> str:
    """Download name of a draft: "du-thao-bao-cao-2026.docx" (…-bo-sung-… for a supplement)."""
    kind = "bao-cao-bo-sung" if supplemented_report(report) else "bao-cao"
    return f"du-thao-{kind}-{report.campaign.year}.docx"


def next_number_symbol(report: Report, on: date) -> str:
    """The number the report would take if signed on ``on`` (read only, nothing reserved)."""
    agency = report.campaign.agency
    number = signing_number(report, on.year)
    return format_number_symbol(number, report.doc_type, agency.abbreviation)


def signing_number(report: Report, year: int) -> int:
    """The number "Ký duyệt" gives the report in ``year`` (read only): the one an unsigned
    USB-token request of the report still holds, else the sequence's next."""
    return _held_number(report, year) or peek_next_number(report.campaign.agency.id, year)


def _follows(report: Report) -> tuple[str, date] | None:
    previous = supplemented_report(report)
    return (previous.number_symbol, previous.issued_date) if previous else None


def render_draft(report: Report) -> bytes:
    """The draft .docx (DỰ THẢO, number blank) of the report as it stands."""
    _, report_data = report_contents(report)
    data = report_data(
        signer=report.signer,
        draft_year=today_vn().year,
        follows=_follows(report),
    )
    return render_report_docx(data)


def _store_draft(report: Report) -> None:
    report.draft_docx_sha256 = store_blob(render_draft(report)).sha256


def _lock_campaign(campaign: Campaign) -> None:
    """Serialise compiles of one campaign: row lock (PostgreSQL) or write lock (SQLite)."""
    table = Campaign.__table__
    db.session.execute(update(table).where(table.c.id == campaign.id).values(year=table.c.year))


def _lock_report(report: Report, version: int, state: ReportState) -> bool:
    """Lock the report's row if it is still at ``version`` and in ``state``; False if not.

    A no-op UPDATE (``version = version``): it takes the row lock on PostgreSQL and the write
    lock on SQLite, and leaves the ORM's optimistic version check as it was.
    """
    table = Report.__table__
    stmt = (
        update(table)
        .where(table.c.id == report.id, table.c.version == version, table.c.state == str(state))
        .values(version=table.c.version)
    )
    return db.session.execute(stmt).rowcount == 1


def _new_report(campaign: Campaign) -> Report:
    report = Report(campaign=campaign, state=ReportState.DRAFT)
    narratives = doc_context.rollup_narratives if campaign.is_rollup else None
    for name, text in (narratives or doc_context.default_narratives)(campaign).items():
        setattr(report, name, text)
    try:
        # The savepoint keeps the transaction usable if the unique index refuses the row.
        with db.session.begin_nested():
            db.session.add(report)
            db.session.flush()
    except IntegrityError as exc:  # uq_report_open_per_campaign: another compile won
        raise Conflict(COMPILED_MEANWHILE) from exc
    return report


def compile_report(
    campaign: Campaign,
    *,
    actor: User,
    expected_version: int | None = None,
    supplement: bool = False,
    now: datetime | None = None,
) -> Report:
    """Build (or rebuild) the draft from every approved entry; narrative texts are kept.

    ``expected_version`` is the version of the open report the user saw, 0 if they saw none
    (None: no check). Parallel compiles of a campaign run one after the other. Once the
    campaign's report is signed, a new report needs ``supplement`` (a deliberate "Báo cáo bổ
    sung" of the entries approved since) and at least one such entry.
    """
    _lock_campaign(campaign)
    report = db.session.scalar(
        _open_report_stmt(campaign).execution_options(populate_existing=True)
    )
    if report is None:
        if expected_version:  # the report the user saw is no longer open (signed meanwhile)
            raise Conflict(REPORT_STALE)
        if not can_compile(actor, campaign):
            raise NotAllowed("Chỉ Văn phòng Sở được tổng hợp báo cáo.")
        previous = signed_report(campaign)
        if previous is not None and not supplement:
            raise AlreadySigned(previous)
        if previous is not None and not _unreported(campaign):
            raise Invalid(NOTHING_TO_SUPPLEMENT.format(number=previous.number_symbol))
        report = _new_report(campaign)
    elif expected_version == 0:  # the user saw no report: someone compiled one meanwhile
        raise Conflict(COMPILED_MEANWHILE)
    else:
        _check(report, ReportAction.COMPILE, actor, expected_version)
    added = _take_contents(campaign, report)
    db.session.expire_all()
    flush_or_conflict()
    db.session.expire(report)
    report.compiled_at = now or utcnow()
    _store_draft(report)
    noun = "báo cáo của cơ quan, đơn vị" if campaign.is_rollup else "hồ sơ"
    comment = f"Thêm {added} {noun} mới."
    follows = _follows(report)
    if follows:
        comment = f"Báo cáo bổ sung cho báo cáo số {follows[0]}. {comment}"
    _log(report, actor, "compile", report.state, report.state, comment, now)
    flush_or_conflict()
    return report


def _unreported(campaign: Campaign) -> list:
    """What a new compile would add: approved entries, or (roll-up) usable Sở reports."""
    if campaign.is_rollup:
        return rollup.unreported_documents(campaign)
    return unreported_entries(campaign)


def _take_contents(campaign: Campaign, report: Report) -> int:
    """Put what is not yet reported into the report; how many were added."""
    if campaign.is_rollup:
        return rollup.take_documents(campaign, report.id)
    # One UPDATE for every newly approved entry (a version bump keeps stale forms out).
    return db.session.execute(
        update(Entry)
        .where(
            Entry.campaign_id == campaign.id,
            Entry.state == EntryState.APPROVED.value,
            Entry.report_id.is_(None),
        )
        .values(report_id=report.id, version=Entry.version + 1)
        .execution_options(synchronize_session=False)
    ).rowcount


def recompile_report(
    report: Report, *, actor: User, expected_version: int | None, now: datetime | None = None
) -> Report:
    """Compile the open report again (its page's "Tổng hợp báo cáo"): see ``compile_report``."""
    return compile_report(report.campaign, actor=actor, expected_version=expected_version, now=now)


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
    accept_deviations: bool = False,
    now: datetime | None = None,
) -> Report:
    """Chánh Văn phòng sends the draft to the director or a deputy for signature.

    The draft is checked against NĐ 30/2020 first; with deviations it goes up only when
    ``accept_deviations`` confirms it, and the history names them."""
    transition = _check(report, ReportAction.SUBMIT, actor, expected_version)
    if not signer.active or not signer.has_role(Role.DIRECTOR, Role.DEPUTY_DIRECTOR):
        raise Invalid("Người ký phải là Giám đốc hoặc Phó Giám đốc.")
    if signer.id in report_preparer_ids(report) | {actor.id}:
        raise Invalid(
            f"{signer.full_name} đã tổng hợp, chỉnh sửa hoặc trình báo cáo này nên không được "
            "ký nó; hãy chọn người ký khác."
        )
    if report.compiled_at is None or not report_contents(report)[0]:
        raise Invalid("Báo cáo chưa có hồ sơ nào đã duyệt; hãy tổng hợp trước khi trình ký.")
    report.signer_id = signer.id
    flush_or_conflict()  # a parallel "Trình ký" bumped the version: a clear conflict
    db.session.refresh(report)
    _store_draft(report)  # the draft now shows the signer's block
    note = _deviation_note(format_deviations(report), "trình ký", accept_deviations)
    report.state = transition.target
    report.last_comment = None
    comment = f"Người ký: {signer}" + (f". {note}" if note else "")
    _log(report, actor, "submit", transition.source, transition.target, comment, now)
    flush_or_conflict()
    return report


def return_report(
    report: Report, *, actor: User, comment: str | None, expected_version: int | None
) -> Report:
    """The signer returns the draft to Văn phòng with a comment."""
    transition = _check(report, ReportAction.RETURN, actor, expected_version)
    comment = (clean_text(comment) or "").strip()
    if transition.comment_required and not comment:
        raise Invalid("Vui lòng nhập ý kiến khi trả lại.", errors={"comment": "Bắt buộc."})
    report.state = transition.target
    report.last_comment = comment
    _log(report, actor, "return", transition.source, transition.target, comment)
    flush_or_conflict()
    return report


def refresh_after_send_back(report: Report, *, actor: User, entry: Entry, comment: str) -> None:
    """Log that the signer sent one entry back to Văn phòng and re-render the draft without it.

    Called by the entry's "Trả về Văn phòng" (``Effect.LEAVE_REPORT``) while the entry is
    still being moved, hence the comment given here rather than read from the entry.
    """
    _log(report, actor, "send_back", report.state, report.state, f"“{entry.title}”: {comment}")
    flush_or_conflict()  # the entry has left the report before the draft is drawn again
    _store_draft(report)
    flush_or_conflict()


def peek_next_number(agency_id: int, year: int) -> int:
    """The number the agency's yearly sequence gives next (read only: nothing is reserved)."""
    last = db.session.scalar(
        select(NumberSequence.last_number).where(
            NumberSequence.agency_id == agency_id, NumberSequence.year == year
        )
    )
    return (last or 0) + 1


def take_number(agency_id: int, year: int, number: int) -> bool:
    """Take ``number`` if it is still the sequence's next one (row-locked); False if taken.

    Taken inside the signing transaction, so a failed signature leaves no gap.
    """
    if number == 1:  # the year's first number: create its row without racing another signer
        dialect = db.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        db.session.execute(
            insert(NumberSequence.__table__)
            .values(agency_id=agency_id, year=year, last_number=0)
            .on_conflict_do_nothing(index_elements=["agency_id", "year"])
        )
    table = NumberSequence.__table__
    taken = db.session.execute(
        update(table)
        .where(
            table.c.agency_id == agency_id,
            table.c.year == year,
            table.c.last_number == number - 1,
        )
        .values(last_number=number)
    ).rowcount
    return taken == 1


class NumberChanged(Conflict):
    """The number the signer confirmed was taken by another document meanwhile."""

    def __init__(self, report: Report, expected: int, number: int):
        agency = report.campaign.agency
        told = format_number_symbol(expected, report.doc_type, agency.abbreviation)
        now = format_number_symbol(number, report.doc_type, agency.abbreviation)
        super().__init__(
            f"Số {told} vừa được cấp cho văn bản khác nên báo cáo chưa được ký; nếu ký bây giờ, "
            f"văn bản sẽ mang số {now}. Vui lòng xác nhận lại."
        )


def format_number_symbol(number: int, doc_type: str, agency_abbr: str) -> str:
    """NĐ30: leading zero below 10, "/" then type and agency: 05/BC-SXD."""
    return f"{number:02d}/{doc_type}-{agency_abbr}"


@dataclass(frozen=True)
class _SignedDocuments:
    number: int
    number_symbol: str
    final_docx: bytes
    p7s: bytes
    signed_pdf: bytes | None
    verify_code: str | None = None


@dataclass(frozen=True)
class _PreparedDocuments:
    """The final .docx and the PDF in their pre-signing state, and what must be signed."""

    number: int
    number_symbol: str
    final_docx: bytes
    docx_tbs: bytes
    pdf: interrupted.PreparedPdf | None
    verify_code: str | None = None


def _prepare_signed(
    report: Report,
    *,
    actor: User,
    services: SigningServices,
    cert,
    number: int,
    signed_date: date,
    moment: datetime,
    chain=(),
) -> _PreparedDocuments:
    """The final .docx and the prepared PDF for ``number`` with ``cert``: bytes, nothing
    written; the signed attributes of both are what the signer's key signs."""
    campaign = report.campaign
    agency = campaign.agency
    number_symbol = format_number_symbol(number, report.doc_type, agency.abbreviation)
    verify_code = verify_url = None
    if services.verify_base_url and services.verify_key:
        verify_code = document_code(services.verify_key, agency.id, signed_date.year, number)
        verify_url = verification_url(services.verify_base_url, verify_code)
    _, report_data = report_contents(report)
    data = report_data(
        signer=actor,
        number=f"{number:02d}",
        issued_date=signed_date,
        follows=_follows(report),
        verify_url=verify_url,
    )
    final_docx = render_report_docx(data, services.signature_png)
    docx_tbs = interrupted.prepare_cms(final_docx, cert=cert, signed_at=to_vn(moment))
    prepared_pdf = None
    if services.make_pdf:
        # The PDF is drawn from the same document without the embedded image: the visible
        # PAdES stamp puts the signature image in its place (no double image).
        pdf = pdfmod.docx_to_pdf(render_report_docx(data), timeout=services.pdf_timeout)
        try:
            prepared_pdf = interrupted.prepare_pdf(
                pdf,
                cert=cert,
                chain=chain,
                signature_png=services.signature_png,
                docx=final_docx,
                docx_name=f"{number_symbol.replace('/', '-')}.docx",
                signer_name=actor.full_name,
                reason="Phê duyệt báo cáo",
                location=agency.place_name,
                signed_at=to_vn(moment),
                timestamper=_timestamper(services),
            )
        except signing.PdfaLost as exc:
            raise Invalid(str(exc)) from exc
    return _PreparedDocuments(
        number, number_symbol, final_docx, docx_tbs, prepared_pdf, verify_code
    )


def _finish_signed(
    prepared: _PreparedDocuments,
    signatures: dict[str, bytes],
    *,
    cert,
    chain=(),
    timestamper=None,
) -> _SignedDocuments:
    """Embed the signature values (each checked against ``cert`` first): the signed files.

    With ``timestamper`` (a TSA configured) the PDF signature gets a signature timestamp
    over its value, PAdES B-T, whether the value came from a server key or a USB token.
    """
    p7s = interrupted.finish_cms(
        prepared.final_docx, prepared.docx_tbs, signatures["docx"], cert=cert, chain=chain
    )
    signed_pdf = None
    if prepared.pdf is not None:
        pdf = prepared.pdf
        try:
            signed_pdf = interrupted.finish_pdf(
                pdf.pdf,
                pdf.state,
                pdf.tbs,
                signatures["pdf"],
                cert=cert,
                chain=chain,
                timestamper=timestamper,
            )
        except ValueError:  # the signature refused, or the prepared state unusable
            raise
        except Exception as exc:
            if timestamper is None:
                raise
            raise Invalid(f"Không lấy được dấu thời gian cho chữ ký: {exc}") from exc
    return _SignedDocuments(
        prepared.number,
        prepared.number_symbol,
        prepared.final_docx,
        p7s,
        signed_pdf,
        prepared.verify_code,
    )


def _timestamper(services: SigningServices):
    """The TSA client when long-term validation is configured, else None."""
    return services.ltv.timestamper() if services.ltv else None


def _render_signed(
    report: Report,
    entries: list[Entry],
    *,
    actor: User,
    services: SigningServices,
    number: int,
    signed_date: date,
    moment: datetime,
) -> _SignedDocuments:
    """The final .docx, its .p7s and the signed PDF for ``number``: bytes, nothing written.

    The same two phases as a signature by USB token (danvan.signature_requests): prepare,
    then the server-side key signs the prepared bytes at once and they are embedded.
    """
    identity = services.signer_identity
    prepared = _prepare_signed(
        report,
        actor=actor,
        services=services,
        cert=identity.cert,
        number=number,
        signed_date=signed_date,
        moment=moment,
        chain=identity.chain,
    )
    signatures = {"docx": interrupted.sign_locally(identity.signer, prepared.docx_tbs)}
    if prepared.pdf is not None:
        signatures["pdf"] = interrupted.sign_locally(identity.signer, prepared.pdf.tbs)
    return _finish_signed(
        prepared,
        signatures,
        cert=identity.cert,
        chain=identity.chain,
        timestamper=_timestamper(services),
    )


def _sqlite_idle() -> bool:
    """SQLite: no write transaction open and nothing pending, so a rollback only drops ours."""
    session = db.session
    if session.get_bind().dialect.name != "sqlite":
        return False
    pending = session.new or session.dirty or session.deleted
    return not pending and not session.connection().connection.dbapi_connection.in_transaction


def sign_report(
    report: Report,
    *,
    actor: User,
    services: SigningServices,
    expected_version: int | None,
    expected_number: int | None = None,
    accept_deviations: bool = False,
    now: datetime | None = None,
) -> Report:
    """Sign: number and date, final .docx, PDF/A with PAdES signature, .p7s; entries signed.

    The final .docx (number, date and signer filled in) is checked against NĐ 30/2020 before
    anything is written; with deviations it is signed only when ``accept_deviations`` says so.

    The documents are rendered (LibreOffice takes about a second) with the number the sequence
    gives next while nothing is written, so no lock is held meanwhile; a short write phase
    then locks the report (a parallel signer loses with a Conflict) and takes the number only
    if it is still free, else the documents are rendered again with the next one.
    ``expected_number`` is the number the signer was told the report would take: if another
    document takes it first, the signature stops with ``NumberChanged`` instead.
    """
    for _attempt in range(SIGN_ATTEMPTS):
        transition, entries = _check_can_sign(report, actor, services, expected_version)
        _refuse_if_pending(report, now)
        checked_version = report.version
        moment = now or utcnow()
        signed_date: date = to_vn(moment).date()
        held = _held_number(report, signed_date.year)
        number = held or _number_to_take(report, signed_date.year, expected_number)
        documents = _render_signed(
            report,
            entries,
            actor=actor,
            services=services,
            number=number,
            signed_date=signed_date,
            moment=moment,
        )
        note = _deviation_note(
            check_report_docx(documents.final_docx, final=True), "ký", accept_deviations
        )
        releasable = _sqlite_idle()
        if _lock_and_take_number(
            report, checked_version, transition, number, signed_date.year, held=bool(held)
        ):
            break
        # Another report of the agency took the number meanwhile: render again with the next
        # one. On SQLite first give the write lock back (PostgreSQL holds only our report's
        # row; the failed take locked nothing).
        if releasable:
            db.session.rollback()
    else:
        raise Conflict(NUMBER_BUSY)
    _write_signature(
        report, documents, transition, actor=actor, services=services, moment=moment, note=note
    )
    _mark_entries_signed(entries, actor=actor)
    flush_or_conflict()
    return report


def _check_can_sign(
    report: Report,
    actor: User,
    services: SigningServices,
    expected_version: int | None,
    *,
    registered: bool = False,
) -> tuple[ReportTransition, list[Entry]]:
    """The signing transition and the entries to sign, once the actor may sign with what
    they have (certificate on the server or ``registered`` for a USB token, signature image)
    and the report still holds entries."""
    transition = _check(report, ReportAction.SIGN, actor, expected_version)
    identity = services.signer_identity
    if identity is None and not registered:
        raise Invalid(
            services.signer_unavailable
            or "Chưa cấu hình chứng thư số cho người ký; không thể ký số."
        )
    if identity is not None and identity.key is None and not registered:
        raise Invalid(HSM_PERSONAL_KEY)
    if not services.signature_png:
        raise Invalid("Bạn chưa tải lên ảnh chữ ký (PNG nền trong suốt) trong trang cá nhân.")
    contents, _ = report_contents(report)
    if not contents:
        raise Invalid("Báo cáo không còn hồ sơ nào; không thể ký.")
    return transition, [entry for entry in contents if isinstance(entry, Entry)]


def _number_to_take(report: Report, year: int, expected_number: int | None) -> int:
    """The sequence's next number; ``NumberChanged`` if it is not the one the signer was told."""
    number = peek_next_number(report.campaign.agency.id, year)
    if expected_number is not None and number != expected_number:
        raise NumberChanged(report, expected_number, number)
    return number


def _refuse_if_pending(report: Report, now: datetime | None = None) -> None:
    """A signature request waiting for the signer's USB token keeps the report: no second
    signature meanwhile (the request is signed, cancelled or expires first)."""
    from danvan.signature_requests import RequestPending, open_request

    pending = open_request(report, now)
    if pending is not None:
        raise RequestPending(pending)


def _held_number(report: Report, year: int) -> int | None:
    """The number an unsigned USB-token request of the report took and could not give back
    (a later number was taken meanwhile): the report signs with it, leaving no gap."""
    from danvan.signature_requests import held_request

    held = held_request(report, year)
    return held.number if held is not None else None


def _lock_and_take_number(
    report: Report,
    version: int,
    transition: ReportTransition,
    number: int,
    year: int,
    *,
    held: bool = False,
) -> bool:
    """Start of the write phase: lock the report (Conflict if it moved), take the number
    (already the report's when ``held``)."""
    if not _lock_report(report, version, transition.source):
        raise Conflict(REPORT_STALE)
    if held:
        from danvan.signature_requests import use_held_number

        use_held_number(report, year)
        return True
    return take_number(report.campaign.agency.id, year, number)


def _write_signature(
    report: Report,
    documents: _SignedDocuments,
    transition: ReportTransition,
    *,
    actor: User,
    services: SigningServices,
    moment: datetime,
    note: str | None = None,
    cert_sha256: str | None = None,
) -> None:
    """The write phase: store the signed files, number and date the report, log the signature."""
    final_sha = store_blob(documents.final_docx).sha256
    p7s_sha = store_blob(documents.p7s).sha256
    pdf_sha = store_blob(documents.signed_pdf).sha256 if documents.signed_pdf else None
    signed_date = to_vn(moment).date()
    report.number = documents.number
    report.number_year = signed_date.year
    report.number_symbol = documents.number_symbol
    report.issued_date = signed_date
    report.final_docx_sha256 = final_sha
    report.p7s_sha256 = p7s_sha
    if pdf_sha:
        report.signed_pdf_sha256 = pdf_sha
    report.signer_cert_sha256 = cert_sha256 or services.signer_identity.fingerprint
    report.verify_code = documents.verify_code
    report.signed_by_id = actor.id
    report.signed_at = moment
    report.state = transition.target
    _log(
        report,
        actor,
        "sign",
        transition.source,
        transition.target,
        f"Số {report.number_symbol}" + (f". {note}" if note else ""),
        moment,
    )


def _mark_entries_signed(entries: list[Entry], *, actor: User) -> None:
    """The system's "Ký duyệt" on every entry of the signed report."""
    for entry in entries:
        mark_signed(entry, actor=actor)


def issue_report(
    report: Report,
    *,
    actor: User,
    services: SigningServices,
    expected_version: int | None,
    copies: int = 1,
    now: datetime | None = None,
    recipients: list[CampaignRecipient] = (),
) -> ArchivedDocument:
    """Văn thư: agency signature with the seal, outgoing register row, issue and archive,
    and the e-mail to each chosen recipient (danvan.delivery).

    The agency signature is computed before anything is written; the write phase locks the
    report first, so a parallel "Phát hành" gets a Conflict instead of a second register row.
    """
    from danvan import delivery

    transition = _check(report, ReportAction.ISSUE, actor, expected_version)
    delivery.check_recipients(report.campaign, recipients)
    checked_version = report.version
    moment = now or utcnow()
    issued_pdf, agency_fp = _agency_signature(report, services, moment)
    signer = db.session.get(User, report.signed_by_id)
    subject = register_subject(report)
    # The write phase.
    if not _lock_report(report, checked_version, transition.source):
        raise Conflict(REPORT_STALE)
    pdf_sha = store_blob(issued_pdf).sha256 if issued_pdf else report.signed_pdf_sha256
    _register(report, signer=signer, subject=subject, copies=copies, moment=moment)
    archived = _archive(
        report, signer=signer, subject=subject, pdf_sha=pdf_sha, agency_fp=agency_fp, at=moment
    )
    _mark_issued(report, transition, actor=actor, moment=moment)
    flush_or_conflict()
    delivery.queue_deliveries(
        archived, recipients, actor=actor, now=moment, base_url=services.verify_base_url
    )
    return archived


def _agency_signature(
    report: Report, services: SigningServices, moment: datetime
) -> tuple[bytes | None, str | None]:
    """The signed PDF with the agency's signature and seal, and the agency certificate's
    fingerprint; (None, None) when the report has no PDF (signed without LibreOffice)."""
    if not report.signed_pdf_sha256:
        return None, None
    identity = services.agency_identity
    if identity is None:
        raise Invalid(services.agency_unavailable or NO_SEAL)
    if not services.seal_png:
        raise Invalid(NO_SEAL)
    try:
        # An HSM seal: one session, one login, closed before the write phase.
        with identity.open_signer() as signer:
            issued_pdf = signing.sign_by_agency(
                db.session.get(Blob, report.signed_pdf_sha256).data,
                signer=signer,
                seal_png=services.seal_png,
                number_symbol=report.number_symbol,
                signed_at=to_vn(moment),
                location=report.campaign.agency.place_name,
                ltv_settings=services.ltv,
            )
    # PdfaLost; a revoked certificate, an unreachable TSA or OCSP (ValueError); the HSM
    # refusing (SigningUnavailable).
    except (ValueError, SigningUnavailable) as exc:
        raise Invalid(str(exc)) from exc
    return issued_pdf, identity.fingerprint


def _register(
    report: Report, *, signer: User, subject: str, copies: int, moment: datetime
) -> RegisterEntry:
    """The report's row in the outgoing register (sổ đăng ký văn bản đi)."""
    campaign = report.campaign
    row = RegisterEntry(
        agency_id=campaign.agency.id,
        year=report.number_year,
        number=report.number,
        number_symbol=report.number_symbol,
        doc_date=report.issued_date,
        type_and_subject=subject,
        signer_name=signer.full_name,
        recipients="; ".join(campaign.recipient_lines),
        archive_holder=f"Lưu: {ARCHIVE_LINE}",
        copies=copies,
        sent_date=to_vn(moment).date(),
        received_by="Gửi qua Hệ thống",
        note="",
        report_id=report.id,
    )
    db.session.add(row)
    return row


def _archive(
    report: Report,
    *,
    signer: User,
    subject: str,
    pdf_sha: str | None,
    agency_fp: str | None,
    at: datetime,
) -> ArchivedDocument:
    """The issued report's record in the archive (lưu trữ), naming its stored files."""
    archived = ArchivedDocument(
        agency_id=report.campaign.agency.id,
        report_id=report.id,
        number_symbol=report.number_symbol,
        year=report.number_year,
        subject=subject,
        subject_folded=fold(subject),
        doc_date=report.issued_date,
        signer_name=signer.full_name,
        signer_title=doc_context.signer_title(signer, rollup=report.campaign.is_rollup),
        signed_at=report.signed_at,
        issued_at=at,
        pdf_sha256=pdf_sha,
        docx_sha256=report.final_docx_sha256,
        p7s_sha256=report.p7s_sha256,
        signer_cert_sha256=report.signer_cert_sha256,
        agency_cert_sha256=agency_fp,
        archive_line=ARCHIVE_LINE,
    )
    db.session.add(archived)
    return archived


def _mark_issued(
    report: Report, transition: ReportTransition, *, actor: User, moment: datetime
) -> None:
    """Move the report to "Đã phát hành" and log it with its register number."""
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


def register_subject(report: Report) -> str:
    """Tên loại and trích yếu for the register and the archive: "Báo cáo kết quả …"."""
    subject = report.campaign.report_subject
    if supplemented_report(report):
        subject = doc_context.supplement_subject(subject)
    return f"Báo cáo {subject[0].lower()}{subject[1:]}"


def delete_report(
    report: Report, *, actor: User, expected_version: int | None, now: datetime | None = None
) -> Report:
    """Văn phòng deletes a draft that holds no entry: it leaves the campaign, its history stays.

    Soft: the report moves to "deleted" (out of the one-open-report-per-campaign index, so a
    new report can be compiled) and keeps its rows; its events are append-only anyway.
    """
    transition = _check(report, ReportAction.DELETE, actor, expected_version)
    count = len(report_contents(report)[0])
    if count:
        raise Invalid(
            f"Dự thảo còn {count} hồ sơ nên không thể xóa; hãy trình ký hoặc tổng hợp lại."
        )
    report.state = transition.target
    _log(
        report,
        actor,
        ReportAction.DELETE.value,
        transition.source,
        transition.target,
        "Xóa dự thảo không có hồ sơ nào.",
        now,
    )
    flush_or_conflict()
    return report
