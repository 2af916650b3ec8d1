"""Who may see and do what. Views, templates and operations all ask here.

The rules for actions come from the workflow table; this module only answers which parties a
user is for an object (author, unit head or someone acting for one, office, signer, clerk).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from danvan.extensions import db
from danvan.models import Delegation, Entry, Event, Report, Role, User
from danvan.workflow import (
    EDITABLE_STATES,
    ENTRY_STATE_LABELS,
    ENTRY_TRANSITIONS,
    EXCLUSION_MESSAGES,
    REPORT_STATE_LABELS,
    REPORT_TRANSITIONS,
    EntryAction,
    EntryState,
    Exclusion,
    Party,
    ReportAction,
    ReportState,
    ReportTransition,
    Transition,
    excluded_by,
    guard_allows,
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


def entry_parties(
    user: User, entry: Entry, delegations: list[Delegation] | None = None
) -> dict[Party, User | None]:
    """Map each party the user is for this entry to whom they act for (None: themselves).

    Pass ``delegations`` (the user's active ones) when checking many entries at once.
    """
    parties: dict[Party, User | None] = {}
    if user is None or not getattr(user, "is_authenticated", False):
        return parties
    if entry.author_id == user.id:
        parties[Party.AUTHOR] = None
    if user.has_role(Role.UNIT_HEAD) and user.unit_id == entry.unit_id:
        parties[Party.UNIT_HEAD] = None
    else:
        if delegations is None:
            delegations = Delegation.active_for(user)
        for delegation in delegations:
            if delegation.unit_id == entry.unit_id:
                parties[Party.UNIT_HEAD] = delegation.head
                break
    if user.has_role(Role.OFFICE, Role.OFFICE_CHIEF):
        parties[Party.OFFICE] = None
    if user.has_role(Role.DIRECTOR, Role.DEPUTY_DIRECTOR):
        parties[Party.SIGNER] = None
    return parties


def entry_facts(entry: Entry, user: User) -> dict:
    """Facts the workflow guards and the separation-of-duties rules look at."""
    report = entry.report if entry.report_id else None
    return {
        "author_id": entry.author_id,
        "state": entry.state,
        "approvals": entry.approvals or {},
        "approvals_since_submit": entry.approvals_since_submit,
        "in_submitted_report": report is not None
        and report.state == ReportState.SUBMITTED
        and report.signer_id == user.id,
    }


PRIVATE_STATES = frozenset({EntryState.DRAFT, EntryState.WITHDRAWN})


def can_view_entry(user: User, entry: Entry) -> bool:
    """Drafts and withdrawn entries: the author only. Otherwise overseers see every entry,
    unit members (and acting heads) their unit's."""
    if entry.author_id == user.id:
        return True
    if entry.state_enum in PRIVATE_STATES:
        return False
    if user.has_role(*OVERSEER_ROLES):
        return True
    return user.unit_id == entry.unit_id or Party.UNIT_HEAD in entry_parties(user, entry)


def can_edit_entry(user: User, entry: Entry) -> Decision:
    """Only the author edits, and only while the entry is a draft, withdrawn or returned."""
    if entry.author_id != user.id:
        return Decision(False, "Chỉ người lập mới được sửa hồ sơ này.")
    if entry.state_enum not in EDITABLE_STATES:
        return Decision(
            False,
            f"Không thể sửa hồ sơ ở trạng thái “{ENTRY_STATE_LABELS[entry.state_enum]}”.",
        )
    return Decision(True)


# The author may still add evidence while the entry waits at the unit step: the head sees the
# files (and a history row for each) before approving.
EVIDENCE_STATES = EDITABLE_STATES | {EntryState.PENDING_UNIT}


def can_add_evidence(user: User, entry: Entry) -> Decision:
    """The author adds evidence while the entry is editable or waits at the unit step."""
    if entry.author_id != user.id:
        return Decision(False, "Chỉ người lập mới được thêm minh chứng cho hồ sơ này.")
    if entry.state_enum not in EVIDENCE_STATES:
        return Decision(
            False,
            "Không thể thêm minh chứng khi hồ sơ ở trạng thái "
            f"“{ENTRY_STATE_LABELS[entry.state_enum]}”.",
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
    if transition is None or transition.party == Party.SYSTEM:
        return Decision(
            False,
            f"Không thể thực hiện “{action.label}” khi hồ sơ ở trạng thái "
            f"“{ENTRY_STATE_LABELS[state]}”.",
        )
    parties = entry_parties(user, entry, delegations)
    if transition.party not in parties:
        return Decision(
            False,
            f"Bạn không có quyền thực hiện “{action.label}” với hồ sơ này "
            f"(hồ sơ đang ở trạng thái “{ENTRY_STATE_LABELS[state]}”).",
        )
    facts = entry_facts(entry, user)
    if not guard_allows(transition, facts):
        return Decision(False, GUARD_MESSAGES[transition.guard])
    rule = excluded_by(transition.excludes, user.id, facts)
    if rule is not None:
        return Decision(False, EXCLUSION_MESSAGES[rule])
    return Decision(True, acting_for=parties[transition.party])


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


def report_parties(user: User, report: Report) -> set[Party]:
    """The parties a user is for a report."""
    parties: set[Party] = set()
    if user.has_role(Role.OFFICE, Role.OFFICE_CHIEF):
        parties.add(Party.OFFICE)
    if user.has_role(Role.OFFICE_CHIEF):
        parties.add(Party.OFFICE_CHIEF)
    if user.has_role(Role.DIRECTOR, Role.DEPUTY_DIRECTOR) and report.signer_id == user.id:
        parties.add(Party.SIGNER)
    if user.has_role(Role.CLERK):
        parties.add(Party.CLERK)
    return parties


def can_view_report(user: User, report: Report) -> bool:
    """Reports are for the office, the leadership, the clerk and admins."""
    return user.has_role(*OVERSEER_ROLES)


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
    if transition.party not in report_parties(user, report):
        return Decision(False, f"Bạn không có quyền thực hiện “{action.label}” với báo cáo này.")
    rule = excluded_by(transition.excludes, user.id, report_facts(report, transition))
    if rule is not None:
        return Decision(False, EXCLUSION_MESSAGES[rule])
    return Decision(True)


def available_report_transitions(user: User, report: Report) -> list[ReportTransition]:
    """The report transitions this user can take now (for buttons)."""
    return [
        t
        for t in REPORT_TRANSITIONS
        if t.source == report.state_enum and can_act_report(user, report, t.action)
    ]
