"""Read-side queries: inboxes, lists and counts, derived from the workflow table."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import lazyload, selectinload

from danvan.extensions import db
from danvan.models import Campaign, Entry, EntryApproval, Report, Role, Unit, User
from danvan.pagination import PER_PAGE, Page, paginate
from danvan.permissions import identities
from danvan.search import text_condition
from danvan.workflow import (
    PARTY_ROLES,
    STEP_KINDS,
    EntryState,
    Identity,
    Party,
    Scope,
    StepKind,
    report_states_waiting_for,
    states_waiting_for,
)


def _head_unit_ids(user: User) -> set[int]:
    """Units whose head the user is, or acts for."""
    return {i.unit_id for i in identities(user) if "unit_head" in i.roles and i.unit_id is not None}


def step_condition(identity: Identity):
    """SQL twin of workflow.plays_step: waiting entries whose current step ``identity``
    plays, built from the same ``STEP_KINDS`` table (None when it plays no kind)."""
    conditions = step_conditions(identity)
    return or_(*conditions) if conditions else None


def step_conditions(identity: Identity) -> list:
    """step_condition's alternatives, one per kind of step (each on the inbox index)."""
    conditions = []
    for kind, spec in STEP_KINDS.items():
        if spec.roles and not identity.roles.intersection(spec.roles):
            continue
        condition = Entry.step_kind == kind.value
        if spec.scope == Scope.UNIT:
            if identity.unit_id is None:
                continue
            condition = condition & (Entry.unit_id == identity.unit_id)
        elif spec.scope == Scope.NAMED:
            condition = condition & (Entry.step_user_id == identity.user_id)
        conditions.append(condition)
    return conditions


def _not_excluded(user_ids: set[int]):
    """SQL twin of the approval steps' separation of duties: none of ``user_ids`` wrote the
    entry or approved it at another step (permissions checks the user and whom they act for)."""
    approved_elsewhere = (
        select(EntryApproval.id)
        .where(
            EntryApproval.entry_id == Entry.id,
            EntryApproval.user_id.in_(user_ids),
            EntryApproval.step != Entry.step,
        )
        .exists()
    )
    return Entry.author_id.notin_(user_ids) & ~approved_elsewhere


def entry_inbox_filter(user: User):
    """SQL condition for entries waiting on this user, from the workflow table."""
    conditions = []
    waiting = [s.value for s in states_waiting_for(Party.APPROVER)]
    # One flat OR of (state, step kind, …) terms: each is a range of the inbox index
    # ix_entry_state_step_kind_updated, read one by one (SQLite: MULTI-INDEX OR).
    for identity in identities(user):
        excluded = _not_excluded({user.id, identity.user_id})
        for state in waiting:
            for plays in step_conditions(identity):
                conditions.append((Entry.state == state) & plays & excluded)
    # The author's own to-do: entries returned for revision.
    author_states = [s.value for s in states_waiting_for(Party.AUTHOR) if s == EntryState.RETURNED]
    for state in author_states:
        conditions.append((Entry.state == state) & (Entry.author_id == user.id))
    return or_(*conditions)


def visible_campaigns(user: User) -> list[Campaign]:
    """Campaigns a user sees, newest first: drafts under preparation only for administrators."""
    stmt = select(Campaign).order_by(Campaign.year.desc(), Campaign.id.desc())
    if not user.has_role(Role.ADMIN):
        stmt = stmt.where(Campaign.status != "draft")
    return list(db.session.scalars(stmt))


def list_row_options(*, author: bool = False, approvals: bool = False) -> tuple:
    """Loader options for a list of entries: the unit and the campaign (whose chain names a
    draft's step) in one query each, which skips what the session already holds; the author
    and the approvals (the permission checks' facts) when the list shows or asks for them;
    nothing else unless a row asks (the models' joined loads would build ~8 objects a row)."""
    options = [
        selectinload(Entry.unit),
        selectinload(Entry.campaign),
        lazyload(Entry.content_item),
        lazyload(Entry.observance),
        lazyload(Entry.attachments),
    ]
    if author:
        options.append(selectinload(Entry.author).lazyload(User.unit))
        options.append(selectinload(Entry.author).lazyload(User.role_rows))
    else:
        options.append(lazyload(Entry.author))
    approval_rows = selectinload if approvals else lazyload
    options.append(approval_rows(Entry.approval_rows))
    return tuple(options)


def entry_inbox_stmt(user: User, **filters):
    """The inbox query: entries waiting for this user's decision, oldest first (filtered),
    ordered on (updated_at, id) as the ``ix_entry_state_step_kind_updated`` index holds them."""
    stmt = (
        select(Entry)
        .where(entry_inbox_filter(user))
        .order_by(Entry.updated_at, Entry.id)
        .options(*list_row_options(author=True, approvals=True))
    )
    # The waiting entries are few and found on the inbox index: test the words on them.
    return apply_entry_filters(stmt, narrow_text=True, **filters)


def entry_inbox(user: User, **filters) -> list[Entry]:
    """Entries waiting for this user's decision, oldest first (optionally filtered), all of them."""
    return list(db.session.scalars(entry_inbox_stmt(user, **filters)).unique())


def entry_inbox_page(user: User, page: int = 1, per_page: int = PER_PAGE, **filters) -> Page:
    """One page of the inbox, with the number of entries waiting in all."""
    return paginate(entry_inbox_stmt(user, **filters), page, per_page, unique=True)


def report_inbox_filter(user: User):
    """SQL condition for reports waiting on this user (or on whom they act for), from the
    report table and the same role map permissions.parties uses."""
    conditions = []
    ids = identities(user)
    for party in (Party.OFFICE_CHIEF, Party.CLERK):
        if any(i.roles.intersection(PARTY_ROLES[party]) for i in ids):
            states = report_states_waiting_for(party)
            conditions.append(Report.state.in_([s.value for s in states]))
    signers = [i.user_id for i in ids if i.roles.intersection(PARTY_ROLES[Party.SIGNER])]
    if signers:
        states = report_states_waiting_for(Party.SIGNER)
        conditions.append(
            Report.state.in_([s.value for s in states]) & Report.signer_id.in_(signers)
        )
    return or_(*conditions) if conditions else None


def report_inbox(user: User) -> list[Report]:
    """Reports waiting for this user (to submit, sign or issue)."""
    condition = report_inbox_filter(user)
    if condition is None:
        return []
    return list(db.session.scalars(select(Report).where(condition).order_by(Report.id)))


TODO_SHOWN_AT_MOST = 99  # the header shows "99+" above this


class TodoCount(int):
    """The header's number: an int that prints "99+" above ``TODO_SHOWN_AT_MOST``."""

    def __str__(self) -> str:
        return f"{TODO_SHOWN_AT_MOST}+" if self > TODO_SHOWN_AT_MOST else int.__repr__(self)

    def __html__(self) -> str:
        return str(self)


def _count_at_most(stmt, cap: int) -> int:
    """COUNT of ``stmt``'s rows, stopping at ``cap`` (the index walk ends there)."""
    return int(db.session.scalar(select(func.count()).select_from(stmt.limit(cap).subquery())))


def todo_count(user: User) -> TodoCount:
    """The "Việc cần xử lý" number in the header, counted up to 100 (shown as "99+").

    Two COUNT queries on indexed conditions (entry state/step kind/unit, report state), each
    stopping at 100 rows: the cost does not grow with the inbox, and nothing is cached, so the
    number is right on the page after an approval.
    """
    cap = TODO_SHOWN_AT_MOST + 1
    entries = _count_at_most(select(Entry.id).where(entry_inbox_filter(user)), cap)
    condition = report_inbox_filter(user)
    reports = (
        _count_at_most(select(Report.id).where(condition), cap) if condition is not None else 0
    )
    return TodoCount(entries + reports)


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
    narrow_text: bool = False,
):
    """Narrow an entry query; ``text`` matches without accents ("dan van" finds "dân vận"),
    tested row by row when ``narrow_text`` (see search.text_condition)."""
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
    condition = text_condition(text, narrow=narrow_text)
    if condition is not None:
        stmt = stmt.where(condition)
    return stmt


def search_entries_stmt(*, visible_to: User | None = None, **filters):
    """The entry list query: newest first on (campaign_id, date_from, id), filtered (see
    apply_entry_filters) to what ``visible_to`` may see."""
    stmt = select(Entry).order_by(Entry.date_from.desc(), Entry.id.desc())
    stmt = apply_entry_filters(stmt, **filters)
    if visible_to is not None:
        stmt = stmt.where(visibility_filter(visible_to))
    return stmt.options(*list_row_options())


def search_entries_page(
    *, visible_to: User | None = None, page: int = 1, per_page: int = PER_PAGE, **filters
) -> Page:
    """One page of the entry list, with the number of matching entries in all."""
    stmt = search_entries_stmt(visible_to=visible_to, **filters)
    # A text search builds its matches once for the page and its total (see paginate).
    text = bool(filters.get("text"))
    return paginate(stmt, page, per_page, one_query=text, options=list_row_options())


def visibility_filter(user: User):
    """SQL twin of permissions.can_view_entry, for lists."""
    from danvan.permissions import OVERSEER_ROLES

    not_private = Entry.state.notin_([EntryState.DRAFT.value, EntryState.WITHDRAWN.value])
    own = Entry.author_id == user.id
    if user.has_role(*OVERSEER_ROLES):
        return own | not_private
    units = _head_unit_ids(user) | ({user.unit_id} if user.unit_id else set())
    # A user named at a step sees what waits for them and what they approved.
    named = [step_condition(i) for i in identities(user)]
    approved = select(EntryApproval.id).where(
        EntryApproval.entry_id == Entry.id, EntryApproval.user_id == user.id
    )
    reach = Entry.unit_id.in_(units) | approved.exists()
    plays = [c for c in named if c is not None]
    if plays:
        reach = reach | ((Entry.state == EntryState.PENDING.value) & or_(*plays))
    return own | (reach & not_private)


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


def units_without_submissions(campaign: Campaign) -> list[Unit]:
    """Active units of the campaign's agency that have sent nothing (drafts do not count)."""
    sent = (
        select(Entry.id)
        .where(
            Entry.campaign_id == campaign.id,
            Entry.unit_id == Unit.id,
            Entry.state.in_([s.value for s in OVERVIEW_STATES]),
        )
        .exists()
    )
    stmt = (
        select(Unit)
        .where(Unit.agency_id == campaign.agency_id, Unit.active.is_(True), ~sent)
        .order_by(Unit.position, Unit.id)
    )
    return list(db.session.scalars(stmt))


def _column_key(state: str, step_kind: str | None) -> str:
    return f"{state}:{step_kind}" if state == EntryState.PENDING and step_kind else state


def campaign_unit_counts(
    campaign: Campaign,
) -> tuple[list[Unit], list[tuple[str, str]], dict[int, dict[str, int]]]:
    """Per unit, how many entries are in each overview column (one grouped query): the
    states of ``OVERVIEW_STATES``, a waiting entry counted at the kind of step it waits at.
    Inactive units are listed only when they have entries in the campaign."""
    units = list(
        db.session.scalars(
            select(Unit).where(Unit.agency_id == campaign.agency_id).order_by(Unit.position)
        )
    )
    rows = db.session.execute(
        select(Entry.unit_id, Entry.state, Entry.step_kind, func.count(Entry.id))
        .where(
            Entry.campaign_id == campaign.id,
            Entry.state.in_([s.value for s in OVERVIEW_STATES]),
        )
        .group_by(Entry.unit_id, Entry.state, Entry.step_kind)
    )
    counts: dict[int, dict[str, int]] = {u.id: {} for u in units}
    kinds = [step.kind.value for step in campaign.steps]
    for unit_id, state, step_kind, n in rows:
        if step_kind and step_kind not in kinds:
            kinds.append(step_kind)  # entries in flight on an older chain
        if unit_id in counts:  # the table and its totals count the same rows
            key = _column_key(state, step_kind)
            counts[unit_id][key] = counts[unit_id].get(key, 0) + n
    columns: list[tuple[str, str]] = []
    for state in OVERVIEW_STATES:
        if state == EntryState.PENDING:
            seen = []
            for kind in kinds:
                if kind not in seen:
                    seen.append(kind)
                    label = f"Chờ {STEP_KINDS[StepKind(kind)].label} duyệt"
                    columns.append((_column_key(state.value, kind), label))
        else:
            columns.append((state.value, state.label))
    # A unit closed down stays in the table only while it has entries in this campaign.
    units = [u for u in units if u.active or counts[u.id]]
    return units, columns, counts
