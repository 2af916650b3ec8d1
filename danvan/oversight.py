"""Campaign oversight (Theo dõi tiến độ): the figures Văn phòng and the leaders watch.

Plain domain code: no Flask request. Every figure comes from a few grouped queries, so the
dashboard costs the same number of queries whatever the number of units and entries.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import case, func, or_, select

from danvan.extensions import db
from danvan.models import Campaign, Delegation, Entry, Event, Report, Unit, User, UserRole
from danvan.queries import units_without_submissions
from danvan.text import fold, format_number, utcnow
from danvan.workflow import (
    ChainStep,
    EntryState,
    Identity,
    ReportState,
    parse_chain,
    plays_step,
    state_label,
)

STALE_DAYS_DEFAULT = 3
STALE_DAYS_RANGE = (1, 60)
WAITING_LIMIT = 100
# The figures per content item and observance count what the report counts: approved entries
# and those of a signed report. Waiting or returned entries may still change.
COUNTED_STATES = (EntryState.APPROVED.value, EntryState.SIGNED.value)
NO_OBSERVANCE = "Không gắn ngày kỷ niệm"
MINUS = "\u2212"


def stale_days_from(value: str | None) -> int:
    """The ``qua_ngay`` parameter as a number of days: default 3, kept within 1..60."""
    try:
        days = int(value) if value not in (None, "") else STALE_DAYS_DEFAULT
    except ValueError:
        days = STALE_DAYS_DEFAULT
    low, high = STALE_DAYS_RANGE
    return min(max(days, low), high)


def format_duration(seconds: float | None) -> str:
    """A duration as users read it: "25 phút", "6 giờ", "1,5 ngày" ("—" when unknown)."""
    if seconds is None:
        return "—"
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))} phút"
    if seconds < 86400:
        return f"{format_number(round(seconds / 3600, 1))} giờ"
    return f"{format_number(round(seconds / 86400, 1))} ngày"


def format_change(now: int | None, before: int | None) -> str:
    """This year against last: "+12 (+33,3%)", "−3 (−10%)", "0"; "—" without last year."""
    if now is None or before is None:
        return "—"
    diff = now - before
    if diff == 0:
        return "0"
    sign = "+" if diff > 0 else MINUS
    text = f"{sign}{format_number(abs(diff))}"
    if before:
        pct = Decimal(abs(diff) * 100) / Decimal(before)
        text += f" ({sign}{format_number(pct.quantize(Decimal('0.1')).normalize())}%)"
    return text


@dataclass(frozen=True)
class SilentUnit:
    """An active unit that has sent nothing yet, with the names of its heads."""

    unit_id: int
    name: str
    heads: tuple[str, ...]


@dataclass(frozen=True)
class WaitingEntry:
    """An entry waiting at one step for longer than the threshold, and at whose desk."""

    entry_id: int
    title: str
    unit_name: str
    state_label: str
    waiting_since: datetime
    days: int
    desk: tuple[str, ...]


@dataclass(frozen=True)
class StepTiming:
    """How long entries stayed at one step of the chain (passes that have left it)."""

    position: int
    label: str
    median_seconds: float | None
    passes: int

    @property
    def median_text(self) -> str:
        return format_duration(self.median_seconds)


@dataclass(frozen=True)
class Figures:
    """Counted entries and their sums: activities, participants, money, models."""

    activities: int = 0
    participants: int = 0
    amount_vnd: int = 0
    models: int = 0

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            self.activities + other.activities,
            self.participants + other.participants,
            self.amount_vnd + other.amount_vnd,
            self.models + other.models,
        )


@dataclass(frozen=True)
class ComparisonRow:
    """One content item or observance: this year's figures beside last year's match."""

    label: str
    current: Figures | None  # None: not in this year's plan
    previous: Figures | None  # None: no previous campaign, or no match in it
    note: str = ""

    def change(self, metric: str) -> str:
        """The difference for ``activities``, ``participants``… as text."""
        now = getattr(self.current, metric) if self.current else None
        before = getattr(self.previous, metric) if self.previous else None
        return format_change(now, before)


@dataclass
class Overview:
    campaign: Campaign
    previous: Campaign | None
    today: date
    stale_days: int
    days_left: int
    issued_report: Report | None
    silent_units: list[SilentUnit]
    waiting: list[WaitingEntry]
    waiting_total: int
    step_timings: list[StepTiming]
    by_item: list[ComparisonRow]
    by_observance: list[ComparisonRow]
    totals: Figures = field(default_factory=Figures)
    previous_totals: Figures | None = None

    def total_change(self, metric: str) -> str:
        """This year's total against last year's for one metric."""
        before = getattr(self.previous_totals, metric) if self.previous_totals else None
        return format_change(getattr(self.totals, metric), before)


def previous_campaign(campaign: Campaign) -> Campaign | None:
    """The same agency's campaign of the latest earlier year (drafts left out)."""
    stmt = (
        select(Campaign)
        .where(
            Campaign.agency_id == campaign.agency_id,
            Campaign.year < campaign.year,
            Campaign.status != "draft",
        )
        .order_by(Campaign.year.desc(), Campaign.id.desc())
        .limit(1)
    )
    return db.session.scalars(stmt).first()


def issued_report(campaign: Campaign) -> Report | None:
    """The campaign's latest issued report, if any."""
    stmt = (
        select(Report)
        .where(Report.campaign_id == campaign.id, Report.state == ReportState.ISSUED)
        .order_by(Report.id.desc())
        .limit(1)
    )
    return db.session.scalars(stmt).first()


def silent_units(campaign: Campaign) -> list[SilentUnit]:
    """Active units other than the office with no entry ever sent (drafts and withdrawn
    entries do not count, as on the campaign page), each with its heads' names."""
    units = [u for u in units_without_submissions(campaign) if not u.is_office]
    heads: dict[int, list[str]] = {u.id: [] for u in units}
    if units:
        rows = db.session.execute(
            select(User.unit_id, User.full_name)
            .join(UserRole, UserRole.user_id == User.id)
            .where(
                UserRole.role == "unit_head",
                User.active.is_(True),
                User.unit_id.in_(list(heads)),
            )
            .order_by(User.id)
        )
        for unit_id, name in rows:
            heads[unit_id].append(name)
    return [SilentUnit(u.id, u.name, tuple(heads[u.id])) for u in units]


def _arrivals(campaign: Campaign):
    """Per waiting entry of the campaign, when it arrived at the step it waits at."""
    return (
        select(Event.entry_id, func.max(Event.created_at).label("since"))
        .join(Entry, Entry.id == Event.entry_id)
        .where(
            Entry.campaign_id == campaign.id,
            Entry.state == EntryState.PENDING.value,
            Event.to_state == EntryState.PENDING.value,
            Event.to_step.is_not(None),
        )
        .group_by(Event.entry_id)
        .subquery()
    )


def _step_of(chain, position: int | None, fallback: list[ChainStep]) -> ChainStep | None:
    steps = parse_chain(chain) if chain else fallback
    if position is None or position >= len(steps):
        return None
    return steps[position]


def desk_names(desks: set[tuple[ChainStep, int]], now: datetime) -> dict[tuple, tuple[str, ...]]:
    """Who acts at each (step, unit) desk, by the rule of ``permissions.step_actors``: the
    players of the step and whoever acts for them now (three queries for all desks)."""
    if not desks:
        return {}
    roles = {r for step, _ in desks for r in step.spec.roles}
    named = {step.user_id for step, _ in desks if step.user_id is not None}
    wanted = [User.id.in_(select(UserRole.user_id).where(UserRole.role.in_(roles)))]
    if named:
        wanted.append(User.id.in_(named))
    users = list(
        db.session.scalars(
            select(User).where(User.active.is_(True), or_(*wanted)).order_by(User.id)
        )
    )
    identities = [
        (u, Identity(u.id, frozenset(r.value for r in u.roles), u.unit_id)) for u in users
    ]
    delegates: dict[int, list[tuple[int, str]]] = {}
    rows = db.session.execute(
        select(Delegation.head_id, User.id, User.full_name)
        .join(User, User.id == Delegation.delegate_id)
        .where(
            Delegation.head_id.in_([u.id for u in users] or [-1]),
            Delegation.starts_at <= now,
            Delegation.ends_at > now,
            Delegation.revoked_at.is_(None),
            User.active.is_(True),
        )
    )
    for head_id, user_id, name in rows:
        delegates.setdefault(head_id, []).append((user_id, name))
    out = {}
    for step, unit_id in desks:
        people = {u.id: u.full_name for u, i in identities if plays_step(i, step, unit_id)}
        acting = {
            uid: f"{name} (ủy quyền)"
            for head in list(people)
            for uid, name in delegates.get(head, [])
            if uid not in people
        }
        people.update(acting)
        out[(step, unit_id)] = tuple(people[k] for k in sorted(people))
    return out


def waiting_entries(
    campaign: Campaign, now: datetime, stale_days: int
) -> tuple[list[WaitingEntry], int]:
    """Entries waiting at their step for more than ``stale_days`` days, longest first (at
    most ``WAITING_LIMIT``), and how many there are in all."""
    arrivals = _arrivals(campaign)
    since = func.coalesce(arrivals.c.since, Entry.updated_at)
    condition = (
        Entry.campaign_id == campaign.id,
        Entry.state == EntryState.PENDING.value,
        since < now - timedelta(days=stale_days),
    )
    total = db.session.scalar(
        select(func.count(Entry.id))
        .select_from(Entry)
        .outerjoin(arrivals, arrivals.c.entry_id == Entry.id)
        .where(*condition)
    )
    rows = db.session.execute(
        select(Entry.id, Entry.title, Entry.unit_id, Unit.name, Entry.chain, Entry.step, since)
        .join(Unit, Unit.id == Entry.unit_id)
        .outerjoin(arrivals, arrivals.c.entry_id == Entry.id)
        .where(*condition)
        .order_by(since, Entry.id)
        .limit(WAITING_LIMIT)
    ).all()
    fallback = campaign.steps
    steps = {row.id: _step_of(row.chain, row.step, fallback) for row in rows}
    desks = {(steps[r.id], r.unit_id) for r in rows if steps[r.id] is not None}
    names = desk_names(desks, now)
    out = []
    for row in rows:
        step = steps[row.id]
        waited_since = row[-1]
        out.append(
            WaitingEntry(
                entry_id=row.id,
                title=row.title,
                unit_name=row.name,
                state_label=state_label(EntryState.PENDING.value, step),
                waiting_since=waited_since,
                days=(now - waited_since).days,
                desk=names.get((step, row.unit_id), ()),
            )
        )
    return out, total or 0


def step_timings(campaign: Campaign) -> list[StepTiming]:
    """Median time at each step: from arriving at step k (an event to 'pending' at k) to the
    entry's next event leaving k (approved on, returned, withdrawn); open stays not counted."""
    rows = db.session.execute(
        select(
            Event.entry_id,
            Event.from_step,
            Event.to_step,
            Event.to_state,
            Event.created_at,
            Entry.chain,
        )
        .join(Entry, Entry.id == Event.entry_id)
        .where(
            Entry.campaign_id == campaign.id,
            or_(Event.from_step.is_not(None), Event.to_step.is_not(None)),
        )
        .order_by(Event.entry_id, Event.seq)
    )
    fallback = campaign.steps
    durations: dict[tuple[int, str], list[float]] = {}
    current_entry, open_at = None, None
    for entry_id, from_step, to_step, to_state, created_at, chain in rows:
        if entry_id != current_entry:
            current_entry, open_at = entry_id, None
        if from_step is not None and open_at is not None and open_at[0] == from_step:
            step = _step_of(chain, from_step, fallback)
            key = (from_step, step.label if step else f"Bước {from_step + 1}")
            durations.setdefault(key, []).append((created_at - open_at[1]).total_seconds())
            open_at = None
        if to_state == EntryState.PENDING.value and to_step is not None:
            open_at = (to_step, created_at)
    keys = [(i, s.label) for i, s in enumerate(fallback)]
    keys += sorted(k for k in durations if k not in keys)
    return [
        StepTiming(
            position=pos,
            label=label,
            median_seconds=statistics.median(durations[(pos, label)])
            if durations.get((pos, label))
            else None,
            passes=len(durations.get((pos, label), ())),
        )
        for pos, label in keys
    ]


def _figures(column, campaign_ids: list[int]) -> dict[tuple[int, int | None], Figures]:
    """Counted entries of the campaigns grouped by ``column``: (campaign id, value) → sums."""
    has_model = case((func.coalesce(Entry.model_name, "") != "", 1), else_=0)
    rows = db.session.execute(
        select(
            Entry.campaign_id,
            column,
            func.count(Entry.id),
            func.coalesce(func.sum(Entry.participants_officials + Entry.participants_citizens), 0),
            func.coalesce(func.sum(Entry.amount_vnd), 0),
            func.coalesce(func.sum(has_model), 0),
        )
        .where(Entry.campaign_id.in_(campaign_ids), Entry.state.in_(COUNTED_STATES))
        .group_by(Entry.campaign_id, column)
    )
    return {
        (cid, key): Figures(int(n), int(people), int(money), int(models))
        for cid, key, n, people, money, models in rows
    }


def _compare(
    current: list[tuple[str, Figures | None, bool]],
    previous: list[tuple[str, Figures]] | None,
    missing_note: str,
    extra_note: str,
) -> list[ComparisonRow]:
    """Rows for this year's labels matched to last year's by folded label; last year's
    unmatched labels follow. ``current`` items: (label, figures, shown even when empty)."""
    before = {fold(label): figures for label, figures in previous or []}
    out = []
    seen = set()
    for label, figures, keep in current:
        key = fold(label)
        match = before.get(key) if previous is not None else None
        if not keep and not figures and not match:
            continue
        seen.add(key)
        note = missing_note if previous is not None and key not in before else ""
        out.append(ComparisonRow(label, figures or Figures(), match, note))
    for label, figures in previous or []:
        if fold(label) not in seen:
            out.append(ComparisonRow(label, None, figures, extra_note))
    return out


def campaign_overview(
    campaign: Campaign,
    today: date,
    *,
    stale_days: int = STALE_DAYS_DEFAULT,
    now: datetime | None = None,
) -> Overview:
    """Every figure of the oversight page for one campaign, beside the previous year's."""
    now = now or utcnow()
    previous = previous_campaign(campaign)
    ids = [campaign.id] + ([previous.id] if previous else [])
    per_item = _figures(Entry.content_item_id, ids)
    per_observance = _figures(Entry.observance_id, ids)
    waiting, waiting_total = waiting_entries(campaign, now, stale_days)

    def items(c):
        return [(i.title, per_item.get((c.id, i.id)), not i.archived) for i in c.content_items]

    def observances(c):
        rows = [(o.name, per_observance.get((c.id, o.id)), not o.archived) for o in c.observances]
        return rows + [(NO_OBSERVANCE, per_observance.get((c.id, None)), False)]

    def known(rows):
        return [(label, figures or Figures()) for label, figures, keep in rows if keep or figures]

    prev_year = f"năm {previous.year}" if previous else ""
    by_item = _compare(
        items(campaign),
        known(items(previous)) if previous else None,
        f"không có ở {prev_year}",
        f"chỉ có ở {prev_year}",
    )
    by_observance = _compare(
        observances(campaign),
        known(observances(previous)) if previous else None,
        f"không có ở {prev_year}",
        f"chỉ có ở {prev_year}",
    )

    def total(campaign_id: int) -> Figures:
        return sum((f for (cid, _), f in per_item.items() if cid == campaign_id), Figures())

    return Overview(
        campaign=campaign,
        previous=previous,
        today=today,
        stale_days=stale_days,
        days_left=campaign.days_to_deadline(today),
        issued_report=issued_report(campaign),
        silent_units=silent_units(campaign),
        waiting=waiting,
        waiting_total=waiting_total,
        step_timings=step_timings(campaign),
        by_item=by_item,
        by_observance=by_observance,
        totals=total(campaign.id),
        previous_totals=total(previous.id) if previous else None,
    )
