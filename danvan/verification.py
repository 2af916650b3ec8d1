"""Is this file a document we issued? One verdict for /kiem-tra, ``verify`` and ``verify-archive``.

Valid means all of: the bytes are an archived document's PDF or .docx (same SHA-256); every
signature is intact, chains to our trust roots and is followed by nothing but what PAdES allows
(pyHanko's difference analysis, see ``signing.validate_pdf``); an archived PDF carries exactly the
signer's and the agency's signatures, by the certificates recorded when it was signed and issued;
a .docx comes with a valid, trusted .p7s (uploaded, or else the archived one). Anything else is
not valid, with the reasons in Vietnamese: a verdict is valid exactly when it has no reason.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from sqlalchemy import select

from danvan.documents import signing
from danvan.extensions import db
from danvan.models import ArchivedDocument, ArchiveTimestamp, Blob
from danvan.text import format_date
from danvan.uploads import detect_kind

VALID, INVALID, UNREADABLE = "valid", "invalid", "unreadable"
EXPECTED_PDF_SIGNATURES = 2  # the signer's, then the agency's (Văn thư, with the seal)
SIGNATURE_LABELS = {
    "ChuKyNguoiKy": "Chữ ký người ký",
    "ChuKyCoQuan": "Chữ ký cơ quan (Văn thư)",
    signing.CMS_FIELD: "Chữ ký .p7s",
}
ONLY_PDF_OR_DOCX = "Chỉ kiểm tra được tệp PDF hoặc .docx (kèm .p7s nếu có)."

# The code printed on a signed document (QR code and short URL): no 0/O, 1/I/L, so a reader
# can type it from paper; 10 characters of 31 give 2^49 codes, far beyond guessing at the
# verification page's rate limit. It is an HMAC of the document's identity (agency, year,
# number) under the installation's secret: unpredictable from the number, and the same if a
# failed signature is retried with the same number.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 10
VERIFY_PATH = "/xm/"


def document_code(key: bytes, agency_id: int, year: int, number: int) -> str:
    """The verification code of the document numbered ``number`` in ``year``."""
    message = f"danvan-verify-code:{agency_id}:{year}:{number}".encode()
    value = int.from_bytes(hmac.digest(key, message, "sha256"), "big")
    chars = []
    for _ in range(CODE_LENGTH):
        value, index = divmod(value, len(CODE_ALPHABET))
        chars.append(CODE_ALPHABET[index])
    return "".join(chars)


def normalise_code(text: str) -> str | None:
    """The code as typed or scanned (any case, spaces or dashes), or None if it cannot be one."""
    code = "".join(c for c in text.upper() if c not in " -")
    if len(code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in code):
        return None
    return code


def verification_url(base_url: str, code: str) -> str:
    """The short URL printed on the document: ``{base}/xm/{code}``."""
    return f"{base_url.rstrip('/')}{VERIFY_PATH}{code}"


def signature_label(field_name: str) -> str:
    """The Vietnamese name of a signature field ("Chữ ký người ký", ...)."""
    return SIGNATURE_LABELS.get(field_name, f"Chữ ký {field_name}")


@dataclass
class Verdict:
    """What a verification found: valid or not, why not, and each signature's result."""

    kind: str  # "pdf", "docx", or "" when neither
    sha256: str
    document: ArchivedDocument | None = None  # the archived document it is, or claims to be
    matched_as: str = ""  # "pdf", "docx" (byte-identical) or "embedded docx" (a claim only)
    signatures: list = field(default_factory=list)  # SignatureResult / CmsResult
    reasons: list[str] = field(default_factory=list)  # why it is not valid
    notes: list[str] = field(default_factory=list)  # how it was checked
    unreadable: bool = False

    @property
    def valid(self) -> bool:
        """Byte-identical to an archived file, every signature good, and no reason against."""
        return (
            not self.unreadable
            and not self.reasons
            and self.document is not None
            and self.matched_as in ("pdf", "docx")
            and bool(self.signatures)
            and all(s.ok for s in self.signatures)
        )

    ok = valid  # the older name

    @property
    def status(self) -> str:
        """VALID, INVALID or UNREADABLE."""
        if self.unreadable:
            return UNREADABLE
        return VALID if self.valid else INVALID

    def as_dict(self) -> dict:
        """Plain data for JSON: valid, document number (or null), reasons, signatures."""
        return {
            "valid": self.valid,
            "document": self.document.number_symbol if self.document is not None else None,
            "reasons": list(self.reasons),
            "signatures": [s.as_dict() for s in self.signatures],
        }

    def _finish(self) -> Verdict:
        if not self.valid and not self.reasons:  # never "not valid" without saying why
            self.reasons.append("Không xác nhận được đây là văn bản do Sở phát hành.")
        return self


def unreadable_verdict(reason: str, data: bytes = b"") -> Verdict:
    """The verdict for a file that could not be read at all (missing, empty, not a PDF/.docx)."""
    sha = hashlib.sha256(data).hexdigest()
    return Verdict(kind="", sha256=sha, reasons=[reason], unreadable=True)


def verify_document(data: bytes, trust_roots: list, *, p7s: bytes | None = None) -> Verdict:
    """Is ``data`` (a PDF, or a .docx with an optional .p7s) exactly a document we issued?"""
    if not data:
        return unreadable_verdict("Tệp rỗng.")
    kind = detect_kind(data)
    if kind not in ("pdf", "docx"):
        return unreadable_verdict(ONLY_PDF_OR_DOCX, data)
    verdict = Verdict(kind=kind, sha256=hashlib.sha256(data).hexdigest())
    if kind == "pdf":
        if p7s is not None:
            verdict.notes.append("Tệp .p7s chỉ dùng để kiểm tra tệp .docx; đã bỏ qua.")
        _check_pdf(verdict, data, trust_roots)
    else:
        _check_docx(verdict, data, trust_roots, p7s)
    return verdict._finish()


def _archived(column, sha: str) -> list[ArchivedDocument]:
    stmt = select(ArchivedDocument).where(column == sha).order_by(ArchivedDocument.id).limit(2)
    return list(db.session.scalars(stmt))


def _match(verdict: Verdict, column, matched_as: str) -> ArchivedDocument | None:
    found = _archived(column, verdict.sha256)
    if not found and column is ArchivedDocument.pdf_sha256:
        # A newer version of an archived PDF, with a fresh document timestamp appended.
        stmt = (
            select(ArchivedDocument)
            .join(ArchiveTimestamp, ArchiveTimestamp.archived_document_id == ArchivedDocument.id)
            .where(ArchiveTimestamp.pdf_sha256 == verdict.sha256)
            .limit(2)
        )
        found = list(db.session.scalars(stmt))
        if found:
            verdict.notes.append("Bản PDF đã được đóng dấu thời gian lại để lưu trữ dài hạn.")
    if not found:
        return None
    if len(found) > 1:
        verdict.reasons.append(
            "Tệp khớp với nhiều văn bản trong lưu trữ: lưu trữ có sai lệch, cần kiểm tra lại."
        )
    verdict.document, verdict.matched_as = found[0], matched_as
    return found[0]


def _check_pdf(verdict: Verdict, data: bytes, trust_roots: list) -> None:
    try:
        results = signing.validate_pdf(data, trust_roots)
    except ValueError:
        verdict.unreadable = True
        verdict.reasons.append("Tệp PDF bị hỏng, không đọc được.")
        return
    verdict.signatures = results
    doc = _match(verdict, ArchivedDocument.pdf_sha256, "pdf")
    if doc is not None:
        _check_issued_signatures(verdict, doc, results)
    else:
        verdict.reasons.append(
            "Tệp PDF này không trùng khớp với bản nào Sở đã phát hành (so sánh mã SHA-256)."
        )
        claimed = _claimed_document(data)
        if claimed is not None:
            verdict.document, verdict.matched_as = claimed, "embedded docx"
            verdict.reasons.append(
                f"Tệp mang bản .docx gốc của văn bản số {claimed.number_symbol} ngày "
                f"{format_date(claimed.doc_date)}, nhưng bản PDF này khác bản đã phát hành "
                "(đã bị sửa đổi hoặc thêm nội dung sau khi ký)."
            )
    if not results:
        verdict.reasons.append("Tệp PDF không có chữ ký số.")
    for result in results:
        if not result.ok:
            message = result.message[:1].lower() + result.message[1:]
            verdict.reasons.append(f"{signature_label(result.field_name)}: {message}")


def _check_issued_signatures(verdict: Verdict, doc: ArchivedDocument, results: list) -> None:
    if len(results) != EXPECTED_PDF_SIGNATURES:
        verdict.reasons.append(
            f"Văn bản đã phát hành phải có {EXPECTED_PDF_SIGNATURES} chữ ký số (người ký và "
            f"cơ quan); tệp này có {len(results)}."
        )
    for result, expected in zip(
        results, (doc.signer_cert_sha256, doc.agency_cert_sha256), strict=False
    ):
        if expected and result.cert_sha256 != expected:
            verdict.reasons.append(
                f"{signature_label(result.field_name)}: chứng thư số khác chứng thư đã dùng "
                "khi ký, phát hành văn bản."
            )


def _claimed_document(pdf: bytes) -> ArchivedDocument | None:
    """The archived document whose .docx this PDF embeds, if any."""
    try:
        files = signing.embedded_files(pdf)
    except ValueError:
        return None
    for content in files.values():
        found = _archived(ArchivedDocument.docx_sha256, hashlib.sha256(content).hexdigest())
        if found:
            return found[0]
    return None


def _check_docx(verdict: Verdict, data: bytes, trust_roots: list, p7s: bytes | None) -> None:
    doc = _match(verdict, ArchivedDocument.docx_sha256, "docx")
    if doc is None:
        verdict.reasons.append("Tệp .docx này không trùng khớp với văn bản nào Sở đã phát hành.")
    if p7s is None and doc is not None:
        blob = db.session.get(Blob, doc.p7s_sha256)
        if blob is None:
            verdict.reasons.append("Không tìm thấy chữ ký .p7s lưu trữ của văn bản.")
        else:
            p7s = blob.data
            verdict.notes.append("Đã dùng chữ ký .p7s lưu trong hệ thống để kiểm tra.")
    if p7s is None:
        if doc is None:
            verdict.reasons.append("Không có tệp chữ ký .p7s kèm theo để kiểm tra chữ ký số.")
        return
    cms = signing.verify_cms_detached(data, p7s, trust_roots)
    verdict.signatures = [cms]
    if not cms.ok:
        verdict.reasons.append(cms.message)  # it names the .p7s itself
    elif doc is not None and doc.signer_cert_sha256 and cms.cert_sha256 != doc.signer_cert_sha256:
        verdict.reasons.append(
            "Chữ ký .p7s đúng nhưng chứng thư số khác chứng thư của người đã ký văn bản."
        )


def verify_copy(data: bytes, doc: ArchivedDocument, trust_roots: list) -> Verdict:
    """Is this file the document ``doc`` (the one a printed code names), intact and trusted?"""
    verdict = verify_document(data, trust_roots)
    if verdict.document is not None and verdict.document.id != doc.id:
        verdict.reasons.append(
            f"Tệp này là văn bản khác (số {verdict.document.number_symbol} ngày "
            f"{format_date(verdict.document.doc_date)}), không phải văn bản số "
            f"{doc.number_symbol} mà mã xác thực này chỉ tới."
        )
    return verdict
