"""Separation of duties, from the workflow table: nobody approves their own work (directly or
as a delegate), nobody approves one entry at two steps, the signer did not prepare the report
and the issuing clerk is not the signer. Users with two roles and delegates included."""

from __future__ import annotations

from datetime import timedelta

import pytest

from danvan import queries
from danvan.extensions import db
from danvan.models import Delegation, Role
from danvan.operations import Invalid, NotAllowed
from danvan.operations import entries as ops
from danvan.operations import reports as report_ops
from danvan.permissions import available_transitions, can_act, can_act_report
from danvan.text import utcnow
from danvan.workflow import EntryAction, EntryState, ReportAction
from tests.factories import create_user, services_for, submitted, waiting_at

A = EntryAction


def _submitted(world, author, **fields):
    entry = ops.create_entry(world.campaign, actor=author, fields=world.entry_fields(**fields))
    ops.act(entry, A.SUBMIT, actor=author)
    db.session.commit()
    return entry


def _refused(entry, user, action=A.APPROVE, needle="người lập"):
    decision = can_act(user, entry, action)
    assert not decision and needle in decision.reason
    with pytest.raises(NotAllowed, match=needle):
        ops.act(entry, action, actor=user, comment="Ý kiến")
    db.session.rollback()


def test_chief_with_two_roles_cannot_approve_the_entry_he_wrote(world):
    chief = world.chief  # office_chief + unit_head of Văn phòng: his entry skips the unit step
    entry = _submitted(world, chief)
    assert waiting_at(entry) == "office"
    _refused(entry, chief)
    _refused(entry, chief, A.RETURN)
    assert entry not in queries.entry_inbox(chief)
    assert [t.action for t in available_transitions(chief, entry)] == [A.WITHDRAW]
    ops.act(entry, A.APPROVE, actor=world.office)  # another member of Văn phòng may
    assert entry.state == EntryState.APPROVED


def test_delegate_cannot_approve_his_own_entry_acting_for_the_head(world):
    delegate = world.staff_a2
    db.session.add(
        Delegation(
            head_id=world.head_a.id,
            delegate_id=delegate.id,
            unit_id=world.unit_a.id,
            starts_at=utcnow() - timedelta(days=1),
            ends_at=utcnow() + timedelta(days=1),
        )
    )
    own = _submitted(world, delegate)
    other = _submitted(world, world.staff_a)
    _refused(own, delegate)
    assert queries.entry_inbox(delegate) == [other]
    event = ops.act(other, A.APPROVE, actor=delegate)  # for someone else's entry he may
    assert event.acting_for_id == world.head_a.id
    ops.act(own, A.APPROVE, actor=world.head_a)
    assert waiting_at(own) == "office"


def test_nobody_approves_one_entry_at_two_steps(world):
    office_entry = _submitted(world, world.office)  # Văn phòng's own staff: unit head = chief
    assert waiting_at(office_entry) == "unit_head"
    ops.act(office_entry, A.APPROVE, actor=world.chief)
    db.session.commit()
    assert waiting_at(office_entry) == "office"
    _refused(office_entry, world.office)  # the author, at the office step
    _refused(office_entry, world.chief, needle="ở một bước khác")
    assert office_entry not in queries.entry_inbox(world.chief)
    assert queries.todo_count(world.chief) == len(queries.entry_inbox(world.chief))
    second = create_user("vp2", world.office_unit, Role.OFFICE, full_name="Trần Văn Bình")
    db.session.commit()
    assert office_entry in queries.entry_inbox(second)
    ops.act(office_entry, A.APPROVE, actor=second)
    assert office_entry.state == EntryState.APPROVED
    assert office_entry.approvals == {0: {world.chief.id}, 1: {second.id}}


def test_the_delegate_and_the_head_both_count_as_having_approved(world):
    """A head whose delegate approved at the unit step may not approve again at the office step."""
    head_office = create_user(
        "tp.vp2", world.unit_a, Role.UNIT_HEAD, Role.OFFICE, full_name="Hà Văn Kiên"
    )
    db.session.flush()
    db.session.add(
        Delegation(
            head_id=head_office.id,
            delegate_id=world.staff_a2.id,
            unit_id=world.unit_a.id,
            starts_at=utcnow() - timedelta(days=1),
            ends_at=utcnow() + timedelta(days=1),
        )
    )
    entry = _submitted(world, world.staff_a)
    ops.act(entry, A.APPROVE, actor=world.staff_a2)
    _refused(entry, head_office, needle="ở một bước khác")


def test_same_step_again_after_a_return_is_allowed(world):
    entry = _submitted(world, world.staff_a)
    ops.act(entry, A.APPROVE, actor=world.head_a)
    ops.act(entry, A.RETURN, actor=world.office, comment="Bổ sung ảnh.")
    ops.act(entry, A.RESUBMIT, actor=world.staff_a)
    assert can_act(world.head_a, entry, A.APPROVE)


def test_the_signer_did_not_prepare_the_report(dept, app):
    director_office = create_user(
        "gd2", dept.office_unit, Role.DIRECTOR, Role.OFFICE, full_name="Giám đốc kiêm nhiệm"
    )
    db.session.commit()
    report = report_ops.compile_report(dept.campaign, actor=director_office)
    with pytest.raises(Invalid, match="không được ký"):
        report_ops.submit_report(
            report, actor=dept.chief, signer=director_office, expected_version=report.version
        )
    db.session.rollback()
    # Chosen anyway (say, before he recompiled): the table refuses the signature itself.
    report = report_ops.compile_report(dept.campaign, actor=director_office)
    report_ops.submit_report(
        report, actor=dept.chief, signer=dept.director, expected_version=report.version
    )
    report.signer_id = director_office.id
    db.session.commit()
    decision = can_act_report(director_office, report, ReportAction.SIGN)
    assert not decision and "không được ký duyệt" in decision.reason
    svc = services_for(app, director_office, dept.agency, make_pdf=False)
    with pytest.raises(NotAllowed):
        report_ops.sign_report(
            report, actor=director_office, services=svc, expected_version=report.version
        )


def test_the_clerk_who_issues_is_not_the_signer(dept, app):
    signer_clerk = create_user(
        "gd.vt", dept.office_unit, Role.DIRECTOR, Role.CLERK, full_name="Ký và phát hành"
    )
    signer_clerk.signature_blob = dept.director.signature_blob
    db.session.commit()
    report = submitted(dept, signer=signer_clerk)
    svc = services_for(app, signer_clerk, dept.agency, make_pdf=False)
    report_ops.sign_report(
        report, actor=signer_clerk, services=svc, expected_version=report.version
    )
    db.session.commit()
    decision = can_act_report(signer_clerk, report, ReportAction.ISSUE)
    assert not decision and "không được tự phát hành" in decision.reason
    with pytest.raises(NotAllowed):
        report_ops.issue_report(
            report, actor=signer_clerk, services=svc, expected_version=report.version
        )
    db.session.rollback()
    assert can_act_report(dept.clerk, report, ReportAction.ISSUE)


def test_withdrawn_entries_are_seen_by_their_author_only(world, client, login):
    from danvan.permissions import can_view_entry

    entry = _submitted(world, world.staff_a, title="Hoạt động đã rút lại")
    ops.act(entry, A.WITHDRAW, actor=world.staff_a)
    db.session.commit()
    assert can_view_entry(world.staff_a, entry)
    for user in (
        world.office,
        world.chief,
        world.director,
        world.clerk,
        world.admin,
        world.head_a,
        world.staff_a2,
    ):
        assert not can_view_entry(user, entry), user.username
        listed = db.session.scalars(queries.search_entries_stmt(visible_to=user)).unique()
        assert entry not in listed
    login(world.office)
    assert client.get(f"/hoat-dong/{entry.id}").status_code == 404
    assert "Hoạt động đã rút lại" not in client.get("/hoat-dong").get_data(as_text=True)
    login(world.staff_a)
    assert client.get(f"/hoat-dong/{entry.id}").status_code == 200
