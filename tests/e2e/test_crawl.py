"""No dead links: every demo account follows every link of every page it can reach.

The seeded demo (the 2023 report issued and archived, a 2026 draft report, which the office
chief has sent to the director here) is served on a live server. Each of the seed's demo
accounts signs in through the login form and walks the site breadth-first over same-origin GET
links (<a href>, and the images, scripts and style sheets the pages load), up to a bound per
account. Every answer must be a success: no 404 (a link to a page the user may not see, or
that does not exist) and no 500.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from danvan.extensions import db
from danvan.models import User
from danvan.operations import reports as report_ops
from danvan.reports import previews
from danvan.seed import DEMO_PASSWORD
from tests.e2e.demo_site import seed_demo_site
from tests.live_server import Browser

MAX_PAGES = 160  # per account: every kind of page is reached well before this
SKIP_PREFIXES = ("/dang-xuat",)  # a POST form, never a link; listed to be explicit


@pytest.fixture
def world(app, tmp_path):
    """The seeded demo instead of the small test department (``live_server`` serves it)."""
    site = seed_demo_site(app, tmp_path)
    users = site["users"]
    draft = db.session.get(type(site["report"]), site["draft_id"])
    report_ops.submit_report(
        draft, actor=users["chanhvp"], signer=users["giamdoc"], expected_version=draft.version
    )
    db.session.commit()
    yield site
    previews.wait_for_renders()


class _Links(HTMLParser):
    """Same-page references: links to follow, and assets the page loads."""

    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.assets: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.links.append(values["href"])
        elif tag in ("img", "script") and values.get("src"):
            self.assets.append(values["src"])
        elif tag == "link" and values.get("href") and "stylesheet" in (values.get("rel") or ""):
            self.assets.append(values["href"])


def _local(base: str, page_url: str, href: str) -> str | None:
    """The path and query of ``href`` if it stays on the site (fragment dropped), else None."""
    url = urllib.parse.urljoin(page_url, href)
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or f"{parts.scheme}://{parts.netloc}" != base:
        return None
    return urllib.parse.urlunsplit(("", "", parts.path, parts.query, ""))


def _fetch(browser: Browser, path: str) -> tuple[int, str, bytes]:
    request = urllib.request.Request(browser.base_url + path)
    try:
        with browser.opener.open(request, timeout=60) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


def crawl(base: str, username: str) -> tuple[list[str], list[str]]:
    """Walk the site as ``username``; the paths that answered and every failure."""
    browser = Browser(base)
    browser.login(username, DEMO_PASSWORD)
    seen, assets, problems = {"/"}, set(), []
    queue = deque([("/", "(bắt đầu)")])
    pages: list[str] = []
    while queue and len(pages) < MAX_PAGES:
        path, referrer = queue.popleft()
        status, content_type, body = _fetch(browser, path)
        if status >= 400:
            problems.append(f"{username}: {status} {path} (liên kết trên {referrer})")
            continue
        pages.append(path)
        if "text/html" not in content_type:
            continue
        if "/dang-nhap" in path and "Đăng nhập" in body.decode("utf-8", "replace"):
            problems.append(f"{username}: bị đăng xuất khi mở {referrer}")
            break
        parser = _Links()
        parser.feed(body.decode("utf-8", "replace"))
        for href in parser.links:
            target = _local(base, base + path, href)
            if target and target not in seen and not target.startswith(SKIP_PREFIXES):
                seen.add(target)
                queue.append((target, path))
        for src in parser.assets:
            target = _local(base, base + path, src)
            if target and target not in assets:
                assets.add(target)
                status, _, _ = _fetch(browser, target)
                if status >= 400:
                    problems.append(f"{username}: {status} {target} (tài nguyên của {path})")
    return pages, problems


def test_no_dead_links_for_any_demo_account(world, live_server):
    usernames = list(db.session.scalars(select(User.username).order_by(User.id)))
    assert {"cv.qlxd", "tp.qlxd", "vanphong", "chanhvp", "giamdoc", "vanthu", "admin"} <= set(
        usernames
    )
    problems, visited = [], {}
    for username in usernames:
        visited[username], found = crawl(live_server, username)
        problems += found
    assert not problems, "\n".join(problems[:40])
    # The walk really went somewhere for everybody (a staff member sees plans and entries).
    assert all(len(pages) >= 8 for pages in visited.values()), visited
    # Staff open the issued report's PDF from the plan page; the director reaches the
    # confirmation of "Ký duyệt" and the preview; Văn thư the archive's downloads.
    archive_pdf = [
        p for p in visited["cv.qlxd"] if p.startswith("/luu-tru/") and p.endswith("/pdf")
    ]
    assert archive_pdf, visited["cv.qlxd"]
    assert any(p.endswith("/xac-nhan/sign") for p in visited["giamdoc"]), visited["giamdoc"]
    assert any(p.endswith("/xem-truoc") for p in visited["vanphong"])
    assert any(p.startswith("/luu-tru/") and p.endswith("/p7s") for p in visited["vanthu"])
