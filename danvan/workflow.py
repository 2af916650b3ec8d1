"""The approval workflow, declared as data: states, actions, who may act, where each action leads.

This module is the single source of transitions and of the step kinds an approval chain is
built from. Permission checks, buttons, inbox queries, notifications and state names are all
derived from ``ENTRY_TRANSITIONS``, ``STEP_KINDS`` and ``REPORT_TRANSITIONS``; a campaign's
chain is data (a list of ``ChainStep``). Pure Python: no Flask, no database.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class EntryState(StrEnum):
    """Where an entry stands. Waiting at a step is one state; the step is a position in the
    entry's own chain (``Entry.step``), so a new step needs no new state and no migration."""

    DRAFT = "draft"
    PENDING = "pending"
    APPROVED = "approved"
    SIGNED = "signed"
    RETURNED = "returned"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return ENTRY_STATE_LABELS[self]


ENTRY_STATE_LABELS = {
    EntryState.DRAFT: "Nháp",
    EntryState.PENDING: "Chờ duyệt",
    EntryState.APPROVED: "Đã duyệt",
    EntryState.SIGNED: "Đã ký",
    EntryState.RETURNED: "Bị trả lại",
    EntryState.WITHDRAWN: "Đã rút lại",
}
# History rows written before the chain became data name their step in the state.
LEGACY_STATE_LABELS = {
    "pending_unit": "Chờ Trưởng phòng duyệt",
    "pending_office": "Chờ Văn phòng Sở duyệt",
}

# Bootstrap colour per state for badges.
ENTRY_STATE_COLORS = {
    EntryState.DRAFT: "secondary",
    EntryState.PENDING: "warning",
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
    APPROVER = "approver"  # plays the step the entry waits at (or acts for whoever does)
    UNIT_HEAD = "unit_head"  # head of the entry's unit, or someone acting for the head
    OFFICE = "office"  # Văn phòng Sở (chuyên viên or Chánh Văn phòng)
    OFFICE_CHIEF = "office_chief"
    SIGNER = "signer"  # Giám đốc or the Phó Giám đốc chosen to sign (or acting for them)
    CLERK = "clerk"
    SYSTEM = "system"


PARTY_LABELS = {
    Party.AUTHOR: "Người lập",
    Party.APPROVER: "Người duyệt",
    Party.UNIT_HEAD: "Trưởng phòng",
    Party.OFFICE: "Văn phòng Sở",
    Party.OFFICE_CHIEF: "Chánh Văn phòng",
    Party.SIGNER: "Lãnh đạo Sở",
    Party.CLERK: "Văn thư",
    Party.SYSTEM: "Hệ thống",
}

# Which roles make a user which report-side party (the entry side goes through the steps).
PARTY_ROLES: dict[Party, tuple[str, ...]] = {
    Party.OFFICE: ("office", "office_chief"),
    Party.OFFICE_CHIEF: ("office_chief",),
    Party.SIGNER: ("director", "deputy_director"),
    Party.CLERK: ("clerk",),
}


# --- The approval chain ----------------------------------------------------------------------


class StepKind(StrEnum):
    UNIT_HEAD = "unit_head"
    OFFICE = "office"
    OFFICE_CHIEF = "office_chief"
    DEPUTY = "deputy"
    USER = "user"


class Scope(StrEnum):
    """How a step kind finds the people who act at it."""

    UNIT = "unit"  # holders of the roles in the author's unit
    AGENCY = "agency"  # holders of the roles anywhere in the agency
    NAMED = "named"  # the user the step names (who must hold the roles, if any)


@dataclass(frozen=True)
class StepKindSpec:
    kind: StepKind
    label: str  # the step's name in states, buttons and history
    roles: tuple[str, ...]
    scope: Scope
    help: str  # shown in the chain editor


STEP_KINDS: dict[StepKind, StepKindSpec] = {
    spec.kind: spec
    for spec in (
        StepKindSpec(
            StepKind.UNIT_HEAD,
            "Trưởng phòng",
            ("unit_head",),
            Scope.UNIT,
            "Trưởng phòng (thủ trưởng) của đơn vị người lập; bỏ qua khi chính họ lập hồ sơ.",
        ),
        StepKindSpec(
            StepKind.OFFICE,
            "Văn phòng Sở",
            ("office", "office_chief"),
            Scope.AGENCY,
            "Bất kỳ chuyên viên Văn phòng hoặc Chánh Văn phòng nào.",
        ),
        StepKindSpec(
            StepKind.OFFICE_CHIEF,
            "Chánh Văn phòng",
            ("office_chief",),
            Scope.AGENCY,
            "Chánh Văn phòng (hoặc người được ủy quyền).",
        ),
        StepKindSpec(
            StepKind.DEPUTY,
            "Phó Giám đốc phụ trách",
            ("deputy_director",),
            Scope.NAMED,
            "Một Phó Giám đốc được chỉ định (hoặc người được ủy quyền).",
        ),
        StepKindSpec(
            StepKind.USER,
            "Người được chỉ định",
            (),
            Scope.NAMED,
            "Một người dùng cụ thể (hoặc người được ủy quyền).",
        ),
    )
}
MAX_CHAIN_STEPS = 6


@dataclass(frozen=True)
class ChainStep:
    """One step of an approval chain as stored with a campaign (and copied to each entry)."""

    kind: StepKind
    user_id: int | None = None  # for the named kinds
    name: str = ""  # the named user's name when the chain was saved (for labels)

    @property
    def spec(self) -> StepKindSpec:
        return STEP_KINDS[self.kind]

    @property
    def label(self) -> str:
        if self.spec.scope == Scope.NAMED and self.name:
            return self.name if self.kind == StepKind.USER else f"{self.spec.label} {self.name}"
        return self.spec.label

    @property
    def waiting_label(self) -> str:
        """The state as users read it: "Chờ Trưởng phòng duyệt"."""
        return f"Chờ {self.label} duyệt"

    def to_dict(self) -> dict:
        out: dict = {"kind": self.kind.value}
        if self.user_id is not None:
            out["user_id"] = self.user_id
        if self.name:
            out["name"] = self.name
        return out

    @classmethod
    def from_data(cls, data) -> ChainStep:
        """A step from its stored form (a dict, or a bare kind name as before chains were data)."""
        if isinstance(data, str):
            return cls(StepKind(data))
        return cls(StepKind(data["kind"]), data.get("user_id"), data.get("name") or "")


DEFAULT_CHAIN: tuple[dict, ...] = ({"kind": "unit_head"}, {"kind": "office"})


def parse_chain(data) -> list[ChainStep]:
    """A stored chain (list of dicts or kind names) as steps; empty or None → the default."""
    return [ChainStep.from_data(item) for item in (data or DEFAULT_CHAIN)]


def chain_data(steps: list[ChainStep]) -> list[dict]:
    """Steps in their stored form."""
    return [step.to_dict() for step in steps]


@dataclass(frozen=True)
class Identity:
    """One person whose parts a user plays: themselves, or someone who delegated to them."""

    user_id: int
    roles: frozenset[str]
    unit_id: int | None
    acting_for: object = None  # the delegating User, None when the user acts for themselves


def plays_step(identity: Identity, step: ChainStep, unit_id: int) -> bool:
    """Whether this identity acts at ``step`` for an entry of ``unit_id`` (the one rule; the
    inbox's SQL is built from the same ``STEP_KINDS`` table in queries.step_condition)."""
    spec = step.spec
    if spec.roles and not identity.roles.intersection(spec.roles):
        return False
    if spec.scope == Scope.UNIT:
        return identity.unit_id == unit_id
    if spec.scope == Scope.NAMED:
        return identity.user_id == step.user_id
    return True


def author_skips(step: ChainStep, author: Identity, unit_id: int) -> bool:
    """A step whose one actor would be the author is skipped (a head's own entry skips the
    unit step; a step naming the author too): nobody else could ever act there."""
    return step.spec.scope != Scope.AGENCY and plays_step(author, step, unit_id)


class Target(StrEnum):
    """Symbolic targets resolved against the entry's approval chain."""

    FIRST_STEP = "first_step"  # first step of the chain the author does not play
    NEXT_STEP = "next_step"  # the step after the current one, or APPROVED after the last
    RESUME_STEP = "resume_step"  # the start, or the step that returned it (campaign setting)
    OFFICE_STEP = "office_step"  # the chain's last Văn phòng step (else its last step)


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


class Effect(StrEnum):
    """What a transition does to the entry besides moving it (applied by operations.act)."""

    TAKE_CHAIN = "take_chain"  # copy the campaign's current chain onto the entry
    START_ROUND = "start_round"  # a new round of approvals: the withdraw guard counts from 0
    COUNT_APPROVAL = "count_approval"  # record who approved at this step (separation of duties)
    MARK_RETURNED = "mark_returned"  # remember the returning step and the comment
    SNAPSHOT = "snapshot"  # keep the fields, so the resubmission shows what changed
    LEAVE_REPORT = "leave_report"  # the entry leaves the report it was in (send back)


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
    effects: tuple[Effect, ...] = ()


_S, _A, _P, _T, _E = EntryState, EntryAction, Party, Target, Effect

ENTRY_TRANSITIONS: tuple[Transition, ...] = (
    Transition(
        _A.SUBMIT, _S.DRAFT, _T.FIRST_STEP, _P.AUTHOR, effects=(_E.TAKE_CHAIN, _E.START_ROUND)
    ),
    Transition(
        _A.SUBMIT, _S.WITHDRAWN, _T.FIRST_STEP, _P.AUTHOR, effects=(_E.TAKE_CHAIN, _E.START_ROUND)
    ),
    Transition(_A.RESUBMIT, _S.RETURNED, _T.RESUME_STEP, _P.AUTHOR, effects=(_E.START_ROUND,)),
    Transition(
        _A.WITHDRAW,
        _S.PENDING,
        _S.WITHDRAWN,
        _P.AUTHOR,
        guard="not_yet_approved",
        style="outline-secondary",
    ),
    Transition(
        _A.APPROVE,
        _S.PENDING,
        _T.NEXT_STEP,
        _P.APPROVER,
        style="success",
        excludes=STEP_EXCLUSIONS,
        effects=(_E.COUNT_APPROVAL,),
    ),
    Transition(
        _A.RETURN,
        _S.PENDING,
        _S.RETURNED,
        _P.APPROVER,
        comment_required=True,
        style="outline-danger",
        excludes=STEP_EXCLUSIONS,
        effects=(_E.MARK_RETURNED, _E.SNAPSHOT),
    ),
    Transition(
        _A.SEND_BACK,
        _S.APPROVED,
        _T.OFFICE_STEP,
        _P.SIGNER,
        comment_required=True,
        guard="in_submitted_report",
        style="outline-danger",
        excludes=(Exclusion.AUTHOR,),
        effects=(_E.START_ROUND, _E.LEAVE_REPORT),
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

    Facts: ``author_id``; ``approvals`` (step position → ids of who approved there, including
    whom a delegate acted for) and ``step``; ``preparer_ids``; ``signer_id``.
    """
    for rule in excludes:
        if rule == Exclusion.AUTHOR and facts.get("author_id") == user_id:
            return rule
        if rule == Exclusion.OTHER_STEP_APPROVER and any(
            user_id in ids
            for step, ids in (facts.get("approvals") or {}).items()
            if step != facts.get("step")
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


def first_step(steps: list[ChainStep], author: Identity, unit_id: int) -> int | None:
    """The first step the author does not play; None when there is none (approved at once)."""
    for index, step in enumerate(steps):
        if not author_skips(step, author, unit_id):
            return index
    return None


def resolve_target(
    transition: Transition,
    *,
    steps: list[ChainStep],
    step: int | None,
    author: Identity,
    unit_id: int,
    returned_step: int | None = None,
    resume_at_returning_step: bool = False,
) -> tuple[EntryState, int | None]:
    """Turn a transition's (possibly symbolic) target into a state and a step position."""
    target = transition.target
    if isinstance(target, EntryState):
        return target, None
    resume = target == Target.RESUME_STEP and resume_at_returning_step
    if resume and returned_step is not None and returned_step < len(steps):
        return EntryState.PENDING, returned_step
    if target in (Target.FIRST_STEP, Target.RESUME_STEP):
        index = first_step(steps, author, unit_id)
    elif target == Target.OFFICE_STEP:
        offices = [i for i, s in enumerate(steps) if s.kind == StepKind.OFFICE]
        index = offices[-1] if offices else (len(steps) - 1 if steps else None)
    else:  # NEXT_STEP: the next step the author does not play
        index = None
        for later in range((step if step is not None else -1) + 1, len(steps)):
            if not author_skips(steps[later], author, unit_id):
                index = later
                break
    if index is None:
        return EntryState.APPROVED, None
    return EntryState.PENDING, index


def state_label(state: str, step: ChainStep | None = None) -> str:
    """The state as users read it; a waiting entry names its step ("Chờ Trưởng phòng duyệt")."""
    if state == EntryState.PENDING and step is not None:
        return step.waiting_label
    if state in LEGACY_STATE_LABELS:
        return LEGACY_STATE_LABELS[state]
    try:
        return ENTRY_STATE_LABELS[EntryState(state)]
    except ValueError:
        return state


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
    # The function in danvan.operations.reports that takes the action, called as
    # ``operation(report, actor=…, expected_version=…, **inputs)``; ``inputs`` name what the
    # user gives besides the version (the view assembles them from the posted form).
    operation: str = ""
    inputs: tuple[str, ...] = ()


_R, _RA = ReportState, ReportAction

REPORT_TRANSITIONS: tuple[ReportTransition, ...] = (
    ReportTransition(
        _RA.COMPILE,
        _R.DRAFT,
        _R.DRAFT,
        Party.OFFICE,
        style="outline-primary",
        operation="recompile_report",
    ),
    ReportTransition(
        _RA.EDIT,
        _R.DRAFT,
        _R.DRAFT,
        Party.OFFICE,
        style="outline-primary",
        operation="update_report_texts",
        inputs=("texts",),
    ),
    ReportTransition(
        _RA.SUBMIT,
        _R.DRAFT,
        _R.SUBMITTED,
        Party.OFFICE_CHIEF,
        operation="submit_report",
        inputs=("signer", "accept_deviations"),
    ),
    ReportTransition(
        _RA.RETURN,
        _R.SUBMITTED,
        _R.DRAFT,
        Party.SIGNER,
        comment_required=True,
        style="outline-danger",
        operation="return_report",
        inputs=("comment",),
    ),
    ReportTransition(
        _RA.SIGN,
        _R.SUBMITTED,
        _R.SIGNED,
        Party.SIGNER,
        style="success",
        excludes=(Exclusion.REPORT_PREPARER,),
        operation="sign_report",
        inputs=("services", "expected_number", "accept_deviations"),
    ),
    ReportTransition(
        _RA.ISSUE,
        _R.SIGNED,
        _R.ISSUED,
        Party.CLERK,
        style="success",
        excludes=(Exclusion.REPORT_SIGNER,),
        operation="issue_report",
        inputs=("services", "recipients"),
    ),
    # Only a draft without entries (checked by the operation); the row and its history stay.
    ReportTransition(
        _RA.DELETE,
        _R.DRAFT,
        _R.DELETED,
        Party.OFFICE,
        style="outline-danger",
        operation="delete_report",
    ),
)


def report_transition_for(action: ReportAction, state: ReportState) -> ReportTransition | None:
    """Return the report transition declared for ``action`` in ``state``, if any."""
    for t in REPORT_TRANSITIONS:
        if t.action == action and t.source == state:
            return t
    return None


def report_action_transition(action: ReportAction) -> ReportTransition:
    """The transition declared for ``action``, whatever the report's state (one per action)."""
    return next(t for t in REPORT_TRANSITIONS if t.action == action)


def report_states_waiting_for(party: Party) -> frozenset[ReportState]:
    """Report states in which ``party`` has a decision to make (not mere editing)."""
    return frozenset(
        t.source
        for t in REPORT_TRANSITIONS
        if t.party == party
        and t.action not in (ReportAction.COMPILE, ReportAction.EDIT, ReportAction.DELETE)
    )
