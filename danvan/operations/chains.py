"""Checks on an approval chain before a campaign takes it: who could act at each step.

Who acts at a step is decided by ``workflow.plays_step`` alone (the kind rules live there);
this module only asks it about every active user of the agency. A step nobody can take, or
two steps that only the same person could take (whoever approved at one step may not approve
at another), would strand entries: ``chain_problems`` names them and saving is refused.
``chain_warnings`` names the rarer cases that strand only one author's entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

from sqlalchemy import func, select

from danvan.extensions import db
from danvan.models import Agency, Campaign, Entry, Role, Unit, User
from danvan.workflow import (
    MAX_CHAIN_STEPS,
    ChainStep,
    EntryState,
    Identity,
    Scope,
    author_skips,
    chain_data,
    plays_step,
)

IN_FLIGHT = (EntryState.PENDING, EntryState.RETURNED)  # keep the chain they were sent with
NOT_SUBMITTED = (EntryState.DRAFT, EntryState.WITHDRAWN)  # take the campaign's at submission
MAX_WARNINGS = 5


def identity_of(user: User) -> Identity:
    """The user acting for themselves, as ``plays_step`` sees them."""
    return Identity(user.id, frozenset(user.roles), user.unit_id)


def step_name(position: int, step: ChainStep) -> str:
    """ "Bước 2 (Phó Giám đốc phụ trách)", as messages name a step."""
    return f"Bước {position + 1} ({step.spec.label})"


def _role_names(step: ChainStep) -> str:
    return " hoặc ".join(Role(r).label for r in step.spec.roles)


def _names(users) -> str:
    return ", ".join(u.full_name for u in sorted(users, key=lambda u: (u.full_name, u.id)))


@dataclass
class _People:
    """The agency's accounts and active units with active members, loaded once."""

    users: dict[int, User]
    active: list[User]
    units: list[Unit]

    @classmethod
    def load(cls, agency: Agency) -> _People:
        units = list(
            db.session.scalars(
                select(Unit).where(Unit.agency_id == agency.id).order_by(Unit.position, Unit.id)
            )
        )
        unit_ids = {u.id for u in units}
        users = {
            u.id: u
            for u in db.session.scalars(select(User).order_by(User.id))
            if u.unit_id is None or u.unit_id in unit_ids
        }
        active = [u for u in users.values() if u.active]
        staffed = {u.unit_id for u in active}
        return cls(users, active, [u for u in units if u.active and u.id in staffed])

    def actors(self, step: ChainStep, unit_id: int) -> set[int]:
        """Ids of the active users who act at ``step`` for an entry of ``unit_id``."""
        return {u.id for u in self.active if plays_step(identity_of(u), step, unit_id)}

    def members(self, unit: Unit) -> list[User]:
        return [u for u in self.active if u.unit_id == unit.id]


def _hall_violation(candidates: dict[int, set[int]]) -> tuple[tuple[int, ...], set[int]] | None:
    """The smallest set of steps (with its people) that fewer people than steps can take,
    each person at one step only; None when every step can get its own approver."""
    positions = sorted(candidates)
    for size in range(2, len(positions) + 1):
        for group in combinations(positions, size):
            people = set().union(*(candidates[p] for p in group))
            if len(people) < size:
                return group, people
    return None


def _steps_text(steps: list[ChainStep], positions) -> str:
    return " và ".join(f"bước {p + 1} ({steps[p].spec.label})" for p in positions)


def _distinct_message(steps, group, people: set[int], everyone: _People, prefix: str) -> str:
    names = _steps_text(steps, group)
    if not prefix:
        names = names[0].upper() + names[1:]
    who = _names(everyone.users[i] for i in people) or "không ai"
    return (
        f"{prefix}{names} phải do {len(group)} người khác nhau duyệt "
        f"(người đã duyệt ở một bước không được duyệt ở bước khác), nhưng chỉ có {who} "
        "duyệt được các bước này."
    )


def _step_problems(steps: list[ChainStep], everyone: _People) -> list[str]:
    """Steps nobody can take, named users who cannot act, the same person named twice."""
    problems: list[str] = []
    named_at: dict[int, int] = {}
    for position, step in enumerate(steps):
        where = step_name(position, step)
        if step.spec.scope == Scope.NAMED:
            user = everyone.users.get(step.user_id) if step.user_id else None
            if step.user_id is None:
                problems.append(f"{where}: chưa chọn người duyệt.")
            elif user is None:
                problems.append(f"{where}: người được chọn không còn trong hệ thống.")
            elif not user.active:
                problems.append(f"{where}: tài khoản của {user.full_name} đã ngừng hoạt động.")
            elif not plays_step(identity_of(user), step, user.unit_id or 0):
                problems.append(f"{where}: {user.full_name} không có vai trò {_role_names(step)}.")
            if step.user_id is not None and step.user_id in named_at:
                first = named_at[step.user_id]
                name = user.full_name if user else "người này"
                problems.append(
                    f"{where}: {name} đã được chọn ở bước {first + 1}; mỗi người chỉ duyệt "
                    "một bước của hồ sơ."
                )
            named_at.setdefault(step.user_id, position)
        elif step.spec.scope == Scope.UNIT:
            missing = [u.name for u in everyone.units if not everyone.actors(step, u.id)]
            if missing:
                these = "đơn vị này" if len(missing) == 1 else "các đơn vị này"
                problems.append(
                    f"{where}: chưa có {step.spec.label} đang hoạt động ở {', '.join(missing)}; "
                    f"hồ sơ của {these} sẽ không có người duyệt."
                )
        elif not everyone.actors(step, 0):
            problems.append(
                f"{where}: chưa có người dùng đang hoạt động nào có vai trò {_role_names(step)}."
            )
    return problems


def chain_problems(agency: Agency, steps: list[ChainStep]) -> list[str]:
    """Why this chain could strand an entry, in Vietnamese (empty: the chain can be saved)."""
    if not steps:
        return ["Chuỗi phê duyệt phải có ít nhất một bước."]
    problems: list[str] = []
    if len(steps) > MAX_CHAIN_STEPS:
        problems.append(
            f"Chuỗi phê duyệt có {len(steps)} bước, nhiều hơn mức tối đa {MAX_CHAIN_STEPS} bước."
        )
    everyone = _People.load(agency)
    problems += _step_problems(steps, everyone)
    # Steps that only the same people can take: for the whole agency (office, chief, named
    # steps), then for each unit once its head's step is counted.
    # A user named twice is reported above already: the second naming is left out here.
    named = [s.user_id for s in steps]
    counted = [
        p for p, s in enumerate(steps) if s.spec.scope != Scope.NAMED or named.index(s.user_id) == p
    ]
    shared = {p: everyone.actors(steps[p], 0) for p in counted if steps[p].spec.scope != Scope.UNIT}
    violation = _hall_violation({p: ids for p, ids in shared.items() if ids})
    if violation:
        problems.append(_distinct_message(steps, *violation, everyone, ""))
        return problems
    for unit in everyone.units:
        candidates = {p: everyone.actors(steps[p], unit.id) for p in counted}
        violation = _hall_violation({p: ids for p, ids in candidates.items() if ids})
        if violation:
            prefix = f"Hồ sơ của {unit.name}: "
            problems.append(_distinct_message(steps, *violation, everyone, prefix))
    return problems


def chain_warnings(agency: Agency, steps: list[ChainStep]) -> list[str]:
    """Authors whose own entries could find nobody at a step (the author may not approve,
    nor may one person approve twice): shown before saving, not refused."""
    if not steps or chain_problems(agency, steps):
        return []
    everyone = _People.load(agency)
    warnings: list[str] = []
    for unit in everyone.units:
        actors = {p: everyone.actors(s, unit.id) for p, s in enumerate(steps)}
        for author in everyone.members(unit):
            me = identity_of(author)
            left = {
                p: ids - {author.id}
                for p, ids in actors.items()
                if not author_skips(steps[p], me, unit.id)
            }
            prefix = f"Hồ sơ do {author.full_name} ({unit.name}) lập: "
            empty = [p for p, ids in left.items() if not ids]
            if empty:
                where = _steps_text(steps, empty[:1])
                warnings.append(f"{prefix}không ai khác ngoài người lập duyệt được {where}.")
                continue
            violation = _hall_violation(left)
            if violation:
                warnings.append(_distinct_message(steps, *violation, everyone, prefix))
    if len(warnings) > MAX_WARNINGS:
        more = len(warnings) - MAX_WARNINGS
        warnings = [*warnings[:MAX_WARNINGS], f"… và {more} trường hợp tương tự."]
    return warnings


def with_names(steps: list[ChainStep]) -> list[ChainStep]:
    """The steps with each named user's current full name (what labels show); others bare."""
    out = []
    for step in steps:
        if step.spec.scope == Scope.NAMED and step.user_id is not None:
            user = db.session.get(User, step.user_id)
            out.append(ChainStep(step.kind, step.user_id, user.full_name if user else step.name))
        else:
            out.append(ChainStep(step.kind))
    return out


def chain_change_impact(campaign: Campaign, steps: list[ChainStep]) -> dict:
    """What saving ``steps`` would do: entries in flight keep their chain, entries not yet
    sent take the new one when sent; the labels before and after."""
    counts = dict(
        db.session.execute(
            select(Entry.state, func.count(Entry.id))
            .where(Entry.campaign_id == campaign.id)
            .group_by(Entry.state)
        ).all()
    )
    new = with_names(steps)
    old = campaign.steps
    return {
        "pending": counts.get(EntryState.PENDING.value, 0),
        "returned": counts.get(EntryState.RETURNED.value, 0),
        "in_flight": sum(counts.get(s.value, 0) for s in IN_FLIGHT),
        "not_submitted": sum(counts.get(s.value, 0) for s in NOT_SUBMITTED),
        "changed": chain_data(new) != chain_data(old),
        "before": [s.label for s in old],
        "after": [s.label for s in new],
        "waiting_labels": [s.waiting_label for s in new],
    }
