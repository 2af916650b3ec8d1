"""Queue e-mail notifications for workflow events (sent after commit, see danvan.mail)."""

from __future__ import annotations

from pathlib import Path

import jinja2
from sqlalchemy import func, select

from danvan.extensions import db
from danvan.models import Entry, Event, OutboxMessage, Role, User, UserRole
from danvan.text import format_datetime
from danvan.workflow import ENTRY_ACTION_LABELS, STEP_KINDS, EntryAction, EntryState, ReportState

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


# How many days before the report deadline the campaign-level reminders start: units that
# have sent nothing, and Văn phòng while no report has gone up for signature.
UNIT_REMINDER_DAYS = 7
OFFICE_REMINDER_DAYS = 3


def _days_text(days: int) -> str:
    if days > 0:
        return f"còn {days} ngày"
    return "hôm nay" if days == 0 else f"đã quá hạn {-days} ngày"


def _campaign_reminders(campaign, days: int) -> tuple[dict[int, str], set[int], dict[int, User]]:
    """Units with nothing sent (by member) and the office people to remind of the report."""
    from danvan.models import Report
    from danvan.queries import units_without_submissions

    reports = set(db.session.scalars(select(Report.state).where(Report.campaign_id == campaign.id)))
    issued = ReportState.ISSUED.value in reports
    sent_up = reports & {s.value for s in (ReportState.SUBMITTED, ReportState.SIGNED)}
    users: dict[int, User] = {}
    silent_unit: dict[int, str] = {}
    if days <= UNIT_REMINDER_DAYS and not issued:
        silent = {u.id: u for u in units_without_submissions(campaign) if not u.is_office}
        members = db.session.scalars(
            select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(
                User.unit_id.in_(silent),
                User.active.is_(True),
                UserRole.role.in_([Role.STAFF.value, Role.UNIT_HEAD.value]),
            )
            .distinct()
        )
        for user in members:
            users[user.id] = user
            silent_unit[user.id] = silent[user.unit_id].name
    office: set[int] = set()
    if days <= OFFICE_REMINDER_DAYS and not issued and not sent_up:
        for user in _users_with_role(Role.OFFICE, Role.OFFICE_CHIEF):
            users[user.id] = user
            office.add(user.id)
    return silent_unit, office, users


def queue_deadline_reminders(campaign, today) -> int:
    """Remind of the report deadline: authors of unsent or returned entries, approvers with a
    queue, units that have sent nothing (a week before) and Văn phòng while no report has been
    sent for signature (three days before)."""
    from danvan.models import Entry
    from danvan.queries import entry_inbox_filter, units_without_submissions

    if campaign.status != "active":  # a draft plan is not announced; a closed one is over
        return 0
    days = (campaign.report_deadline - today).days
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
    silent_unit, office, campaign_users = _campaign_reminders(campaign, days)
    users.update(campaign_users)
    silent_units = []
    approved_waiting = 0
    if office:
        silent_units = [u.name for u in units_without_submissions(campaign) if not u.is_office]
        approved_waiting = db.session.scalar(
            select(func.count(Entry.id)).where(
                Entry.campaign_id == campaign.id,
                Entry.state == EntryState.APPROVED.value,
                Entry.report_id.is_(None),
            )
        )
    queued = 0
    for user in sorted(users.values(), key=lambda u: u.id):
        drafts = [
            {"id": e.id, "title": e.title, "state_label": e.state_label}
            for e in by_author.get(user.id, [])
        ]
        pending = db.session.scalar(
            select(func.count(Entry.id)).where(
                entry_inbox_filter(user),
                Entry.campaign_id == campaign.id,
                Entry.author_id != user.id,
            )
        )
        unit_name = silent_unit.get(user.id)
        for_office = user.id in office
        if not (drafts or pending or unit_name or for_office):
            continue
        message = queue(
            user,
            f"[danvan] Nhắc hạn báo cáo {campaign.report_deadline:%d/%m/%Y}",
            "reminder.txt",
            campaign=campaign,
            deadline=f"{campaign.report_deadline:%d/%m/%Y}",
            days_text=_days_text(days),
            drafts=drafts,
            pending=pending,
            silent_unit=unit_name,
            report_missing=for_office,
            silent_units=silent_units if for_office else [],
            approved_waiting=approved_waiting if for_office else 0,
        )
        queued += message is not None
    return queued
