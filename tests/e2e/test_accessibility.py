"""axe-core (pinned in package.json, installed by `npm ci`) on every main page in Chromium, at
1366×768 and 390×844, for the demo accounts that see it: no serious or critical violation.

The test serves node_modules/axe-core/axe.min.js to the page from the page's own origin (a
Playwright route), so the app's Content-Security-Policy (script-src 'self') stays as it is.
"""

from __future__ import annotations

import pytest

from tests.e2e.demo_site import (
    AXE,
    BLOCKING,
    VIEWPORTS,
    Sessions,
    axe_violations,
    describe,
    main_pages,
    open_main_page,
    screenshot_path,
    seed_demo_site,
)
from tests.factories import require


@pytest.fixture
def world(app, tmp_path):
    """The seeded demo instead of the small test department (``live_server`` serves it)."""
    return seed_demo_site(app, tmp_path)


@pytest.fixture
def sessions(browser, live_server):
    require(AXE.exists(), f"chưa cài axe-core ({AXE}): chạy `make install-dev` (npm ci)")
    opened = Sessions(browser, live_server)
    yield opened
    opened.close()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_no_serious_accessibility_violations(world, sessions, viewport):
    found = []
    for main in main_pages(world):
        page = open_main_page(sessions, main, viewport)
        violations = [v for v in axe_violations(page) if v["impact"] in BLOCKING]
        if violations:
            page.screenshot(path=str(screenshot_path(main, viewport, "axe")), full_page=True)
        where = f"{main.name} ({main.username or 'khách'}, {viewport})"
        found += [f"{where}: {describe(v)}" for v in violations]
    assert not found, "\n".join(found)
