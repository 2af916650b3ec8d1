"""Signers' registered certificates and the two-phase signature requests made with them."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from danvan.extensions import db
from danvan.models.base import UTCDateTime
from danvan.text import utcnow


class SignerCertificate(db.Model):
    """A signer's certificate (its key stays on their USB token), registered by an admin."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    certificate_der: Mapped[bytes] = mapped_column(LargeBinary())
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    subject_cn: Mapped[str | None] = mapped_column(String(255))
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    not_after: Mapped[datetime] = mapped_column(UTCDateTime)
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user = relationship("User", foreign_keys=[user_id])

    def usable(self, now: datetime) -> bool:
        """Not revoked here and within its validity period."""
        return self.revoked_at is None and self.not_before <= now <= self.not_after


class RequestState(enum.StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REFUSED = "refused"


class SignatureRequest(db.Model):
    """What the server prepared for one signature of a report, waiting for the signer's token.

    ``pdf_state`` holds pyHanko's prepared digest (document digest, reserved /Contents region)
    and the prepared PDF's SHA-256; ``pdf_tbs`` and ``docx_tbs`` are the CMS signed attributes
    (DER) the token signs. The number is taken from the sequence when the request is made.
    """

    __table_args__ = (Index("ix_signature_request_state_signer", "state", "signer_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), index=True)
    signer_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    certificate_id: Mapped[int] = mapped_column(ForeignKey("signer_certificate.id"))
    report_version: Mapped[int] = mapped_column(Integer)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    number: Mapped[int] = mapped_column(Integer)
    number_year: Mapped[int] = mapped_column(Integer)
    number_symbol: Mapped[str] = mapped_column(String(40))
    signed_date: Mapped[date]
    signing_moment: Mapped[datetime] = mapped_column(UTCDateTime)
    verify_code: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)  # NĐ 30 deviations accepted
    prepared_pdf_sha256: Mapped[str | None] = mapped_column(ForeignKey("blob.sha256"))
    pdf_state: Mapped[dict | None] = mapped_column(JSON)
    pdf_tbs: Mapped[bytes | None] = mapped_column(LargeBinary())
    docx_sha256: Mapped[str] = mapped_column(ForeignKey("blob.sha256"))
    docx_tbs: Mapped[bytes] = mapped_column(LargeBinary())
    state: Mapped[str] = mapped_column(String(20), default=RequestState.PENDING)
    refusal: Mapped[str | None] = mapped_column(Text)
    number_released: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    report = relationship("Report")
    signer = relationship("User", foreign_keys=[signer_id])
    certificate = relationship("SignerCertificate", lazy="joined")

    @property
    def state_enum(self) -> RequestState:
        """The state as the enum."""
        return RequestState(self.state)

    def open(self, now: datetime) -> bool:
        """Pending and not yet expired."""
        return self.state == RequestState.PENDING and self.expires_at > now
