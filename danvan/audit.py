"""The administration log: every change an administrator makes, who, when, before → after."""

from __future__ import annotations

from datetime import date, datetime

from danvan.extensions import db
from danvan.models import AuditLog, User


def _plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    return value


def snapshot(obj, fields: list[str] | tuple[str, ...]) -> dict:
    """The named attributes of ``obj`` as JSON-friendly values (for ``before``/``after``)."""
    return {name: _plain(getattr(obj, name)) for name in fields}


def changed(before: dict | None, after: dict | None) -> dict[str, tuple]:
    """Field → (old, new) for the fields whose values differ."""
    before, after = before or {}, after or {}
    return {
        k: (before.get(k), after.get(k))
        for k in sorted(set(before) | set(after))
        if before.get(k) != after.get(k)
    }


def record(
    actor: User | None,
    object_type: str,
    object_id: int | None,
    action: str,
    summary: str,
    *,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditLog:
    """Append one row to the administration log (flushed with the change it describes)."""
    row = AuditLog(
        actor_id=actor.id if actor is not None else None,
        object_type=object_type,
        object_id=object_id,
        action=action,
        summary=summary[:500],
        before=_plain(before) if before is not None else None,
        after=_plain(after) if after is not None else None,
    )
    db.session.add(row)
    return row
