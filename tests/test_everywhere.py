"""Issue 7, "everywhere": what a new user meets on every page.

Filters offer only the units one may see; dates show from–to; empty values show "—"; the
campaign page after the report is sent says so, and its figures are its table's; flash
messages name what was acted on; the demo data's dates and observances fit their year.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from danvan import queries
from danvan.extensions import db
from danvan.models import Campaign, Delegation, Entry
from danvan.operations import entries as ops
from danvan.operations import reports as report_ops
from danvan.seed import (
    ACTIVITIES,
    OBSERVANCE_NAMES,
    PAST_ENTRIES_PER_UNIT,
    UNITS,
    ban_dan_van,
    seed_demo,
)
from danvan.text import utcnow
from danvan.web import format_date_range, or_dash
from danvan.workflow import EntryAction, EntryState
from tests.factories import SIGNED_AT, services_for, submitted


def submit(world, author, **fields) -> Entry:
    entry = ops.create_entry(world.campaign, actor=author, fields=world.entry_fields(**fields))
    ops.act(entry, EntryAction.SUBMIT, actor=author)
    return entry


def unit_options(page: str) -> list[str]:
    """The names offered by the "Đơn vị" filter (empty when the filter is not shown)."""
    select = re.search(r'<select[^>]*id="don_vi".*?</select>', page, re.S)
    if not select:
        return []
    return re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>', select.group(0))


# --- Filters: only the units one may see -----------------------------------------------------


def test_filter_units_follow_visibility(world):
    delegate = world.staff_a2
    db.session.add(
        Delegation(
            head_id=world.head_b.id,
            delegate_id=delegate.id,
            unit_id=world.unit_b.id,
            starts_at=utcnow() - timedelta(days=1),
            ends_at=utcnow() + timedelta(days=1),
        )
    )
    db.session.commit()
    everyone = [world.office_unit, world.unit_a, world.unit_b]
    assert queries.filter_units(world.head_a) == [world.unit_a]
    assert queries.filter_units(world.staff_b) == [world.unit_b]
    assert queries.filter_units(delegate) == [world.unit_a, world.unit_b]
    for overseer in (world.office, world.chief, world.director, world.clerk, world.admin):
        assert queries.filter_units(overseer) == everyone, overseer.username


@pytest.mark.parametrize("path", ["/viec-can-xu-ly", "/hoat-dong"])
def test_unit_filter_lists_only_visible_units(world, login, path):
    delegate = world.staff_a2
    db.session.add(
        Delegation(
            head_id=world.head_b.id,
            delegate_id=delegate.id,
            unit_id=world.unit_b.id,
            starts_at=utcnow() - timedelta(days=1),
            ends_at=utcnow() + timedelta(days=1),
        )
    )
    db.session.commit()
    # A head of one unit has nothing to choose: no filter, and no other unit's name.
    page = login(world.head_a).get(path).get_data(as_text=True)
    assert unit_options(page) == [] and 'id="don_vi"' not in page
    assert world.unit_b.name not in page
    # Acting for a second unit: those two.
    page = login(delegate).get(path).get_data(as_text=True)
    assert unit_options(page) == [world.unit_a.name, world.unit_b.name]
    # Văn phòng sees every unit's entries, so every unit is offered.
    page = login(world.office).get(path).get_data(as_text=True)
    assert unit_options(page) == ["Văn phòng Sở", world.unit_a.name, world.unit_b.name]


# --- Dates from–to, "—" for empty values ------------------------------------------------------


def test_date_range_and_dash_filters():
    assert format_date_range(date(2023, 10, 12), date(2023, 10, 14)) == "12/10/2023 - 14/10/2023"
    assert format_date_range(date(2023, 10, 12), date(2023, 10, 12)) == "12/10/2023"
    assert format_date_range(date(2023, 10, 12), None) == "12/10/2023"
    assert format_date_range(None, None) == "—"
    assert [or_dash(v) for v in (None, "", "  ", "Lưu: VT", 0)] == ["—", "—", "—", "Lưu: VT", 0]


@pytest.mark.parametrize("path", ["/viec-can-xu-ly", "/hoat-dong"])
def test_time_column_shows_from_to(world, login, path):
    for title, last in (("Hội nghị ba ngày", date(2023, 10, 14)), ("Buổi sáng", None)):
        entry = submit(world, world.staff_a, title=title, date_to=last or date(2023, 10, 12))
        ops.act(entry, EntryAction.APPROVE, actor=world.head_a)
    db.session.commit()
    page = login(world.office).get(path).get_data(as_text=True)
    cells = re.findall(r'<td class="text-nowrap"[^>]*>([^<]+)</td>', page)
    assert sorted(cells) == ["12/10/2023", "12/10/2023 - 14/10/2023"], cells


def test_empty_values_show_a_dash(world, login):
    submit(world, world.staff_a, amount_vnd=None)
    db.session.commit()
    page = login(world.office).get("/hoat-dong").get_data(as_text=True)
    assert '<td class="text-end">—</td>' in page  # no amount
    page = login(world.admin).get("/ca-nhan").get_data(as_text=True)
    assert re.search(r"Đơn vị</dt><dd[^>]*>—</dd>", page)  # no unit


# --- The campaign page: after issue, and figures that agree with the table --------------------


@pytest.fixture
def issued(dept, app):
    """The report signed and issued (no LibreOffice: .docx + .p7s)."""
    report = submitted(dept)
    for actor, operation in ((dept.director, "sign_report"), (dept.clerk, "issue_report")):
        getattr(report_ops, operation)(
            report,
            actor=actor,
            expected_version=report.version,
            now=SIGNED_AT,
            services=services_for(app, actor, dept.agency, make_pdf=False),
        )
    db.session.commit()
    return report


def figures(page: str) -> tuple[int, dict[str, int], list[int]]:
    """The header's total and per-state figures, and the table's "Tổng cộng" row."""
    total = int(re.search(r'id="entry-total">(\d+) hồ sơ<', page).group(1))
    header = re.search(r'id="entry-figures">(.*?)</ul>', page, re.S).group(1)
    by_state = {k: int(v) for k, v in re.findall(r"<li[^>]*>([^<:]+): <strong>(\d+)<", header)}
    footer = re.search(r"<tfoot.*?</tfoot>", page, re.S).group(0)
    row = [int(n) if n.isdigit() else 0 for n in re.findall(r">(\d+|—)</td>", footer)]
    return total, by_state, row


def test_campaign_page_after_issue_says_the_report_was_sent(issued, dept, login):
    for user in (dept.office, dept.staff_a):
        page = login(user).get(f"/ke-hoach/{dept.campaign.id}").get_data(as_text=True)
        assert re.search(r"Đã gửi báo cáo số (<a [^>]+>)?01/BC-SXD(</a>)? ngày 03/11/2023", page)
        assert "quá hạn" not in page and "text-bg-danger" not in page
    # Nothing is left to compile, so Văn phòng is not offered an empty second report.
    page = login(dept.office).get(f"/ke-hoach/{dept.campaign.id}").get_data(as_text=True)
    assert "Tổng hợp báo cáo" not in page
    total, by_state, row = figures(page)
    assert total == row[-1] == sum(row[:-1]) == 3
    assert by_state == {"Đã ký": 3}


def test_campaign_figures_are_the_tables_and_leave_private_entries_out(world, login):
    submit(world, world.staff_a, title="Đã gửi 1")
    approved = submit(world, world.staff_b, title="Đã gửi 2")
    ops.act(approved, EntryAction.APPROVE, actor=world.head_b)
    ops.act(approved, EntryAction.APPROVE, actor=world.office)
    ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())  # draft
    withdrawn = submit(world, world.staff_b, title="Rút lại")
    ops.act(withdrawn, EntryAction.WITHDRAW, actor=world.staff_b)
    db.session.commit()
    page = login(world.office).get(f"/ke-hoach/{world.campaign.id}").get_data(as_text=True)
    total, by_state, row = figures(page)
    assert total == row[-1] == sum(row[:-1]) == 2
    assert by_state == {"Chờ Trưởng phòng duyệt": 1, "Đã duyệt": 1}
    assert "Nháp</th>" not in page and "Đã rút lại</th>" not in page
    assert "còn" in page or "quá hạn" in page  # no report sent yet: the deadline badge
    assert "Tổng hợp báo cáo" in page  # an approved entry waits to be compiled
    # A staff member's table links only to the units whose entries they may see.
    page = login(world.staff_a).get(f"/ke-hoach/{world.campaign.id}").get_data(as_text=True)
    assert f"don_vi={world.unit_a.id}" in page and f"don_vi={world.unit_b.id}" not in page


def test_campaign_page_queries_do_not_grow_with_entries(world, login, count_queries):
    client = login(world.office)
    url = f"/ke-hoach/{world.campaign.id}"
    submit(world, world.staff_a)
    db.session.commit()
    with count_queries() as few:
        assert client.get(url).status_code == 200
    for i in range(15):
        submit(world, world.staff_b if i % 2 else world.staff_a, title=f"Hoạt động {i}")
    db.session.commit()
    with count_queries() as many:
        assert client.get(url).status_code == 200
    assert many.n == few.n, (few.n, many.n)


# --- Flash messages name what was acted on ----------------------------------------------------


def test_bulk_approval_names_the_entries(world, login):
    entries = [submit(world, world.staff_a, title=f"Hoạt động số {i}") for i in range(7)]
    db.session.commit()
    client = login(world.head_a)
    data = {"entry_ids": [str(e.id) for e in entries[:2]]}
    data.update({f"v_{e.id}": str(e.version) for e in entries})
    page = client.post("/viec-can-xu-ly/duyet-nhieu", data=data, follow_redirects=True)
    text = page.get_data(as_text=True)
    assert "Đã duyệt 2 hồ sơ: “Hoạt động số 0 (QLXD)”, “Hoạt động số 1 (QLXD)”." in text
    data["entry_ids"] = [str(e.id) for e in entries[2:]]
    text = client.post("/viec-can-xu-ly/duyet-nhieu", data=data, follow_redirects=True).get_data(
        as_text=True
    )
    names = ", ".join(f"“Hoạt động số {i} (QLXD)”" for i in range(2, 7))
    assert f"Đã duyệt 5 hồ sơ: {names}." in text
    # Sent again (a stale page): refused, and the refusal names the entry too.
    data["entry_ids"] = [str(entries[0].id)]
    text = client.post("/viec-can-xu-ly/duyet-nhieu", data=data, follow_redirects=True).get_data(
        as_text=True
    )
    assert "“Hoạt động số 0 (QLXD)”: " in text


def test_bulk_approval_of_many_says_how_many_more(world, login):
    entries = [submit(world, world.staff_a, title=f"Việc {i}") for i in range(8)]
    db.session.commit()
    data = {"entry_ids": [str(e.id) for e in entries]}
    data.update({f"v_{e.id}": str(e.version) for e in entries})
    text = (
        login(world.head_a)
        .post("/viec-can-xu-ly/duyet-nhieu", data=data, follow_redirects=True)
        .get_data(as_text=True)
    )
    assert re.search(
        r"Đã duyệt 8 hồ sơ: (“Việc \d \(QLXD\)”, ){4}“Việc 4 \(QLXD\)” và 3 hồ sơ khác\.", text
    )


def test_compiling_names_the_campaign_and_the_entries(dept, login):
    client = login(dept.office)
    page = client.get(f"/ke-hoach/{dept.campaign.id}").get_data(as_text=True)
    assert "Tổng hợp báo cáo" in page
    text = client.post(
        f"/ke-hoach/{dept.campaign.id}/tong-hop", data={"version": "0"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "Đã tổng hợp báo cáo năm 2023 từ 3 hồ sơ đã duyệt." in text


# --- Demo data that makes sense for its year ---------------------------------------------------

YEARS = re.compile(r"\b(?:19|20)\d{2}\b")


@pytest.fixture
def demo(app):
    objects = seed_demo(config={})  # no report: the entries and observances are what count
    db.session.commit()
    return objects


def test_demo_dates_and_observances_belong_to_their_year(demo):
    campaigns = list(db.session.scalars(db.select(Campaign)))
    assert {c.year for c in campaigns} == {2023, demo["current"].year}
    for campaign in campaigns:
        assert all(o.day.year == campaign.year for o in campaign.observances)
        founded = {o.founding_year for o in campaign.observances if o.founding_year}
        for entry in db.session.scalars(db.select(Entry).filter_by(campaign_id=campaign.id)):
            assert campaign.contains(entry.date_from) and campaign.contains(entry.date_to)
            assert entry.date_from <= entry.date_to
            text = " ".join([entry.title, entry.result or "", entry.gifts or ""])
            assert set(map(int, YEARS.findall(text))) <= {campaign.year} | founded, text
            if entry.observance is None:
                continue
            assert entry.observance.campaign_id == campaign.id
            # Held for the day: on it or in the days just before it.
            assert timedelta(0) <= entry.observance.day - entry.date_to <= timedelta(days=3)
            for n in re.findall(r"kỷ niệm (\d+) năm", text):
                assert int(n) == entry.observance.anniversary, text


def test_demo_activities_answer_the_observance_of_their_subject(demo):
    expected = {
        a["title"].split("{")[0][:30]: OBSERVANCE_NAMES.get(a.get("observance")) for a in ACTIVITIES
    }
    entries = list(db.session.scalars(db.select(Entry)))
    past_entries = sum(not is_office for _, _, is_office in UNITS) * PAST_ENTRIES_PER_UNIT
    assert len(entries) > past_entries  # the current campaign's too
    for entry in entries:
        [wanted] = [name for start, name in expected.items() if entry.title.startswith(start)]
        assert (entry.observance.name if entry.observance else None) == wanted, entry.title
    reception = [e for e in entries if e.title.startswith("Tiếp công dân")]
    assert reception and all(e.observance is None for e in reception)
    poverty = [e for e in entries if "người nghèo" in e.title]
    assert poverty and all(e.observance.name == "Ngày vì người nghèo" for e in poverty)
    models = [e for e in entries if e.model_name]
    assert models and all("thủ tục" in e.title for e in models)


def test_demo_reports_go_to_the_body_of_their_year(demo):
    assert demo["past"].report_recipient == "Ban Dân vận Tỉnh ủy"
    assert ban_dan_van(2025) == "Ban Tuyên giáo và Dân vận Tỉnh ủy"
    assert demo["current"].report_recipient == ban_dan_van(demo["current"].year)
    assert demo["current"].recipient_lines[0] == demo["current"].report_recipient


def test_demo_entries_reach_every_state(demo):
    states = {e.state for e in db.session.scalars(db.select(Entry))}
    assert states >= {s.value for s in EntryState} - {EntryState.SIGNED.value}
