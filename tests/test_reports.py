"""The report: compile, edit, submit, return, sign (number, PAdES, CMS), issue, archive, verify."""

from __future__ import annotations

import io
import subprocess
import threading
import zipfile
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, select, text

from danvan import keys
from danvan.documents import pdf as pdfmod
from danvan.documents import signing
from danvan.extensions import db
from danvan.models import ArchivedDocument, Blob, Entry, Event, RegisterEntry, Report
from danvan.operations import Invalid, NotAllowed
from danvan.operations import entries as entry_ops
from danvan.operations import reports as ops
from danvan.operations.archive import check_archive, verify_upload
from danvan.workflow import EntryAction, EntryState, ReportState
from tests.factories import (
    SIGNED_AT,
    approve,
    docx_text,
    require,
    services_for,
    submitted,
    waiting_at,
)


def test_compile_keeps_narratives_and_picks_up_new_entries(dept, app):
    report = ops.compile_report(dept.campaign, actor=dept.office)
    db.session.commit()
    assert report.state == ReportState.DRAFT and len(ops.report_entries(report)) == 3
    draft = db.session.get(Blob, report.draft_docx_sha256).data
    xml = docx_text(draft)
    assert "DỰ THẢO" in xml and "Hoạt động số 1 &amp; &lt;thử&gt; “trích dẫn”" in xml
    ops.update_report_texts(
        report,
        actor=dept.office,
        expected_version=report.version,
        texts={"section_leadership": "Đã ban hành 03 văn bản chỉ đạo."},
    )
    approve(dept, dept.staff_b, dept.head_b, title="Hoạt động mới duyệt")
    again = ops.compile_report(dept.campaign, actor=dept.office)
    db.session.commit()
    assert again.id == report.id
    assert len(ops.report_entries(again)) == 4
    assert again.section_leadership == "Đã ban hành 03 văn bản chỉ đạo."
    assert "Hoạt động mới duyệt" in docx_text(db.session.get(Blob, again.draft_docx_sha256).data)


def test_only_office_compiles_and_only_the_chief_submits(dept):
    with pytest.raises(NotAllowed):
        ops.compile_report(dept.campaign, actor=dept.staff_a)
    report = ops.compile_report(dept.campaign, actor=dept.office)
    with pytest.raises(NotAllowed):
        ops.submit_report(
            report, actor=dept.office, signer=dept.director, expected_version=report.version
        )
    with pytest.raises(Invalid):
        ops.submit_report(
            report, actor=dept.chief, signer=dept.clerk, expected_version=report.version
        )


def test_signer_returns_with_comment(dept):
    report = submitted(dept)
    with pytest.raises(NotAllowed):  # not the chosen signer
        ops.return_report(report, actor=dept.deputy, comment="x", expected_version=report.version)
    with pytest.raises(Invalid):
        ops.return_report(report, actor=dept.director, comment=" ", expected_version=report.version)
    ops.return_report(
        report,
        actor=dept.director,
        comment="Bổ sung số liệu mục II",
        expected_version=report.version,
    )
    assert report.state == ReportState.DRAFT and report.last_comment == "Bổ sung số liệu mục II"


def _report_send_backs(report: Report) -> list[Event]:
    stmt = select(Event).where(Event.report_id == report.id, Event.action == "send_back")
    return list(db.session.scalars(stmt))


def test_signer_sends_one_entry_back_to_the_office(dept):
    report = submitted(dept)
    entry = ops.report_entries(report)[0]
    draft_before = report.draft_docx_sha256
    assert "Hoạt động số 1 &amp;" in docx_text(db.session.get(Blob, draft_before).data)
    entry_ops.act(  # the one operation: the entry moves, the report logs it and redraws
        entry,
        EntryAction.SEND_BACK,
        actor=dept.director,
        comment="Hoạt động này thuộc kế hoạch khác",
    )
    db.session.commit()
    assert waiting_at(entry) == "office" and entry.report_id is None
    assert entry.last_comment == "Hoạt động này thuộc kế hoạch khác"
    assert len(ops.report_entries(report)) == 2 and report.state == ReportState.SUBMITTED
    [logged] = _report_send_backs(report)
    assert logged.actor_id == dept.director.id
    assert logged.comment == f"“{entry.title}”: Hoạt động này thuộc kế hoạch khác"
    draft = docx_text(db.session.get(Blob, report.draft_docx_sha256).data)
    assert "Hoạt động số 1 &amp;" not in draft and "Hoạt động số 2 &amp;" in draft


@pytest.mark.parametrize("route", ["report_page", "entry_page"])
def test_both_send_back_buttons_log_it_in_the_report_and_redraw_it(dept, login, route):
    report = submitted(dept)
    entry = ops.report_entries(report)[0]
    path = {
        "report_page": f"/bao-cao/{report.id}/hoat-dong/{entry.id}/tra-ve",
        "entry_page": f"/hoat-dong/{entry.id}/thao-tac/send_back",
    }[route]
    response = login(dept.director).post(
        path, data={"version": entry.version, "comment": "Thuộc kế hoạch khác"}
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert waiting_at(entry) == "office" and entry.report_id is None
    [logged] = _report_send_backs(report)
    assert logged.comment == f"“{entry.title}”: Thuộc kế hoạch khác"
    draft = docx_text(db.session.get(Blob, report.draft_docx_sha256).data)
    assert "Hoạt động số 1 &amp;" not in draft and "Hoạt động số 2 &amp;" in draft
    assert len(ops.report_entries(report)) == 2 and report.state == ReportState.SUBMITTED


def test_a_send_back_without_comment_changes_nothing(dept, login):
    report = submitted(dept)
    entry = ops.report_entries(report)[0]
    draft_before = report.draft_docx_sha256
    response = login(dept.director).post(
        f"/bao-cao/{report.id}/hoat-dong/{entry.id}/tra-ve",
        data={"version": entry.version, "comment": " "},
        follow_redirects=True,
    )
    assert "Vui lòng nhập ý kiến khi trả lại." in response.get_data(as_text=True)
    db.session.expire_all()
    assert entry.report_id == report.id and not _report_send_backs(report)
    assert report.draft_docx_sha256 == draft_before


def test_sign_without_libreoffice_gives_docx_and_p7s(dept, app, tmp_path, key_dir):
    report = submitted(dept)
    svc = services_for(app, dept.director, dept.agency, make_pdf=False)
    ops.sign_report(
        report, actor=dept.director, services=svc, expected_version=report.version, now=SIGNED_AT
    )
    db.session.commit()
    assert report.number_symbol == "01/BC-SXD" and report.issued_date.isoformat() == "2023-11-03"
    assert report.signed_pdf_sha256 is None
    assert {e.state for e in ops.report_entries(report)} == {EntryState.SIGNED}
    docx = db.session.get(Blob, report.final_docx_sha256).data
    xml = docx_text(docx)
    assert "01/BC-SXD" in xml and "ngày 03 tháng 11 năm 2023" in xml and "DỰ THẢO" not in xml
    assert (
        "GIÁM ĐỐC" in xml
        and "Nguyễn Quang Huy" in xml
        and "word/media/" in str(zipfile.ZipFile(io.BytesIO(docx)).namelist())
    )
    (tmp_path / "r.docx").write_bytes(docx)
    (tmp_path / "r.p7s").write_bytes(db.session.get(Blob, report.p7s_sha256).data)
    verify = [
        "openssl",
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        str(tmp_path / "r.p7s"),
        "-content",
        str(tmp_path / "r.docx"),
        "-CAfile",
        str(key_dir / "ca.pem"),
        "-purpose",
        "any",
        "-out",
        "/dev/null",
    ]
    done = subprocess.run(verify, capture_output=True, text=True)
    assert done.returncode == 0 and "Verification successful" in done.stderr
    (tmp_path / "r.docx").write_bytes(docx + b"\x00")
    assert subprocess.run(verify, capture_output=True).returncode != 0
    # A report cannot be signed twice.
    with pytest.raises(NotAllowed):
        ops.sign_report(report, actor=dept.director, services=svc, expected_version=report.version)


def test_numbers_run_per_year_with_leading_zero(dept, app):
    svc = services_for(app, dept.director, dept.agency, make_pdf=False)
    numbers = []
    for when in (SIGNED_AT, SIGNED_AT, datetime(2024, 1, 2, 3, tzinfo=UTC)):
        approve(dept, dept.staff_a, dept.head_a, title="Thêm")
        report = submitted(dept, supplement=bool(numbers))  # later ones: "Báo cáo bổ sung"
        ops.sign_report(
            report, actor=dept.director, services=svc, expected_version=report.version, now=when
        )
        db.session.commit()
        numbers.append(report.number_symbol)
    assert numbers == ["01/BC-SXD", "02/BC-SXD", "01/BC-SXD"]


def test_deputy_signs_kt(dept, app):
    report = submitted(dept, signer=dept.deputy)
    svc = services_for(app, dept.deputy, dept.agency, make_pdf=False)
    with pytest.raises(NotAllowed):  # the director was not chosen as signer
        ops.sign_report(report, actor=dept.director, services=svc, expected_version=report.version)
    ops.sign_report(report, actor=dept.deputy, services=svc, expected_version=report.version)
    xml = docx_text(db.session.get(Blob, report.final_docx_sha256).data)
    assert "KT. GIÁM ĐỐC" in xml and "PHÓ GIÁM ĐỐC" in xml and "Trần Thị Thu Hà" in xml


def test_two_reports_signed_at_the_same_moment_get_distinct_numbers(dept, app, app_config):
    first = submitted(dept)
    # A second campaign's report, submitted too.
    from tests.factories import create_campaign

    campaign2 = create_campaign(dept.agency, year=2023)
    db.session.flush()
    entry = entry_ops.create_entry(
        campaign2,
        actor=dept.staff_a,
        fields=dict(
            dept.entry_fields(), content_item_id=campaign2.content_items[0].id, observance_id=None
        ),
    )
    entry_ops.act(entry, EntryAction.SUBMIT, actor=dept.staff_a)
    entry_ops.act(entry, EntryAction.APPROVE, actor=dept.head_a)
    entry_ops.act(entry, EntryAction.APPROVE, actor=dept.office)
    second = ops.compile_report(campaign2, actor=dept.office)
    ops.submit_report(
        second, actor=dept.chief, signer=dept.director, expected_version=second.version
    )
    db.session.commit()
    ids = [first.id, second.id]
    director_id = dept.director.id
    barrier = threading.Barrier(2)
    errors = []

    def sign(report_id):
        from danvan.models import User

        with app.app_context():
            try:
                report = db.session.get(Report, report_id)
                director = db.session.get(User, director_id)
                svc = services_for(app, director, report.campaign.agency, make_pdf=False)
                barrier.wait()
                ops.sign_report(
                    report,
                    actor=director,
                    services=svc,
                    expected_version=report.version,
                    now=SIGNED_AT,
                )
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=sign, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    db.session.expire_all()
    numbers = sorted(db.session.get(Report, i).number_symbol for i in ids)
    assert numbers == ["01/BC-SXD", "02/BC-SXD"]


@pytest.mark.libreoffice
def test_full_chain_signed_pdf_issue_archive_verify(dept, app, tmp_path, owner_url):
    require(pdfmod.libreoffice_available(), "LibreOffice (soffice) chưa được cài")
    report = submitted(dept)
    svc = services_for(app, dept.director, dept.agency)
    ops.sign_report(
        report, actor=dept.director, services=svc, expected_version=report.version, now=SIGNED_AT
    )
    db.session.commit()
    signed_pdf = db.session.get(Blob, report.signed_pdf_sha256).data
    roots = keys.trust_roots(app.config, app.instance_path)
    [director_sig] = signing.validate_pdf(signed_pdf, roots)
    assert (director_sig.coverage, director_sig.modification_level) == ("ENTIRE_FILE", "NONE")
    assert director_sig.ok and "Nguyễn Quang Huy" in director_sig.signer_cn
    embedded = signing.extract_embedded_file(signed_pdf)
    assert embedded == db.session.get(Blob, report.final_docx_sha256).data

    clerk_svc = services_for(app, dept.clerk, dept.agency)
    with pytest.raises(NotAllowed):
        ops.issue_report(
            report, actor=dept.office, services=clerk_svc, expected_version=report.version
        )
    archived = ops.issue_report(
        report, actor=dept.clerk, services=clerk_svc, expected_version=report.version, now=SIGNED_AT
    )
    db.session.commit()
    issued_pdf = db.session.get(Blob, archived.pdf_sha256).data
    first, second = signing.validate_pdf(issued_pdf, roots)
    assert first.ok and first.coverage == "ENTIRE_REVISION"
    assert first.modification_level in ("FORM_FILLING", "NONE")
    assert second.ok and (second.coverage, second.modification_level) == ("ENTIRE_FILE", "NONE")
    text_layer = pdfmod.pdf_text(issued_pdf)
    assert "2023-11-03T09:30:00+07:00" in text_layer and "01/BC-SXD" in text_layer
    row = db.session.query(RegisterEntry).one()
    assert (row.number_symbol, row.signer_name, row.archive_holder) == (
        "01/BC-SXD",
        "Nguyễn Quang Huy",
        "Lưu: VT, VP",
    )

    # Verification page logic.
    good = verify_upload(issued_pdf, roots)
    assert good.ok and good.document.number_symbol == "01/BC-SXD"
    flipped = bytearray(issued_pdf)
    flipped[len(flipped) // 3] ^= 0xFF
    bad = verify_upload(bytes(flipped), roots)
    assert not bad.ok and bad.document is None
    docx = db.session.get(Blob, archived.docx_sha256).data
    assert verify_upload(docx, roots).ok  # stored .p7s used
    assert verify_upload(docx, roots, p7s=db.session.get(Blob, archived.p7s_sha256).data).ok
    foreign = keys.trust_roots({}, str(tmp_path))  # no roots: nothing trusted
    assert not verify_upload(issued_pdf, foreign).ok
    assert all(c.ok for c in check_archive(roots))

    # Archived documents are immutable for every role, at the database level too.
    owner = create_engine(owner_url)  # the tables' owner hits the triggers, the app its role
    for engine in (db.engine, owner):
        for statement in (
            "UPDATE archived_document SET subject='x'",
            "DELETE FROM archived_document",
            "UPDATE report SET section_proposals='x'",
            "DELETE FROM register_entry",
            "UPDATE blob SET data=''",
        ):
            with (
                pytest.raises(Exception, match="append-only|permission denied"),
                engine.begin() as conn,
            ):
                conn.execute(text(statement))
    owner.dispose()
    assert db.session.query(ArchivedDocument).count() == 1
    assert db.session.get(Entry, ops.report_entries(report)[0].id).state == EntryState.SIGNED


def test_compile_issues_a_constant_number_of_queries(dept, count_queries):
    ops.compile_report(dept.campaign, actor=dept.office)
    db.session.commit()
    for i in range(3):
        approve(dept, dept.staff_a, dept.head_a, title=f"Ít {i}")
    db.session.commit()
    with count_queries() as few:
        ops.compile_report(dept.campaign, actor=dept.office)
        db.session.commit()
    for i in range(30):
        approve(dept, dept.staff_b, dept.head_b, title=f"Nhiều {i}")
    db.session.commit()
    with count_queries() as many:
        ops.compile_report(dept.campaign, actor=dept.office)
        db.session.commit()
    assert many.n == few.n, (few.n, many.n)
