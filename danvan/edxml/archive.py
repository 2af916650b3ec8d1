"""An archived (issued) document as an edXML document: our models → plain data."""

from __future__ import annotations

import io
from datetime import datetime

from pyhanko.pdf_utils.reader import PdfFileReader
from sqlalchemy import select

from danvan.edxml import codes
from danvan.edxml.package import (
    Attachment,
    DocumentType,
    EdxmlDocument,
    Organ,
    PackageError,
    Signer,
    competence_for,
    document_id_for,
    trace_moment,
)
from danvan.extensions import db
from danvan.models import Agency, ArchivedDocument, Blob, RegisterEntry, Report
from danvan.operations.reports import file_stem
from danvan.text import clean_line

PDF_MIME = "application/pdf"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
P7S_MIME = "application/pkcs7-signature"


def pdf_page_count(pdf: bytes) -> int:
    """Number of pages of a PDF (its page tree's /Count)."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    return int(reader.root["/Pages"]["/Count"])


def sender_organ(agency: Agency) -> Organ:
    """The agency as the package's From; PackageError when it has no mã định danh yet."""
    if not agency.organ_id:
        raise PackageError(
            [
                f"{agency.full_name} chưa có mã định danh (QCVN 102:2016): quản trị viên nhập "
                "mã ở Quản trị → Cơ quan trước khi xuất gói edXML."
            ]
        )
    return Organ(
        organ_id=agency.organ_id,
        name=clean_line(agency.full_name) or "",
        organization_in_charge=clean_line(agency.parent_name) or "",
    )


def document_type_for(doc_type: str) -> DocumentType:
    """DocumentType for our Report.doc_type ("BC" → Báo cáo), from codes.DOCUMENT_TYPES."""
    code, name = codes.DOCUMENT_TYPES.get(doc_type, codes.DOCUMENT_TYPES["BC"])
    return DocumentType(code=code, name=name)


def archive_attachments(doc: ArchivedDocument) -> list[Attachment]:
    """The archived files: the signed PDF (when there is one), the .docx and its .p7s."""
    stem = file_stem(doc.year, doc.number_symbol)
    wanted = [
        (doc.pdf_sha256, f"{stem}.pdf", PDF_MIME, "Văn bản điện tử đã ký số (PDF/A)"),
        (doc.docx_sha256, f"{stem}.docx", DOCX_MIME, "Bản .docx của văn bản"),
        (doc.p7s_sha256, f"{stem}.docx.p7s", P7S_MIME, "Chữ ký số tách rời của bản .docx"),
    ]
    shas = [sha for sha, *_ in wanted if sha]
    blobs = {
        b.sha256: b.data for b in db.session.scalars(select(Blob).where(Blob.sha256.in_(shas)))
    }
    return [
        Attachment(name=name, content_type=mime, data=blobs[sha], description=description)
        for sha, name, mime, description in wanted
        if sha
    ]


def document_from_archive(
    doc: ArchivedDocument, *, recipients: list[Organ], now: datetime
) -> EdxmlDocument:
    """The edXML document for an issued document sent to ``recipients`` at ``now``."""
    agency = db.session.get(Agency, doc.agency_id)
    report = db.session.get(Report, doc.report_id)
    sender = sender_organ(agency)
    number, _, notation = doc.number_symbol.partition("/")
    register = db.session.scalar(
        select(RegisterEntry).where(RegisterEntry.report_id == doc.report_id)
    )
    attachments = archive_attachments(doc)
    pdf = next((a.data for a in attachments if a.content_type == PDF_MIME), None)
    title = clean_line(doc.signer_title) or ""
    return EdxmlDocument(
        sender=sender,
        recipients=list(recipients),
        code_number=number,
        code_notation=notation,
        place=clean_line(agency.place_name) or "",
        promulgation_date=doc.doc_date,
        document_type=document_type_for(report.doc_type),
        subject=clean_line(doc.subject) or "",
        signer=Signer(
            competence=competence_for(title),
            position=title,
            full_name=clean_line(doc.signer_name) or "",
        ),
        to_places=[clean_line(line) for line in report.campaign.recipient_lines],
        document_id=document_id_for(sender.organ_id, doc.doc_date, doc.number_symbol),
        trace_timestamp=trace_moment(now),
        attachments=attachments,
        priority=codes.PRIORITY_NORMAL,
        page_amount=pdf_page_count(pdf) if pdf is not None else 0,
        promulgation_amount=register.copies if register is not None else 1,
    )
