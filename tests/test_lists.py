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
    """The autogenerate check, with the search index's and the queue's objects left out (as env.py)."""
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
