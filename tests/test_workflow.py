"""The workflow table and the chain as data, exhaustively: every state × action × party; every
chain of 1–4 steps drawn from the step kinds × every role, walked through the permission
layer, the inbox SQL and the operation itself (expectations generated from a rule written
here independently of danvan.workflow)."""

from __future__ import annotations

import itertools

import pytest

from danvan.extensions import db
from danvan.models import Delegation, Entry
from danvan.operations import Invalid, NotAllowed
from danvan.operations import entries as ops
from danvan.permissions import can_act
from danvan.queries import entry_inbox
from danvan.workflow import (
    ENTRY_TRANSITIONS,
    ChainStep,
    EntryAction,
    EntryState,
    Identity,
    Party,
    StepKind,
    Target,
    chain_data,
    parse_chain,
    resolve_target,
    states_waiting_for,
    transition_for,
)

S, A, P, K = EntryState, EntryAction, Party, StepKind

# Written out independently of danvan.workflow: (state, action) → (party, resulting state).
EXPECTED = {
    (S.DRAFT, A.SUBMIT): (P.AUTHOR, S.PENDING),
    (S.WITHDRAWN, A.SUBMIT): (P.AUTHOR, S.PENDING),
    (S.RETURNED, A.RESUBMIT): (P.AUTHOR, S.PENDING),
    (S.PENDING, A.WITHDRAW): (P.AUTHOR, S.WITHDRAWN),
    (S.PENDING, A.APPROVE): (P.APPROVER, S.PENDING),  # the last step's approval: APPROVED
    (S.PENDING, A.RETURN): (P.APPROVER, S.RETURNED),
    (S.APPROVED, A.SEND_BACK): (P.SIGNER, S.PENDING),
    (S.APPROVED, A.SIGN): (P.SYSTEM, S.SIGNED),
}
DEFAULT = parse_chain(None)  # Trưởng phòng → Văn phòng Sở
STAFF = Identity(1, frozenset({"staff"}), 10)
HEAD = Identity(2, frozenset({"unit_head", "staff"}), 10)


@pytest.mark.parametrize(
    "state,action,party", list(itertools.product(EntryState, EntryAction, Party))
)
def test_table_allows_exactly_the_expected_cells(state, action, party):
    transition = transition_for(action, state)
    allowed = transition is not None and transition.party == party
    assert allowed == (EXPECTED.get((state, action), (None,))[0] == party)
    if allowed:
        target, _ = resolve_target(transition, steps=DEFAULT, step=0, author=STAFF, unit_id=10)
        assert target == EXPECTED[(state, action)][1]


def test_every_declared_transition_is_expected():
    assert {(t.source, t.action) for t in ENTRY_TRANSITIONS} == set(EXPECTED)


def test_inbox_states_are_derived_from_the_table():
    assert states_waiting_for(P.APPROVER) == {S.PENDING}
    assert S.RETURNED in states_waiting_for(P.AUTHOR)


def test_no_state_per_step():
    """A new step kind or a longer chain needs no new state (and so no migration)."""
    assert not any(s.value.startswith("pending_") for s in EntryState)


def test_head_written_entry_skips_the_unit_step():
    submit = transition_for(A.SUBMIT, S.DRAFT)
    assert resolve_target(submit, steps=DEFAULT, step=None, author=HEAD, unit_id=10) == (
        S.PENDING,
        1,
    )
    # …but not another unit's head step (the head of unit 10 writing for unit 11 cannot be).
    assert resolve_target(submit, steps=DEFAULT, step=None, author=HEAD, unit_id=11) == (
        S.PENDING,
        0,
    )


def test_resubmit_goes_to_start_or_returning_step():
    resubmit = transition_for(A.RESUBMIT, S.RETURNED)
    assert resubmit.target == Target.RESUME_STEP
    kw = {"steps": DEFAULT, "step": None, "author": STAFF, "unit_id": 10, "returned_step": 1}
    assert resolve_target(resubmit, **kw) == (S.PENDING, 0)
    assert resolve_target(resubmit, **kw, resume_at_returning_step=True) == (S.PENDING, 1)


def test_approve_at_last_step_approves():
    approve = transition_for(A.APPROVE, S.PENDING)
    office_only = parse_chain([{"kind": "office"}])
    kw = {"author": STAFF, "unit_id": 10}
    assert resolve_target(approve, steps=office_only, step=0, **kw) == (S.APPROVED, None)
    assert resolve_target(approve, steps=DEFAULT, step=0, **kw) == (S.PENDING, 1)


def test_send_back_goes_to_the_last_office_step():
    send_back = transition_for(A.SEND_BACK, S.APPROVED)
    steps = parse_chain(["unit_head", "office", {"kind": "deputy", "user_id": 9}])
    kw = {"author": STAFF, "unit_id": 10, "step": None}
    assert resolve_target(send_back, steps=steps, **kw) == (S.PENDING, 1)
    no_office = parse_chain(["unit_head", {"kind": "user", "user_id": 9}])
    assert resolve_target(send_back, steps=no_office, **kw) == (S.PENDING, 1)


def test_stored_chains_round_trip_and_old_names_still_read():
    steps = [ChainStep(K.UNIT_HEAD), ChainStep(K.DEPUTY, 7, "Trần Thị Thu Hà"), ChainStep(K.OFFICE)]
    assert parse_chain(chain_data(steps)) == steps
    assert parse_chain(["unit_head", "office"]) == DEFAULT
    assert [s.waiting_label for s in steps] == [
        "Chờ Trưởng phòng duyệt",
        "Chờ Phó Giám đốc phụ trách Trần Thị Thu Hà duyệt",
        "Chờ Văn phòng Sở duyệt",
    ]


# --- through permissions and operations, with real users ------------------------------------

USERS = [
    "staff_a",
    "staff_a2",
    "head_a",
    "staff_b",
    "head_b",
    "office",
    "chief",
    "director",
    "deputy",
    "clerk",
    "admin",
]
ROLE_NAMES = {  # the oracle: who acts at each kind of step, in the product's words
    K.UNIT_HEAD: "the head of the author's unit",
    K.OFFICE: "anyone in Văn phòng (chuyên viên or Chánh Văn phòng)",
    K.OFFICE_CHIEF: "the Chánh Văn phòng",
    K.DEPUTY: "the Phó Giám đốc the step names",
    K.USER: "the user the step names",
}


def _acts_at(world, username: str, kind: StepKind, entry_unit) -> bool:
    """Independent oracle for ``ROLE_NAMES`` on the test department."""
    if kind == K.UNIT_HEAD:
        return (username, entry_unit) in (("head_a", "a"), ("head_b", "b"))
    if kind == K.OFFICE:
        return username in ("office", "chief")
    if kind == K.OFFICE_CHIEF:
        return username == "chief"
    if kind == K.DEPUTY:
        return username == "deputy"
    return username == "staff_b"  # the named user of USER steps


def _chain(world, kinds) -> list[dict]:
    named = {K.DEPUTY: world.deputy, K.USER: world.staff_b}
    return [
        {"kind": k.value, "user_id": named[k].id, "name": named[k].full_name}
        if k in named
        else {"kind": k.value}
        for k in kinds
    ]


def _assignment(kinds) -> tuple[str, ...] | None:
    """Distinct approvers, one per step, each acting there (separation of duties: nobody
    approves at two steps); None when the chain would strand an entry (refused on save)."""
    candidates = [[n for n in USERS if n != "staff_a" and _acts_at(None, n, k, "a")] for k in kinds]
    for choice in itertools.product(*candidates):
        if len(set(choice)) == len(choice):
            return choice
    return None


CHAINS = [
    kinds
    for n in range(1, 5)
    for kinds in itertools.product(list(StepKind), repeat=n)
    if _assignment(kinds) is not None
]


@pytest.mark.parametrize("length", [1, 2, 3, 4])
def test_every_chain_every_role(world, length):
    """An entry by staff_a for each chain, walked in step: at every step exactly the oracle's
    users may approve (minus the author and who approved earlier), the inbox SQL agrees with
    the permission check, and the approval moves it to the next step or to "Đã duyệt"."""
    users = {name: getattr(world, name) for name in USERS}
    delegations = {name: Delegation.active_for(user) for name, user in users.items()}
    walks = []
    for kinds in [c for c in CHAINS if len(c) == length]:
        world.campaign.chain = _chain(world, kinds)
        entry = ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
        ops.act(entry, A.SUBMIT, actor=world.staff_a)
        walks.append((kinds, _assignment(kinds), entry))
    checked = 0
    for position in range(length):
        inboxes = {name: {e.id for e in entry_inbox(user)} for name, user in users.items()}
        for kinds, plan, entry in walks:
            kind = kinds[position]
            assert (entry.state, entry.step, entry.step_kind) == (S.PENDING, position, kind)
            for name, user in users.items():
                expected = (
                    _acts_at(world, name, kind, "a")
                    and name != "staff_a"
                    and name not in plan[:position]
                )
                decision = can_act(user, entry, A.APPROVE, delegations[name])
                in_inbox = entry.id in inboxes[name]
                assert decision.allowed == expected == in_inbox, (kinds, position, name)
                checked += 1
            ops.act(entry, A.APPROVE, actor=users[plan[position]])
    assert all(entry.state == S.APPROVED and entry.step is None for _, _, entry in walks)
    assert checked == len(walks) * length * len(USERS)


@pytest.mark.parametrize("kinds", [c for c in CHAINS if len(c) <= 2])
def test_a_heads_own_entry_skips_their_steps(world, kinds):
    """Written by the unit head: every unit-head step is skipped, the rest stay."""
    world.campaign.chain = _chain(world, kinds)
    entry = ops.create_entry(world.campaign, actor=world.head_a, fields=world.entry_fields())
    ops.act(entry, A.SUBMIT, actor=world.head_a)
    remaining = [i for i, k in enumerate(kinds) if k != K.UNIT_HEAD]
    if not remaining:
        assert entry.state == S.APPROVED
    else:
        assert (entry.state, entry.step) == (S.PENDING, remaining[0])


def test_entries_in_flight_keep_their_chain(world):
    entry = ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    ops.act(entry, A.SUBMIT, actor=world.staff_a)
    draft = ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    world.campaign.chain = _chain(world, [K.DEPUTY])
    db.session.flush()
    ops.act(entry, A.APPROVE, actor=world.head_a)
    assert entry.step_kind == K.OFFICE  # its own chain: Trưởng phòng → Văn phòng
    ops.act(draft, A.SUBMIT, actor=world.staff_a)
    assert (draft.step_kind, draft.step_user_id) == (K.DEPUTY, world.deputy.id)
    assert draft.state_label == "Chờ Phó Giám đốc phụ trách Trần Thị Thu Hà duyệt"


STATES = [
    (S.DRAFT, None),
    (S.PENDING, 0),
    (S.PENDING, 1),
    (S.APPROVED, None),
    (S.SIGNED, None),
    (S.RETURNED, None),
    (S.WITHDRAWN, None),
]
PARTIES_OF = {  # which party each user is for an entry by staff_a in unit A, per step
    ("staff_a", None): {P.AUTHOR},
    ("head_a", 0): {P.APPROVER},
    ("office", 1): {P.APPROVER},
    ("chief", 1): {P.APPROVER},
    ("director", None): {P.SIGNER},
    ("deputy", None): {P.SIGNER},
}


def _parties(username: str, step: int | None) -> set:
    return PARTIES_OF.get((username, None), set()) | PARTIES_OF.get((username, step), set())


@pytest.mark.parametrize("state,step", STATES)
def test_every_state_action_user(world, state, step):
    entry = ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    db.session.commit()
    for username, action in itertools.product(USERS, EntryAction):
        user = getattr(world, username)
        entry = db.session.get(Entry, entry.id)
        entry.state = state.value
        entry.chain = list(world.campaign.chain)
        entry.step = step
        entry.step_kind = entry.steps[step].kind.value if step is not None else None
        entry.approvals_since_submit = 0
        entry.returned_step = 0 if state == S.RETURNED else None
        db.session.commit()
        party, target = EXPECTED.get((state, action), (None, None))
        # SEND_BACK is guarded: only for an entry of a report waiting for this signer.
        expected = party in _parties(username, step) and action != A.SEND_BACK
        decision = can_act(user, entry, action)
        assert decision.allowed == expected, (state, step, action, username, decision.reason)
        if not expected:
            assert decision.reason  # a Vietnamese explanation for the 403 page
            with pytest.raises(NotAllowed):
                ops.act(entry, action, actor=user, comment="Ý kiến")
            db.session.rollback()
            continue
        event = ops.act(entry, action, actor=user, comment="Ý kiến", expected_version=entry.version)
        db.session.commit()
        if action == A.APPROVE and step == 1:
            target = S.APPROVED
        assert db.session.get(Entry, entry.id).state == target
        assert (event.from_state, event.to_state, event.actor_id) == (state, target, user.id)
        assert event.from_step == step


def test_withdraw_refused_after_first_approval(world):
    entry = ops.create_entry(world.campaign, actor=world.head_a, fields=world.entry_fields())
    ops.act(entry, A.SUBMIT, actor=world.head_a)
    assert entry.step_kind == K.OFFICE  # the head's own entry skipped the unit step
    ops.act(entry, A.WITHDRAW, actor=world.head_a)
    assert entry.state == S.WITHDRAWN

    other = ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    ops.act(other, A.SUBMIT, actor=world.staff_a)
    ops.act(other, A.APPROVE, actor=world.head_a)
    decision = can_act(world.staff_a, other, A.WITHDRAW)
    assert not decision and "không thể rút lại" in decision.reason


def test_return_requires_a_comment(world):
    entry = ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    ops.act(entry, A.SUBMIT, actor=world.staff_a)
    for blank in (None, "", "   ", "\x0b\x07"):
        with pytest.raises(Invalid):
            ops.act(entry, A.RETURN, actor=world.head_a, comment=blank)
    assert (entry.state, entry.step_kind) == (S.PENDING, K.UNIT_HEAD)
