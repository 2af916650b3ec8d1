"""The archive: find issued documents, and re-check every archived file and record."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select

from danvan.documents import ltv, signing
from danvan.extensions import db
from danvan.models import ArchivedDocument, ArchiveTimestamp, Blob, RegisterEntry, Report
from danvan.text import fold, like_contains
from danvan.verification import Verdict, verify_document

__all__ = [
    "ArchiveCheck",
    "Verdict",
    "archive_stmt",
    "check_archive",
    "verify_upload",
]

verify_upload = verify_document  # the name the views and older tests used


def archive_stmt(text: str | None = None, year: int | None = None):
    """Issued documents, newest first on (issued_at, id), to page; ``text`` matches number or
    subject without accents."""
    stmt = select(ArchivedDocument).order_by(
        ArchivedDocument.issued_at.desc(), ArchivedDocument.id.desc()
    )
    if year:
        stmt = stmt.where(ArchivedDocument.year == year)
    for word in fold(text).split():
        pattern = like_contains(word)
        stmt = stmt.where(
            or_(
                ArchivedDocument.subject_folded.like(pattern, escape="\\"),
                ArchivedDocument.number_symbol.ilike(pattern, escape="\\"),
            )
        )
    return stmt


@dataclass(frozen=True)
class ArchiveCheck:
    """The outcome of re-checking one archived document."""

    document: ArchivedDocument
    problems: tuple[str, ...]
    # The TSA certificate expiry of the PDF's last document timestamp (None: no timestamp).
    protected_until: datetime | None = None

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems

    @property
    def label(self) -> str:
        """How ``verify-archive`` names the document: 01/BC-SXD (2023)."""
        return f"{self.document.number_symbol} ({self.document.year})"


def check_archive(trust_roots: list) -> list[ArchiveCheck]:
    """Re-check every archived document: its files, its verdict, its report and register row."""
    out = []
    for doc in db.session.scalars(select(ArchivedDocument).order_by(ArchivedDocument.id)):
        problems: list[str] = []
        files = _stored_files(doc, problems)
        problems += _verdict_problems(doc, files, trust_roots)
        problems += _record_problems(doc, files)
        until = ltv.protected_until(files["pdf"]) if "pdf" in files else None
        newest = latest_pdf_sha256(doc)
        if "pdf" in files and newest != doc.pdf_sha256:
            until, more = _newer_version(doc, newest, trust_roots)
            problems += more
        out.append(ArchiveCheck(doc, tuple(problems), until))
    return out


def _newer_version(doc: ArchivedDocument, sha: str, roots: list) -> tuple[datetime | None, list]:
    """The newest re-timestamped PDF: until when it protects, and what is wrong with it."""
    blob = db.session.get(Blob, sha)
    if blob is None or hashlib.sha256(blob.data).hexdigest() != sha:
        return None, ["bản PDF đóng dấu thời gian lại bị thiếu hoặc sai SHA-256"]
    verdict = verify_document(blob.data, roots)
    problems = []
    if not verdict.valid:
        problems += [f"PDF đóng dấu thời gian lại: {reason}" for reason in verdict.reasons]
    elif verdict.document.id != doc.id:
        problems.append("PDF đóng dấu thời gian lại thuộc văn bản khác")
    elif not blob.data.startswith(db.session.get(Blob, doc.pdf_sha256).data):
        problems.append("PDF đóng dấu thời gian lại không giữ nguyên bản đã phát hành")
    return ltv.protected_until(blob.data), problems


def _stored_files(doc: ArchivedDocument, problems: list[str]) -> dict[str, bytes]:
    """The archived files whose content still has the SHA-256 they are stored under."""
    files = {}
    for name, sha in (("docx", doc.docx_sha256), ("p7s", doc.p7s_sha256), ("pdf", doc.pdf_sha256)):
        if sha is None:
            continue
        blob = db.session.get(Blob, sha)
        if blob is None:
            problems.append(f"thiếu tệp {name}")
        elif hashlib.sha256(blob.data).hexdigest() != sha:
            problems.append(f"SHA-256 của tệp {name} không khớp")
        else:
            files[name] = blob.data
    return files


def _verdict_problems(doc: ArchivedDocument, files: dict[str, bytes], roots: list) -> list[str]:
    """The verification page's own verdict on the archived PDF and on the .docx with its .p7s."""
    problems = []
    checks = []
    if "pdf" in files:
        checks.append(("PDF", verify_document(files["pdf"], roots)))
    if "docx" in files and "p7s" in files:
        checks.append((".docx + .p7s", verify_document(files["docx"], roots, p7s=files["p7s"])))
    for name, verdict in checks:
        if not verdict.valid:
            problems += [f"{name}: {reason}" for reason in verdict.reasons]
        elif verdict.document.id != doc.id:
            problems.append(f"{name}: tệp thuộc văn bản khác ({verdict.document.number_symbol})")
    return problems


def _record_problems(doc: ArchivedDocument, files: dict[str, bytes]) -> list[str]:
    """Number ↔ report ↔ files ↔ register row: the archived row must agree with its report."""
    report = db.session.get(Report, doc.report_id)
    if report is None:
        return ["không tìm thấy báo cáo gốc của văn bản"]
    problems = []
    if (doc.number_symbol, doc.year) != (report.number_symbol, report.number_year):
        problems.append(
            f"số, ký hiệu khác báo cáo gốc ({report.number_symbol}, năm {report.number_year})"
        )
    if doc.docx_sha256 != report.final_docx_sha256:
        problems.append("tệp .docx lưu trữ khác bản .docx cuối cùng của báo cáo")
    if doc.p7s_sha256 != report.p7s_sha256:
        problems.append("tệp .p7s lưu trữ khác chữ ký .p7s của báo cáo")
    if doc.signer_cert_sha256 != report.signer_cert_sha256:
        problems.append("chứng thư số người ký khác chứng thư ghi ở báo cáo")
    stmt = select(RegisterEntry).where(RegisterEntry.report_id == report.id)
    rows = list(db.session.scalars(stmt))
    if len(rows) != 1:
        problems.append(f"sổ văn bản đi có {len(rows)} dòng cho báo cáo này (cần đúng 1)")
    elif (rows[0].number_symbol, rows[0].year, rows[0].number) != (
        doc.number_symbol,
        doc.year,
        report.number,
    ):
        problems.append(f"sổ văn bản đi ghi số khác ({rows[0].number_symbol}, năm {rows[0].year})")
    if "pdf" in files:
        problems += _pdf_record_problems(files["pdf"], files.get("docx"), report)
    elif doc.pdf_sha256 is None and report.signed_pdf_sha256 is not None:
        problems.append("thiếu tệp PDF dù báo cáo đã có bản PDF ký số")
    return problems


def _pdf_record_problems(pdf: bytes, docx: bytes | None, report: Report) -> list[str]:
    problems = []
    try:
        embedded = list(signing.embedded_files(pdf).values())
        revisions = signing.signed_revisions(pdf)
    except ValueError:
        return ["PDF bị hỏng, không đọc được tệp đính kèm và các lần ký"]
    if docx is not None and embedded != [docx]:
        problems.append("PDF không đính kèm đúng (và chỉ) bản .docx lưu trữ")
    first = hashlib.sha256(revisions[0]).hexdigest() if revisions else None
    if report.signed_pdf_sha256 is None or first != report.signed_pdf_sha256:
        problems.append("lần ký đầu tiên trong PDF không phải bản PDF người ký đã ký của báo cáo")
    return problems


def latest_pdf_sha256(doc: ArchivedDocument) -> str | None:
    """The archived PDF's newest version: the last re-timestamped one, else the original."""
    newest = db.session.scalar(
        select(ArchiveTimestamp.pdf_sha256)
        .where(ArchiveTimestamp.archived_document_id == doc.id)
        .order_by(ArchiveTimestamp.id.desc())
        .limit(1)
    )
    return newest or doc.pdf_sha256


def retimestamp_archive(
    ltv_settings: ltv.LtvSettings, *, margin_days: int, now: datetime
) -> list[ArchiveTimestamp]:
    """A fresh document timestamp on every archived PDF (B-LTA) whose protection ends within
    ``margin_days``: stored as a new blob and an ArchiveTimestamp row; flushes."""
    from datetime import timedelta

    from danvan.blobs import store_blob

    limit = now + timedelta(days=margin_days)
    added = []
    for doc in db.session.scalars(select(ArchivedDocument).order_by(ArchivedDocument.id)):
        sha = latest_pdf_sha256(doc)
        if sha is None:
            continue
        pdf = db.session.get(Blob, sha).data
        until = ltv.protected_until(pdf)
        if until is None or until > limit:
            continue  # no timestamp chain to extend (B-B), or protected long enough
        stamped = ltv.add_document_timestamp(pdf, ltv_settings)
        row = ArchiveTimestamp(
            archived_document_id=doc.id,
            pdf_sha256=store_blob(stamped).sha256,
            previous_sha256=sha,
            protected_until=ltv.protected_until(stamped),
            created_at=now,
        )
        db.session.add(row)
        added.append(row)
    db.session.flush()
    return added
