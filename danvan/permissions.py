"""Who may see and do what. Views, templates and operations all ask here.

The rules for actions come from the workflow table; this module only answers which parties a
user is for an object (author, unit head or someone acting for one, office, signer, clerk).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from danvan.extensions import db
from danvan.models import Campaign, Delegation, Entry, Event, Report, Role, User, UserRole
from danvan.text import utcnow
from danvan.workflow import (
    EDITABLE_STATES,
    ENTRY_TRANSITIONS,
    EXCLUSION_MESSAGES,
    PARTY_ROLES,
    REPORT_STATE_LABELS,
    REPORT_TRANSITIONS,
    EntryAction,
    EntryState,
    Exclusion,
    Identity,
    Party,
    ReportAction,
    ReportState,
    ReportTransition,
    StepKind,
    Transition,
    excluded_by,
    guard_allows,
    plays_step,
    report_action_transition,
    report_transition_for,
    transition_for,
)

# Roles that see every unit's entries.
OVERSEER_ROLES = (
    Role.OFFICE,
    Role.OFFICE_CHIEF,
    Role.DIRECTOR,
    Role.DEPUTY_DIRECTOR,
    Role.CLERK,
    Role.ADMIN,
)

GUARD_MESSAGES = {
    "not_yet_approved": "Hồ sơ đã được duyệt ở một bước nên không thể rút lại.",
    "in_submitted_report": "Hồ sơ không thuộc báo cáo đang chờ bạn ký.",
}


@dataclass(frozen=True)
class Decision:
    """The answer to "may this user do this?": a reason in Vietnamese when not."""

    allowed: bool
    reason: str = ""
    acting_for: User | None = None  # the head whose place a delegate takes

    def __bool__(self) -> bool:
        return self.allowed


# identities() answers are kept in the database session until it writes anything (a flush,
# a commit or a rollback clears them): a list page asks a few hundred times per request, and
# a new delegation or a changed role is a write that the next question sees.
_IDENTITIES = "danvan.permissions.identities"


def _forget_identities(session, *_args) -> None:
    session.info.pop(_IDENTITIES, None)


for _name in ("after_flush", "after_commit", "after_rollback"):
    event.listen(Session, _name, _forget_identities)


def identities(user: User, delegations: list[Delegation] | None = None) -> list[Identity]:
    """The people whose parts ``user`` plays now: themselves first, then everyone who
    delegated to them (ủy quyền) for this moment. Pass ``delegations`` to reuse a lookup."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    given = None if delegations is None else tuple(d.id for d in delegations)
    cache = db.session.info.setdefault(_IDENTITIES, {})
    key = (user.id, given)
    if key not in cache:
        cache[key] = _identities(user, delegations)
    return cache[key]


def _identities(user: User, delegations: list[Delegation] | None) -> list[Identity]:
    out = [Identity(user.id, frozenset(r.value for r in user.roles), user.unit_id)]
    if delegations is None:
        delegations = Delegation.active_for(user)
    for delegation in delegations:
        head = delegation.head
        if head is None or not head.active or head.id == user.id:
            continue
        unit_id = delegation.unit_id if delegation.unit_id is not None else head.unit_id
        out.append(Identity(head.id, frozenset(r.value for r in head.roles), unit_id, head))
    return out


def _has(identity: Identity, party: Party) -> bool:
    return bool(identity.roles.intersection(PARTY_ROLES[party]))


def _step_identity(user: User, entry: Entry, ids: list[Identity], facts: dict, excludes):
    """The first identity that plays the entry's current step and no separation-of-duties
    rule keeps out (checked for the user and for whom they act); (identity, rule)."""
    step = entry.current_step if entry.state == EntryState.PENDING else None
    if step is None:
        return None, None
    first_rule = None
    for identity in ids:
        if not plays_step(identity, step, entry.unit_id):
            continue
        rule = _excluded(excludes, user, identity, facts)
        if rule is None:
            return identity, None
        first_rule = first_rule or rule
    return None, first_rule


def _excluded(excludes, user: User, identity: Identity, facts: dict) -> Exclusion | None:
    rule = excluded_by(excludes, user.id, facts)
    if rule is None and identity.user_id != user.id:
        rule = excluded_by(excludes, identity.user_id, facts)
    return rule


def parties(
    user: User, obj: Entry | Report, delegations: list[Delegation] | None = None
) -> dict[Party, User | None]:
    """The one answer to "which part does this user play for this object": each party mapped
    to whom the user acts for there (None: themselves). Entries and reports alike."""
    ids = identities(user, delegations)
    out: dict[Party, User | None] = {}
    if not ids:
        return out
    if isinstance(obj, Report):
        for party in (Party.OFFICE, Party.OFFICE_CHIEF, Party.CLERK):
            for identity in ids:
                if _has(identity, party):
                    out[party] = identity.acting_for
                    break
        # Only a leader signs, also for someone else (a deputy for the director: "KT.").
        own_signer = _has(ids[0], Party.SIGNER)
        for identity in ids:
            if _has(identity, Party.SIGNER) and obj.signer_id == identity.user_id and own_signer:
                out[Party.SIGNER] = identity.acting_for
                break
        return out
    if obj.author_id == user.id:
        out[Party.AUTHOR] = None
    for identity in ids:
        if "unit_head" in identity.roles and identity.unit_id == obj.unit_id:
            out[Party.UNIT_HEAD] = identity.acting_for
            break
    step = obj.current_step if obj.state == EntryState.PENDING else None
    if step is not None:
        for identity in ids:
            if plays_step(identity, step, obj.unit_id):
                out[Party.APPROVER] = identity.acting_for
                break
    for party in (Party.OFFICE, Party.SIGNER):
        for identity in ids:
            if _has(identity, party):
                out[party] = identity.acting_for
                break
    return out


def step_actors(entry: Entry) -> list[User]:
    """Everyone who can act at the step the entry waits at: those who play it (by the same
    rule as ``parties``) and whoever acts for them now."""
    step = entry.current_step
    if step is None:
        return []
    stmt = select(User).where(User.active.is_(True)).order_by(User.id)
    if step.user_id is not None:
        stmt = stmt.where(User.id == step.user_id)
    if step.spec.roles:
        stmt = stmt.where(
            User.id.in_(select(UserRole.user_id).where(UserRole.role.in_(step.spec.roles)))
        )
    players = [
        u
        for u in db.session.scalars(stmt)
        if plays_step(
            Identity(u.id, frozenset(r.value for r in u.roles), u.unit_id), step, entry.unit_id
        )
    ]
    now = utcnow()
    delegates = db.session.scalars(
        select(User)
        .join(Delegation, Delegation.delegate_id == User.id)
        .where(
            Delegation.head_id.in_([u.id for u in players] or [-1]),
            Delegation.starts_at <= now,
            Delegation.ends_at > now,
            Delegation.revoked_at.is_(None),
            User.active.is_(True),
        )
    )
    out = {u.id: u for u in players}
    out.update({u.id: u for u in delegates})
    return [out[k] for k in sorted(out)]


def entry_facts(entry: Entry, user: User, ids: list[Identity] | None = None) -> dict:
    """Facts the workflow guards and the separation-of-duties rules look at."""
    report = entry.report if entry.report_id else None
    signer_ids = {i.user_id for i in (ids or [])} or {user.id}
    return {
        "author_id": entry.author_id,
        "state": entry.state,
        "step": entry.step,
        "approvals": entry.approvals,
        "approvals_since_submit": entry.approvals_since_submit,
        "in_submitted_report": report is not None
        and report.state == ReportState.SUBMITTED
        and report.signer_id in signer_ids,
    }


PRIVATE_STATES = frozenset({EntryState.DRAFT, EntryState.WITHDRAWN})


def can_view_entry(user: User, entry: Entry) -> bool:
    """Drafts and withdrawn entries: the author only. Otherwise overseers see every entry,
    unit members (and acting heads) their unit's."""
    if entry.author_id == user.id:
        return True
    if entry.state_enum in PRIVATE_STATES:
        return False
    if user.has_role(*OVERSEER_ROLES) or user.unit_id == entry.unit_id:
        return True
    if any(user.id in ids for ids in entry.approvals.values()):
        return True
    found = parties(user, entry)
    return Party.UNIT_HEAD in found or Party.APPROVER in found


def can_edit_entry(user: User, entry: Entry) -> Decision:
    """Only the author edits, and only while the entry is a draft, withdrawn or returned."""
    if entry.author_id != user.id:
        return Decision(False, "Chỉ người lập mới được sửa hồ sơ này.")
    if entry.state_enum not in EDITABLE_STATES:
        return Decision(
            False,
            f"Không thể sửa hồ sơ ở trạng thái “{entry.state_label}”.",
        )
    return Decision(True)


# The author may still add evidence while the entry waits at its unit's own step (the head
# sees the files, and a history row for each, before approving).
EVIDENCE_STEP_KINDS = frozenset({StepKind.UNIT_HEAD})


def can_add_evidence(user: User, entry: Entry) -> Decision:
    """The author adds evidence while the entry is editable or waits at the unit step."""
    if entry.author_id != user.id:
        return Decision(False, "Chỉ người lập mới được thêm minh chứng cho hồ sơ này.")
    step = entry.current_step
    at_unit_step = step is not None and step.kind in EVIDENCE_STEP_KINDS
    if entry.state_enum not in EDITABLE_STATES and not at_unit_step:
        return Decision(
            False,
            f"Không thể thêm minh chứng khi hồ sơ ở trạng thái “{entry.state_label}”.",
        )
    return Decision(True)


def can_act(
    user: User,
    entry: Entry,
    action: EntryAction,
    delegations: list[Delegation] | None = None,
) -> Decision:
    """Whether the user may take ``action`` on the entry now, per the workflow table."""
    state = entry.state_enum
    transition = transition_for(action, state)
    label = entry.state_label
    if transition is None or transition.party == Party.SYSTEM:
        return Decision(
            False,
            f"Không thể thực hiện “{action.label}” khi hồ sơ ở trạng thái “{label}”.",
        )
    ids = identities(user, delegations)
    facts = entry_facts(entry, user, ids)
    if transition.party == Party.APPROVER:
        identity, rule = _step_identity(user, entry, ids, facts, transition.excludes)
        if identity is None and rule is not None:
            return Decision(False, EXCLUSION_MESSAGES[rule])
        found = {Party.APPROVER: identity.acting_for} if identity is not None else {}
    else:
        found = parties(user, entry, delegations)
    if transition.party not in found:
        return Decision(
            False,
            f"Bạn không có quyền thực hiện “{action.label}” với hồ sơ này "
            f"(hồ sơ đang ở trạng thái “{label}”).",
        )
    if not guard_allows(transition, facts):
        return Decision(False, GUARD_MESSAGES[transition.guard])
    if transition.party != Party.APPROVER:
        rule = excluded_by(transition.excludes, user.id, facts)
        if rule is not None:
            return Decision(False, EXCLUSION_MESSAGES[rule])
    return Decision(True, acting_for=found[transition.party])


def available_transitions(
    user: User, entry: Entry, delegations: list[Delegation] | None = None
) -> list[Transition]:
    """The transitions this user can take on the entry now (for buttons)."""
    if delegations is None:
        delegations = Delegation.active_for(user)
    return [
        t
        for t in ENTRY_TRANSITIONS
        if t.source == entry.state_enum
        and t.party != Party.SYSTEM
        and can_act(user, entry, t.action, delegations)
    ]


# --- Reports ---------------------------------------------------------------------------------


def can_view_report(user: User, report: Report) -> bool:
    """Reports are for the office, the leadership, the clerk and admins (and whoever acts
    for one of them)."""
    return any(i.roles.intersection(r.value for r in OVERSEER_ROLES) for i in identities(user))


def report_preparer_ids(report: Report) -> set[int]:
    """Who compiled, edited or submitted the report (they may not sign it)."""
    if report.id is None:
        return set()
    stmt = select(Event.actor_id).where(
        Event.report_id == report.id,
        Event.action.in_(
            [ReportAction.COMPILE.value, ReportAction.EDIT.value, ReportAction.SUBMIT.value]
        ),
    )
    return {uid for uid in db.session.scalars(stmt.distinct()) if uid is not None}


def report_facts(report: Report, transition: ReportTransition) -> dict:
    """Facts the report's separation-of-duties rules look at (queried only when needed)."""
    facts: dict = {"signer_id": report.signed_by_id}
    if Exclusion.REPORT_PREPARER in transition.excludes:
        facts["preparer_ids"] = report_preparer_ids(report)
    return facts


def can_act_report(user: User, report: Report, action: ReportAction) -> Decision:
    """Whether the user may take ``action`` on the report now, per the workflow table."""
    state = report.state_enum
    transition = report_transition_for(action, state)
    if transition is None:
        return Decision(
            False,
            f"Không thể thực hiện “{action.label}” khi báo cáo ở trạng thái "
            f"“{REPORT_STATE_LABELS[state]}”.",
        )
    found = parties(user, report)
    if transition.party not in found:
        return Decision(False, f"Bạn không có quyền thực hiện “{action.label}” với báo cáo này.")
    facts = report_facts(report, transition)
    rule = excluded_by(transition.excludes, user.id, facts)
    acting_for = found[transition.party]
    if rule is None and acting_for is not None:
        rule = excluded_by(transition.excludes, acting_for.id, facts)
    if rule is not None:
        return Decision(False, EXCLUSION_MESSAGES[rule])
    return Decision(True, acting_for=acting_for)


def available_report_transitions(user: User, report: Report) -> list[ReportTransition]:
    """The report transitions this user can take now (for buttons)."""
    return [
        t
        for t in REPORT_TRANSITIONS
        if t.source == report.state_enum and can_act_report(user, report, t.action)
    ]


def can_compile(user: User, campaign: Campaign) -> bool:
    """Whether the user plays the party the report table lets compile (Văn phòng Sở)."""
    transition = report_action_transition(ReportAction.COMPILE)
    # Which report-side parties a user plays does not depend on the report itself (only the
    # signer does): a report not yet compiled stands in for the campaign's.
    return transition.party in parties(user, Report(campaign_id=campaign.id))


def sees_reports(user: User) -> bool:
    """Văn phòng, lãnh đạo Sở, Văn thư and administrators: reports, archive, outgoing register."""
    return user.has_role(*OVERSEER_ROLES)
