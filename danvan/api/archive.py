"""/api/v1: the outgoing register, the archive and its files, verification of a file."""

from __future__ import annotations

import io

from flask import request, send_file
from flask_smorest.fields import Upload
from marshmallow import Schema
from sqlalchemy import select

from danvan import services
from danvan.api.common import (
    MULTIPART_MIME,
    Extra,
    api_blueprint,
    binary_doc,
    body,
    kind_doc,
    not_found,
    problems,
)
from danvan.api.entries import actor
from danvan.api.errors import ProblemError
from danvan.api.schemas import (
    ArchiveArgs,
    ArchivePageSchema,
    RegisterArgs,
    RegisterPageSchema,
    VerdictSchema,
)
from danvan.archive.views import (
    MIMES,
    TOO_LARGE,
    TOO_MANY,
    VERIFY_MAX_FILE,
    VERIFY_MAX_P7S,
    VERIFY_MAX_PER_WINDOW,
    VERIFY_WINDOW_S,
    can_read_issued,
)
from danvan.extensions import db
from danvan.models import ArchivedDocument, Blob, RegisterEntry
from danvan.operations.archive import archive_stmt
from danvan.operations.reports import file_stem
from danvan.pagination import paginate
from danvan.permissions import OVERSEER_ROLES
from danvan.ratelimit import hit
from danvan.text import clean_line, today_vn
from danvan.verification import verify_document
from danvan.web import require

bp = api_blueprint("api_archive", "Sổ văn bản đi, lưu trữ văn bản đã phát hành, kiểm tra văn bản")

OVERSEERS_ONLY = "Chỉ Văn phòng, lãnh đạo Sở và Văn thư được xem lưu trữ và sổ văn bản đi."


def _require_overseer() -> None:
    require(actor().has_role(*OVERSEER_ROLES), OVERSEERS_ONLY)


@bp.route("/register")
@bp.arguments(RegisterArgs, location="query")
@bp.response(200, RegisterPageSchema)
@problems(bp)
def register(args):
    """Sổ đăng ký văn bản đi của một năm (mặc định năm nay), theo số."""
    _require_overseer()
    year = args["year"] or today_vn().year
    stmt = select(RegisterEntry).where(RegisterEntry.year == year).order_by(RegisterEntry.number)
    page = paginate(stmt, args["page"], args["per_page"])
    rows = [Extra(r, recipients=[x for x in r.recipients.split(";") if x]) for r in page.items]
    return page.as_dict(rows)


@bp.route("/archive")
@bp.arguments(ArchiveArgs, location="query")
@bp.response(200, ArchivePageSchema)
@problems(bp)
def archive(args):
    """Văn bản đã phát hành (mới nhất trước); tìm theo số, ký hiệu, trích yếu không dấu."""
    _require_overseer()
    stmt = archive_stmt(clean_line(args["q"] or ""), args["year"])
    return paginate(stmt, args["page"], args["per_page"]).as_dict()


@bp.route("/archive/<int:document_id>/files/<kind>")
@bp.doc(**binary_doc(*(mime for mime, _ext in MIMES.values())), **kind_doc(MIMES))
@problems(bp)
def archive_file(document_id: int, kind: str):
    """Tệp lưu trữ: PDF (cả đơn vị được gửi), .docx và .p7s (Văn phòng, lãnh đạo, Văn thư)."""
    doc = db.session.get(ArchivedDocument, document_id)
    if doc is None or kind not in MIMES:
        raise not_found()
    if kind != "pdf" or not can_read_issued(actor(), doc):
        _require_overseer()
    sha = {"pdf": doc.pdf_sha256, "docx": doc.docx_sha256, "p7s": doc.p7s_sha256}[kind]
    if sha is None:
        raise not_found()
    mimetype, ext = MIMES[kind]
    return send_file(
        io.BytesIO(db.session.get(Blob, sha).data),
        mimetype=mimetype,
        as_attachment=True,
        download_name=f"{file_stem(doc.year, doc.number_symbol)}.{ext}",
    )


class VerifyArgs(Schema):
    file = Upload(required=True)
    p7s = Upload()


def _read(upload, limit: int) -> bytes | None:
    if upload is None or not upload.filename:
        return None
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ProblemError(413, TOO_LARGE)
    return data


@bp.route("/verification", methods=["POST"])
@body(MULTIPART_MIME)
@bp.arguments(VerifyArgs, location="files")
@bp.response(200, VerdictSchema)
@problems(bp)
def verify(files):
    """Kiểm tra một tệp (PDF, hoặc .docx kèm .p7s) có đúng là văn bản Sở đã phát hành."""
    count = hit(f"verify:{request.remote_addr}", window_s=VERIFY_WINDOW_S)
    db.session.commit()
    if count > VERIFY_MAX_PER_WINDOW:
        raise ProblemError(429, TOO_MANY)
    data = _read(files.get("file"), VERIFY_MAX_FILE)
    if data is None:
        raise ProblemError(
            422, errors=[{"field": "file", "message": "Vui lòng chọn tệp cần kiểm tra."}]
        )
    p7s = _read(files.get("p7s"), VERIFY_MAX_P7S)
    verdict = verify_document(data, services.trust_roots(), p7s=p7s)
    return {
        "status": verdict.status,
        "valid": verdict.valid,
        "kind": verdict.kind,
        "sha256": verdict.sha256,
        "document": verdict.document.number_symbol if verdict.document is not None else None,
        "archived_document_id": verdict.document.id if verdict.document is not None else None,
        "matched_as": verdict.matched_as,
        "reasons": list(verdict.reasons),
        "notes": list(verdict.notes),
        "signatures": [
            {"field_name": s.field_name, "signer": s.signer_cn, "ok": bool(s.ok)}
            for s in verdict.signatures
        ],
    }
