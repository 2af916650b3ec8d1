"""Personal API tokens: create, revoke, and find the token a Bearer header carries.

A token is ``dv_`` and 43 random URL-safe characters (``secrets.token_urlsafe(32)``). Only its
SHA-256 is stored, with the first characters as a visible prefix; the token itself is shown
once, when it is created.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from danvan.extensions import db
from danvan.models import User
from danvan.models.api import ApiToken
from danvan.operations import Invalid, NotAllowed
from danvan.text import clean_line, utcnow

TOKEN_PREFIX = "dv_"
VISIBLE_CHARS = 8  # of the token, "dv_" included, kept to tell tokens apart
MAX_NAME = 100
MAX_ACTIVE_TOKENS = 20  # per user
EXPIRY_CHOICES_DAYS = (30, 90, 365)


@dataclass(frozen=True)
class NewToken:
    """A token just created: the row, and the secret shown this once."""

    row: ApiToken
    secret: str


def hash_token(secret: str) -> str:
    """The stored form of a token: hex SHA-256 of its UTF-8 text."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def active_tokens(user: User) -> list[ApiToken]:
    """The user's tokens, not revoked, newest first (expired ones are listed too)."""
    stmt = (
        select(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )
    return list(db.session.scalars(stmt))


def create_token(
    user: User,
    *,
    name: str,
    read_only: bool = False,
    expires_in_days: int | None = None,
    now: datetime | None = None,
) -> NewToken:
    """Create a token for an active user; the caller shows ``secret`` once and commits."""
    if not user.active:
        raise NotAllowed("Tài khoản đã ngừng hoạt động nên không tạo được mã truy cập API.")
    name = clean_line(name or "")
    if not name:
        raise Invalid("Vui lòng đặt tên cho mã truy cập.", errors={"name": "Bắt buộc."})
    if len(name) > MAX_NAME:
        raise Invalid(f"Tên mã truy cập tối đa {MAX_NAME} ký tự.", errors={"name": "Quá dài."})
    if len(active_tokens(user)) >= MAX_ACTIVE_TOKENS:
        raise Invalid(
            f"Mỗi người dùng có tối đa {MAX_ACTIVE_TOKENS} mã truy cập; hãy thu hồi mã không dùng."
        )
    now = now or utcnow()
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=hash_token(secret),
        prefix=secret[:VISIBLE_CHARS],
        read_only=bool(read_only),
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    db.session.add(row)
    db.session.flush()
    return NewToken(row, secret)


def revoke_token(token: ApiToken, *, actor: User, now: datetime | None = None) -> None:
    """Revoke one of the actor's own tokens (a revoked token stays revoked)."""
    if token.user_id != actor.id:
        raise NotAllowed("Bạn chỉ thu hồi được mã truy cập của chính mình.")
    if token.revoked_at is None:
        token.revoked_at = now or utcnow()
        db.session.flush()


def find_token(secret: str) -> ApiToken | None:
    """The stored token a presented secret names (usable or not); None when unknown."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    return db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
