"""After issue: where a document goes (recipients, deliveries) and what arrives (sổ văn bản đến).

- ``CampaignRecipient``: a Nơi nhận line of a campaign with the address it is sent to (e-mail
  and/or mã định danh for edXML); lines without an address are printed but not sent.
- ``Delivery``: one issued document sent to one recipient over one channel ("email" through
  the outbox, "edxml" as a QCVN 102 package), with the receipt (status reply) when it comes.
- ``IncomingDocument``: a row of the sổ văn bản đến, registered from an imported edXML
  package, with the result of verifying its PDF's signatures on arrival.
- ``ReportingAgency``: for a roll-up campaign (Ban Dân vận Tỉnh ủy), a Sở expected to report.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from danvan.extensions import db
from danvan.models.base import UTCDateTime
from danvan.text import utcnow


class CampaignRecipient(db.Model):
    """A Nơi nhận line of a campaign and where the issued report is sent for it."""

    __table_args__ = (UniqueConstraint("campaign_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaign.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))  # as printed, without "- " and ";"
    email: Mapped[str | None] = mapped_column(String(200))
    organ_id: Mapped[str | None] = mapped_column(String(30))  # mã định danh (QCVN 102)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class Delivery(db.Model):
    """One issued document sent to one recipient over one channel, and its receipt."""

    __table_args__ = (Index("ix_delivery_document_id_key", "document_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    archived_document_id: Mapped[int] = mapped_column(
        ForeignKey("archived_document.id"), index=True
    )
    channel: Mapped[str] = mapped_column(String(10))  # "email" | "edxml"
    recipient_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    organ_id: Mapped[str | None] = mapped_column(String(30))
    # The e-mail in the outbox (channel "email"): its sent_at / attempts / last_error are
    # the delivery's "delivered to SMTP" / retries / error.
    outbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_message.id"))
    # The edXML DocumentId ("<OrganId>,<yyyy/MM/dd>,<number/notation>") a status reply names.
    document_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # The latest status reply from the recipient (QCVN 102 StatusCode "01", "03", …).
    status_code: Mapped[str | None] = mapped_column(String(4))
    status_description: Mapped[str | None] = mapped_column(Text)
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_staff: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # first "01"/"03" reply
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    outbox_message = relationship("OutboxMessage", lazy="joined")
    archived_document = relationship("ArchivedDocument", lazy="joined")


class IncomingDocument(db.Model):
    """A row of the sổ văn bản đến (NĐ 30/2020 Phụ lục IV): a received document."""

    __table_args__ = (
        UniqueConstraint("agency_id", "year", "number", name="uq_incoming_document_number"),
        UniqueConstraint("agency_id", "document_key", name="uq_incoming_document_document_key"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    year: Mapped[int]  # of arrival
    number: Mapped[int]  # số đến, from 1 each year
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    channel: Mapped[str] = mapped_column(String(10), default="edxml")
    # What the package says (MessageHeader).
    sender_organ_id: Mapped[str] = mapped_column(String(30), index=True)
    sender_name: Mapped[str] = mapped_column(String(200))
    sender_parent: Mapped[str] = mapped_column(String(200), default="")
    number_symbol: Mapped[str] = mapped_column(String(60))
    doc_date: Mapped[date]
    doc_type_name: Mapped[str] = mapped_column(String(100), default="")
    subject: Mapped[str] = mapped_column(String(600))
    subject_folded: Mapped[str] = mapped_column(String(600), default="")
    signer_name: Mapped[str] = mapped_column(String(120), default="")
    signer_position: Mapped[str] = mapped_column(String(120), default="")
    signer_competence: Mapped[str] = mapped_column(String(20), default="")
    page_amount: Mapped[int] = mapped_column(default=0)
    document_key: Mapped[str] = mapped_column(String(200))  # edXML DocumentId
    # The files as received.
    package_sha256: Mapped[str] = mapped_column(ForeignKey("blob.sha256"))
    pdf_sha256: Mapped[str | None] = mapped_column(ForeignKey("blob.sha256"))
    docx_sha256: Mapped[str | None] = mapped_column(ForeignKey("blob.sha256"))
    p7s_sha256: Mapped[str | None] = mapped_column(ForeignKey("blob.sha256"))
    # Verification of the PDF's signatures on arrival against the configured trust roots.
    signatures_valid: Mapped[bool] = mapped_column(default=False)
    # {"reasons": [...], "signatures": [...]}
    verification: Mapped[dict | None] = mapped_column(JSON)
    # Status replies produced for the sender: "01" on arrival, "03" once accepted.
    status_code: Mapped[str] = mapped_column(String(4), default="01")
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    # Roll-up (Ban Dân vận): the campaign it reports on and the roll-up report that used it;
    # ``figures`` is the source report's appendix as read from its signed .docx.
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id"), index=True)
    rollup_report_id: Mapped[int | None] = mapped_column(ForeignKey("report.id"), index=True)
    figures: Mapped[dict | None] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    received_by = relationship("User", foreign_keys=[received_by_id], lazy="joined")
    accepted_by = relationship("User", foreign_keys=[accepted_by_id], lazy="joined")


class ReportingAgency(db.Model):
    """A Sở expected to report to a roll-up campaign (Ban Dân vận Tỉnh ủy's own)."""

    __table_args__ = (UniqueConstraint("campaign_id", "organ_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaign.id", ondelete="CASCADE"), index=True
    )
    organ_id: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(default=0)
