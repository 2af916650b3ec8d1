"""Users, their roles, delegations (acting heads) and login attempts (throttling)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, false, select
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from danvan.extensions import db
from danvan.models.base import UTCDateTime
from danvan.text import utcnow


class Role(StrEnum):
    STAFF = "staff"
    UNIT_HEAD = "unit_head"
    OFFICE = "office"
    OFFICE_CHIEF = "office_chief"
    DIRECTOR = "director"
    DEPUTY_DIRECTOR = "deputy_director"
    CLERK = "clerk"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.STAFF: "Chuyên viên",
    Role.UNIT_HEAD: "Trưởng phòng",
    Role.OFFICE: "Chuyên viên Văn phòng",
    Role.OFFICE_CHIEF: "Chánh Văn phòng",
    Role.DIRECTOR: "Giám đốc",
    Role.DEPUTY_DIRECTOR: "Phó Giám đốc",
    Role.CLERK: "Văn thư",
    Role.ADMIN: "Quản trị hệ thống",
}


class User(UserMixin, db.Model):
    # Quản trị › Người dùng lists active users first, by name.
    __table_args__ = (Index("ix_user_active_full_name", "active", "full_name", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(200))
    position_title: Mapped[str | None] = mapped_column(String(120))  # chức vụ as shown
    password_hash: Mapped[str] = mapped_column(String(256))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    active: Mapped[bool] = mapped_column(default=True)
    # Set by an administrator's password reset: the next login goes to "Đổi mật khẩu" first.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Bumped on every password change (sessions themselves live in UserSession rows).
    session_token: Mapped[str] = mapped_column(String(64), default="0")
    signature_blob: Mapped[str | None] = mapped_column(ForeignKey("blob.sha256"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit = relationship("Unit", lazy="joined")
    role_rows: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def roles(self) -> frozenset[Role]:
        """The user's roles, rebuilt only when the role rows change (asked hundreds of times
        per list page by the permission checks)."""
        key = tuple(r.role for r in self.role_rows)
        cached = self.__dict__.get("_roles_cache")
        if cached is None or cached[0] != key:
            cached = (key, frozenset(Role(r) for r in key))
            self.__dict__["_roles_cache"] = cached
        return cached[1]

    def has_role(self, *roles: Role) -> bool:
        """Whether the user holds any of the given roles."""
        return bool(self.roles.intersection(roles))

    @property
    def role_labels(self) -> str:
        """Roles for the header, highest first; "Chuyên viên" only when it is the only one."""
        roles = sorted(self.roles, key=list(Role).index, reverse=True)
        if len(roles) > 1:
            roles = [r for r in roles if r != Role.STAFF]
        return ", ".join(r.label for r in roles)

    def set_password(self, password: str) -> None:
        """Store a salted hash of the password and invalidate other sessions."""
        self.password_hash = generate_password_hash(password)
        self.session_token = str(int(self.session_token or "0") + 1)

    def check_password(self, password: str) -> bool:
        """Check a password against the stored hash."""
        return check_password_hash(self.password_hash, password)

    # The token of the session this request runs in (danvan/auth/sessions.py); not stored.
    login_token = None

    def get_id(self) -> str:
        """What the cookies carry: the user id and the session's random token."""
        return f"{self.id}:{self.login_token or '-'}"

    @property
    def is_active(self) -> bool:
        return self.active

    def __str__(self) -> str:
        return self.full_name


class UserRole(db.Model):
    __table_args__ = (UniqueConstraint("user_id", "role"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(30))


class Delegation(db.Model):
    """Ủy quyền: a head, the Chánh Văn phòng or the director (``head``) lets someone act for
    them between two moments; the delegate then plays every part the head plays (still bound
    by separation of duties) and the history says "thay mặt"."""

    id: Mapped[int] = mapped_column(primary_key=True)
    head_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    delegate_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))  # the head's unit then
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    head = relationship("User", foreign_keys=[head_id], lazy="joined")
    delegate = relationship("User", foreign_keys=[delegate_id], lazy="joined")

    @classmethod
    def active_for(cls, user: User, at: datetime | None = None) -> list[Delegation]:
        """Delegations the user currently holds."""
        at = at or utcnow()
        stmt = select(cls).where(
            cls.delegate_id == user.id,
            cls.starts_at <= at,
            cls.ends_at > at,
            cls.revoked_at.is_(None),
        )
        return list(db.session.scalars(stmt))


class UserSession(db.Model):
    """One signed-in browser: the cookie holds a random token, the database only its hash.

    Every request checks the row, so logout, a password change or a deactivation ends the
    session on every app server at once, and a copied cookie dies with it.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    remember: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    remote_addr: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")


class RateCounter(db.Model):
    """A fixed-window counter (login throttling, verification page), updated atomically."""

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    count: Mapped[int] = mapped_column(default=0)
