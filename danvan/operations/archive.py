"""The archive: find issued documents, and re-check every archived file and record."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import or_, select

from danvan.documents import signing
from danvan.extensions import db
from danvan.models import ArchivedDocument, Blob, RegisterEntry, Report
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
        out.append(ArchiveCheck(doc, tuple(problems)))
    return out


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
