"""Real-browser fixtures: the app served over HTTP with CSRF on, Debian's Chromium, logins.

Every test in this folder is marked ``browser``. The server runs in a daemon thread of the test
process, on the same database as the ``app``/``world`` fixtures (an SQLite file or the run's
PostgreSQL), so tests can look at the database while the browser drives the pages.
"""

from __future__ import annotations

import os
import re
import struct
import threading
import zlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
from flask import got_request_exception
from werkzeug.serving import make_server

from tests.factories import PASSWORD, require

if TYPE_CHECKING:
    from playwright.sync_api import Page

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
TIMEOUT_MS = 10_000
VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
TIME = r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}"  # how pages show a moment


CALL_REPORT = pytest.StashKey()


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.stash[CALL_REPORT] = report
    return report


def _screenshot_path(node, step: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    test_name = re.sub(r"[^\w.-]+", "_", node.name)
    return SCREENSHOTS / f"{test_name}-{step}.png"


@pytest.fixture
def app_config(app_config):
    """The suite's configuration, but with CSRF protection on, as in production."""
    return {**app_config, "WTF_CSRF_ENABLED": True}


@pytest.fixture
def live_server(app, world):
    """Serve the app (with the ``world`` data) on 127.0.0.1; yield the base URL."""
    errors: list[BaseException] = []

    def record(sender, exception, **extra):
        errors.append(exception)

    got_request_exception.connect(record, app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        got_request_exception.disconnect(record, app)
    if errors:
        pytest.fail(f"the server raised during the test: {errors!r}")


@pytest.fixture(scope="session")
def browser():
    require(
        os.path.exists(CHROMIUM), f"không có Chromium tại {CHROMIUM} (apt-get install chromium)"
    )
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except Exception:
        playwright.stop()
        raise
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def page_for(request, browser, live_server):
    """page_for(user): a new browser context signed in as ``user`` through the login form."""
    from playwright.sync_api import expect

    contexts = []

    def open_page(user, **context_options):
        context = browser.new_context(
            base_url=live_server,
            locale="vi-VN",
            timezone_id="Asia/Ho_Chi_Minh",
            viewport={"width": 1366, "height": 900},
            **context_options,
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.goto("/dang-nhap")
        page.get_by_label("Tên đăng nhập").fill(user.username)
        page.get_by_label("Mật khẩu").fill(PASSWORD)
        page.get_by_role("button", name="Đăng nhập").click()
        expect(
            page.get_by_role("alert").filter(has_text=f"Xin chào {user.full_name}.")
        ).to_be_visible()
        expect(page).not_to_have_url(re.compile(r"/dang-nhap"))
        return page

    yield open_page
    report = request.node.stash.get(CALL_REPORT, None)
    for n, context in enumerate(contexts, start=1):
        if report is not None and report.failed:
            for page in context.pages:  # what each person saw when the test failed
                page.screenshot(
                    path=str(_screenshot_path(request.node, f"failed-{n}")), full_page=True
                )
        context.close()


@pytest.fixture
def shot(request):
    """shot(page, step): a full-page screenshot in test-artifacts/screenshots/."""

    def take(page, step: str) -> Path:
        path = _screenshot_path(request.node, step)
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


# --- Helpers for the tests' pages -----------------------------------------------------------

# The two sizes every new screen is looked at in.
VIEWPORTS = {"desktop": (1366, 768), "phone": (390, 844)}


def anonymous(browser, live_server: str, viewport: str) -> Page:
    """A page in a new browser context with nobody signed in (close its context when done)."""
    width, height = VIEWPORTS[viewport]
    context = browser.new_context(
        base_url=live_server,
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
        viewport={"width": width, "height": height},
    )
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


def png_bytes(width: int = 24, height: int = 16) -> bytes:
    """A small valid PNG (red/yellow stripes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\x00" + (b"\xda\x25\x1d" if y % 4 < 2 else b"\xff\xcd\x00") * width for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def history(page: Page):
    return page.locator("#history > li")


def flash(page: Page, text: str):
    return page.locator(".alert").filter(has_text=text)


def field(page: Page, label: str):
    return page.get_by_label(label, exact=True)


def expect_history(page: Page, expected: list[tuple[str, str]]) -> None:
    """The history lists exactly these (action, actor) pairs in order, each with a time."""
    from playwright.sync_api import expect

    items = history(page)
    expect(items).to_have_count(len(expected))
    for i, (action, actor) in enumerate(expected):
        item = items.nth(i)
        expect(item.locator("strong").first).to_have_text(action)
        expect(item).to_contain_text(actor)
        shown = item.locator("span.text-muted").first
        expect(shown).to_have_text(re.compile(rf"^{TIME}$"))
        # Vietnam time (UTC+07:00), not the server's UTC.
        at = datetime.strptime(shown.inner_text(), "%d/%m/%Y %H:%M").replace(tzinfo=VN_TZ)
        assert abs(datetime.now(VN_TZ) - at) < timedelta(minutes=5), shown.inner_text()
