"""Lists at province scale: pagination that keeps the filters, bulk approval of everything that
matches across pages, queries ordered on an index, and search on an index (SQLite FTS5,
PostgreSQL pg_trgm) giving the same entries as fold() in Python, on both databases."""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta

import pytest
from sqlalchemy import insert, select, text

from danvan import queries, search
from danvan.extensions import db
from danvan.models import Entry
from danvan.operations import entries as ops
from danvan.pagination import Page, page_args
from danvan.text import fold
from danvan.workflow import EntryAction

# --- seeding -------------------------------------------------------------------------------


def waiting_template(world, author=None) -> dict:
    """Column values of an entry submitted by ``author`` (waiting at its unit's head)."""
    author = author or world.staff_a
    entry = ops.create_entry(world.campaign, actor=author, fields=world.entry_fields())
    ops.act(entry, EntryAction.SUBMIT, actor=author)
    db.session.commit()
    skip = {"id", "form_token"}
    return {c.key: getattr(entry, c.key) for c in Entry.__table__.columns if c.key not in skip}


def seed(template: dict, titles: list[str]) -> None:
    """Bulk-insert one entry per title (the FTS triggers index them as the ORM's would)."""
    rows = []
    for i, title in enumerate(titles):
        row = dict(template, title=title, search_text=fold(f"{title} {template['place']}"))
        row["updated_at"] = template["updated_at"] + timedelta(seconds=i + 1)
        row["date_from"] = row["date_to"] = template["date_from"] + timedelta(days=i % 20)
        rows.append(row)
    db.session.execute(insert(Entry), rows)
    db.session.commit()


def page_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-entry-id="(\d+)"', html)]


# --- pagination ----------------------------------------------------------------------------


def test_page_arithmetic_and_bounds():
    page = Page(items=list(range(50)), total=1234, page=2, per_page=50)
    assert (page.pages, page.first, page.last, page.has_prev, page.has_next) == (
        25,
        51,
        100,
        True,
        True,
    )
    assert page.links() == [1, 2, 3, 4, None, 25]
    assert Page([], 0, 1, 50).pages == 1 and Page([], 0, 1, 50).first == 0
    assert page_args({}) == (1, 50)
    assert page_args({"trang": "3", "so_dong": "20"}) == (3, 20)
    assert page_args({"so_dong": "5"}) == (1, 10)  # below the bound: the bound
    assert page_args({"so_dong": "5000"}) == (1, 200)
    assert page_args({"trang": "abc", "so_dong": "-1"}) == (1, 50)
    assert page_args({"trang": "0"}) == (1, 50)
    assert page_args({"trang": "9" * 40}) == (1, 50)


def test_inbox_pages_keep_filters_and_totals(world, login):
    template = waiting_template(world)
    seed(template, [f"Tuyên truyền dân vận số {i}" for i in range(119)])
    seed(template, ["Việc khác"] * 5)
    client = login(world.head_a)
    html = client.get("/viec-can-xu-ly?q=dan+van&so_dong=50").get_data(as_text=True)
    # 119 seeded + the template's own "Hội nghị tuyên truyền công tác dân vận"
    assert "Hiển thị 1–50 trong 120 hồ sơ" in html
    assert len(page_ids(html)) == 50
    links = set(re.findall(r'href="(/viec-can-xu-ly\?[^"]+)"', html))
    assert "/viec-can-xu-ly?q=dan+van&amp;so_dong=50&amp;trang=2" in links
    assert "/viec-can-xu-ly?q=dan+van&amp;so_dong=50&amp;trang=3" in links
    html3 = client.get("/viec-can-xu-ly?q=dan+van&trang=3").get_data(as_text=True)
    assert "Hiển thị 101–120 trong 120 hồ sơ" in html3
    # A page past the end shows the last page.
    html_far = client.get("/viec-can-xu-ly?q=dan+van&trang=99").get_data(as_text=True)
    assert page_ids(html_far) == page_ids(html3)
    # Pages do not overlap and cover every entry once, oldest first.
    all_ids = []
    for n in (1, 2, 3):
        all_ids += page_ids(client.get(f"/viec-can-xu-ly?q=dan+van&trang={n}").get_data(True))
    assert len(all_ids) == len(set(all_ids)) == 120
    assert all_ids == [e.id for e in queries.entry_inbox(world.head_a, text="dan van")]
    small = client.get("/viec-can-xu-ly?so_dong=3").get_data(as_text=True)
    assert len(page_ids(small)) == 10  # so_dong below 10 is 10
    assert "Hiển thị 1–10 trong 125 hồ sơ" in small


def test_entry_list_pages_and_exports_whole_set(world, login):
    template = waiting_template(world)
    seed(template, [f"Hoạt động {i}" for i in range(59)])
    client = login(world.office)
    html = client.get("/hoat-dong?so_dong=10&trang=6").get_data(as_text=True)
    assert "Hiển thị 51–60 trong 60 hồ sơ" in html
    assert html.count('href="/hoat-dong/') >= 10
    href = re.search(r'id="export-csv" href="([^"]+)"', html).group(1)
    csv = client.get(href.replace("&amp;", "&"))
    assert csv.status_code == 200
    body = csv.get_data(as_text=True)
    assert body.count("Hoạt động ") >= 59  # every entry, not one page


def test_admin_lists_page(world, login):
    from tests.factories import create_user

    for i in range(60):
        create_user(f"nd{i:03d}", world.unit_a, full_name=f"Người dùng thử {i:03d}")
    db.session.commit()
    client = login(world.admin)
    html = client.get("/quan-tri/nguoi-dung?so_dong=25&trang=2").get_data(as_text=True)
    assert "Hiển thị 26–50 trong" in html
    html = client.get("/quan-tri/nguoi-dung?q=nguoi+dung+thu&trang=3").get_data(as_text=True)
    assert "Hiển thị 51–60 trong 60 người dùng" in html
    assert "q=nguoi+dung+thu&amp;trang=1" in html  # the last page (2) links back to 1
    units = client.get("/quan-tri/don-vi").get_data(as_text=True)
    assert "3 đơn vị" in units and "Hiển thị 1–3 trong 3 đơn vị" in units


def test_inbox_query_count_does_not_grow(world, login, count_queries):
    template = waiting_template(world)
    seed(template, [f"Hoạt động {i}" for i in range(59)])
    client = login(world.head_a)
    client.get("/viec-can-xu-ly")  # warm up
    with count_queries() as small:
        assert client.get("/viec-can-xu-ly").status_code == 200
    seed(template, [f"Hoạt động thêm {i}" for i in range(540)])
    with count_queries() as large:
        html = client.get("/viec-can-xu-ly").get_data(as_text=True)
    assert "trong 600 hồ sơ" in html
    assert large.n == small.n


def test_header_count_shows_99_plus(world, login):
    template = waiting_template(world)
    client = login(world.head_a)
    badge = re.compile(r'id="todo-count">([^<]+)<')
    assert badge.search(client.get("/viec-can-xu-ly").get_data(as_text=True)).group(1) == "1"
    seed(template, [f"Hoạt động {i}" for i in range(150)])
    assert badge.search(client.get("/viec-can-xu-ly").get_data(as_text=True)).group(1) == "99+"
    assert queries.todo_count(world.head_a) == 100  # counted up to 100, no further


# --- bulk approval across pages ------------------------------------------------------------


def test_approve_all_matching_across_pages(world, login):
    template = waiting_template(world)
    seed(template, [f"Tuyên truyền dân vận {i}" for i in range(119)])
    seed(template, ["Việc khác"] * 7)
    seed(waiting_template(world, world.staff_b), ["Dân vận ở Thanh tra"] * 3)  # not head_a's
    client = login(world.head_a)
    html = client.get("/viec-can-xu-ly?q=dan+van").get_data(as_text=True)
    assert "Chọn tất cả 120 hồ sơ phù hợp" in html
    form = re.search(r'<form[^>]+id="bulk-all-form".*?</form>', html, re.S).group(0)
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form))
    assert fields["q"] == "dan van" and fields["so_luong"] == "120"
    # One row the user saw on the page changed meanwhile: its version check refuses it.
    stale_id = page_ids(html)[0]
    stale = db.session.get(Entry, stale_id)
    stale.last_comment = "đổi"
    db.session.commit()
    response = client.post("/viec-can-xu-ly/duyet-tat-ca", data=fields)
    assert response.status_code == 303
    assert "q=dan+van" in response.headers["Location"]
    shown = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Đã duyệt 119 hồ sơ" in shown
    assert "Hồ sơ đã được người khác thay đổi" in shown or shown.count("alert-warning") >= 1
    db.session.expire_all()
    titles = dict(db.session.execute(select(Entry.id, Entry.title)).all())
    still_head = {e.id for e in queries.entry_inbox(world.head_a)}
    assert still_head == {stale_id} | {i for i, t in titles.items() if t == "Việc khác"}
    assert len(queries.entry_inbox(world.office)) == 119  # now at the office step


def test_approve_all_refuses_when_more_match_than_shown(world, login):
    template = waiting_template(world)
    seed(template, [f"Hoạt động {i}" for i in range(60)])
    client = login(world.head_a)
    html = client.get("/viec-can-xu-ly").get_data(as_text=True)
    form = re.search(r'<form[^>]+id="bulk-all-form".*?</form>', html, re.S).group(0)
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form))
    seed(template, ["Hồ sơ mới đến"])
    response = client.post("/viec-can-xu-ly/duyet-tat-ca", data=fields)
    assert "Danh sách đã thay đổi" in client.get(response.headers["Location"]).get_data(True)
    assert len(queries.entry_inbox(world.head_a)) == 62


# --- search on an index --------------------------------------------------------------------

SEARCH_TITLES = [
    "Hội nghị dân vận khéo",
    "DÂN VẬN chính quyền",
    "Dân chủ cơ sở",
    "Vận động nhân dân",
    "Đoàn thanh niên tình nguyện",
    "100% cán bộ tham gia",
    "Mô hình a_b thử nghiệm",
    'Trích dẫn "dân vận" đúng',
    "Nhà văn hóa thôn O'Neil",
    "Dọn vệ sinh đường làng",
    "Tập huấn kỹ năng",
    "Dân vận khéo ở xã",
]
QUERIES = [
    "dan van",
    "DÂN VẬN",
    "dân",
    unicodedata.normalize("NFD", "dân vận"),
    "%",
    "_",
    "a_b",
    "100%",
    '"dân vận"',
    '"',
    "o'neil",
    "khong co gi ca",
    "van khéo",
    "an",
    "d",
    "đ",
    "thon o",
    "dan van dan",
]


def test_search_on_index_equals_fold_in_python(world):
    template = waiting_template(world)
    titles = [SEARCH_TITLES[i % len(SEARCH_TITLES)] + f" {i}" for i in range(200)]
    seed(template, titles)
    haystack = dict(db.session.execute(select(Entry.id, Entry.search_text)).all())
    for query in QUERIES:
        words = fold(query).split()
        expected = {i for i, t in haystack.items() if all(w in t for w in words)}
        stmt = queries.search_entries_stmt(text=query)
        got = {e.id for e in db.session.scalars(stmt).unique()}
        assert got == expected, query
    # The index follows updates and deletes (the triggers on SQLite).
    entry = db.session.scalars(select(Entry).where(Entry.title.like("Dọn%"))).first()
    entry.title = "Trồng cây xanh"
    entry.refresh_search_text()
    db.session.commit()
    found = {e.id for e in db.session.scalars(queries.search_entries_stmt(text="trong cay"))}
    assert found == {entry.id}
    db.session.delete(entry)
    db.session.commit()
    assert not list(db.session.scalars(queries.search_entries_stmt(text="trong cay")))


# --- ordered on an index -------------------------------------------------------------------


def _plan(stmt) -> str:
    conn = db.session.connection()
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    if conn.dialect.name == "sqlite":
        params = [compiled.params[k] for k in compiled.positiontup]
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), tuple(params))
        return "\n".join(r[3] for r in rows)
    rows = conn.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params)
    return "\n".join(r[0] for r in rows)


def _no_full_scan(plan: str) -> None:
    lines = plan.splitlines()
    assert not [ln for ln in lines if re.fullmatch(r"\s*SCAN entry", ln.strip())], plan
    assert not [ln for ln in lines if "Seq Scan on entry " in ln + " "], plan


@pytest.fixture
def many_entries(world, owner_url):
    template = waiting_template(world)
    # As in a province: a few waiting for one head among many entries in every state.
    seed(template, [f"Tuyên truyền dân vận {i}" for i in range(150)])
    for state, count in (("approved", 1200), ("signed", 1200), ("draft", 400), ("withdrawn", 50)):
        other = dict(template, state=state, step=None, step_kind=None)
        seed(other, [f"Hoạt động {state} {i}" for i in range(count)])
    for kind, count in (("office", 300), ("office_chief", 100), ("deputy", 100)):
        seed(dict(template, step=1, step_kind=kind), [f"Chờ {kind} {i}" for i in range(count)])
    seed(dict(template, state="returned", step=None, step_kind=None), ["Trả lại"] * 100)
    db.session.commit()
    if db.engine.dialect.name == "sqlite":
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    else:  # only the tables' owner may ANALYZE them
        from sqlalchemy import create_engine

        owner = create_engine(owner_url)
        with owner.begin() as conn:
            conn.execute(text("ANALYZE"))
        owner.dispose()
    return world


def test_list_queries_use_indexes(many_entries):
    world = many_entries
    campaign_id = world.campaign.id
    inbox = queries.entry_inbox_stmt(world.head_a).limit(50).offset(100)
    _no_full_scan(_plan(inbox))
    listing = queries.search_entries_stmt(visible_to=world.office, campaign_id=campaign_id)
    _no_full_scan(_plan(listing.limit(50)))
    todo = select(Entry.id).where(queries.entry_inbox_filter(world.head_a)).limit(100)
    _no_full_scan(_plan(todo))
    listed = queries.search_entries_stmt(text="tuyen truyen", campaign_id=campaign_id)
    plan = _plan(listed.limit(50))
    if db.engine.dialect.name == "sqlite":
        assert "entry_fts VIRTUAL TABLE INDEX" in plan, plan
    else:
        # On a table this small PostgreSQL rightly prefers a sequential scan; with it off,
        # the plan shows that the trigram index answers LIKE '%word%'.
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = _plan(select(Entry.id).where(search.text_condition("tuyen truyen")))
        assert "ix_entry_search_text_trgm" in plan, plan


def test_schema_matches_models_without_the_search_index(app):
    """The autogenerate check, without the search index's and the queue's objects (as env.py)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from danvan.migration_objects import include_object

    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_object})
        assert compare_metadata(context, db.metadata) == []
        if conn.dialect.name == "sqlite":
            triggers = set(
                conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'")
                .scalars()
                .all()
            )
            assert {"entry_fts_insert", "entry_fts_update", "entry_fts_delete"} <= triggers


# --- what a list page costs ----------------------------------------------------------------


def test_identities_are_asked_again_after_a_write(world):
    """permissions.identities keeps its answers in the session only until a write: a
    delegation made (or a role taken away) is what the very next question sees."""
    from danvan import permissions
    from danvan.models import Role, UserRole
    from danvan.operations import delegations as delegation_ops
    from danvan.text import today_vn

    before = permissions.identities(world.staff_a)
    assert [i.user_id for i in before] == [world.staff_a.id]
    assert permissions.identities(world.staff_a) is before  # asked twice, built once
    delegation_ops.create_delegation(
        world.head_a, world.staff_a, today_vn(), today_vn(), actor=world.head_a
    )
    db.session.commit()
    after = permissions.identities(world.staff_a)
    assert [i.user_id for i in after] == [world.staff_a.id, world.head_a.id]
    row = db.session.scalar(
        select(UserRole).where(UserRole.user_id == world.office.id, UserRole.role == "office")
    )
    assert "office" in permissions.identities(world.office)[0].roles
    world.office.role_rows.remove(row)
    db.session.flush()
    assert Role.OFFICE not in world.office.roles
    assert "office" not in permissions.identities(world.office)[0].roles


def test_search_page_in_one_query_equals_count_and_page(world, login, count_queries):
    """The entry list's search gives the same rows and total when the matches are built
    once (count(*) OVER ()) as with a COUNT and a page, and a page past the end goes to the
    last page."""
    from danvan.pagination import paginate

    template = waiting_template(world)
    seed(template, [SEARCH_TITLES[i % len(SEARCH_TITLES)] + f" {i}" for i in range(120)])
    stmt = queries.search_entries_stmt(visible_to=world.office, text="dan van")
    for number in (1, 2, 3, 99):
        one = paginate(stmt, number, 10, one_query=True, options=queries.list_row_options())
        two = paginate(stmt, number, 10)
        assert [e.id for e in one.items] == [e.id for e in two.items], number
        assert (one.total, one.page) == (two.total, two.page), number
    haystack = db.session.scalars(select(Entry.search_text)).all()
    expected = sum(1 for t in haystack if "dan" in t and "van" in t)
    assert two.total == expected > 30 and two.page == two.pages  # page 99 → the last
    client = login(world.office)
    client.get("/hoat-dong?q=dan+van")
    with count_queries() as searched:
        html = client.get("/hoat-dong?q=dan+van&so_dong=10").get_data(as_text=True)
    with count_queries() as plain:
        client.get("/hoat-dong?so_dong=10")
    assert f"Hiển thị 1–10 trong {expected} hồ sơ" in html
    assert searched.n == plain.n  # keys with the total, then the rows: no extra COUNT


def test_inbox_search_tests_words_on_the_waiting_rows(world, login):
    """The inbox tests the words with LIKE on the rows its index found (no FTS subquery);
    the entries found are those the entry list's indexed search finds among them."""
    template = waiting_template(world)
    seed(template, [SEARCH_TITLES[i % len(SEARCH_TITLES)] + f" {i}" for i in range(60)])
    stmt = queries.entry_inbox_stmt(world.head_a, text="dân vận")
    assert "entry_fts" not in str(stmt.compile(dialect=db.engine.dialect))
    waiting = {e.id for e in db.session.scalars(queries.entry_inbox_stmt(world.head_a))}
    indexed = {e.id for e in db.session.scalars(queries.search_entries_stmt(text="dân vận"))}
    found = {e.id for e in db.session.scalars(stmt)}
    assert found and found == waiting & indexed
    html = login(world.head_a).get("/viec-can-xu-ly?q=dan+van").get_data(as_text=True)
    assert f"Hồ sơ hoạt động ({len(found)})" in html


def test_list_rows_load_what_they_show_in_a_fixed_number_of_queries(world, login, count_queries):
    """50 rows of the entry list and the inbox: unit, campaign, author and approvals each in
    one query, whatever the number of rows (the rest loads only when a row asks)."""
    template = waiting_template(world)
    seed(template, [f"Hoạt động {i}" for i in range(10)])
    client = login(world.office)
    counts = {}
    for rows in (10, 60):
        if rows == 60:
            seed(
                dict(template, unit_id=world.unit_b.id, author_id=world.staff_b.id),
                [f"Hoạt động B {i}" for i in range(50)],
            )
        client.get("/hoat-dong?so_dong=50")
        with count_queries() as listed:
            assert client.get("/hoat-dong?so_dong=50").status_code == 200
        head = login(world.head_a)
        head.get("/viec-can-xu-ly")
        with count_queries() as inbox:
            assert head.get("/viec-can-xu-ly").status_code == 200
        counts[rows] = (listed.n, inbox.n)
        client = login(world.office)
    assert counts[10] == counts[60]


def test_entry_list_total_is_counted_on_an_index(many_entries):
    """The entry list's COUNT reads only an index covering campaign, state and author."""
    from danvan.pagination import _count_stmt

    world = many_entries
    listing = queries.search_entries_stmt(visible_to=world.office, campaign_id=world.campaign.id)
    plan = _plan(_count_stmt(listing))
    if db.engine.dialect.name == "sqlite":
        assert "COVERING INDEX ix_entry_campaign_id_state_author_id" in plan, plan
    else:
        # One campaign holds every row here, so PostgreSQL rightly scans the table; with that
        # off it reads an index (index-only once VACUUM has set the visibility map).
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        _no_full_scan(_plan(_count_stmt(listing)))


def test_templates_give_every_inline_if_an_else():
    """``{{ 'selected' if x }}`` makes Jinja's own Undefined, whose escaping raises and catches
    an AttributeError: 200 of them per page for the unit filter. Every inline if has an else."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "templates"
    missing = [
        f"{path.relative_to(root)}: {m.group(0)}"
        for path in root.rglob("*.html")
        for m in re.finditer(r"\{\{[^}]* if [^}]*\}\}", path.read_text(encoding="utf-8"))
        if " else " not in m.group(0)
    ]
    assert missing == []


def test_archive_and_incoming_registers_page(world, login):
    """Lưu trữ and the sổ văn bản đến show 50 rows a page with the total, newest first, and
    the page links keep the search."""
    from datetime import UTC, date, datetime

    from danvan.blobs import store_blob
    from danvan.models import ArchivedDocument, IncomingDocument, Report
    from danvan.models import Role as RoleEnum
    from tests.factories import create_user

    blob = store_blob(b"%PDF-1.7 test").sha256
    for i in range(61):
        report = Report(campaign_id=world.campaign.id, state="issued")
        db.session.add(report)
        db.session.flush()
        subject = f"Báo cáo kết quả dân vận số {i}"
        db.session.add(
            ArchivedDocument(
                agency_id=world.agency.id,
                report_id=report.id,
                number_symbol=f"{i + 1:02d}/BC-SXD",
                year=2023,
                subject=subject,
                subject_folded=fold(subject),
                doc_date=date(2023, 11, 1),
                signer_name="Giám đốc",
                signer_title="GIÁM ĐỐC",
                signed_at=datetime(2023, 11, 1, tzinfo=UTC),
                issued_at=datetime(2023, 11, 1, 1, tzinfo=UTC) + timedelta(minutes=i),
                pdf_sha256=blob,
                docx_sha256=blob,
                p7s_sha256=blob,
            )
        )
        db.session.add(
            IncomingDocument(
                agency_id=world.agency.id,
                year=2023,
                number=i + 1,
                received_at=datetime(2023, 11, 2, 1, tzinfo=UTC) + timedelta(minutes=i),
                sender_organ_id="000.00.00.H23",
                sender_name="Sở Tài chính",
                number_symbol=f"{i + 1:02d}/BC-STC",
                doc_date=date(2023, 11, 1),
                doc_type_name="Báo cáo",
                subject=subject,
                document_key=f"key-{i}",
                package_sha256=blob,
                signatures_valid=True,
            )
        )
    clerk = create_user("vt.trang", None, RoleEnum.CLERK, full_name="Văn thư Trang")
    db.session.commit()
    client = login(clerk)
    archive = client.get("/luu-tru?q=dan+van").get_data(as_text=True)
    assert "Hiển thị 1–50 trong 61 văn bản" in archive
    assert archive.index("61/BC-SXD") < archive.index("60/BC-SXD")  # newest first
    assert "02/BC-SXD" not in archive and "q=dan+van&amp;trang=2" in archive
    second = client.get("/luu-tru?q=dan+van&trang=2").get_data(as_text=True)
    assert "Hiển thị 51–61 trong 61 văn bản" in second and "01/BC-SXD" in second
    incoming = client.get("/van-ban-den?nam=2023&trang=2").get_data(as_text=True)
    assert "Hiển thị 51–61 trong 61 văn bản" in incoming
    assert "Số đến 11<" in incoming and "Số đến 12<" not in incoming
