"""Read-side queries: inboxes, lists and counts, derived from the workflow table."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from danvan.extensions import db
from danvan.models import Campaign, Delegation, Entry, Event, Report, Role, Unit, User
from danvan.text import fold, like_contains
from danvan.workflow import (
    EntryAction,
    EntryState,
    Party,
    report_states_waiting_for,
    states_waiting_for,
)


def _head_unit_ids(user: User) -> set[int]:
    units = {d.unit_id for d in Delegation.active_for(user)}
    if user.has_role(Role.UNIT_HEAD) and user.unit_id:
        units.add(user.unit_id)
    return units


def _not_excluded(user: User):
    """SQL twin of the approval steps' separation of duties: not the author, and no approval
    of this entry at another step (as the actor or the head a delegate acted for)."""
    approved_elsewhere = (
        select(Event.id)
        .where(
            Event.entry_id == Entry.id,
            Event.action == EntryAction.APPROVE.value,
            or_(Event.actor_id == user.id, Event.acting_for_id == user.id),
            Event.from_state != Entry.state,
        )
        .exists()
    )
    return (Entry.author_id != user.id) & ~approved_elsewhere


def entry_inbox_filter(user: User):
    """SQL condition for entries waiting on this user, from the workflow table."""
    conditions = []
    head_units = _head_unit_ids(user)
    if head_units:
        states = [s.value for s in states_waiting_for(Party.UNIT_HEAD)]
        conditions.append(
            Entry.state.in_(states) & Entry.unit_id.in_(head_units) & _not_excluded(user)
        )
    if user.has_role(Role.OFFICE, Role.OFFICE_CHIEF):
        states = [s.value for s in states_waiting_for(Party.OFFICE)]
        conditions.append(Entry.state.in_(states) & _not_excluded(user))
    # The author's own to-do: entries returned for revision.
    author_states = [s.value for s in states_waiting_for(Party.AUTHOR) if s == EntryState.RETURNED]
    conditions.append(Entry.state.in_(author_states) & (Entry.author_id == user.id))
    return or_(*conditions)


def entry_inbox(user: User, **filters) -> list[Entry]:
    """Entries waiting for this user's decision, oldest first (optionally filtered)."""
    stmt = (
        select(Entry)
        .where(entry_inbox_filter(user))
        .order_by(Entry.updated_at, Entry.id)
        .options(selectinload(Entry.attachments))
    )
    stmt = apply_entry_filters(stmt, **filters)
    return list(db.session.scalars(stmt).unique())


def report_inbox_filter(user: User):
    """SQL condition for reports waiting on this user."""
    conditions = []
    if user.has_role(Role.OFFICE_CHIEF):
        states = report_states_waiting_for(Party.OFFICE_CHIEF)
        conditions.append(Report.state.in_([s.value for s in states]))
    if user.has_role(Role.DIRECTOR, Role.DEPUTY_DIRECTOR):
        states = report_states_waiting_for(Party.SIGNER)
        conditions.append(
            Report.state.in_([s.value for s in states]) & (Report.signer_id == user.id)
        )
    if user.has_role(Role.CLERK):
        states = report_states_waiting_for(Party.CLERK)
        conditions.append(Report.state.in_([s.value for s in states]))
    return or_(*conditions) if conditions else None


def report_inbox(user: User) -> list[Report]:
    """Reports waiting for this user (to submit, sign or issue)."""
    condition = report_inbox_filter(user)
    if condition is None:
        return []
    return list(db.session.scalars(select(Report).where(condition).order_by(Report.id)))


def todo_count(user: User) -> int:
    """The "Việc cần xử lý" number in the header."""
    entries = db.session.scalar(select(func.count(Entry.id)).where(entry_inbox_filter(user)))
    condition = report_inbox_filter(user)
    reports = (
        db.session.scalar(select(func.count(Report.id)).where(condition))
        if condition is not None
        else 0
    )
    return int(entries or 0) + int(reports or 0)


def apply_entry_filters(
    stmt,
    *,
    campaign_id: int | None = None,
    unit_id: int | None = None,
    content_item_id: int | None = None,
    state: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    text: str | None = None,
):
    """Narrow an entry query; ``text`` matches without accents ("dan van" finds "dân vận")."""
    if campaign_id:
        stmt = stmt.where(Entry.campaign_id == campaign_id)
    if unit_id:
        stmt = stmt.where(Entry.unit_id == unit_id)
    if content_item_id:
        stmt = stmt.where(Entry.content_item_id == content_item_id)
    if state:
        stmt = stmt.where(Entry.state == state)
    if date_from:
        stmt = stmt.where(Entry.date_to >= date_from)
    if date_to:
        stmt = stmt.where(Entry.date_from <= date_to)
    for word in fold(text).split():
        stmt = stmt.where(Entry.search_text.like(like_contains(word), escape="\\"))
    return stmt


def search_entries(*, visible_to: User | None = None, limit: int = 500, **filters):
    """Entries matching the filters (see apply_entry_filters) that ``visible_to`` may see."""
    stmt = select(Entry).order_by(Entry.date_from.desc(), Entry.id.desc()).limit(limit)
    stmt = apply_entry_filters(stmt, **filters)
    if visible_to is not None:
        stmt = stmt.where(visibility_filter(visible_to))
    return list(db.session.scalars(stmt.options(selectinload(Entry.attachments))).unique())


def visibility_filter(user: User):
    """SQL twin of permissions.can_view_entry, for lists."""
    from danvan.permissions import OVERSEER_ROLES

    not_private = Entry.state.notin_([EntryState.DRAFT.value, EntryState.WITHDRAWN.value])
    own = Entry.author_id == user.id
    if user.has_role(*OVERSEER_ROLES):
        return own | not_private
    units = _head_unit_ids(user) | ({user.unit_id} if user.unit_id else set())
    return own | (Entry.unit_id.in_(units) & not_private)


def filter_units(user: User) -> list[Unit]:
    """Units a user may filter entries by: all for overseers, else their own and headed ones."""
    from danvan.permissions import OVERSEER_ROLES

    stmt = select(Unit).order_by(Unit.position, Unit.id)
    if not user.has_role(*OVERSEER_ROLES):
        unit_ids = _head_unit_ids(user) | ({user.unit_id} if user.unit_id else set())
        stmt = stmt.where(Unit.id.in_(unit_ids))
    return list(db.session.scalars(stmt))


# The states the campaign overview counts: drafts and withdrawn entries are their authors'
# private business (nobody else may see them), so they are in no one's figures.
OVERVIEW_STATES = [s for s in EntryState if s not in (EntryState.DRAFT, EntryState.WITHDRAWN)]


def campaign_unit_counts(campaign: Campaign) -> tuple[list[Unit], dict[int, dict[str, int]]]:
    """Per unit, how many entries are in each of ``OVERVIEW_STATES`` (one grouped query)."""
    units = list(
        db.session.scalars(
            select(Unit).where(Unit.agency_id == campaign.agency_id).order_by(Unit.position)
        )
    )
    rows = db.session.execute(
        select(Entry.unit_id, Entry.state, func.count(Entry.id))
        .where(
            Entry.campaign_id == campaign.id,
            Entry.state.in_([s.value for s in OVERVIEW_STATES]),
        )
        .group_by(Entry.unit_id, Entry.state)
    )
    counts: dict[int, dict[str, int]] = {u.id: {} for u in units}
    for unit_id, state, n in rows:
        if unit_id in counts:  # the table and its totals count the same rows
            counts[unit_id][state] = n
    return units, counts
