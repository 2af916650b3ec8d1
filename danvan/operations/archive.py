"""The archive: find issued documents, verify files against it, re-check every signature."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy import or_, select

from danvan.documents import signing
from danvan.extensions import db
from danvan.models import ArchivedDocument, Blob
from danvan.text import fold, like_contains
from danvan.uploads import detect_kind


@dataclass
class Verification:
    """What the verification page tells the user about an uploaded file."""

    kind: str  # "pdf", "docx", or "" when neither
    sha256: str
    document: ArchivedDocument | None = None
    matched_as: str = ""  # "pdf", "docx", "embedded docx"
    signatures: list = field(default_factory=list)  # SignatureResult / CmsResult
    messages: list[str] = field(default_factory=list)

    @property
    def all_signatures_ok(self) -> bool:
        if not self.signatures:
            return False
        return all(
            getattr(s, "ok", None) or (getattr(s, "valid", False) and s.trusted)
            for s in self.signatures
        )

    @property
    def ok(self) -> bool:
        return self.document is not None and self.all_signatures_ok


def _by_sha(column, sha: str) -> ArchivedDocument | None:
    return db.session.scalar(select(ArchivedDocument).where(column == sha))


def search_archive(text: str | None = None, year: int | None = None) -> list[ArchivedDocument]:
    """Issued documents, newest first; ``text`` matches number or subject without accents."""
    stmt = select(ArchivedDocument).order_by(ArchivedDocument.issued_at.desc())
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
    return list(db.session.scalars(stmt))


def verify_upload(data: bytes, trust_roots: list, p7s: bytes | None = None) -> Verification:
    """Is this one of our issued documents, and are its signatures intact and trusted?"""
    sha = hashlib.sha256(data).hexdigest()
    kind = detect_kind(data) or ""
    result = Verification(kind=kind if kind in ("pdf", "docx") else "", sha256=sha)
    if result.kind == "pdf":
        result.document = _by_sha(ArchivedDocument.pdf_sha256, sha)
        result.matched_as = "pdf" if result.document else ""
        try:
            result.signatures = signing.validate_pdf(data, trust_roots)
        except ValueError:
            result.messages.append("Tệp PDF bị hỏng, không đọc được chữ ký.")
        if result.document is None:
            try:
                embedded = signing.extract_embedded_file(data)
            except ValueError:
                embedded = None
            if embedded is not None:
                doc = _by_sha(ArchivedDocument.docx_sha256, hashlib.sha256(embedded).hexdigest())
                if doc is not None:
                    result.document, result.matched_as = doc, "embedded docx"
                    result.messages.append(
                        "Bản .docx gốc đính kèm trong PDF khớp với văn bản lưu trữ, nhưng "
                        "bản PDF này khác bản đã phát hành."
                    )
        if not result.signatures:
            result.messages.append("Tệp PDF không có chữ ký số.")
    elif result.kind == "docx":
        result.document = _by_sha(ArchivedDocument.docx_sha256, sha)
        result.matched_as = "docx" if result.document else ""
        if p7s is None and result.document is not None:
            p7s = db.session.get(Blob, result.document.p7s_sha256).data
            result.messages.append("Đã dùng chữ ký .p7s lưu trong hệ thống để kiểm tra.")
        if p7s is not None:
            result.signatures = [signing.verify_cms_detached(data, p7s, trust_roots)]
        else:
            result.messages.append("Tệp .docx không khớp văn bản nào và không kèm tệp .p7s.")
    else:
        result.messages.append("Chỉ kiểm tra được tệp PDF hoặc .docx (kèm .p7s nếu có).")
    if result.kind and result.document is None and result.matched_as == "":
        result.messages.insert(0, "Tệp này không khớp với văn bản nào Sở đã phát hành.")
    return result


@dataclass(frozen=True)
class ArchiveCheck:
    document: ArchivedDocument
    ok: bool
    problems: tuple[str, ...]


def check_archive(trust_roots: list) -> list[ArchiveCheck]:
    """Recompute every archived file's SHA-256 and validate every signature."""
    out = []
    for doc in db.session.scalars(select(ArchivedDocument).order_by(ArchivedDocument.id)):
        problems = []
        blobs = {"docx": doc.docx_sha256, "p7s": doc.p7s_sha256, "pdf": doc.pdf_sha256}
        data = {}
        for name, sha in blobs.items():
            if sha is None:
                continue
            blob = db.session.get(Blob, sha)
            if blob is None:
                problems.append(f"thiếu tệp {name}")
                continue
            data[name] = blob.data
            if hashlib.sha256(blob.data).hexdigest() != sha:
                problems.append(f"SHA-256 của tệp {name} không khớp")
        if "docx" in data and "p7s" in data:
            cms = signing.verify_cms_detached(data["docx"], data["p7s"], trust_roots)
            if not (cms.valid and cms.trusted):
                problems.append(f".p7s: {cms.message}")
        if "pdf" in data:
            try:
                results = signing.validate_pdf(data["pdf"], trust_roots)
            except ValueError:
                results = []
                problems.append("PDF bị hỏng")
            if len(results) < 2:
                problems.append("PDF thiếu chữ ký (cần chữ ký người ký và của cơ quan)")
            for r in results:
                if not r.ok:
                    problems.append(f"chữ ký {r.field_name}: {r.summary}")
            try:
                embedded = signing.extract_embedded_file(data["pdf"])
            except ValueError:
                embedded = None
                problems.append("không đọc được .docx đính kèm trong PDF")
            if embedded is not None and "docx" in data and embedded != data["docx"]:
                problems.append(".docx đính kèm trong PDF khác bản lưu trữ")
        out.append(ArchiveCheck(doc, not problems, tuple(problems)))
    return out
