"""Page previews of report drafts, rendered by LibreOffice in a background job (danvan.jobs).

A request never waits for LibreOffice (3–5 s): it claims the draft's preview in the database
(one row per draft SHA-256, so only one job renders it), commits, and enqueues the rendering;
the page then polls the status. The page images are stored in the database, so every worker
and app server serves them, until the draft changes. A claim whose job died (the worker was
killed, the queue lost) stays "rendering" only until it is older than the LibreOffice timeout
plus 30 s: the page's next poll then claims it again and enqueues a new job. A job whose claim
is no longer "rendering" (done, failed, or finished by a newer job) does nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from danvan.documents import pdf as pdfmod
from danvan.extensions import db
from danvan.models import Blob, DraftPreview, DraftPreviewPage, Report
from danvan.text import utcnow
from danvan.workflow import ReportState

log = logging.getLogger(__name__)

PREVIEW_DPI = 100
EXPECTED_SECONDS = 4.0  # until this database has timed a rendering of its own
FAILED = "Không tạo được ảnh xem trước các trang."


@dataclass(frozen=True)
class PreviewStatus:
    """Where a draft's preview stands, for the page and its status URL."""

    status: str  # "rendering", "done" or "failed"
    page_count: int
    elapsed: float  # seconds since the rendering started
    expected: float  # how long renderings took lately
    error: str | None

    def as_dict(self) -> dict:
        """Plain data for the status URL's JSON."""
        return {
            "status": self.status,
            "pages": self.page_count,
            "elapsed": round(self.elapsed, 1),
            "expected": round(self.expected, 1),
            "error": self.error,
        }


def claim(sha: str, *, stale_after: timedelta, now: datetime | None = None) -> bool:
    """Claim the rendering of the draft ``sha`` for this server; False if it is done, failed,
    or being rendered elsewhere. A claim older than ``stale_after`` is taken over."""
    now = now or utcnow()
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = DraftPreview.__table__
    created = db.session.execute(
        insert(table)
        .values(docx_sha256=sha, status="rendering", started_at=now)
        .on_conflict_do_nothing(index_elements=["docx_sha256"])
        .returning(table.c.docx_sha256)  # a row back only if this insert made it
    ).scalar()
    if created is not None:
        return True
    taken_over = db.session.execute(
        update(table)
        .where(
            table.c.docx_sha256 == sha,
            table.c.status == "rendering",
            table.c.started_at < now - stale_after,
        )
        .values(started_at=now)
    ).rowcount
    return taken_over == 1


def retry(sha: str, *, now: datetime | None = None) -> bool:
    """Claim a failed preview again (the user asked to retry); False if it had not failed."""
    table = DraftPreview.__table__
    return (
        db.session.execute(
            update(table)
            .where(table.c.docx_sha256 == sha, table.c.status == "failed")
            .values(status="rendering", started_at=now or utcnow(), error=None, finished_at=None)
        ).rowcount
        == 1
    )


def start(app: Flask, sha: str) -> None:
    """Enqueue the rendering of the claimed preview (call after the claim is committed)."""
    from danvan import jobs

    jobs.for_app(app).enqueue_preview(sha)


def wait_for_renders(timeout: float = 120) -> None:
    """Block until renderings run in this process are finished (tests: immediate backend)."""
    from danvan import jobs

    jobs.wait_local(timeout)


def _claimed(sha: str) -> bool:
    """The draft's preview still waits for a rendering (not done, failed or gone)."""
    row = db.session.get(DraftPreview, sha, populate_existing=True)
    return row is not None and row.status == "rendering"


def render(app: Flask, sha: str) -> None:
    """Render a claimed preview and store its pages, or record why it failed (the job)."""
    with app.app_context():
        if not _claimed(sha):
            return
        try:
            docx = db.session.get(Blob, sha).data
            pdf = pdfmod.docx_to_pdf(docx, pdfa=False, timeout=app.config["LIBREOFFICE_TIMEOUT"])
            pages = pdfmod.pdf_to_png_pages(pdf, dpi=PREVIEW_DPI)
            if not pages:
                raise pdfmod.PopplerError("pdftoppm không tạo được trang nào.")
        except Exception as exc:  # noqa: BLE001 - recorded for the page: retrying cannot help
            db.session.rollback()
            log.warning("Xem trước dự thảo %s thất bại: %s", sha[:12], exc)
            message = str(exc) if isinstance(exc, pdfmod.PdfConversionError) else ""
            _finish_failed(sha, f"{FAILED} {message}".strip())
            return
        try:
            _store(sha, pages)
        except Exception:  # noqa: BLE001 - a lost race with another server, or the database
            db.session.rollback()
            log.exception("Không lưu được ảnh xem trước của dự thảo %s", sha[:12])


def _finish_failed(sha: str, message: str) -> None:
    table = DraftPreview.__table__
    try:
        db.session.execute(
            update(table)
            .where(table.c.docx_sha256 == sha, table.c.status == "rendering")
            .values(status="failed", error=message[:2000], finished_at=utcnow())
        )
        db.session.commit()
    except Exception:  # noqa: BLE001 - the page then shows the claim until it is stale
        db.session.rollback()
        log.exception("Không ghi được lỗi xem trước của dự thảo %s", sha[:12])


def _store(sha: str, pages: list[bytes]) -> None:
    """Save the pages and mark the preview done, unless another server finished first."""
    table = DraftPreview.__table__
    mine = db.session.execute(
        update(table)
        .where(table.c.docx_sha256 == sha, table.c.status == "rendering")
        .values(status="done", page_count=len(pages), finished_at=utcnow(), error=None)
    ).rowcount
    if mine != 1:
        db.session.rollback()
        return
    db.session.execute(delete(DraftPreviewPage).where(DraftPreviewPage.docx_sha256 == sha))
    db.session.add_all(
        DraftPreviewPage(docx_sha256=sha, page=n, png=png) for n, png in enumerate(pages, 1)
    )
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return
    _prune()
    db.session.commit()


def _prune() -> None:
    """Delete finished previews of drafts no open report shows any more (changed, signed)."""
    current = select(Report.draft_docx_sha256).where(
        Report.draft_docx_sha256.is_not(None),
        Report.state.in_([ReportState.DRAFT.value, ReportState.SUBMITTED.value]),
    )
    old = select(DraftPreview.docx_sha256).where(
        DraftPreview.status != "rendering", DraftPreview.docx_sha256.not_in(current)
    )
    stale = list(db.session.scalars(old))
    if stale:
        db.session.execute(delete(DraftPreviewPage).where(DraftPreviewPage.docx_sha256.in_(stale)))
        db.session.execute(delete(DraftPreview).where(DraftPreview.docx_sha256.in_(stale)))


def expected_seconds() -> float:
    """How long the last few renderings took (LibreOffice's speed on these servers)."""
    rows = db.session.execute(
        select(DraftPreview.finished_at, DraftPreview.started_at)
        .where(and_(DraftPreview.status == "done", DraftPreview.finished_at.is_not(None)))
        .order_by(DraftPreview.finished_at.desc())
        .limit(5)
    ).all()
    durations = [(done - began).total_seconds() for done, began in rows]
    durations = [d for d in durations if d > 0]
    return sum(durations) / len(durations) if durations else EXPECTED_SECONDS


def status(sha: str, *, now: datetime | None = None) -> PreviewStatus | None:
    """The preview of draft ``sha``, or None if nobody has asked for it yet."""
    row = db.session.get(DraftPreview, sha, populate_existing=True)
    if row is None:
        return None
    now = now or utcnow()
    end = row.finished_at or now
    return PreviewStatus(
        status=row.status,
        page_count=row.page_count or 0,
        elapsed=max((end - row.started_at).total_seconds(), 0.0),
        expected=expected_seconds() if row.status == "rendering" else 0.0,
        error=row.error,
    )


def page_png(sha: str, page: int) -> bytes | None:
    """Page ``page`` (1-based) of a finished preview, or None."""
    return db.session.scalar(
        select(DraftPreviewPage.png).where(
            DraftPreviewPage.docx_sha256 == sha, DraftPreviewPage.page == page
        )
    )


def page_count(sha: str) -> int:
    """Number of stored pages of the draft's preview (0 when not rendered)."""
    return db.session.scalar(select(func.count()).where(DraftPreviewPage.docx_sha256 == sha)) or 0
