"""Page images of report drafts, rendered in the background and shared by every app server.

Keyed by the draft .docx's SHA-256: a preview stays valid until the draft changes, and another
server (or worker) finds it in the database instead of running LibreOffice again. Unlike stored
files these rows are a cache: previews of drafts no report shows any more are deleted.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from danvan.extensions import db
from danvan.models.base import UTCDateTime

PREVIEW_STATUSES = ("rendering", "done", "failed")


class DraftPreview(db.Model):
    """One draft's rendering: claimed by a server (rendering), then done or failed."""

    __tablename__ = "draft_preview"
    __table_args__ = (CheckConstraint("status IN ('rendering', 'done', 'failed')", name="status"),)
    docx_sha256: Mapped[str] = mapped_column(ForeignKey("blob.sha256"), primary_key=True)
    status: Mapped[str] = mapped_column(String(12))
    page_count: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DraftPreviewPage(db.Model):
    """One page image (PNG) of a rendered draft."""

    __tablename__ = "draft_preview_page"
    docx_sha256: Mapped[str] = mapped_column(
        ForeignKey("draft_preview.docx_sha256", ondelete="CASCADE"), primary_key=True
    )
    page: Mapped[int] = mapped_column(primary_key=True)  # 1-based
    png: Mapped[bytes] = mapped_column(LargeBinary())
