"""Theo dõi tiến độ: every figure of the oversight page, its permissions and its query count."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from sqlalchemy import event as sa_event

from danvan import oversight
from danvan.extensions import db
from danvan.models import Event, Role, Unit
from danvan.operations import entries as ops
from danvan.permissions import step_actors
from danvan.text import utcnow
from danvan.workflow import EntryAction
from tests.factories import create_campaign, create_user

NOW = utcnow()


@contextmanager
def at_time(moment):
    """History rows written inside are dated ``moment`` (they cannot be changed later: the
    table is append-only), as if the operations had run then."""

    def stamp(session, flush_context, instances):
        for obj in session.new:
            if isinstance(obj, Event) and obj.created_at is None:
                obj.created_at = moment

    session = db.session()
    sa_event.listen(session, "before_flush", stamp)
    try:
        yield
    finally:
        sa_event.remove(session, "before_flush", stamp)


def days_ago(days: float):
    return NOW - timedelta(days=days)


def new_entry(world, campaign, author, *, when, **fields):
    with at_time(when):
        return ops.create_entry(
            campaign, actor=author, fields=fields_for(world, campaign, **fields)
        )


def fields_for(world, campaign, **overrides):
    year = campaign.year
    base = {
        "content_item_id": campaign.content_items[0].id,
        "observance_id": campaign.observances[0].id,
        "date_from": date(year, 10, 12),
        "date_to": date(year, 10, 12),
    }
    base.update(overrides)
    return world.entry_fields(**base)


def step(entry, action, actor, when):
    with at_time(when):
        ops.act(entry, action, actor=actor)


@pytest.fixture
def scene(world):
    """This year (2023) and the year before (2022), with entries at known times.

    - approved: sent 10 days ago, head approved 1 day later, office 12 hours after that;
    - at_head: sent 5 days ago, waiting for the head of Phòng Quản lý xây dựng;
    - at_office: sent 4 days ago, head approved 2 days later, waiting at Văn phòng 2 days;
    - Thanh tra Sở has only a draft; "Phòng Kinh tế" nothing; an inactive unit nothing.
    """
    w = world
    w.unit_c = Unit(agency=w.agency, name="Phòng Kinh tế", abbreviation="KT", position=3)
    w.unit_gone = Unit(
        agency=w.agency, name="Phòng đã giải thể", abbreviation="X", position=4, active=False
    )
    db.session.add_all([w.unit_c, w.unit_gone])
    w.previous = create_campaign(w.agency, 2022)
    w.previous.content_items[1].title = "Công tác an sinh xã hội"  # not in 2023's plan
    db.session.commit()

    w.approved = new_entry(w, w.campaign, w.staff_a, when=days_ago(10.5), title="Đã duyệt")
    step(w.approved, EntryAction.SUBMIT, w.staff_a, days_ago(10))
    step(w.approved, EntryAction.APPROVE, w.head_a, days_ago(9))
    step(w.approved, EntryAction.APPROVE, w.office, days_ago(8.5))

    w.at_head = new_entry(w, w.campaign, w.staff_a2, when=days_ago(6), title="Chờ trưởng phòng")
    step(w.at_head, EntryAction.SUBMIT, w.staff_a2, days_ago(5))

    w.at_office = new_entry(
        w,
        w.campaign,
        w.staff_a,
        when=days_ago(4.5),
        title="Chờ văn phòng",
        content_item_id=w.campaign.content_items[1].id,
        observance_id=None,
    )
    step(w.at_office, EntryAction.SUBMIT, w.staff_a, days_ago(4))
    step(w.at_office, EntryAction.APPROVE, w.head_a, days_ago(2))

    new_entry(w, w.campaign, w.staff_b, when=days_ago(3), title="Nháp")

    for i, people in enumerate([(30, 20), (50, 10)]):
        e = new_entry(
            w,
            w.previous,
            w.staff_a,
            when=days_ago(400),
            title=f"Năm trước {i}",
            participants_officials=people[0],
            participants_citizens=people[1],
        )
        step(e, EntryAction.SUBMIT, w.staff_a, days_ago(399))
        step(e, EntryAction.APPROVE, w.head_a, days_ago(398))
        step(e, EntryAction.APPROVE, w.office, days_ago(397))
    db.session.commit()
    return w


def test_deadline_and_units_without_entries(scene):
    overview = oversight.campaign_overview(scene.campaign, date(2023, 11, 1), now=NOW)
    assert overview.days_left == 4  # deadline 05/11/2023
    assert overview.issued_report is None
    # Drafts do not count; the office and inactive units are not asked.
    assert [(u.name, u.heads) for u in overview.silent_units] == [
        ("Thanh tra Sở", ("Ngô Thị Mai",)),
        ("Phòng Kinh tế", ()),
    ]
    late = oversight.campaign_overview(scene.campaign, date(2023, 11, 8), now=NOW)
    assert late.days_left == -3


def test_entries_waiting_longer_than_n_days_and_whose_desk(scene):
    overview = oversight.campaign_overview(scene.campaign, date(2023, 11, 1), stale_days=3, now=NOW)
    assert overview.waiting_total == 1
    [row] = overview.waiting
    assert (row.entry_id, row.unit_name, row.days) == (
        scene.at_head.id,
        "Phòng Quản lý xây dựng",
        5,
    )
    assert row.state_label == "Chờ Trưởng phòng duyệt"
    assert row.desk == tuple(u.full_name for u in step_actors(scene.at_head)) == ("Vũ Đức Minh",)

    overview = oversight.campaign_overview(scene.campaign, date(2023, 11, 1), stale_days=1, now=NOW)
    assert [w.entry_id for w in overview.waiting] == [scene.at_head.id, scene.at_office.id]
    office_row = overview.waiting[1]
    assert office_row.state_label == "Chờ Văn phòng Sở duyệt"
    assert office_row.days == 2
    expected = tuple(u.full_name for u in step_actors(scene.at_office))
    assert office_row.desk == expected
    assert set(expected) == {"Phạm Thị Lan", "Lê Văn Thắng"}


def test_median_time_per_step(scene):
    overview = oversight.campaign_overview(scene.campaign, date(2023, 11, 1), now=NOW)
    timings = {t.label: t for t in overview.step_timings}
    assert list(timings) == ["Trưởng phòng", "Văn phòng Sở"]
    head = timings["Trưởng phòng"]
    # approved: 1 day at the head; at_office: 2 days; at_head is still waiting (not counted).
    assert head.passes == 2
    assert head.median_seconds == pytest.approx(1.5 * 86400, abs=1)
    assert head.median_text == "1,5 ngày"
    office = timings["Văn phòng Sở"]
    assert (office.passes, office.median_text) == (1, "12 giờ")


def test_per_item_and_observance_beside_previous_year(scene):
    overview = oversight.campaign_overview(scene.campaign, date(2023, 11, 1), now=NOW)
    assert overview.previous.year == 2022
    first, second, only_last_year = overview.by_item
    assert first.label == "Tuyên truyền Ngày truyền thống công tác dân vận"
    assert first.current == oversight.Figures(1, 55, 1_234_500, 0)  # approved entries only
    assert first.previous == oversight.Figures(2, 110, 2_469_000, 0)
    assert first.change("activities") == "\u22121 (\u221250%)"
    assert first.change("participants") == "\u221255 (\u221250%)"
    # at_office waits: not counted; the item is new this year.
    assert second.current == oversight.Figures()
    assert (second.previous, second.note) == (None, "không có ở năm 2022")
    assert second.change("activities") == "—"
    assert (only_last_year.label, only_last_year.current) == ("Công tác an sinh xã hội", None)
    assert only_last_year.note == "chỉ có ở năm 2022"

    by_name = {r.label: r for r in overview.by_observance}
    row = by_name["Ngày truyền thống công tác dân vận"]
    assert (row.current.activities, row.previous.activities) == (1, 2)
    assert by_name["Ngày vì người nghèo"].current == oversight.Figures()

    assert overview.totals == oversight.Figures(1, 55, 1_234_500, 0)
    assert overview.previous_totals == oversight.Figures(2, 110, 2_469_000, 0)
    assert overview.total_change("amount_vnd") == "\u22121.234.500 (\u221250%)"


def test_without_previous_campaign_shows_dashes(world):
    overview = oversight.campaign_overview(world.campaign, date(2023, 10, 20))
    assert overview.previous is None and overview.previous_totals is None
    assert overview.total_change("activities") == "—"
    assert [r.note for r in overview.by_item] == ["", ""]


@pytest.mark.parametrize(
    "value, days", [(None, 3), ("", 3), ("7", 7), ("0", 1), ("999", 60), ("abc", 3)]
)
def test_stale_days_parameter_is_bounded(value, days):
    assert oversight.stale_days_from(value) == days


def test_text_helpers():
    assert oversight.format_duration(None) == "—"
    assert oversight.format_duration(25 * 60) == "25 phút"
    assert oversight.format_duration(6 * 3600) == "6 giờ"
    assert oversight.format_duration(1.5 * 86400) == "1,5 ngày"
    assert oversight.format_change(12, 9) == "+3 (+33,3%)"
    assert oversight.format_change(5, 0) == "+5"
    assert oversight.format_change(4, 4) == "0"
    assert oversight.format_change(4, None) == "—"


def test_page_permissions_and_link(scene, client, login):
    url = f"/ke-hoach/{scene.campaign.id}/theo-doi"
    assert "/dang-nhap" in client.get(url).headers["Location"]
    for user in (scene.staff_a, scene.head_a):
        client = login(user)
        assert client.get(url).status_code == 403
        assert "Theo dõi tiến độ" not in client.get(f"/ke-hoach/{scene.campaign.id}").text
    for user in (scene.office, scene.director, scene.clerk, scene.admin):
        client = login(user)
        page = client.get(url)
        assert page.status_code == 200, user.username
        assert 'id="oversight-link"' in client.get(f"/ke-hoach/{scene.campaign.id}").text
    assert login(scene.office).get("/ke-hoach/9999/theo-doi").status_code == 404


def test_page_shows_the_figures(scene, login):
    page = login(scene.office).get(f"/ke-hoach/{scene.campaign.id}/theo-doi?qua_ngay=1").text
    assert 'id="unit-counts"' in page  # the campaign page's table, reused
    assert "Chờ trưởng phòng" in page and f"/hoat-dong/{scene.at_head.id}" in page
    assert "Vũ Đức Minh" in page and "Ngô Thị Mai" in page
    assert "1,5 ngày" in page and "12 giờ" in page
    assert "1.234.500" in page and "2.469.000" in page
    assert 'role="img"' in page and "2023: 1" in page and "2022: 2" in page
    assert "style=" not in page and "<script>" not in page
    assert 'value="1"' in page  # the threshold as asked
    clamped = login(scene.office).get(f"/ke-hoach/{scene.campaign.id}/theo-doi?qua_ngay=500")
    assert "Hồ sơ chờ duyệt quá 60 ngày" in clamped.text


def test_query_count_does_not_grow_with_units_and_entries(world, login, count_queries):
    """Waiting entries in 3 units, then in 10 (10 distinct desks): the same queries."""
    client = login(world.office)
    url = f"/ke-hoach/{world.campaign.id}/theo-doi?qua_ngay=1"

    def add_units(first, last):
        for n in range(first, last):
            unit = Unit(agency=world.agency, name=f"Phòng số {n}", abbreviation=f"P{n}")
            db.session.add(unit)
            author = create_user(f"cv.{n}", unit, Role.STAFF, full_name=f"Chuyên viên {n}")
            head = create_user(f"tp.{n}", unit, Role.UNIT_HEAD, full_name=f"Trưởng phòng {n}")
            db.session.flush()
            for i in range(n % 3 + 1):
                e = new_entry(world, world.campaign, author, when=days_ago(9), title=f"HĐ {n}.{i}")
                step(e, EntryAction.SUBMIT, author, days_ago(8))
                if i:  # some wait at the head, some at the office
                    step(e, EntryAction.APPROVE, head, days_ago(7))
        db.session.commit()

    add_units(0, 3)
    with count_queries() as few:
        assert client.get(url).status_code == 200
    add_units(3, 10)
    with count_queries() as many:
        page = client.get(url).text
    assert "Trưởng phòng 9" in page and "HĐ 9.0" in page
    assert many.n == few.n, (few.n, many.n)
    assert few.n < 40, few.n


def test_unit_table_lists_inactive_units_only_with_entries(scene, login):
    """A unit closed down leaves the units × state table unless it has entries this year."""
    from danvan.queries import campaign_unit_counts

    units, _, _ = campaign_unit_counts(scene.campaign)
    assert scene.unit_c in units and scene.unit_gone not in units
    scene.unit_a.active = False  # closed after sending entries: its rows still count
    db.session.commit()
    units, _, counts = campaign_unit_counts(scene.campaign)
    assert scene.unit_a in units and sum(counts[scene.unit_a.id].values()) == 3
    page = login(scene.office).get(f"/ke-hoach/{scene.campaign.id}").text
    assert "Phòng đã giải thể" not in page and "Phòng Kinh tế" in page
