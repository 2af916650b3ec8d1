"""Activity entries (Hoạt động), their evidence (Minh chứng) and stored files (blobs)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from danvan.extensions import db
from danvan.models.base import UTCDateTime
from danvan.text import fold, utcnow
from danvan.workflow import ChainStep, EntryState, parse_chain, state_label

# Fields an author fills in; their labels are the form's, the history's and the report's.
ENTRY_FIELDS: dict[str, str] = {
    "content_item_id": "Nội dung",
    "title": "Tên hoạt động",
    "date_from": "Từ ngày",
    "date_to": "Đến ngày",
    "place": "Địa điểm",
    "activity_form": "Hình thức",
    "observance_id": "Hưởng ứng ngày kỷ niệm",
    "participants_officials": "Cán bộ, đảng viên tham gia",
    "participants_citizens": "Người dân tham gia",
    "amount_vnd": "Kinh phí, quà (đồng)",
    "gifts": "Quà tặng, hiện vật",
    "result": "Kết quả",
    "model_name": "Tên mô hình “Dân vận khéo”",
    "model_field": "Lĩnh vực mô hình",
    "model_description": "Thực trạng, nội dung, cách thức và kết quả của mô hình",
}


class Blob(db.Model):
    """A file's bytes, addressed by SHA-256 so that the database backup holds everything."""

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Entry(db.Model):
    __table_args__ = (
        CheckConstraint("date_from <= date_to", name="date_order"),
        CheckConstraint(
            "participants_officials >= 0 AND participants_citizens >= 0", name="participants"
        ),
        CheckConstraint("amount_vnd IS NULL OR amount_vnd >= 0", name="amount"),
        CheckConstraint(
            "state IN ('draft', 'pending', 'approved', 'signed', 'returned', 'withdrawn')",
            name="state",
        ),
        # A waiting entry is at a step of its own chain; no other entry is.
        CheckConstraint("(state = 'pending') = (step IS NOT NULL)", name="step"),
        # The public page lists a campaign's published entries, newest first.
        Index("ix_entry_campaign_id_published_at", "campaign_id", "published_at"),
        # The inboxes: waiting at a kind of step, oldest first (and the header's count).
        Index("ix_entry_state_step_kind_updated", "state", "step_kind", "updated_at", "id"),
        # The entry lists, newest first, within a campaign or across them.
        Index("ix_entry_campaign_id_date_from", "campaign_id", "date_from", "id"),
        Index("ix_entry_date_from", "date_from", "id"),
        # The entry list's total: what a user may see of a campaign, counted from the index alone.
        Index("ix_entry_campaign_id_state_author_id", "campaign_id", "state", "author_id"),
        # The search index (SQLite FTS5, PostgreSQL pg_trgm) is migration 0010's own.
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    content_item_id: Mapped[int] = mapped_column(ForeignKey("content_item.id"))
    observance_id: Mapped[int | None] = mapped_column(ForeignKey("observance.id"))

    title: Mapped[str] = mapped_column(String(500))
    date_from: Mapped[date]
    date_to: Mapped[date]
    place: Mapped[str] = mapped_column(String(300), default="")
    activity_form: Mapped[str] = mapped_column(String(200), default="")
    participants_officials: Mapped[int] = mapped_column(Integer, default=0)
    participants_citizens: Mapped[int] = mapped_column(Integer, default=0)
    amount_vnd: Mapped[int | None] = mapped_column(BigInteger)
    gifts: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[str] = mapped_column(Text, default="")
    model_name: Mapped[str | None] = mapped_column(String(300))
    model_field: Mapped[str | None] = mapped_column(String(100))
    model_description: Mapped[str | None] = mapped_column(Text)
    outside_period_confirmed: Mapped[bool] = mapped_column(default=False)
    # The new-entry form's one-time token: a repeated POST finds the entry instead of a twin.
    form_token: Mapped[str | None] = mapped_column(String(64), unique=True)

    state: Mapped[str] = mapped_column(String(20), default=EntryState.DRAFT, index=True)
    # The approval chain this entry runs through, copied from the campaign at submission (a
    # later change of the campaign's chain leaves entries in flight alone), and the position
    # it waits at. ``step_kind``/``step_user_id`` repeat that step for the inbox's SQL.
    chain: Mapped[list | None] = mapped_column(JSON)
    step: Mapped[int | None]
    step_kind: Mapped[str | None] = mapped_column(String(20), index=True)
    step_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    returned_step: Mapped[int | None]
    last_comment: Mapped[str | None] = mapped_column(Text)
    approvals_since_submit: Mapped[int] = mapped_column(default=0)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("report.id"), index=True)
    search_text: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # "Công khai": Văn phòng published it on the public page (danvan/publication.py); it shows
    # there only while it is also approved or signed.
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    __mapper_args__ = {"version_id_col": version}

    campaign = relationship("Campaign", lazy="joined")
    unit = relationship("Unit", lazy="joined")
    author = relationship("User", foreign_keys=[author_id], lazy="joined")
    content_item = relationship("ContentItem", lazy="joined")
    observance = relationship("Observance", lazy="joined")
    report = relationship("Report", lazy="select")
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="entry", order_by="Attachment.id", lazy="selectin"
    )
    approval_rows: Mapped[list[EntryApproval]] = relationship(
        order_by="EntryApproval.id", lazy="selectin", cascade="all, delete-orphan"
    )

    @property
    def state_enum(self) -> EntryState:
        return EntryState(self.state)

    @property
    def steps(self) -> list[ChainStep]:
        """The entry's chain: its own once submitted, the campaign's before (parsed once per
        chain value: a new value, never an in-place edit, is what changes it)."""
        data = self.chain if self.chain else self.campaign.chain
        cached = self.__dict__.get("_steps_cache")
        if cached is None or cached[0] is not data:
            cached = (data, parse_chain(data))
            self.__dict__["_steps_cache"] = cached
        return cached[1]

    @property
    def current_step(self) -> ChainStep | None:
        """The step the entry waits at (None unless it is waiting)."""
        steps = self.steps
        return steps[self.step] if self.step is not None and self.step < len(steps) else None

    @property
    def state_label(self) -> str:
        """ "Chờ Trưởng phòng duyệt", "Đã duyệt"…: the state with the step it waits at."""
        return state_label(self.state, self.current_step)

    @property
    def approvals(self) -> dict[int, set[int]]:
        """Step position → who approved there (a delegate and whom they acted for)."""
        out: dict[int, set[int]] = {}
        for row in self.approval_rows:
            out.setdefault(row.step, set()).add(row.user_id)
        return out

    @property
    def participants_total(self) -> int:
        return (self.participants_officials or 0) + (self.participants_citizens or 0)

    def field_values(self) -> dict[str, object]:
        """The author's fields as JSON-friendly values (dates as ISO strings)."""
        out = {}
        for name in ENTRY_FIELDS:
            value = getattr(self, name)
            out[name] = value.isoformat() if isinstance(value, date) else value
        return out

    def refresh_search_text(self) -> None:
        """Recompute the accent-free text that search matches against."""
        parts = [self.title, self.place, self.activity_form, self.result, self.model_name]
        if self.unit is not None:
            parts.append(self.unit.name)
        self.search_text = fold(" ".join(p for p in parts if p))


class EntryApproval(db.Model):
    """Who approved an entry at which step of its chain, kept for good: separation of duties
    keeps them from acting at another step (the delegate and whom they acted for both)."""

    __table_args__ = (UniqueConstraint("entry_id", "step", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"), index=True)
    step: Mapped[int]
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)


class Attachment(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"), index=True)
    blob_sha256: Mapped[str] = mapped_column(ForeignKey("blob.sha256"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(BigInteger)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    entry: Mapped[Entry] = relationship(back_populates="attachments")
