"""Ủy quyền beyond the unit head: the director names a deputy to act for him (the deputy signs
"KT. GIÁM ĐỐC / PHÓ GIÁM ĐỐC" and the history says "thay mặt"), the Chánh Văn phòng names an
office member who then sends the report for signature; only a leader ever signs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from danvan.extensions import db
from danvan.models import Blob, Delegation, Event
from danvan.operations import NotAllowed
from danvan.operations import reports as report_ops
from danvan.permissions import can_act_report
from danvan.queries import report_inbox
from danvan.text import utcnow
from danvan.workflow import ReportAction
from tests.factories import SIGNED_AT, docx_text, services_for, submitted


def _delegate(head, delegate, *, days_ago=1, days_left=3):
    now = utcnow()
    row = Delegation(
        head_id=head.id,
        delegate_id=delegate.id,
        unit_id=head.unit_id,
        starts_at=now - timedelta(days=days_ago),
        ends_at=now + timedelta(days=days_left),
    )
    db.session.add(row)
    db.session.commit()
    return row


def test_deputy_acting_for_the_director_signs_kt(dept, app):
    report = submitted(dept, signer=dept.director)
    assert report not in report_inbox(dept.deputy)
    assert not can_act_report(dept.deputy, report, ReportAction.SIGN)
    _delegate(dept.director, dept.deputy)
    assert report in report_inbox(dept.deputy)
    decision = can_act_report(dept.deputy, report, ReportAction.SIGN)
    assert decision and decision.acting_for.id == dept.director.id
    report_ops.sign_report(
        report,
        actor=dept.deputy,
        expected_version=report.version,
        now=SIGNED_AT,
        services=services_for(app, dept.deputy, dept.agency, make_pdf=False),
    )
    db.session.commit()
    event = db.session.scalar(
        select(Event).where(Event.report_id == report.id, Event.action == "sign")
    )
    assert (event.actor_id, event.acting_for_id) == (dept.deputy.id, dept.director.id)
    text = docx_text(db.session.get(Blob, report.final_docx_sha256).data)
    assert "KT. GIÁM ĐỐC" in text and "PHÓ GIÁM ĐỐC" in text
    assert dept.deputy.full_name in text


def test_delegation_window_before_during_after(dept):
    report = submitted(dept, signer=dept.director)
    row = _delegate(dept.director, dept.deputy, days_ago=-1, days_left=3)  # starts tomorrow
    assert not can_act_report(dept.deputy, report, ReportAction.SIGN)
    row.starts_at = utcnow() - timedelta(days=1)
    db.session.commit()
    assert can_act_report(dept.deputy, report, ReportAction.SIGN)
    row.ends_at = utcnow() - timedelta(minutes=1)  # over
    db.session.commit()
    assert not can_act_report(dept.deputy, report, ReportAction.SIGN)
    assert report not in report_inbox(dept.deputy)


def test_revoked_delegation_ends_at_once(dept):
    report = submitted(dept, signer=dept.director)
    row = _delegate(dept.director, dept.deputy)
    assert can_act_report(dept.deputy, report, ReportAction.SIGN)
    row.revoked_at = utcnow()
    db.session.commit()
    assert not can_act_report(dept.deputy, report, ReportAction.SIGN)


def test_only_a_leader_signs_even_when_named_acting(dept, app):
    report = submitted(dept, signer=dept.director)
    _delegate(dept.director, dept.office)
    decision = can_act_report(dept.office, report, ReportAction.SIGN)
    assert not decision and "không có quyền" in decision.reason
    with pytest.raises(NotAllowed):
        report_ops.sign_report(
            report,
            actor=dept.office,
            expected_version=report.version,
            services=services_for(app, dept.office, dept.agency, make_pdf=False),
        )


def test_office_member_acting_for_the_chief_submits_for_signature(dept):
    report = report_ops.compile_report(dept.campaign, actor=dept.office)
    db.session.commit()
    assert not can_act_report(dept.clerk, report, ReportAction.SUBMIT)
    _delegate(dept.chief, dept.clerk)
    decision = can_act_report(dept.clerk, report, ReportAction.SUBMIT)
    assert decision and decision.acting_for.id == dept.chief.id
    report_ops.submit_report(
        report, actor=dept.clerk, signer=dept.director, expected_version=report.version
    )
    db.session.commit()
    event = db.session.scalar(
        select(Event).where(Event.report_id == report.id, Event.action == "submit")
    )
    assert event.acting_for_id == dept.chief.id
