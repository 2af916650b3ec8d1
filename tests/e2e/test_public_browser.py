"""The public campaign page in Chromium at 1366×768 and 390×844 (no horizontal scroll, axe),
and Văn phòng's "Công khai" button: publish, seen anonymously; unpublish, gone.
Screenshots: test-artifacts/screenshots/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from danvan.extensions import db
from danvan.models import Entry
from tests.e2e.conftest import VIEWPORTS, anonymous, flash
from tests.e2e.demo_site import BLOCKING, axe_violations, describe
from tests.factories import approve

LONG_PLACE = "Nhà văn hóa tổ dân phố số 7, phường Lê Hồng Phong, thành phố Phủ Lý, tỉnh Hà Nam"


def publish_all(world, entries) -> None:
    from danvan import publication

    for entry in entries:
        publication.publish(entry, actor=world.office, public=True, expected_version=entry.version)
    db.session.commit()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_public_page_fits_and_passes_axe(world, browser, live_server, shot, viewport):
    entries = [
        approve(
            world,
            world.staff_a,
            world.head_a,
            title="Hội nghị đối thoại với người dân về thủ tục cấp giấy phép xây dựng",
            place=LONG_PLACE,
            model_name="Một cửa thân thiện, người dân hài lòng",
            result="Giải đáp 15 kiến nghị của người dân;\nhướng dẫn 40 hồ sơ.",
        ),
        approve(world, world.staff_b, world.head_b, title="Thăm hỏi, tặng quà gia đình chính sách"),
        approve(
            world,
            world.staff_a,
            world.head_a,
            title="Tuyên truyền cải cách hành chính",
            content_item_id=world.campaign.content_items[1].id,
            activity_form="Pa nô, khẩu hiệu",
        ),
    ]
    hidden = approve(world, world.staff_b, world.head_b, title="Hoạt động chưa công khai")
    db.session.commit()
    publish_all(world, entries)
    page = anonymous(browser, live_server, viewport)
    page.goto("/cong-khai/")
    page.get_by_role("link", name=world.campaign.title).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(world.campaign.title)
    expect(page.locator(".public-activity")).to_have_count(3)
    expect(page.get_by_text(hidden.title)).to_have_count(0)
    expect(page.get_by_text("Nguyễn Thị Hoa")).to_have_count(0)  # the author
    width = VIEWPORTS[viewport][0]
    assert (
        page.evaluate("document.documentElement.scrollWidth")
        <= page.evaluate("window.innerWidth")
        == width
    )
    assert page.context.cookies() == []
    shot(page, f"public-campaign-{viewport}")
    violations = [v for v in axe_violations(page) if v["impact"] in BLOCKING]
    assert not violations, "\n".join(describe(v) for v in violations)
    page.goto("/cong-khai/")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shot(page, f"public-index-{viewport}")
    violations = [v for v in axe_violations(page) if v["impact"] in BLOCKING]
    assert not violations, "\n".join(describe(v) for v in violations)
    page.context.close()


def test_office_publishes_and_unpublishes_in_the_browser(
    world, browser, live_server, page_for, shot
):
    entry = approve(world, world.staff_a, world.head_a, title="Ngày hội dân vận khéo")
    db.session.commit()
    office = page_for(world.office)
    office.goto(f"/hoat-dong/{entry.id}")
    office.get_by_role("button", name="Công khai trên trang thông tin").click()
    expect(flash(office, "Đã công khai hoạt động trên trang thông tin")).to_be_visible()
    expect(office.locator("#entry-public")).to_have_text("Đã công khai")
    shot(office, "entry-published")

    visitor = anonymous(browser, live_server, "phone")
    visitor.goto(f"/cong-khai/ke-hoach/{world.campaign.id}")
    expect(visitor.locator(f"#hd-{entry.id}")).to_contain_text("Ngày hội dân vận khéo")
    visitor.context.close()

    office.get_by_role("button", name="Thôi công khai").click()
    expect(flash(office, "Đã thôi công khai")).to_be_visible()
    expect(office.locator("#entry-public")).to_have_count(0)
    expect(office.get_by_role("button", name="Công khai trên trang thông tin")).to_be_visible()
    assert db.session.get(Entry, entry.id).published_at is None

    visitor = anonymous(browser, live_server, "desktop")  # a fresh cache
    visitor.goto(f"/cong-khai/ke-hoach/{world.campaign.id}")
    expect(visitor.get_by_text("Chưa có hoạt động nào được công khai.")).to_be_visible()
    expect(visitor.get_by_text("Ngày hội dân vận khéo")).to_have_count(0)
    visitor.context.close()


def test_unit_staff_sees_no_publish_button(world, page_for):
    entry = approve(world, world.staff_a, world.head_a, title="Không phải việc của đơn vị")
    db.session.commit()
    for user in (world.head_a, world.director):
        page = page_for(user)
        page.goto(f"/hoat-dong/{entry.id}")
        expect(page.get_by_role("heading", level=1)).to_have_text(entry.title)
        expect(page.get_by_role("button", name="Công khai trên trang thông tin")).to_have_count(0)
