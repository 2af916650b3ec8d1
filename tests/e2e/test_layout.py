"""Every main page fits the screen, at 1366×768 and on a 390×844 phone, for the demo accounts
that see it: nothing wider than the screen (tables become cards or scroll inside their box),
no placeholder cut off, long file names wrapped, and the inbox's Duyệt / Trả lại buttons within
reach of a thumb without scrolling sideways. Each page is saved as
test-artifacts/screenshots/layout-<page>-<account>-<viewport>.png for a person to look at.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.demo_site import (
    LONG_FILE_NAME,
    SCREENSHOTS,
    VIEWPORTS,
    Sessions,
    main_pages,
    open_main_page,
    screenshot_path,
    seed_demo_site,
)

# Elements of <main> whose right edge passes the window, unless a scrolling box holds them.
STICKING_OUT = """() => {
  const width = document.documentElement.clientWidth;
  const scrolls = (el) => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== "visible") return true;
    }
    return false;
  };
  const out = [];
  for (const el of document.querySelectorAll("main *")) {
    const r = el.getBoundingClientRect();
    if (r.width && r.height && r.right > width + 1 && !scrolls(el)) {
      out.push(`${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}.${el.className} ` +
               `“${(el.textContent || "").trim().slice(0, 40)}” ends at ${Math.round(r.right)}px`);
    }
  }
  return out.slice(0, 5);
}"""

# The twelve elements whose right edges lie furthest right, with their classes and text.
WIDEST = """() => {
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height) continue;
    const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + "." + el.className;
    out.push([Math.round(r.right), name, (el.textContent || "").trim().slice(0, 60)]);
  }
  out.sort((a, b) => b[0] - a[0]);
  return out.slice(0, 12);
}"""

# Visible inputs whose placeholder is wider than the room for text inside them.
CUT_PLACEHOLDERS = """() => {
  const ctx = document.createElement("canvas").getContext("2d");
  const out = [];
  for (const el of document.querySelectorAll("input[placeholder]")) {
    if (!el.offsetParent) continue;
    const cs = getComputedStyle(el);
    ctx.font = `${cs.fontStyle} ${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
    const needed = ctx.measureText(el.placeholder).width;
    const room = el.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    if (needed > room + 0.5) {
      out.push(`${el.name || el.id}: “${el.placeholder}” needs ${Math.ceil(needed)}px, ` +
               `has ${Math.floor(room)}px`);
    }
  }
  return out;
}"""


@pytest.fixture
def world(app, tmp_path):
    """The seeded demo instead of the small test department (``live_server`` serves it)."""
    return seed_demo_site(app, tmp_path)


@pytest.fixture
def sessions(browser, live_server):
    opened = Sessions(browser, live_server)
    yield opened
    opened.close()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_every_main_page_fits_the_screen(world, sessions, viewport):
    width = VIEWPORTS[viewport][0]
    problems = []
    for main in main_pages(world):
        page = open_main_page(sessions, main, viewport)
        page.screenshot(path=str(screenshot_path(main, viewport)), full_page=True)
        where = f"{main.name} ({main.username or 'khách'}, {viewport})"
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        if scroll_width > width:
            problems.append(f"{where}: trang rộng {scroll_width}px > {width}px")
        problems += [f"{where}: tràn màn hình: {p}" for p in page.evaluate(STICKING_OUT)]
        problems += [f"{where}: chữ gợi ý bị cắt: {p}" for p in page.evaluate(CUT_PLACEHOLDERS)]
    assert not problems, "\n".join(problems)


def _reachable(page, control, width: int) -> None:
    """On screen without sideways scrolling, and the topmost element where a thumb taps."""
    control.scroll_into_view_if_needed()
    box = control.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, box
    assert page.evaluate("window.scrollX") == 0
    on_top = control.evaluate(
        "(el, [x, y]) => { const hit = document.elementFromPoint(x, y);"
        " return hit === el || el.contains(hit); }",
        [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
    )
    assert on_top, control


@pytest.mark.parametrize("username", ["tp.qlxd", "vanphong"])
def test_inbox_buttons_within_reach_on_a_phone(world, sessions, username):
    width = VIEWPORTS["phone"][0]
    page = sessions.page(username, "phone")
    page.goto("/viec-can-xu-ly")
    rows = page.locator("#inbox-table tbody tr")
    expect(rows.first).to_be_visible()
    for i in range(rows.count()):
        row = rows.nth(i)
        for name in ("Duyệt", "Trả lại"):
            _reachable(page, row.get_by_role("button", name=name, exact=True), width)
        _reachable(page, row.get_by_role("textbox", name="Ý kiến khi trả lại"), width)
    # And they work from there: approve the first entry, naming it in the message.
    title = rows.first.locator("td").nth(1).locator("a").inner_text()
    rows.first.get_by_role("button", name="Duyệt", exact=True).click()
    expect(page.locator(".alert-success")).to_contain_text(f"Đã duyệt hồ sơ “{title[:30]}")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    if scroll_width > width:  # say which element, and keep the picture, for a rare failure
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"failed-inbox-after-approve-{username}.png"))
    assert scroll_width <= width, page.evaluate(WIDEST)


def test_long_file_name_wraps_on_a_phone(world, sessions):
    page = sessions.page("cv.qln", "phone")
    page.goto(f"/hoat-dong/{world['returned_id']}")
    link = page.locator("#attachments a", has_text=LONG_FILE_NAME[:20])
    expect(link).to_have_text(LONG_FILE_NAME)
    box = link.bounding_box()
    assert box["x"] + box["width"] <= VIEWPORTS["phone"][0], box
    line = float(link.evaluate("el => parseFloat(getComputedStyle(el).lineHeight) || 24"))
    assert box["height"] > 1.5 * line, box  # it wrapped onto several lines
