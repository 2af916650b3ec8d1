"""The workflow table, exhaustively: every state × action × party, and every state × action ×
real user through the permission layer and the operation itself."""

from __future__ import annotations

import itertools

import pytest

from danvan.extensions import db
from danvan.models import Entry
from danvan.operations import Invalid, NotAllowed
from danvan.operations import entries as ops
from danvan.permissions import can_act
from danvan.workflow import (
    ENTRY_TRANSITIONS,
    EntryAction,
    EntryState,
    Party,
    Target,
    resolve_target,
    states_waiting_for,
    transition_for,
)

S, A, P = EntryState, EntryAction, Party

# Written out independently of danvan.workflow: (state, action) → (party, resulting state).
EXPECTED = {
    (S.DRAFT, A.SUBMIT): (P.AUTHOR, S.PENDING_UNIT),
    (S.WITHDRAWN, A.SUBMIT): (P.AUTHOR, S.PENDING_UNIT),
    (S.RETURNED, A.RESUBMIT): (P.AUTHOR, S.PENDING_UNIT),
    (S.PENDING_UNIT, A.WITHDRAW): (P.AUTHOR, S.WITHDRAWN),
    (S.PENDING_OFFICE, A.WITHDRAW): (P.AUTHOR, S.WITHDRAWN),
    (S.PENDING_UNIT, A.APPROVE): (P.UNIT_HEAD, S.PENDING_OFFICE),
    (S.PENDING_UNIT, A.RETURN): (P.UNIT_HEAD, S.RETURNED),
    (S.PENDING_OFFICE, A.APPROVE): (P.OFFICE, S.APPROVED),
    (S.PENDING_OFFICE, A.RETURN): (P.OFFICE, S.RETURNED),
    (S.APPROVED, A.SEND_BACK): (P.SIGNER, S.PENDING_OFFICE),
    (S.APPROVED, A.SIGN): (P.SYSTEM, S.SIGNED),
}


@pytest.mark.parametrize(
    "state,action,party", list(itertools.product(EntryState, EntryAction, Party))
)
def test_table_allows_exactly_the_expected_cells(state, action, party):
    transition = transition_for(action, state)
    allowed = transition is not None and transition.party == party
    assert allowed == (EXPECTED.get((state, action), (None,))[0] == party)
    if allowed:
        target = resolve_target(transition, state=state)
        assert target == EXPECTED[(state, action)][1]


def test_every_declared_transition_is_expected():
    assert {(t.source, t.action) for t in ENTRY_TRANSITIONS} == set(EXPECTED)


def test_inbox_states_are_derived_from_the_table():
    assert states_waiting_for(P.UNIT_HEAD) == {S.PENDING_UNIT}
    assert states_waiting_for(P.OFFICE) == {S.PENDING_OFFICE}
    assert S.RETURNED in states_waiting_for(P.AUTHOR)


def test_head_written_entry_skips_the_unit_step():
    submit = transition_for(A.SUBMIT, S.DRAFT)
    assert resolve_target(submit, state=S.DRAFT, author_is_head=True) == S.PENDING_OFFICE


def test_resubmit_goes_to_start_or_returning_step():
    resubmit = transition_for(A.RESUBMIT, S.RETURNED)
    assert resubmit.target == Target.RESUME_STEP
    assert resolve_target(resubmit, state=S.RETURNED, returned_step="office") == S.PENDING_UNIT
    assert (
        resolve_target(
            resubmit, state=S.RETURNED, returned_step="office", resume_at_returning_step=True
        )
        == S.PENDING_OFFICE
    )


def test_chain_with_office_only():
    approve = transition_for(A.APPROVE, S.PENDING_OFFICE)
    submit = transition_for(A.SUBMIT, S.DRAFT)
    assert resolve_target(submit, state=S.DRAFT, chain=["office"]) == S.PENDING_OFFICE
    assert resolve_target(approve, state=S.PENDING_OFFICE, chain=["office"]) == S.APPROVED


# --- through permissions and operations, with real users ------------------------------------

USERS = [
    "staff_a",
    "staff_a2",
    "head_a",
    "staff_b",
    "head_b",
    "office",
    "director",
    "clerk",
    "admin",
]
PARTIES_OF = {  # which party each user is for an entry written by staff_a in unit A
    "staff_a": {P.AUTHOR},
    "head_a": {P.UNIT_HEAD},
    "office": {P.OFFICE},
    "director": {P.SIGNER},
}


@pytest.mark.parametrize("state", list(EntryState))
def test_every_state_action_user(world, state):
    entry = ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    db.session.commit()
    for username, action in itertools.product(USERS, EntryAction):
        user = getattr(world, username)
        entry = db.session.get(Entry, entry.id)
        entry.state = state.value
        entry.approvals_since_submit = 0
        entry.returned_step = "unit_head" if state == S.RETURNED else None
        db.session.commit()
        party, target = EXPECTED.get((state, action), (None, None))
        # SEND_BACK is guarded: only for an entry of a report waiting for this signer.
        expected = party in PARTIES_OF.get(username, set()) and action != A.SEND_BACK
        decision = can_act(user, entry, action)
        assert decision.allowed == expected, (state, action, username, decision.reason)
        if not expected:
            assert decision.reason  # a Vietnamese explanation for the 403 page
            with pytest.raises(NotAllowed):
                ops.act(entry, action, actor=user, comment="Ý kiến")
            db.session.rollback()
            continue
        event = ops.act(entry, action, actor=user, comment="Ý kiến", expected_version=entry.version)
        db.session.commit()
        assert db.session.get(Entry, entry.id).state == target
        assert (event.from_state, event.to_state, event.actor_id) == (state, target, user.id)


def test_withdraw_refused_after_first_approval(world):
    entry = ops.create_entry(world.campaign, actor=world.head_a, fields=world.entry_fields())
    ops.act(entry, A.SUBMIT, actor=world.head_a)
    assert entry.state == S.PENDING_OFFICE  # the head's own entry skipped the unit step
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
    assert entry.state == S.PENDING_UNIT
