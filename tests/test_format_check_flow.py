"""The NĐ 30 check on the way to the signature: shown on the report page, and "Trình ký" /
"Ký duyệt" of a document with deviations only with a confirmation the history records."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from danvan.extensions import db
from danvan.models import Event
from danvan.operations import reports as ops
from danvan.workflow import ReportState
from tests.factories import SIGNED_AT, services_for


@pytest.fixture
def misspelt(dept):
    """The administrator typed the place name in lower case: the date line breaks NĐ 30."""
    dept.agency.place_name = "hà nam"
    db.session.commit()
    return dept


def _events(report, action):
    return list(
        db.session.scalars(
            select(Event).where(Event.report_id == report.id, Event.action == action)
        )
    )


def test_a_clean_draft_goes_up_without_a_question(dept):
    report = ops.compile_report(dept.campaign, actor=dept.office)
    assert ops.format_deviations(report) == []
    ops.submit_report(
        report, actor=dept.chief, signer=dept.director, expected_version=report.version
    )
    [event] = _events(report, "submit")
    assert event.comment == f"Người ký: {dept.director}"


def test_submitting_a_draft_with_deviations_needs_a_confirmation(misspelt):
    dept = misspelt
    report = ops.compile_report(dept.campaign, actor=dept.office)
    db.session.commit()
    [deviation] = ops.format_deviations(report)
    assert deviation.part == "Địa danh, ngày tháng"
    assert deviation.message == "Địa danh “hà nam” phải viết hoa chữ cái đầu mỗi tiếng."
    with pytest.raises(ops.FormatDeviations) as refused:
        ops.submit_report(
            report, actor=dept.chief, signer=dept.director, expected_version=report.version
        )
    assert refused.value.message.startswith("Văn bản còn 1 điểm chưa đúng thể thức NĐ 30/2020")
    db.session.rollback()
    assert db.session.get(type(report), report.id).state == ReportState.DRAFT
    ops.submit_report(
        report,
        actor=dept.chief,
        signer=dept.director,
        expected_version=report.version,
        accept_deviations=True,
    )
    db.session.commit()
    [event] = _events(report, "submit")
    assert "Đã xác nhận trình ký dù văn bản chưa đúng thể thức NĐ 30/2020" in event.comment
    assert "Địa danh “hà nam” phải viết hoa chữ cái đầu mỗi tiếng." in event.comment


def test_signing_checks_the_final_document_again(misspelt, app):
    dept = misspelt
    report = ops.compile_report(dept.campaign, actor=dept.office)
    ops.submit_report(
        report,
        actor=dept.chief,
        signer=dept.director,
        expected_version=report.version,
        accept_deviations=True,
    )
    db.session.commit()
    services = services_for(app, dept.director, dept.agency, make_pdf=False)
    with pytest.raises(ops.FormatDeviations):
        ops.sign_report(
            report,
            actor=dept.director,
            expected_version=report.version,
            now=SIGNED_AT,
            services=services,
        )
    db.session.rollback()
    report = db.session.get(type(report), report.id)
    assert report.state == ReportState.SUBMITTED and report.number is None  # nothing taken
    ops.sign_report(
        report,
        actor=dept.director,
        expected_version=report.version,
        now=SIGNED_AT,
        services=services,
        accept_deviations=True,
    )
    db.session.commit()
    [event] = _events(report, "sign")
    assert event.comment.startswith(f"Số {report.number_symbol}. Đã xác nhận ký dù")


def test_the_report_page_lists_deviations_and_asks_for_the_tick(misspelt, client, login):
    dept = misspelt
    report = ops.compile_report(dept.campaign, actor=dept.office)
    db.session.commit()
    login(dept.chief)
    page = client.get(f"/bao-cao/{report.id}").get_data(as_text=True)
    assert "Kiểm tra thể thức (NĐ 30/2020, Phụ lục I): 1 điểm chưa đúng" in page
    assert "Địa danh “hà nam” phải viết hoa chữ cái đầu mỗi tiếng." in page
    assert 'name="accept_deviations"' in page
    # Without the tick: refused with the reason, the report stays a draft.
    response = client.post(
        f"/bao-cao/{report.id}/thao-tac/submit",
        data={"version": report.version, "signer_id": dept.director.id},
        follow_redirects=True,
    )
    assert "Văn bản còn 1 điểm chưa đúng thể thức NĐ 30/2020" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(type(report), report.id).state == ReportState.DRAFT
    response = client.post(
        f"/bao-cao/{report.id}/thao-tac/submit",
        data={"version": report.version, "signer_id": dept.director.id, "accept_deviations": "y"},
        follow_redirects=True,
    )
    assert "Đã trình ký" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(type(report), report.id).state == ReportState.SUBMITTED


def test_a_clean_report_page_says_so(dept, client, login):
    report = ops.compile_report(dept.campaign, actor=dept.office)
    db.session.commit()
    login(dept.chief)
    page = client.get(f"/bao-cao/{report.id}").get_data(as_text=True)
    assert "không phát hiện điểm nào chưa đúng" in page
    assert 'name="accept_deviations"' not in page
