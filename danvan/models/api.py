"""Personal API tokens: a user's Bearer credentials for /api/v1, stored as SHA-256 only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from danvan.extensions import db
from danvan.models.base import UTCDateTime
from danvan.text import utcnow


class ApiToken(db.Model):
    """One personal token: shown once at creation, then known only by its hash and prefix."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # "dv_" and the first characters, shown
    read_only: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user = relationship("User", lazy="joined")

    def usable(self, now: datetime) -> bool:
        """Neither revoked nor expired, and its user still active."""
        if self.revoked_at is not None or not self.user.active:
            return False
        return self.expires_at is None or self.expires_at > now
