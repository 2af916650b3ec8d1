"""Queue e-mail notifications for workflow events (sent after commit, see danvan.mail)."""

from __future__ import annotations

from pathlib import Path

import jinja2
from sqlalchemy import select

from danvan.extensions import db
from danvan.models import Entry, Event, OutboxMessage, Role, User, UserRole
from danvan.text import format_datetime
from danvan.workflow import ENTRY_ACTION_LABELS, STEP_KINDS, EntryAction, EntryState

_EMAILS = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent.parent / "templates" / "emails"),
    autoescape=False,  # plain-text mails
    keep_trailing_newline=True,
    undefined=jinja2.StrictUndefined,
)
BASE_URL = {"value": "http://127.0.0.1:5000"}


def _users_with_role(*roles: Role, unit_id: int | None = None) -> list[User]:
    stmt = (
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role.in_([r.value for r in roles]), User.active.is_(True))
        .distinct()
        .order_by(User.id)
    )
    if unit_id is not None:
        stmt = stmt.where(User.unit_id == unit_id)
    return list(db.session.scalars(stmt))


def recipients_for(entry: Entry, event: Event) -> list[User]:
    """Who hears about an event: whoever must act next, or the author on a decision."""
    from danvan.permissions import step_actors

    target = EntryState(event.to_state)
    if target == EntryState.PENDING:
        return step_actors(entry)
    if event.action in (EntryAction.RETURN, EntryAction.APPROVE) or target == EntryState.SIGNED:
        return [entry.author]
    return []


def queue(user: User, subject: str, template: str, **context) -> OutboxMessage | None:
    """Render a plain-text e-mail and put it in the outbox (users without e-mail are skipped)."""
    if not user.email:
        return None
    body = _EMAILS.get_template(template).render(user=user, base_url=BASE_URL["value"], **context)
    message = OutboxMessage(recipient=user.email, subject=subject, body=body)
    db.session.add(message)
    return message


def queue_entry_event(entry: Entry, event: Event) -> None:
    """Queue the notices an entry's workflow event calls for."""
    action_label = ENTRY_ACTION_LABELS.get(EntryAction(event.action), event.action)
    state_label = entry.state_label
    for user in recipients_for(entry, event):
        if user.id == event.actor_id:
            continue
        queue(
            user,
            f"[danvan] {state_label}: {entry.title[:120]}",
            "entry_event.txt",
            entry=entry,
            event=event,
            action_label=action_label,
            state_label=state_label,
            when=format_datetime(event.created_at) if event.created_at else "",
        )


def queue_deadline_reminders(campaign, today) -> int:
    """Remind authors of unsent or returned entries, and approvers with a queue, of the deadline."""
    from danvan.models import Entry
    from danvan.queries import entry_inbox

    days = (campaign.report_deadline - today).days
    days_text = f"còn {days} ngày" if days > 0 else ("hôm nay" if days == 0 else "đã quá hạn")
    open_states = [EntryState.DRAFT.value, EntryState.RETURNED.value, EntryState.WITHDRAWN.value]
    unsent = db.session.scalars(
        select(Entry)
        .where(Entry.campaign_id == campaign.id, Entry.state.in_(open_states))
        .order_by(Entry.author_id, Entry.id)
    ).all()
    by_author: dict[int, list] = {}
    for entry in unsent:
        by_author.setdefault(entry.author_id, []).append(entry)
    step_roles = {Role(r) for spec in STEP_KINDS.values() for r in spec.roles}
    approvers = _users_with_role(*step_roles)
    named = [s.user_id for s in campaign.steps if s.user_id is not None]
    if named:
        approvers += list(db.session.scalars(select(User).where(User.id.in_(named))))
    users = {u.id: u for u in approvers}
    users.update({e.author.id: e.author for e in unsent})
    queued = 0
    for user in sorted(users.values(), key=lambda u: u.id):
        drafts = [
            {"id": e.id, "title": e.title, "state_label": e.state_label}
            for e in by_author.get(user.id, [])
        ]
        pending = sum(
            1 for e in entry_inbox(user) if e.campaign_id == campaign.id and e.author_id != user.id
        )
        if not drafts and not pending:
            continue
        message = queue(
            user,
            f"[danvan] Nhắc hạn báo cáo {campaign.report_deadline:%d/%m/%Y}",
            "reminder.txt",
            campaign=campaign,
            deadline=f"{campaign.report_deadline:%d/%m/%Y}",
            days_text=days_text,
            drafts=drafts,
            pending=pending,
        )
        queued += message is not None
    return queued
