"""Server-side sessions: every signed-in browser has a row, checked on every request.

The cookie (Flask's session or the remember-me cookie) carries ``<user id>:<random token>``;
the database keeps only the token's SHA-256. Logout revokes the row, so a copied cookie stops
working at once on every app server; a password change or a deactivation revokes every row
of that user. A session expires after ``SESSION_IDLE_TIMEOUT`` without a request and, in any
case, ``PERMANENT_SESSION_LIFETIME`` after login; a remember-me session is not idle-limited
but ends ``REMEMBER_COOKIE_DURATION`` after login.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app, request, session
from flask_login import login_user
from sqlalchemy import select, update

from danvan.extensions import db
from danvan.models import User, UserSession
from danvan.text import utcnow

# last_seen_at is written at most this often (one UPDATE a minute per session, not per request)
TOUCH_EVERY = timedelta(seconds=60)


def token_hash(token: str) -> str:
    """The stored form of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, *, remember: bool = False) -> UserSession:
    """Create this browser's session row and sign the user in with its token (commits)."""
    config = current_app.config
    token = secrets.token_urlsafe(32)
    now = utcnow()
    lifetime = (
        config["REMEMBER_COOKIE_DURATION"] if remember else config["PERMANENT_SESSION_LIFETIME"]
    )
    row = UserSession(
        user_id=user.id,
        token_hash=token_hash(token),
        remember=bool(remember),
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
        remote_addr=(request.remote_addr or "")[:64],
        user_agent=(request.user_agent.string or "")[:200],
    )
    db.session.add(row)
    db.session.commit()
    user.login_token = token
    login_user(user, remember=remember)
    return row


def load_session_user(user_id: str) -> User | None:
    """Flask-Login's user loader: the user whose live session row matches the cookie."""
    raw_id, _, token = user_id.partition(":")
    if not raw_id.isdigit() or not token or len(raw_id) > 12:
        return None
    row = db.session.scalar(
        select(UserSession).where(
            UserSession.token_hash == token_hash(token), UserSession.user_id == int(raw_id)
        )
    )
    if row is None or not session_alive(row, current_app.config):
        return None
    user = db.session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    now = utcnow()
    if now - row.last_seen_at >= TOUCH_EVERY:
        db.session.execute(
            update(UserSession).where(UserSession.id == row.id).values(last_seen_at=now)
        )
        db.session.commit()
    user.login_token = token
    return user


def session_alive(row: UserSession, config, now=None) -> bool:
    """Not revoked, not past its absolute end, and (unless remembered) not idle too long."""
    now = now or utcnow()
    if row.revoked_at is not None or now >= row.expires_at:
        return False
    return row.remember or now - row.last_seen_at < config["SESSION_IDLE_TIMEOUT"]


def current_session_row(user: User) -> UserSession | None:
    """The row of the session this request runs in."""
    token = getattr(user, "login_token", None)
    if not token:
        return None
    return db.session.scalar(select(UserSession).where(UserSession.token_hash == token_hash(token)))


def end_session(user: User) -> None:
    """Revoke the current session (logout): its cookies stop working everywhere."""
    row = current_session_row(user)
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
    session.clear()


def end_all_sessions(user: User, *, keep: UserSession | None = None) -> int:
    """Revoke every live session of the user (password change, deactivation); return how many."""
    stmt = update(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None)
    )
    if keep is not None:
        stmt = stmt.where(UserSession.id != keep.id)
    return db.session.execute(stmt.values(revoked_at=utcnow())).rowcount
