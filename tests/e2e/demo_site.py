"""The seeded demo, its main pages and who sees them: shared by the layout and axe tests.

The pages are the ones a new clerk, unit head, office member or director meets on their first
day, each opened as the demo account that sees it, with real content: the 2023 report signed,
issued and archived, a 2026 draft report, entries in every state, a returned entry whose
evidence has a long unbroken file name.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from sqlalchemy import select

from danvan.extensions import db
from danvan.models import ArchivedDocument, Blob, Entry
from danvan.operations import entries as entry_ops
from danvan.operations import reports as report_ops
from danvan.seed import DEMO_PASSWORD, seed_demo
from danvan.workflow import EntryState
from tests.e2e.conftest import SCREENSHOTS, TIMEOUT_MS

VIEWPORTS = {"desktop": (1366, 768), "phone": (390, 844)}
LONG_FILE_NAME = "Bien-ban-hoi-nghi-tiep-cong-dan-" + "0123456789" * 8 + ".png"


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (218, 37, 29)).save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass(frozen=True)
class MainPage:
    """One main page as one demo account sees it; ``then`` runs after it has loaded."""

    name: str
    username: str | None  # None: not signed in
    path: str
    then: object = None  # callable(page) or None


def seed_demo_site(app, tmp_path: Path) -> dict:
    """Seed the demo (2023 report issued), draft the 2026 report, attach a long-named file."""
    objects = seed_demo(config={}, instance_path=str(tmp_path))
    users, current = objects["users"], objects["current"]
    returned = db.session.scalar(
        select(Entry).where(Entry.state == EntryState.RETURNED.value).order_by(Entry.id)
    )
    entry_ops.add_attachment(
        returned,
        actor=returned.author,
        filename=LONG_FILE_NAME,
        data=_png(),
        max_bytes=app.config["UPLOAD_MAX_BYTES"],
        max_files=app.config["UPLOAD_MAX_FILES"],
    )
    draft = report_ops.compile_report(current, actor=users["vanphong"])
    db.session.commit()
    # The verification page trusts the demo CA the seed created for this run; the login page
    # lists the demo accounts, as `make run` does.
    app.config.update(TRUST_ROOTS=[str(tmp_path / "keys" / "ca.pem")], DEMO_MODE=True)
    pending = db.session.scalar(
        select(Entry)
        .where(
            Entry.state == EntryState.PENDING.value,
            Entry.step_kind == "unit_head",
            Entry.unit_id == users["tp.qlxd"].unit_id,
        )
        .order_by(Entry.id)
    )
    archived = db.session.scalar(select(ArchivedDocument))
    return {
        **objects,
        "returned_id": returned.id,
        "pending_id": pending.id,
        "draft_id": draft.id,
        "issued_id": objects["report"].id,
        "archived_pdf": db.session.get(Blob, archived.pdf_sha256 or archived.docx_sha256).data,
        "archived_name": "bao-cao.pdf" if archived.pdf_sha256 else "bao-cao.docx",
    }


def main_pages(site: dict) -> list[MainPage]:
    """Every main page, each for the demo accounts that see it."""
    current, past = site["current"].id, site["past"].id

    def verify_a_file(page):
        upload = {
            "name": site["archived_name"],
            "mimeType": "application/octet-stream",
            "buffer": site["archived_pdf"],
        }
        page.locator("#file").set_input_files(files=[upload])
        page.get_by_role("button", name="Kiểm tra").click()
        page.locator("#verdict").wait_for(timeout=TIMEOUT_MS * 6)

    return [
        MainPage("login", None, "/dang-nhap"),
        MainPage("home", "cv.qlxd", "/"),
        MainPage("campaign", "tp.qlxd", f"/ke-hoach/{current}"),
        MainPage("campaign-issued", "vanphong", f"/ke-hoach/{past}"),
        MainPage("dashboard", "vanphong", f"/ke-hoach/{current}/theo-doi"),
        MainPage("dashboard", "giamdoc", f"/ke-hoach/{past}/theo-doi"),
        MainPage("inbox", "tp.qlxd", "/viec-can-xu-ly"),
        MainPage("inbox", "vanphong", "/viec-can-xu-ly"),
        MainPage("inbox", "chanhvp", "/viec-can-xu-ly"),
        MainPage("inbox", "cv.qln", "/viec-can-xu-ly"),
        MainPage("entries", "tp.qlxd", "/hoat-dong"),
        MainPage("entries", "vanphong", f"/hoat-dong?ke_hoach={past}"),
        MainPage("entry", "tp.qlxd", f"/hoat-dong/{site['pending_id']}"),
        MainPage("entry", "cv.qln", f"/hoat-dong/{site['returned_id']}"),
        MainPage("entry-new", "cv.qlxd", f"/ke-hoach/{current}/hoat-dong/moi"),
        MainPage("report", "vanphong", f"/bao-cao/{site['draft_id']}"),
        MainPage("report", "giamdoc", f"/bao-cao/{site['issued_id']}"),
        MainPage("archive", "vanthu", "/luu-tru"),
        MainPage("register", "vanthu", f"/so-van-ban-di?nam={site['past'].year}"),
        MainPage("verify", None, "/kiem-tra"),
        MainPage("document-verify", None, f"/xm/{site['report'].verify_code}"),
        MainPage("public-index", None, "/cong-khai/"),
        MainPage("public-campaign", None, f"/cong-khai/ke-hoach/{current}"),
        MainPage("public-campaign", None, f"/cong-khai/ke-hoach/{past}"),
        MainPage("verify-result", "cv.qlxd", "/kiem-tra", then=verify_a_file),
        MainPage("profile", "giamdoc", "/ca-nhan"),
        MainPage("profile", "admin", "/ca-nhan"),
    ]


class Sessions:
    """One signed-in browser context per (demo account, viewport), opened on first use."""

    def __init__(self, browser, base_url: str):
        self.browser, self.base_url = browser, base_url
        self.contexts: dict[tuple[str | None, str], object] = {}

    def page(self, username: str | None, viewport: str):
        key = (username, viewport)
        if key not in self.contexts:
            width, height = VIEWPORTS[viewport]
            context = self.browser.new_context(
                base_url=self.base_url,
                locale="vi-VN",
                timezone_id="Asia/Ho_Chi_Minh",
                viewport={"width": width, "height": height},
            )
            context.set_default_timeout(TIMEOUT_MS)
            page = context.new_page()
            if username:
                page.goto("/dang-nhap")
                page.get_by_label("Tên đăng nhập").fill(username)
                page.get_by_label("Mật khẩu").fill(DEMO_PASSWORD)
                page.get_by_role("button", name="Đăng nhập").click()
                page.wait_for_url(lambda url: "/dang-nhap" not in url)
            self.contexts[key] = context
        return self.contexts[key].pages[0]

    def close(self) -> None:
        for context in self.contexts.values():
            context.close()


def open_main_page(sessions: Sessions, main: MainPage, viewport: str):
    """Open ``main`` as its account at ``viewport``; the page, loaded (and acted on)."""
    page = sessions.page(main.username, viewport)
    response = page.goto(main.path)
    assert response is not None and response.ok, (main, response and response.status)
    if main.then is not None:
        main.then(page)
    return page


def screenshot_path(main: MainPage, viewport: str, kind: str = "layout") -> Path:
    """test-artifacts/screenshots/layout-<page>-<account>-<viewport>.png"""
    folder = SCREENSHOTS
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{kind}-{main.name}-{main.username or 'khach'}-{viewport}.png"


_REPO_ROOT = Path(__file__).resolve().parents[2]

# --- axe-core, served from the page's own origin (the CSP stays as it is) ----------------

AXE = _REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_URL = "**/__test__/axe.min.js"
BLOCKING = {"serious", "critical"}


def axe_violations(page) -> list[dict]:
    """Run axe-core on the page as it stands; its violations."""
    page.unroute(AXE_URL)
    page.route(AXE_URL, lambda route: route.fulfill(path=AXE, content_type="text/javascript"))
    page.add_script_tag(url="/__test__/axe.min.js")
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return result["violations"]


def describe(violation: dict) -> str:
    nodes = "; ".join(
        f"{' '.join(n['target'])} ({n.get('failureSummary', '').splitlines()[-1].strip()})"
        for n in violation["nodes"][:3]
    )
    return f"[{violation['impact']}] {violation['id']}: {violation['help']} — {nodes}"
