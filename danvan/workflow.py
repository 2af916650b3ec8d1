"""The approval workflow, declared as data: states, actions, who may act, where each action leads.

This module is the single source of transitions. Permission checks, buttons, inbox queries and
tests are all derived from ``ENTRY_TRANSITIONS`` (and ``REPORT_TRANSITIONS``). Pure Python: no
Flask, no database.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class EntryState(StrEnum):
    DRAFT = "draft"
    PENDING_UNIT = "pending_unit"
    PENDING_OFFICE = "pending_office"
    APPROVED = "approved"
    SIGNED = "signed"
    RETURNED = "returned"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return ENTRY_STATE_LABELS[self]


ENTRY_STATE_LABELS = {
    EntryState.DRAFT: "Nháp",
    EntryState.PENDING_UNIT: "Chờ trưởng phòng duyệt",
    EntryState.PENDING_OFFICE: "Chờ Văn phòng duyệt",
    EntryState.APPROVED: "Đã duyệt",
    EntryState.SIGNED: "Đã ký",
    EntryState.RETURNED: "Bị trả lại",
    EntryState.WITHDRAWN: "Đã rút lại",
}

# Bootstrap colour per state for badges.
ENTRY_STATE_COLORS = {
    EntryState.DRAFT: "secondary",
    EntryState.PENDING_UNIT: "warning",
    EntryState.PENDING_OFFICE: "info",
    EntryState.APPROVED: "success",
    EntryState.SIGNED: "primary",
    EntryState.RETURNED: "danger",
    EntryState.WITHDRAWN: "light",
}


class EntryAction(StrEnum):
    SUBMIT = "submit"
    WITHDRAW = "withdraw"
    APPROVE = "approve"
    RETURN = "return"
    RESUBMIT = "resubmit"
    SEND_BACK = "send_back"  # the signer sends one entry of a report back to Văn phòng
    SIGN = "sign"  # applied by the system when the report containing the entry is signed

    @property
    def label(self) -> str:
        return ENTRY_ACTION_LABELS[self]


ENTRY_ACTION_LABELS = {
    EntryAction.SUBMIT: "Gửi duyệt",
    EntryAction.WITHDRAW: "Rút lại",
    EntryAction.APPROVE: "Duyệt",
    EntryAction.RETURN: "Trả lại",
    EntryAction.RESUBMIT: "Gửi duyệt lại",
    EntryAction.SEND_BACK: "Trả về Văn phòng",
    EntryAction.SIGN: "Ký duyệt",
}


class Party(StrEnum):
    """Who stands in which relation to an object; a user may be several parties at once."""

    AUTHOR = "author"
    UNIT_HEAD = "unit_head"  # head of the entry's unit, or someone acting for the head
    OFFICE = "office"  # Văn phòng Sở (chuyên viên or Chánh Văn phòng)
    OFFICE_CHIEF = "office_chief"
    SIGNER = "signer"  # Giám đốc or the Phó Giám đốc chosen to sign
    CLERK = "clerk"
    SYSTEM = "system"


PARTY_LABELS = {
    Party.AUTHOR: "Người lập",
    Party.UNIT_HEAD: "Trưởng phòng",
    Party.OFFICE: "Văn phòng Sở",
    Party.OFFICE_CHIEF: "Chánh Văn phòng",
    Party.SIGNER: "Lãnh đạo Sở",
    Party.CLERK: "Văn thư",
    Party.SYSTEM: "Hệ thống",
}


class Target(StrEnum):
    """Symbolic targets resolved against the campaign's approval chain."""

    FIRST_STEP = "first_step"  # first step of the chain (the unit step skipped for a head's entry)
    NEXT_STEP = "next_step"  # the step after the current one, or APPROVED after the last
    RESUME_STEP = "resume_step"  # the start, or the step that returned it (campaign setting)


@dataclass(frozen=True)
class Step:
    """One step of an approval chain: the state an entry waits in and who acts there."""

    name: str
    state: EntryState
    party: Party
    label: str


STEPS: dict[str, Step] = {
    "unit_head": Step("unit_head", EntryState.PENDING_UNIT, Party.UNIT_HEAD, "Trưởng phòng"),
    "office": Step("office", EntryState.PENDING_OFFICE, Party.OFFICE, "Văn phòng Sở"),
}
DEFAULT_CHAIN: tuple[str, ...] = ("unit_head", "office")
STEP_BY_STATE = {step.state: step for step in STEPS.values()}


class Exclusion(StrEnum):
    """Separation of duties: who may never take a transition, whatever roles they hold."""

    AUTHOR = "author"  # wrote the entry (acting for themselves or for a head)
    OTHER_STEP_APPROVER = "other_step_approver"  # approved this entry at another step
    REPORT_PREPARER = "report_preparer"  # compiled, edited or submitted the report
    REPORT_SIGNER = "report_signer"  # signed the report


EXCLUSION_MESSAGES = {
    Exclusion.AUTHOR: "Bạn là người lập hồ sơ này nên không được duyệt hoặc trả lại nó "
    "(nguyên tắc không tự duyệt việc của mình).",
    Exclusion.OTHER_STEP_APPROVER: "Bạn đã duyệt hồ sơ này ở một bước khác; mỗi bước phải do "
    "một người khác duyệt.",
    Exclusion.REPORT_PREPARER: "Bạn đã tổng hợp, chỉnh sửa hoặc trình ký báo cáo này nên không "
    "được ký duyệt nó; hãy trình người ký khác.",
    Exclusion.REPORT_SIGNER: "Bạn đã ký báo cáo này nên không được tự phát hành nó; việc phát "
    "hành do Văn thư khác thực hiện.",
}

# Every approval step (approve or return an entry) excludes these people.
STEP_EXCLUSIONS = (Exclusion.AUTHOR, Exclusion.OTHER_STEP_APPROVER)


@dataclass(frozen=True)
class Transition:
    action: EntryAction
    source: EntryState
    target: EntryState | Target
    party: Party
    comment_required: bool = False
    guard: str | None = None  # name of a condition the entry must satisfy (see ``GUARDS``)
    style: str = "primary"  # button colour
    excludes: tuple[Exclusion, ...] = ()  # separation of duties (see ``Exclusion``)


_S, _A, _P, _T = EntryState, EntryAction, Party, Target

ENTRY_TRANSITIONS: tuple[Transition, ...] = (
    Transition(_A.SUBMIT, _S.DRAFT, _T.FIRST_STEP, _P.AUTHOR),
    Transition(_A.SUBMIT, _S.WITHDRAWN, _T.FIRST_STEP, _P.AUTHOR),
    Transition(_A.RESUBMIT, _S.RETURNED, _T.RESUME_STEP, _P.AUTHOR),
    Transition(
        _A.WITHDRAW,
        _S.PENDING_UNIT,
        _S.WITHDRAWN,
        _P.AUTHOR,
        guard="not_yet_approved",
        style="outline-secondary",
    ),
    Transition(
        _A.WITHDRAW,
        _S.PENDING_OFFICE,
        _S.WITHDRAWN,
        _P.AUTHOR,
        guard="not_yet_approved",
        style="outline-secondary",
    ),
    Transition(
        _A.APPROVE,
        _S.PENDING_UNIT,
        _T.NEXT_STEP,
        _P.UNIT_HEAD,
        style="success",
        excludes=STEP_EXCLUSIONS,
    ),
    Transition(
        _A.RETURN,
        _S.PENDING_UNIT,
        _S.RETURNED,
        _P.UNIT_HEAD,
        comment_required=True,
        style="outline-danger",
        excludes=STEP_EXCLUSIONS,
    ),
    Transition(
        _A.APPROVE,
        _S.PENDING_OFFICE,
        _T.NEXT_STEP,
        _P.OFFICE,
        style="success",
        excludes=STEP_EXCLUSIONS,
    ),
    Transition(
        _A.RETURN,
        _S.PENDING_OFFICE,
        _S.RETURNED,
        _P.OFFICE,
        comment_required=True,
        style="outline-danger",
        excludes=STEP_EXCLUSIONS,
    ),
    Transition(
        _A.SEND_BACK,
        _S.APPROVED,
        _S.PENDING_OFFICE,
        _P.SIGNER,
        comment_required=True,
        guard="in_submitted_report",
        style="outline-danger",
        excludes=(Exclusion.AUTHOR,),
    ),
    Transition(_A.SIGN, _S.APPROVED, _S.SIGNED, _P.SYSTEM),
)

# States in which the author may still change the entry's fields and files.
EDITABLE_STATES = frozenset({EntryState.DRAFT, EntryState.WITHDRAWN, EntryState.RETURNED})

# Guards: conditions on facts the caller supplies (so this module stays free of the database).
GUARDS = {
    "not_yet_approved": lambda facts: facts.get("approvals_since_submit", 0) == 0,
    "in_submitted_report": lambda facts: bool(facts.get("in_submitted_report")),
}


def excluded_by(excludes: tuple[Exclusion, ...], user_id: int, facts: dict) -> Exclusion | None:
    """The first separation-of-duties rule that keeps ``user_id`` out, given the object's facts.

    Facts: ``author_id``; ``approvals`` (step state → ids of who approved there, including
    whom a delegate acted for) and ``state``; ``preparer_ids``; ``signer_id``.
    """
    for rule in excludes:
        if rule == Exclusion.AUTHOR and facts.get("author_id") == user_id:
            return rule
        if rule == Exclusion.OTHER_STEP_APPROVER and any(
            user_id in ids
            for step, ids in (facts.get("approvals") or {}).items()
            if step != facts.get("state")
        ):
            return rule
        if rule == Exclusion.REPORT_PREPARER and user_id in facts.get("preparer_ids", ()):
            return rule
        if rule == Exclusion.REPORT_SIGNER and facts.get("signer_id") == user_id:
            return rule
    return None


def transition_for(action: EntryAction, state: EntryState) -> Transition | None:
    """Return the transition declared for ``action`` in ``state``, if any."""
    for t in ENTRY_TRANSITIONS:
        if t.action == action and t.source == state:
            return t
    return None


def transitions_from(state: EntryState) -> list[Transition]:
    """Return every transition leaving ``state``, in declaration order."""
    return [t for t in ENTRY_TRANSITIONS if t.source == state]


def states_waiting_for(party: Party) -> frozenset[EntryState]:
    """States in which ``party`` has a decision to make (approve, return, resubmit…)."""
    return frozenset(
        t.source for t in ENTRY_TRANSITIONS if t.party == party and t.action != EntryAction.SIGN
    )


def guard_allows(transition: Transition, facts: dict) -> bool:
    """Whether the transition's guard (if any) holds for the given facts."""
    return transition.guard is None or GUARDS[transition.guard](facts)


def chain_steps(chain: tuple[str, ...] | list[str] | None) -> list[Step]:
    """Resolve a campaign's chain (step names) to steps; unknown names are an error."""
    names = tuple(chain) if chain else DEFAULT_CHAIN
    return [STEPS[name] for name in names]


def resolve_target(
    transition: Transition,
    *,
    state: EntryState,
    chain: tuple[str, ...] | list[str] | None = None,
    author_is_head: bool = False,
    returned_step: str | None = None,
    resume_at_returning_step: bool = False,
) -> EntryState:
    """Turn a transition's (possibly symbolic) target into a concrete state."""
    target = transition.target
    if isinstance(target, EntryState):
        return target
    steps = chain_steps(chain)
    if target == Target.FIRST_STEP or (
        target == Target.RESUME_STEP and not (resume_at_returning_step and returned_step)
    ):
        # An entry written by a unit head skips the unit step.
        if author_is_head:
            steps = [s for s in steps if s.party != Party.UNIT_HEAD]
        return steps[0].state if steps else EntryState.APPROVED
    if target == Target.RESUME_STEP:
        return STEPS[returned_step].state
    # NEXT_STEP: the step after the one the entry waits in.
    names = [s.name for s in steps]
    current = STEP_BY_STATE[state].name
    index = names.index(current) if current in names else len(names) - 1
    return steps[index + 1].state if index + 1 < len(steps) else EntryState.APPROVED


# --- Reports ---------------------------------------------------------------------------------


class ReportState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    SIGNED = "signed"
    ISSUED = "issued"
    DELETED = "deleted"  # an empty draft Văn phòng deleted (soft: its history stays)

    @property
    def label(self) -> str:
        return REPORT_STATE_LABELS[self]


REPORT_STATE_LABELS = {
    ReportState.DRAFT: "Dự thảo",
    ReportState.SUBMITTED: "Chờ ký",
    ReportState.SIGNED: "Đã ký",
    ReportState.ISSUED: "Đã phát hành",
    ReportState.DELETED: "Đã xóa",
}
REPORT_STATE_COLORS = {
    ReportState.DRAFT: "secondary",
    ReportState.SUBMITTED: "warning",
    ReportState.SIGNED: "primary",
    ReportState.ISSUED: "success",
    ReportState.DELETED: "light",
}


class ReportAction(StrEnum):
    COMPILE = "compile"
    EDIT = "edit"
    SUBMIT = "submit"
    RETURN = "return"
    SIGN = "sign"
    ISSUE = "issue"
    DELETE = "delete"

    @property
    def label(self) -> str:
        return REPORT_ACTION_LABELS[self]


REPORT_ACTION_LABELS = {
    ReportAction.COMPILE: "Tổng hợp báo cáo",
    ReportAction.EDIT: "Lưu nội dung",
    ReportAction.SUBMIT: "Trình ký",
    ReportAction.RETURN: "Trả lại",
    ReportAction.SIGN: "Ký duyệt",
    ReportAction.ISSUE: "Phát hành",
    ReportAction.DELETE: "Xóa dự thảo",
}


@dataclass(frozen=True)
class ReportTransition:
    action: ReportAction
    source: ReportState
    target: ReportState
    party: Party
    comment_required: bool = False
    style: str = "primary"
    excludes: tuple[Exclusion, ...] = ()


_R, _RA = ReportState, ReportAction

REPORT_TRANSITIONS: tuple[ReportTransition, ...] = (
    ReportTransition(_RA.COMPILE, _R.DRAFT, _R.DRAFT, Party.OFFICE, style="outline-primary"),
    ReportTransition(_RA.EDIT, _R.DRAFT, _R.DRAFT, Party.OFFICE, style="outline-primary"),
    ReportTransition(_RA.SUBMIT, _R.DRAFT, _R.SUBMITTED, Party.OFFICE_CHIEF),
    ReportTransition(
        _RA.RETURN,
        _R.SUBMITTED,
        _R.DRAFT,
        Party.SIGNER,
        comment_required=True,
        style="outline-danger",
    ),
    ReportTransition(
        _RA.SIGN,
        _R.SUBMITTED,
        _R.SIGNED,
        Party.SIGNER,
        style="success",
        excludes=(Exclusion.REPORT_PREPARER,),
    ),
    ReportTransition(
        _RA.ISSUE,
        _R.SIGNED,
        _R.ISSUED,
        Party.CLERK,
        style="success",
        excludes=(Exclusion.REPORT_SIGNER,),
    ),
    # Only a draft without entries (checked by the operation); the row and its history stay.
    ReportTransition(_RA.DELETE, _R.DRAFT, _R.DELETED, Party.OFFICE, style="outline-danger"),
)


def report_transition_for(action: ReportAction, state: ReportState) -> ReportTransition | None:
    """Return the report transition declared for ``action`` in ``state``, if any."""
    for t in REPORT_TRANSITIONS:
        if t.action == action and t.source == state:
            return t
    return None


def report_states_waiting_for(party: Party) -> frozenset[ReportState]:
    """Report states in which ``party`` has a decision to make (not mere editing)."""
    return frozenset(
        t.source
        for t in REPORT_TRANSITIONS
        if t.party == party
        and t.action not in (ReportAction.COMPILE, ReportAction.EDIT, ReportAction.DELETE)
    )
