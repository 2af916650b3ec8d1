"""The sổ văn bản đến: register a received edXML package, verify its PDF, answer the sender.

``import_package`` refuses what is not a package for us (unreadable, addressed elsewhere, the
same document twice), numbers the rest (số đến from 1 each year of arrival, Vietnam time),
stores the package and its files as blobs and records the check of the PDF's signatures
against our trust roots: every signature intact, trusted and followed by nothing but what
PAdES allows. ``accept`` marks it "03 Đã tiếp nhận"; ``status_reply_for`` is the QCVN 102
reply the sender gets. Plain module: no request, no session; operations flush, never commit.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import raiseload
from sqlalchemy.orm.exc import StaleDataError

from danvan import rollup
from danvan.blobs import store_blob
from danvan.documents import signing
from danvan.edxml import codes
from danvan.edxml.archive import DOCX_MIME, P7S_MIME, PDF_MIME, sender_organ
from danvan.edxml.package import MAX_PACKAGE_BYTES, EdxmlDocument, PackageError, parse_package
from danvan.edxml.status import StatusReply, build_status
from danvan.extensions import db
from danvan.models import Agency, IncomingDocument, Role, User
from danvan.operations import STALE_MESSAGE, Conflict, Invalid, NotAllowed
from danvan.text import fold, format_date, format_datetime, like_contains, to_vn
from danvan.uploads import detect_kind
from danvan.verification import signature_label

VIEWER_ROLES = (
    Role.OFFICE,
    Role.OFFICE_CHIEF,
    Role.DIRECTOR,
    Role.DEPUTY_DIRECTOR,
    Role.CLERK,
    Role.ADMIN,
)
NO_PDF = "Gói không có bản PDF ký số để kiểm tra."
REPLY_CODES = ("01", "03")  # what danvan answers: arrived, then accepted
ARRIVED, ACCEPTED = REPLY_CODES
# Column widths of IncomingDocument: a longer value is refused, never cut.
LIMITS = {
    "sender_organ_id": ("Mã định danh nơi gửi", 30),
    "sender_name": ("Tên nơi gửi", 200),
    "sender_parent": ("Cơ quan chủ quản của nơi gửi", 200),
    "number_symbol": ("Số, ký hiệu", 60),
    "doc_type_name": ("Tên loại văn bản", 100),
    "subject": ("Trích yếu", 600),
    "signer_name": ("Họ tên người ký", 120),
    "signer_position": ("Chức vụ người ký", 120),
    "signer_competence": ("Thẩm quyền ký", 20),
    "document_key": ("DocumentId", 200),
}


class ImportRefused(Invalid):
    """A package or reply not taken in; ``problems`` are the Vietnamese reasons."""

    def __init__(self, problems: list[str]):
        super().__init__(" ".join(problems))
        self.problems = list(problems)


def can_view_incoming(user: User) -> bool:
    """Văn phòng, leaders, Văn thư and the administrator read the sổ văn bản đến."""
    return user.is_authenticated and user.has_role(*VIEWER_ROLES)


def can_receive(user: User) -> bool:
    """Only Văn thư registers packages, accepts documents and answers senders."""
    return user.is_authenticated and user.has_role(Role.CLERK)


def lock_agency(agency: Agency) -> None:
    """The agency's row lock (PostgreSQL) or the write lock (SQLite): one register at a time."""
    table = Agency.__table__
    db.session.execute(update(table).where(table.c.id == agency.id).values(id=table.c.id))


# --- Registering a package -------------------------------------------------------------------


def _addressed_to_us(parsed: EdxmlDocument, agency: Agency) -> list[str]:
    if not agency.organ_id:
        return [
            f"{agency.full_name} chưa có mã định danh (QCVN 102:2016) nên chưa nhận được gói "
            "edXML: quản trị viên nhập mã ở Quản trị → Cơ quan."
        ]
    if any(r.organ_id == agency.organ_id for r in parsed.recipients):
        return []
    named = "; ".join(f"{r.name} (mã {r.organ_id})" for r in parsed.recipients)
    return [
        f"Gói edXML này gửi {named}, không phải {agency.full_name} (mã {agency.organ_id}): "
        "không vào sổ văn bản đến."
    ]


def _duplicate(agency: Agency, document_key: str) -> IncomingDocument | None:
    return db.session.scalar(
        select(IncomingDocument).where(
            IncomingDocument.agency_id == agency.id,
            IncomingDocument.document_key == document_key,
        )
    )


def _duplicate_problem(parsed: EdxmlDocument, existing: IncomingDocument) -> str:
    return (
        f"Văn bản số {parsed.number_symbol} ngày {format_date(parsed.promulgation_date)} của "
        f"{parsed.sender.name} đã vào sổ văn bản đến: số đến {existing.number}/{existing.year} "
        f"ngày {format_date(existing.received_at)}. Không nhận lại lần nữa."
    )


def _values(parsed: EdxmlDocument) -> tuple[dict, list[str]]:
    values = {
        "sender_organ_id": parsed.sender.organ_id,
        "sender_name": parsed.sender.name,
        "sender_parent": parsed.sender.organization_in_charge,
        "number_symbol": parsed.number_symbol,
        "doc_date": parsed.promulgation_date,
        "doc_type_name": parsed.document_type.name,
        "subject": parsed.subject,
        "signer_name": parsed.signer.full_name,
        "signer_position": parsed.signer.position,
        "signer_competence": parsed.signer.competence,
        "page_amount": parsed.page_amount,
        "document_key": parsed.document_id,
    }
    problems = [
        f"{label} trong gói dài {len(values[name])} ký tự, quá {limit} ký tự sổ có thể ghi."
        for name, (label, limit) in LIMITS.items()
        if len(values[name]) > limit
    ]
    return values, problems


def _files(parsed: EdxmlDocument) -> tuple[dict[str, bytes], list[dict], list[str]]:
    """The package's PDF, .docx and .p7s by their real type, a list of every attachment, notes."""
    found: dict[str, bytes] = {}
    listed, notes = [], []
    for attachment in parsed.attachments:
        real = detect_kind(attachment.data)
        if attachment.content_type == P7S_MIME or attachment.name.lower().endswith(".p7s"):
            kind = "p7s"
        elif real in ("pdf", "docx"):
            kind = real
        else:
            kind = ""
        declared = {PDF_MIME: "pdf", DOCX_MIME: "docx"}.get(attachment.content_type)
        if declared and declared != real:
            notes.append(
                f"Tệp {attachment.name} khai là {declared.upper()} nhưng nội dung không phải "
                f"{declared.upper()}: không dùng để kiểm tra."
            )
        if kind and kind not in found:
            found[kind] = attachment.data
        listed.append(
            {
                "name": attachment.name,
                "content_type": attachment.content_type,
                "size": len(attachment.data),
                "sha256": attachment.sha256,
                "kind": kind,
            }
        )
    return found, listed, notes


def verify_pdf(pdf: bytes | None, trust_roots: list) -> tuple[bool, list[str], list[dict]]:
    """(valid, reasons, signatures) of a received PDF: valid when every signature is good."""
    if pdf is None:
        return False, [NO_PDF], []
    try:
        results = signing.validate_pdf(pdf, trust_roots)
    except ValueError:
        return False, ["Tệp PDF trong gói bị hỏng, không đọc được."], []
    reasons = [] if results else ["Tệp PDF trong gói không có chữ ký số."]
    signatures = []
    for result in results:
        row = result.as_dict()
        row["label"] = signature_label(result.field_name)
        row["signing_time_vn"] = format_datetime(result.signing_time)
        signatures.append(row)
        if not result.ok:
            message = result.message[:1].lower() + result.message[1:]
            reasons.append(f"{row['label']}: {message}")
    return not reasons, reasons, signatures


def _verify_docx(files: dict[str, bytes], trust_roots: list) -> dict | None:
    """The .p7s over the .docx, when the package carries both (recorded, not decisive)."""
    if "docx" not in files or "p7s" not in files:
        return None
    result = signing.verify_cms_detached(files["docx"], files["p7s"], trust_roots)
    return {
        **result.as_dict(),
        "label": signature_label(result.field_name),
        "signing_time_vn": format_datetime(result.signing_time),
    }


def next_number(agency: Agency, year: int) -> int:
    """The next số đến of the agency's year (call with the agency locked)."""
    last = db.session.scalar(
        select(func.max(IncomingDocument.number)).where(
            IncomingDocument.agency_id == agency.id, IncomingDocument.year == year
        )
    )
    return (last or 0) + 1


def import_package(
    data: bytes, *, agency: Agency, actor: User | None, trust_roots: list, now: datetime
) -> IncomingDocument:
    """Register a received package in the sổ văn bản đến (ImportRefused when not taken in)."""
    if actor is not None and not can_receive(actor):
        raise NotAllowed("Chỉ Văn thư được nhận văn bản đến.")
    try:
        parsed = parse_package(data, max_bytes=MAX_PACKAGE_BYTES)
    except PackageError as exc:
        raise ImportRefused(exc.problems) from exc
    values, problems = _values(parsed)
    problems = _addressed_to_us(parsed, agency) + problems
    if problems:
        raise ImportRefused(problems)
    # Locked before the duplicate check and the number: a parallel import of the same package
    # waits here, then finds this one; two different packages get consecutive numbers.
    lock_agency(agency)
    existing = _duplicate(agency, parsed.document_id)
    if existing is not None:
        raise ImportRefused([_duplicate_problem(parsed, existing)])
    files, listed, notes = _files(parsed)
    valid, reasons, signatures = verify_pdf(files.get("pdf"), trust_roots)
    year = to_vn(now).year
    doc = IncomingDocument(
        agency_id=agency.id,
        year=year,
        number=next_number(agency, year),
        received_at=now,
        received_by_id=actor.id if actor is not None else None,
        channel="edxml",
        subject_folded=fold(parsed.subject)[:600],
        package_sha256=store_blob(bytes(data)).sha256,
        pdf_sha256=store_blob(files["pdf"]).sha256 if "pdf" in files else None,
        docx_sha256=store_blob(files["docx"]).sha256 if "docx" in files else None,
        p7s_sha256=store_blob(files["p7s"]).sha256 if "p7s" in files else None,
        signatures_valid=valid,
        verification={
            "reasons": reasons,
            "signatures": signatures,
            "p7s": _verify_docx(files, trust_roots),
            "attachments": listed,
            "notes": notes,
            "package_sha256": hashlib.sha256(data).hexdigest(),
        },
        status_code=ARRIVED,
        **values,
    )
    try:
        with db.session.begin_nested():
            db.session.add(doc)
            db.session.flush()
    except IntegrityError as exc:  # only if something bypassed the lock
        raise Conflict(
            "Sổ văn bản đến vừa được cập nhật cùng lúc; vui lòng nhận lại gói này."
        ) from exc
    rollup.attach_arrival(doc)
    return doc


# --- After arrival -----------------------------------------------------------------------------


def accept(
    doc: IncomingDocument, *, actor: User, expected_version: int | None, now: datetime
) -> IncomingDocument:
    """Văn thư accepts the document: status "03 Đã tiếp nhận" (once; version-checked)."""
    if not can_receive(actor):
        raise NotAllowed("Chỉ Văn thư được tiếp nhận văn bản đến.")
    if expected_version is not None and expected_version != doc.version:
        raise Conflict(STALE_MESSAGE)
    if doc.status_code == ACCEPTED:
        raise Invalid(
            f"Văn bản số đến {doc.number}/{doc.year} đã được tiếp nhận lúc "
            f"{format_datetime(doc.accepted_at)}."
        )
    doc.status_code = ACCEPTED
    doc.accepted_at = now
    doc.accepted_by_id = actor.id
    try:
        db.session.flush()
    except StaleDataError as exc:
        raise Conflict(STALE_MESSAGE) from exc
    return doc


def status_reply_for(
    doc: IncomingDocument, code: str, *, staff: User | None, now: datetime
) -> bytes:
    """The QCVN 102 status reply for the sender: "01" (arrived) or "03" (once accepted)."""
    if code not in REPLY_CODES:
        raise Invalid("Chỉ tạo được phản hồi “Đã đến” (01) hoặc “Đã tiếp nhận” (03).")
    if code == ACCEPTED and doc.status_code != ACCEPTED:
        raise Invalid("Văn bản chưa được tiếp nhận nên chưa có phản hồi “Đã tiếp nhận”.")
    agency = db.session.get(Agency, doc.agency_id)
    try:
        responder = sender_organ(agency)
    except PackageError as exc:
        raise Invalid(" ".join(exc.problems)) from exc
    # The moment of the status itself, so the same reply downloaded twice is the same reply.
    moment = doc.received_at if code == ARRIVED else doc.accepted_at
    department = staff.unit.name if staff is not None and staff.unit is not None else ""
    reply = StatusReply(
        sender_organ_id=doc.sender_organ_id,
        number_symbol=doc.number_symbol,
        promulgation_date=doc.doc_date,
        document_id=doc.document_key,
        responder=responder,
        status_code=code,
        description=codes.STATUS_CODES[code],
        timestamp=to_vn(moment or now).replace(microsecond=0),
        department=department,
        staff=staff.full_name if staff is not None else "",
    )
    try:
        return build_status(reply)
    except PackageError as exc:
        raise Invalid(" ".join(exc.problems)) from exc


def signature_summary(doc: IncomingDocument) -> str:
    """The register's column: "Hợp lệ" or "Không hợp lệ"."""
    return "Hợp lệ" if doc.signatures_valid else "Không hợp lệ"


def incoming_stmt(agency: Agency, year: int | None = None, text: str | None = None):
    """The register's rows, newest số đến first on the (agency, year, number) unique index, to
    page; ``text`` matches without accents."""
    stmt = (
        select(IncomingDocument)
        .where(IncomingDocument.agency_id == agency.id)
        .options(raiseload(IncomingDocument.received_by), raiseload(IncomingDocument.accepted_by))
        .order_by(IncomingDocument.year.desc(), IncomingDocument.number.desc())
    )
    if year:
        stmt = stmt.where(IncomingDocument.year == year)
    for word in fold(text).split():
        pattern = like_contains(word)
        stmt = stmt.where(
            or_(
                IncomingDocument.subject_folded.like(pattern, escape="\\"),
                IncomingDocument.number_symbol.ilike(pattern, escape="\\"),
            )
        )
    return stmt


def register_years(agency: Agency) -> list[int]:
    """The years the agency's register has rows for, newest first."""
    stmt = select(IncomingDocument.year).where(IncomingDocument.agency_id == agency.id).distinct()
    return sorted(db.session.scalars(stmt), reverse=True)
