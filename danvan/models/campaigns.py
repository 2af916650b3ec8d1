"""Plans (Kế hoạch): period, deadline, content items, observances, recipients, chain."""

from __future__ import annotations

from datetime import date

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from danvan.extensions import db
from danvan.models.exchange import ReportingAgency
from danvan.text import today_vn
from danvan.workflow import DEFAULT_CHAIN, parse_chain


class Campaign(db.Model):
    __table_args__ = (
        CheckConstraint("period_start <= period_end", name="period_order"),
        CheckConstraint("resume_policy IN ('start', 'returning_step')", name="resume_policy"),
        CheckConstraint("status IN ('draft', 'active', 'closed')", name="status"),
        CheckConstraint("kind IN ('entries', 'rollup')", name="kind"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    title: Mapped[str] = mapped_column(String(500))
    year: Mapped[int]
    plan_number: Mapped[str | None] = mapped_column(String(50))  # "125/KH-SXD"
    plan_date: Mapped[date | None]
    period_start: Mapped[date]
    period_end: Mapped[date]
    report_deadline: Mapped[date]
    report_recipient: Mapped[str] = mapped_column(String(200), default="Ban Dân vận Tỉnh ủy")
    report_subject: Mapped[str] = mapped_column(String(500))  # trích yếu of the report
    recipients: Mapped[str] = mapped_column(Text, default="")  # Nơi nhận, one per line
    # The approval chain (list of ChainStep dicts, see workflow.py) new submissions take.
    chain: Mapped[list] = mapped_column(JSON, default=lambda: [dict(s) for s in DEFAULT_CHAIN])
    # "draft": being prepared (an imported plan under review), not open to entries yet.
    status: Mapped[str] = mapped_column(String(20), default="active", server_default="active")
    resume_policy: Mapped[str] = mapped_column(String(20), default="start")
    # "Gửi duyệt" needs at least one evidence file when set.
    evidence_required: Mapped[bool] = mapped_column(default=False, server_default=false())
    # "entries": units report activities (a Sở); "rollup": the report sums the edXML reports
    # of the Sở listed in ``reporting_agencies`` (Ban Dân vận Tỉnh ủy).
    kind: Mapped[str] = mapped_column(String(10), default="entries", server_default="entries")

    agency = relationship("Agency", lazy="joined")
    content_items: Mapped[list[ContentItem]] = relationship(
        back_populates="campaign", order_by="ContentItem.position", lazy="selectin"
    )
    observances: Mapped[list[Observance]] = relationship(
        back_populates="campaign", order_by="Observance.day", lazy="selectin"
    )

    reporting_agencies: Mapped[list[ReportingAgency]] = relationship(
        order_by="ReportingAgency.position", lazy="selectin", cascade="all, delete-orphan"
    )

    @property
    def is_rollup(self) -> bool:
        return self.kind == "rollup"

    @property
    def recipient_lines(self) -> list[str]:
        return [line.strip() for line in (self.recipients or "").splitlines() if line.strip()]

    def days_to_deadline(self, today: date | None = None) -> int:
        """Days left until the report deadline (negative once it has passed)."""
        return (self.report_deadline - (today or today_vn())).days

    @property
    def steps(self):
        """The chain new submissions take, as ``ChainStep``s."""
        return parse_chain(self.chain)

    @property
    def active_content_items(self) -> list[ContentItem]:
        return [item for item in self.content_items if not item.archived]

    @property
    def active_observances(self) -> list[Observance]:
        return [o for o in self.observances if not o.archived]

    def contains(self, day: date) -> bool:
        """Whether a day lies inside the campaign period."""
        return self.period_start <= day <= self.period_end


class ContentItem(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(String(500))
    # Archived items stay for the entries that refer to them but are offered no more.
    archived: Mapped[bool] = mapped_column(default=False, server_default=false())

    campaign: Mapped[Campaign] = relationship(back_populates="content_items")

    def __str__(self) -> str:
        return self.title


class Observance(db.Model):
    """A commemorative day; "93 năm" is computed from the founding year."""

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    day: Mapped[date]
    name: Mapped[str] = mapped_column(String(300))
    founding_year: Mapped[int | None]
    archived: Mapped[bool] = mapped_column(default=False, server_default=false())

    campaign: Mapped[Campaign] = relationship(back_populates="observances")

    @property
    def anniversary(self) -> int | None:
        return self.day.year - self.founding_year if self.founding_year else None

    @property
    def display_name(self) -> str:
        text = f"{self.day:%d/%m} – {self.name}"
        if self.anniversary:
            text += f" ({self.anniversary} năm)"
        return text

    def __str__(self) -> str:
        return self.display_name
