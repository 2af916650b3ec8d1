"""The compiled report (Báo cáo), the yearly number sequence, the outgoing register and archive."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from danvan.extensions import db
from danvan.models.base import UTCDateTime
from danvan.text import utcnow
from danvan.workflow import ReportState


class Report(db.Model):
    # At most one open (draft or submitted) report per campaign, even under parallel compiles.
    __table_args__ = (
        Index(
            "uq_report_open_per_campaign",
            "campaign_id",
            unique=True,
            sqlite_where=text("state IN ('draft', 'submitted')"),
            postgresql_where=text("state IN ('draft', 'submitted')"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    state: Mapped[str] = mapped_column(String(20), default=ReportState.DRAFT, index=True)
    doc_type: Mapped[str] = mapped_column(String(10), default="BC")
    section_leadership: Mapped[str] = mapped_column(Text, default="")
    section_strengths: Mapped[str] = mapped_column(Text, default="")
    section_weaknesses: Mapped[str] = mapped_column(Text, default="")
    section_proposals: Mapped[str] = mapped_column(Text, default="")
    signer_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    last_comment: Mapped[str | None] = mapped_column(Text)
    compiled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    draft_docx_sha256: Mapped[str | None] = mapped_column(ForeignKey("blob.sha256"))
    # Filled in at signing (number by the system, NĐ30 Điều 15) and issuing.
    number: Mapped[int | None] = mapped_column(Integer)
    number_year: Mapped[int | None] = mapped_column(Integer)
    number_symbol: Mapped[str | None] = mapped_column(String(40))
    issued_date: Mapped[date | None]
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    final_docx_sha256: Mapped[str | None] = mapped_column(ForeignKey("blob.sha256"))
    signed_pdf_sha256: Mapped[str | None] = mapped_column(ForeignKey("blob.sha256"))
    p7s_sha256: Mapped[str | None] = mapped_column(ForeignKey("blob.sha256"))
    signer_cert_sha256: Mapped[str | None] = mapped_column(String(64))
    # Printed on the signed document (QR code and short URL): opens its public verification
    # page. Random, so the page of one document does not lead to the others.
    verify_code: Mapped[str | None] = mapped_column(String(16), index=True, unique=True)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __mapper_args__ = {"version_id_col": version}

    campaign = relationship("Campaign", lazy="joined")
    signer = relationship("User", foreign_keys=[signer_id], lazy="joined")
    signed_by = relationship("User", foreign_keys=[signed_by_id], lazy="joined")
    issued_by = relationship("User", foreign_keys=[issued_by_id], lazy="joined")

    @property
    def state_enum(self) -> ReportState:
        return ReportState(self.state)


class NumberSequence(db.Model):
    """The agency's yearly sequence of outgoing numbers (from 01 on 01/01 to 31/12)."""

    __table_args__ = (UniqueConstraint("agency_id", "year"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    year: Mapped[int]
    last_number: Mapped[int] = mapped_column(default=0)


class RegisterEntry(db.Model):
    """A row of the Sổ đăng ký văn bản đi (NĐ30 Phụ lục IV, 10 columns)."""

    __table_args__ = (UniqueConstraint("agency_id", "year", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    year: Mapped[int]
    number: Mapped[int]
    number_symbol: Mapped[str] = mapped_column(String(40))  # 1
    doc_date: Mapped[date]  # 2
    type_and_subject: Mapped[str] = mapped_column(String(600))  # 3
    signer_name: Mapped[str] = mapped_column(String(120))  # 4
    recipients: Mapped[str] = mapped_column(Text)  # 5
    archive_holder: Mapped[str] = mapped_column(String(200))  # 6
    copies: Mapped[int] = mapped_column(default=1)  # 7
    sent_date: Mapped[date | None]  # 8
    received_by: Mapped[str] = mapped_column(String(200), default="")  # 9
    note: Mapped[str] = mapped_column(Text, default="")  # 10
    report_id: Mapped[int | None] = mapped_column(ForeignKey("report.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Hash chain (danvan/ledger.py): position, previous row's hash, this row's hash.
    seq: Mapped[int] = mapped_column(unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))


class ArchivedDocument(db.Model):
    """An issued document as archived (Lưu: VT, VP): immutable, verified by SHA-256."""

    # The archive lists newest first, a page at a time.
    __table_args__ = (Index("ix_archived_document_issued_at_id", "issued_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id"), unique=True)
    number_symbol: Mapped[str] = mapped_column(String(40), index=True)
    year: Mapped[int]
    subject: Mapped[str] = mapped_column(String(600))
    subject_folded: Mapped[str] = mapped_column(String(600), default="")
    doc_date: Mapped[date]
    signer_name: Mapped[str] = mapped_column(String(120))
    signer_title: Mapped[str] = mapped_column(String(120))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    pdf_sha256: Mapped[str | None] = mapped_column(ForeignKey("blob.sha256"))
    docx_sha256: Mapped[str] = mapped_column(ForeignKey("blob.sha256"))
    p7s_sha256: Mapped[str] = mapped_column(ForeignKey("blob.sha256"))
    signer_cert_sha256: Mapped[str | None] = mapped_column(String(64))
    agency_cert_sha256: Mapped[str | None] = mapped_column(String(64))
    archive_line: Mapped[str] = mapped_column(String(60), default="VT, VP")
    # Hash chain (danvan/ledger.py): position, previous row's hash, this row's hash.
    seq: Mapped[int] = mapped_column(unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))


class ArchiveTimestamp(db.Model):
    """A newer version of an archived PDF: the same file plus a fresh document timestamp
    (``retimestamp-archive``). Append-only; the archived original is never replaced, and
    verification accepts it or any of its newer versions."""

    __tablename__ = "archive_timestamp"

    id: Mapped[int] = mapped_column(primary_key=True)
    archived_document_id: Mapped[int] = mapped_column(
        ForeignKey("archived_document.id"), index=True
    )
    pdf_sha256: Mapped[str] = mapped_column(ForeignKey("blob.sha256"), unique=True)
    previous_sha256: Mapped[str] = mapped_column(ForeignKey("blob.sha256"))
    protected_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
