"""Races (issue 6): parallel requests on a real multi-worker server get one success and a clear
Vietnamese message for the others, never a 500; the login throttle counts every attempt.

The live tests start ``gunicorn -w 4`` on the test's database (tests/live_server.py) and fire
N requests at once from N threads, each its own browser (cookies, CSRF token). The in-process
tests pin down the pieces: no lock held while the documents are rendered, a number taken
meanwhile makes the signature render again, the throttle's keys and timing, the safety net.
"""

from __future__ import annotations

import html
import re
import sqlite3
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
from sqlalchemy import create_engine, false, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from danvan import create_app
from danvan.documents import interrupted
from danvan.documents import pdf as pdfmod
from danvan.extensions import db
from danvan.models import (
    ArchivedDocument,
    Attachment,
    Blob,
    Entry,
    Event,
    NumberSequence,
    RateCounter,
    RegisterEntry,
    Report,
    User,
)
from danvan.operations import STALE_MESSAGE, Conflict
from danvan.operations import entries as entry_ops
from danvan.operations import reports as ops
from danvan.workflow import EntryAction, EntryState, ReportState
from tests.conftest import csrf_token_from
from tests.factories import (
    PASSWORD,
    SIGNED_AT,
    create_campaign,
    docx_text,
    services_for,
    signed_report,
    submitted,
)

N = 10
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
THROTTLED = "Bạn đã đăng nhập sai quá nhiều lần. Vui lòng đợi một phút rồi thử lại."
WRONG = "Tên đăng nhập hoặc mật khẩu không đúng."


def at_once(n: int, request):
    """Run ``request(i)`` for i in 0…n-1 from n threads released together; their results."""
    barrier = threading.Barrier(n, timeout=60)

    def run(i):
        barrier.wait()
        return request(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n), timeout=300))


def flashes(page) -> list[str]:
    """The flashed messages shown on a page."""
    pattern = r'<div class="alert alert-\w+[^>]*role="alert">\s*(.*?)\s*<button'
    return [html.unescape(m) for m in re.findall(pattern, page.text, re.DOTALL)]


def browsers(server, username: str, n: int = N) -> list:
    """n browsers signed in as ``username``, one session each."""
    out = []
    for _ in range(n):
        browser = server.browser()
        browser.login(username, PASSWORD)
        out.append(browser)
    return out


def form_version(page) -> str:
    match = re.search(r'name="version" value="(\d+)"', page.text)
    assert match, "no version field"
    return match.group(1)


def no_server_errors(pages, server) -> None:
    statuses = [s for page in pages for s in page.statuses]
    assert all(s < 500 for s in statuses), (statuses, server.log()[-4000:])
    seconds = sorted(page.seconds for page in pages)
    print(f"{len(pages)} requests at once: {seconds[0]:.2f} … {seconds[-1]:.2f} s")  # with -s


def tally(pages, success: str) -> tuple[int, list[str]]:
    """How many pages show ``success``; the messages of the others."""
    wins = [p for p in pages if success in flashes(p)]
    others = [" | ".join(flashes(p)) for p in pages if success not in flashes(p)]
    return len(wins), others


# --- Live server: ten parallel clicks -------------------------------------------------------


def test_parallel_signatures_one_wins(dept, app, live_server):
    report = submitted(dept)
    report_id = report.id
    server = live_server()
    clients = browsers(server, dept.director.username)
    forms = [(c, c.csrf_token(f"/bao-cao/{report_id}"), str(report.version)) for c in clients]
    pages = at_once(
        N,
        lambda i: forms[i][0].post(
            f"/bao-cao/{report_id}/thao-tac/sign",
            {"csrf_token": forms[i][1], "version": forms[i][2]},
        ),
    )
    no_server_errors(pages, server)
    wins, others = tally(pages, "Đã ký báo cáo số 01/BC-SXD.")
    assert wins == 1, (wins, others)
    # The same director clicked ten times: the others are told it is done.
    assert set(others) == {"Thao tác “Ký duyệt” đã được thực hiện."}, others
    assert all(p.statuses[0] == 303 for p in pages)
    db.session.expire_all()
    report = db.session.get(Report, report_id)
    assert report.state == ReportState.SIGNED and report.number_symbol == "01/BC-SXD"
    sequence = db.session.scalars(select(NumberSequence)).one()
    assert sequence.last_number == 1
    signs = db.session.scalars(
        select(Event).where(Event.report_id == report_id, Event.action == "sign")
    ).all()
    assert len(signs) == 1


def test_parallel_issues_one_archive_row(dept, app, live_server):
    report, _ = signed_report(dept, app, make_pdf=None)
    report_id, version = report.id, report.version
    server = live_server()
    clients = browsers(server, dept.clerk.username)
    tokens = [c.csrf_token(f"/bao-cao/{report_id}") for c in clients]
    pages = at_once(
        N,
        lambda i: clients[i].post(
            f"/bao-cao/{report_id}/thao-tac/issue",
            {"csrf_token": tokens[i], "version": str(version)},
        ),
    )
    no_server_errors(pages, server)
    wins, others = tally(
        pages, "Đã phát hành báo cáo số 01/BC-SXD: đã vào sổ văn bản đi và lưu trữ."
    )
    assert wins == 1, (wins, others)
    assert set(others) == {"Thao tác “Phát hành” đã được thực hiện."}, others
    db.session.expire_all()
    assert db.session.get(Report, report_id).state == ReportState.ISSUED
    assert db.session.query(ArchivedDocument).count() == 1
    assert db.session.query(RegisterEntry).count() == 1


def test_parallel_compiles_one_open_report(dept, app, live_server):
    campaign_id = dept.campaign.id
    server = live_server()
    clients = browsers(server, dept.office.username)
    forms = []
    for client in clients:
        page = client.get(f"/ke-hoach/{campaign_id}")
        assert form_version(page) == "0"  # the page showed no report
        forms.append((client, csrf_token_from(page.text)))
    pages = at_once(
        N,
        lambda i: forms[i][0].post(
            f"/ke-hoach/{campaign_id}/tong-hop", {"csrf_token": forms[i][1], "version": "0"}
        ),
    )
    no_server_errors(pages, server)
    wins, others = tally(pages, "Đã tổng hợp báo cáo năm 2023 từ 3 hồ sơ đã duyệt.")
    assert wins == 1, (wins, others)
    assert set(others) == {"Thao tác “Tổng hợp báo cáo” đã được thực hiện."}, others
    db.session.expire_all()
    [report] = db.session.scalars(select(Report)).all()
    assert all(re.search(rf"/bao-cao/{report.id}$", p.url) for p in pages)
    assert len(ops.report_entries(report)) == 3
    compiles = db.session.scalars(select(Event).where(Event.action == "compile")).all()
    assert len(compiles) == 1

    # Another office member's page, stale the same way, is told someone else compiled it.
    other = server.browser()
    other.login(dept.chief.username, PASSWORD)
    token = other.csrf_token(f"/ke-hoach/{campaign_id}")
    page = other.post(f"/ke-hoach/{campaign_id}/tong-hop", {"csrf_token": token, "version": "0"})
    assert ops.COMPILED_MEANWHILE in flashes(page)
    assert db.session.query(Report).count() == 1


def test_parallel_uploads_keep_the_limit(world, app, live_server):
    limit = 10
    name = "“Hội nghị tuyên truyền công tác dân vận (QLXD)”"  # the entry, as flashes name it
    full = entry_ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    for i in range(limit - 1):
        entry_ops.add_attachment(
            full,
            actor=world.staff_a,
            filename=f"co-san-{i}.png",
            data=PNG + bytes([i]),
            max_bytes=10**6,
            max_files=limit,
        )
    empty = entry_ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    db.session.commit()
    full_id, empty_id = full.id, empty.id  # the threads do not touch the ORM objects
    server = live_server(UPLOAD_MAX_FILES=limit)
    clients = browsers(server, world.staff_a.username)

    # One free place, ten single-file uploads: exactly one gets it.
    tokens = [c.csrf_token(f"/hoat-dong/{full_id}") for c in clients]
    pages = at_once(
        N,
        lambda i: clients[i].post(
            f"/hoat-dong/{full_id}/minh-chung",
            {"csrf_token": tokens[i]},
            files=[("files", f"anh-{i}.png", PNG + b"one" + bytes([i]))],
        ),
    )
    no_server_errors(pages, server)
    wins, others = tally(pages, f"Đã tải lên 1 tệp minh chứng cho hồ sơ {name}.")
    assert wins == 1, (wins, others)
    assert set(others) == {f"Mỗi hồ sơ chỉ được đính kèm tối đa {limit} tệp."}, others
    db.session.expire_all()
    assert db.session.query(Attachment).filter_by(entry_id=full_id).count() == limit

    # An empty entry, ten uploads of two files: exactly ten files, whole requests first.
    pages = at_once(
        N,
        lambda i: clients[i].post(
            f"/hoat-dong/{empty_id}/minh-chung",
            {"csrf_token": tokens[i]},
            files=[
                ("files", f"a-{i}.png", PNG + b"a" + bytes([i])),
                ("files", f"b-{i}.png", PNG + b"b" + bytes([i])),
            ],
        ),
    )
    no_server_errors(pages, server)
    wins, others = tally(pages, f"Đã tải lên 2 tệp minh chứng cho hồ sơ {name}.")
    assert wins == limit // 2, (wins, others)
    refused = f"Mỗi hồ sơ chỉ được đính kèm tối đa {limit} tệp."
    assert set(others) == {f"{refused} | {refused}"}, others
    db.session.expire_all()
    assert db.session.query(Attachment).filter_by(entry_id=empty_id).count() == limit


def test_parallel_wrong_passwords_are_all_counted(world, app, live_server):
    attempts, limit = 30, 5
    server = live_server(LOGIN_MAX_FAILURES=limit)
    clients = [server.browser() for _ in range(attempts)]
    tokens = [c.csrf_token("/dang-nhap") for c in clients]
    pages = at_once(
        attempts,
        lambda i: clients[i].post(
            "/dang-nhap", {"username": "cv.a", "password": f"sai-{i}", "csrf_token": tokens[i]}
        ),
    )
    no_server_errors(pages, server)
    statuses = sorted(p.status for p in pages)
    assert statuses == [401] * limit + [429] * (attempts - limit), statuses
    assert all(WRONG in flashes(p) for p in pages if p.status == 401)
    assert all(THROTTLED in flashes(p) for p in pages if p.status == 429)
    db.session.expire_all()
    counts = {row.key: row.count for row in db.session.scalars(select(RateCounter))}
    assert counts == {"login:user:cv.a": attempts, "login:addr:127.0.0.1": attempts}
    # The right password is not even checked now.
    late = server.browser()
    token = late.csrf_token("/dang-nhap")
    page = late.post("/dang-nhap", {"username": "cv.a", "password": PASSWORD, "csrf_token": token})
    assert page.status == 429 and THROTTLED in flashes(page)


# --- In process: the pieces -----------------------------------------------------------------


def _lock_probe(db_url: str, report_id: int):
    """A check, from another connection, that nobody holds the locks a signature takes."""
    if db_url.startswith("sqlite"):
        path = db_url.removeprefix("sqlite:///")

        def probe() -> None:
            conn = sqlite3.connect(path, timeout=0, isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")  # fails at once if a write lock is held
                conn.execute("ROLLBACK")
            finally:
                conn.close()

        return probe, lambda: None
    engine = create_engine(db_url)

    def probe() -> None:
        with engine.begin() as conn:
            for statement in (
                "SELECT id FROM report WHERE id = :id FOR UPDATE NOWAIT",
                "SELECT id FROM number_sequence FOR UPDATE NOWAIT",
                "SELECT name FROM chain_head FOR UPDATE NOWAIT",
            ):
                conn.execute(text(statement), {"id": report_id})

    return probe, engine.dispose


def test_no_lock_is_held_while_the_documents_are_rendered(dept, app, login, db_url, monkeypatch):
    report = submitted(dept)
    # A number already taken this year: its row exists and could be locked.
    db.session.add(NumberSequence(agency_id=dept.agency.id, year=2099, last_number=3))
    db.session.commit()
    probe, close = _lock_probe(db_url, report.id)
    probes = []
    real_cms, real_pdf = interrupted.finish_cms, pdfmod.docx_to_pdf

    def cms(*args, **kwargs):
        probe()
        probes.append("cms")
        return real_cms(*args, **kwargs)

    def to_pdf(*args, **kwargs):
        probe()
        probes.append("pdf")
        return real_pdf(*args, **kwargs)

    monkeypatch.setattr(interrupted, "finish_cms", cms)
    monkeypatch.setattr(pdfmod, "docx_to_pdf", to_pdf)
    client = login(dept.director)
    try:
        response = client.post(
            f"/bao-cao/{report.id}/thao-tac/sign",
            data={"version": report.version},
            follow_redirects=True,
        )
    finally:
        close()
    assert "Đã ký báo cáo số 01/BC-SXD." in response.get_data(as_text=True)
    assert "cms" in probes  # the probe ran (and raised nothing) during the rendering
    assert db.session.get(Report, report.id).number_symbol == "01/BC-SXD"


def _second_submitted_report(dept) -> Report:
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
    report = ops.compile_report(campaign2, actor=dept.office)
    ops.submit_report(
        report, actor=dept.chief, signer=dept.director, expected_version=report.version
    )
    db.session.commit()
    return report


def test_a_number_taken_meanwhile_is_rendered_again(dept, app, monkeypatch):
    first, second = submitted(dept), _second_submitted_report(dept)
    director_id, second_id = dept.director.id, second.id
    real_cms = interrupted.finish_cms
    calls, errors = [], []

    def sign_second_in_another_request():
        with app.app_context():
            try:
                director = db.session.get(User, director_id)
                report = db.session.get(Report, second_id)
                svc = services_for(app, director, report.campaign.agency, make_pdf=False)
                ops.sign_report(
                    report,
                    actor=director,
                    services=svc,
                    expected_version=report.version,
                    now=SIGNED_AT,
                )
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - asserted below
                errors.append(exc)
            finally:
                db.session.remove()

    def cms(data, *args, **kwargs):
        calls.append(data)
        if len(calls) == 1:  # the first report is being rendered with 01: the second takes 01
            thread = threading.Thread(target=sign_second_in_another_request)
            thread.start()
            thread.join(60)
        return real_cms(data, *args, **kwargs)

    monkeypatch.setattr(interrupted, "finish_cms", cms)
    signed_report(dept, app, report=first)
    assert not errors, errors
    db.session.expire_all()
    assert db.session.get(Report, second_id).number_symbol == "01/BC-SXD"
    first = db.session.get(Report, first.id)
    assert first.number_symbol == "02/BC-SXD" and first.number == 2
    assert len(calls) == 3  # first (01, discarded), second (01), first again (02)
    final = docx_text(db.session.get(Blob, first.final_docx_sha256).data)
    assert "02/BC-SXD" in final and "01/BC-SXD" not in final
    assert db.session.scalars(select(NumberSequence.last_number)).one() == 2


def test_a_failed_signature_leaves_no_gap(dept, app, monkeypatch):
    report = submitted(dept)

    def broken(*args, **kwargs):
        raise pdfmod.PdfConversionError("LibreOffice dừng giữa chừng")

    monkeypatch.setattr(pdfmod, "docx_to_pdf", broken)
    svc = services_for(app, dept.director, dept.agency, make_pdf=True)
    with pytest.raises(pdfmod.PdfConversionError):
        ops.sign_report(report, actor=dept.director, services=svc, expected_version=report.version)
    db.session.rollback()
    assert ops.peek_next_number(dept.agency.id, 2023) == 1
    assert db.session.get(Report, report.id).state == ReportState.SUBMITTED
    ops.sign_report(
        report,
        actor=dept.director,
        services=replace(svc, make_pdf=False),
        expected_version=report.version,
        now=SIGNED_AT,
    )
    db.session.commit()
    assert report.number_symbol == "01/BC-SXD"


def test_compile_from_a_stale_page_is_a_conflict(dept, app, monkeypatch):
    report = ops.compile_report(dept.campaign, actor=dept.office, expected_version=0)
    db.session.commit()
    with pytest.raises(Conflict, match="vừa được tổng hợp"):
        ops.compile_report(dept.campaign, actor=dept.office, expected_version=0)
    db.session.rollback()
    with pytest.raises(Conflict):
        ops.compile_report(dept.campaign, actor=dept.office, expected_version=report.version - 1)
    db.session.rollback()
    ops.compile_report(dept.campaign, actor=dept.office, expected_version=report.version)
    db.session.commit()
    # Should a second open report ever be inserted, the unique index refuses it: a Conflict,
    # and the transaction stays usable.
    monkeypatch.setattr(ops, "_open_report_stmt", lambda campaign: select(Report).where(false()))
    with pytest.raises(Conflict, match="vừa được tổng hợp"):
        ops.compile_report(dept.campaign, actor=dept.office)
    assert db.session.query(Report).count() == 1
    db.session.rollback()


def test_database_conflicts_are_a_409_not_a_500(app_config):
    app = create_app(app_config)

    def stale():
        raise StaleDataError("UPDATE statement on table 'report' expected to update 1 row(s)")

    def duplicate():
        raise IntegrityError("INSERT INTO register_entry …", {}, Exception("UNIQUE"))

    app.add_url_rule("/_stale", view_func=stale)
    app.add_url_rule("/_duplicate", view_func=duplicate)
    client = app.test_client()
    for path in ("/_stale", "/_duplicate"):
        response = client.get(path)
        assert response.status_code == 409
        assert STALE_MESSAGE in response.get_data(as_text=True)


# --- The login throttle -----------------------------------------------------------------------


def _fail_login(client, username: str, **headers) -> int:
    data = {"username": username, "password": "sai-mat-khau"}
    return client.post("/dang-nhap", data=data, headers=headers).status_code


@pytest.mark.parametrize("hops", [0, 1])
def test_the_address_throttle_trusts_x_forwarded_for_only_behind_a_proxy(world, app_config, hops):
    app = create_app({**app_config, "PROXY_FIX_X_FOR": hops})
    client = app.test_client()
    with app.app_context():
        assert _fail_login(client, "cv.a", **{"X-Forwarded-For": "203.0.113.7"}) == 401
        keys = {row.key for row in db.session.scalars(select(RateCounter))}
        db.session.remove()
    expected = "login:addr:203.0.113.7" if hops else "login:addr:127.0.0.1"
    assert keys == {"login:user:cv.a", expected}


def test_the_proxy_setting_comes_from_the_environment(app_config, monkeypatch):
    monkeypatch.setenv("DANVAN_PROXY_FIX_X_FOR", "2")
    assert create_app(app_config).config["PROXY_FIX_X_FOR"] == 2


def test_failed_logins_take_as_long_for_unknown_and_inactive_accounts(world, app):
    app.config["LOGIN_MAX_FAILURES"] = 100
    inactive = _deactivate(world.staff_b)
    client = app.test_client()
    _fail_login(client, "khong-ton-tai-0")  # computes the dummy hash once

    # Interleaved rounds, so that a load spike on a busy machine slows every kind alike.
    names = {"known": "cv.a", "unknown": "khong-ton-tai", "inactive": inactive}
    times: dict[str, list[float]] = {kind: [] for kind in names}
    for _ in range(7):
        for kind, username in names.items():
            started = time.perf_counter()
            assert _fail_login(client, username) == 401
            times[kind].append(time.perf_counter() - started)
    known, unknown, deactivated = (statistics.median(times[kind]) for kind in names)
    print(
        f"failed login: known {known:.3f} s, unknown {unknown:.3f} s, inactive {deactivated:.3f} s"
    )
    for other in (unknown, deactivated):
        assert 0.5 < other / known < 2, (known, unknown, deactivated)


def _deactivate(user: User) -> str:
    user.active = False
    db.session.commit()
    return user.username


def test_a_successful_login_clears_the_account_count(world, client, app):
    for _ in range(3):
        assert _fail_login(client, "cv.a") == 401
    response = client.post("/dang-nhap", data={"username": "cv.a", "password": PASSWORD})
    assert response.status_code == 302
    counts = {row.key: row.count for row in db.session.scalars(select(RateCounter))}
    # The account starts again; the address keeps its failures, not the successful attempt.
    assert counts == {"login:addr:127.0.0.1": 3}


def test_entry_state_is_untouched_by_the_upload_lock(world, app):
    entry = entry_ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    db.session.commit()
    version = entry.version
    entry_ops.add_attachment(
        entry, actor=world.staff_a, filename="a.png", data=PNG, max_bytes=10**6, max_files=10
    )
    db.session.commit()
    entry = db.session.get(Entry, entry.id)
    assert entry.version == version and entry.state == EntryState.DRAFT
