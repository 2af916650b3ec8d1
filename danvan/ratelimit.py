"""Fixed-window counters kept in the database, so that every app server shares them.

``hit`` is one atomic statement (INSERT … ON CONFLICT DO UPDATE … RETURNING) on SQLite and
PostgreSQL alike: parallel requests can never both read the same count.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import case, delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from danvan.extensions import db
from danvan.models import RateCounter
from danvan.text import utcnow


def hit(key: str, *, window_s: int, amount: int = 1) -> int:
    """Count ``amount`` hits for ``key`` in the current window; return the window's total."""
    now = utcnow()
    cutoff = now - timedelta(seconds=window_s)
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = RateCounter.__table__
    stmt = insert(table).values(key=key[:200], window_start=now, count=amount)
    expired = table.c.window_start < cutoff
    stmt = stmt.on_conflict_do_update(
        index_elements=["key"],
        set_={
            "count": case((expired, amount), else_=table.c.count + amount),
            "window_start": case((expired, stmt.excluded.window_start), else_=table.c.window_start),
        },
    ).returning(table.c.count)
    return int(db.session.execute(stmt).scalar_one())


def peek(key: str, *, window_s: int) -> int:
    """The current window's count for ``key`` without counting a hit."""
    row = db.session.get(RateCounter, key[:200])
    if row is None or row.window_start < utcnow() - timedelta(seconds=window_s):
        return 0
    return row.count


def reset(key: str) -> None:
    """Forget the counter for ``key`` (e.g. after a successful login)."""
    db.session.execute(delete(RateCounter).where(RateCounter.key == key[:200]))
