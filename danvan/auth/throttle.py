"""Login throttling kept in the database, so that several app servers share it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select

from danvan.extensions import db
from danvan.models import LoginAttempt
from danvan.text import utcnow


def is_throttled(username: str, remote_addr: str, *, max_failures: int, window_s: int) -> bool:
    """Too many recent failures for this account, or from this address."""
    since = utcnow() - timedelta(seconds=window_s)
    failures = select(func.count(LoginAttempt.id)).where(
        LoginAttempt.success.is_(False), LoginAttempt.created_at >= since
    )
    by_user = db.session.scalar(failures.where(LoginAttempt.username == username))
    by_addr = db.session.scalar(failures.where(LoginAttempt.remote_addr == remote_addr))
    return by_user >= max_failures or by_addr >= max_failures * 4


def record_attempt(username: str, remote_addr: str, *, success: bool) -> None:
    """Log an attempt; a success clears the account's earlier failures; old rows are pruned."""
    if success:
        db.session.execute(
            delete(LoginAttempt).where(
                LoginAttempt.username == username, LoginAttempt.success.is_(False)
            )
        )
    db.session.execute(
        delete(LoginAttempt).where(LoginAttempt.created_at < utcnow() - timedelta(days=1))
    )
    db.session.add(
        LoginAttempt(username=username[:80], remote_addr=remote_addr[:64], success=success)
    )
