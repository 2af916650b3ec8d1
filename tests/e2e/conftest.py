"""Real-browser fixtures: the app served over HTTP with CSRF on, Debian's Chromium, logins.

Every test in this folder is marked ``browser``. The server runs in a daemon thread of the test
process, on the same database as the ``app``/``world`` fixtures (an SQLite file or the run's
PostgreSQL), so tests can look at the database while the browser drives the pages.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest
from flask import got_request_exception
from werkzeug.serving import make_server

from tests.conftest import need
from tests.factories import PASSWORD

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
    need(os.path.exists(CHROMIUM), f"không có Chromium tại {CHROMIUM} (apt-get install chromium)")
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
