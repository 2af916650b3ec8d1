"""History (Lịch sử xử lý) and the notification outbox.

Event rows are append-only: no route updates or deletes them, database triggers (see the
migrations) refuse UPDATE, DELETE and REPLACE, the application's database role may only
insert, and every row is sealed into a hash chain (danvan/ledger.py) so that even the
database owner's edits are detected by ``verify-archive``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from danvan.extensions import db
from danvan.models.base import UTCDateTime
from danvan.text import utcnow


class Event(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entry.id"), index=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("report.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    acting_for_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str | None] = mapped_column(String(20))
    # Positions in the entry's chain (waiting states only); see ledger.LATE_COLUMNS.
    from_step: Mapped[int | None]
    to_step: Mapped[int | None]
    comment: Mapped[str | None] = mapped_column(Text)
    changes: Mapped[list | None] = mapped_column(JSON)  # [{"field", "label", "old", "new"}]
    snapshot: Mapped[dict | None] = mapped_column(JSON)  # fields at a return, for later diffs
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # Hash chain (danvan/ledger.py): position, previous row's hash, this row's hash.
    seq: Mapped[int] = mapped_column(unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))

    actor = relationship("User", foreign_keys=[actor_id], lazy="joined")
    acting_for = relationship("User", foreign_keys=[acting_for_id], lazy="joined")


class AuditLog(db.Model):
    """Administration changes (Nhật ký quản trị): who changed what, when, before → after.

    Append-only and hash-chained like the history (triggers, insert-only grants, ledger)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    object_type: Mapped[str] = mapped_column(String(40))  # "user", "unit", "campaign"…
    object_id: Mapped[int | None]
    action: Mapped[str] = mapped_column(String(40))  # "create", "update", "reset_password"…
    summary: Mapped[str] = mapped_column(String(500))  # Vietnamese, for the log page
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    seq: Mapped[int] = mapped_column(unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))

    actor = relationship("User", foreign_keys=[actor_id], lazy="joined")


class ChainHead(db.Model):
    """The last sealed row of one hash chain; its row lock serialises appends to the chain."""

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


class OutboxMessage(db.Model):
    """An e-mail queued by an operation, sent after the transaction commits."""

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # After a failure: not tried again before this moment (danvan.mail.retry_delay).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # One file sent with the message (an issued document's PDF to its recipient).
    attachment_sha256: Mapped[str | None] = mapped_column(ForeignKey("blob.sha256"))
    attachment_name: Mapped[str | None] = mapped_column(String(200))
    attachment_type: Mapped[str | None] = mapped_column(String(100))
