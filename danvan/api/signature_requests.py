"""/api/v1/signature-requests: what the signing agent (danvan-sign) reads, signs and answers.

Only the token's own user sees their requests (404 otherwise); answering needs a read-write
token. The agent signs each ``to_sign`` item's ``data`` with RSA PKCS#1 v1.5 / SHA-256
(CKM_SHA256_RSA_PKCS on the token) and posts the signature values back.
"""

from __future__ import annotations

import base64
import binascii
import io

from flask import current_app, json, request, send_file
from marshmallow import Schema, fields, validate

from danvan import services
from danvan import signature_requests as sig_ops
from danvan.api.common import JSON_MIME, api_blueprint, binary_doc, body, not_found, problems
from danvan.api.entries import actor
from danvan.api.errors import PROBLEM_MIME, ProblemError
from danvan.api.schemas import ProblemSchema
from danvan.extensions import db
from danvan.models import Blob
from danvan.models.signatures import SignatureRequest
from danvan.operations import reports as ops
from danvan.text import format_date, utcnow
from danvan.web import commit_and_notify

bp = api_blueprint(
    "api_signature_requests", "Yêu cầu ký số bằng USB token (chương trình danvan-sign)"
)

GONE_TITLE = "Yêu cầu đã hết hạn"
REFUSED_TITLE = "Chữ ký số không được chấp nhận"


class ToSignSchema(Schema):
    kind = fields.String(required=True, metadata={"enum": ["pdf", "docx"]})
    algorithm = fields.String(required=True, metadata={"enum": ["sha256_rsa_pkcs1v15"]})
    data = fields.String(required=True, metadata={"description": "base64 của thuộc tính ký (DER)"})


class SignatureRequestSchema(Schema):
    id = fields.Integer(required=True)
    report_id = fields.Integer(required=True)
    number_symbol = fields.String(required=True)
    subject = fields.String(required=True)
    date = fields.String(required=True, metadata={"description": "dd/mm/yyyy"})
    expires_at = fields.String(required=True, metadata={"description": "ISO 8601, UTC"})
    certificate_sha256 = fields.String(required=True)
    pdf_url = fields.String(required=True, allow_none=True)


class SignatureRequestDetailSchema(SignatureRequestSchema):
    to_sign = fields.List(fields.Nested(ToSignSchema), required=True)


class SignatureRequestListSchema(Schema):
    items = fields.List(fields.Nested(SignatureRequestSchema), required=True)
    total = fields.Integer(required=True)


class SignatureValuesSchema(Schema):
    pdf = fields.String(validate=validate.Length(min=1, max=4096))
    docx = fields.String(required=True, validate=validate.Length(min=1, max=4096))


class SignaturesSchema(Schema):
    signatures = fields.Nested(SignatureValuesSchema, required=True)


class CompletedSchema(Schema):
    state = fields.String(required=True)
    report_id = fields.Integer(required=True)
    number_symbol = fields.String(required=True)


def _row(item: SignatureRequest) -> dict:
    report = item.report
    return {
        "id": item.id,
        "report_id": item.report_id,
        "number_symbol": item.number_symbol,
        "subject": ops.register_subject(report),
        "date": format_date(item.signed_date),
        "expires_at": item.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "certificate_sha256": item.certificate.sha256,
        "pdf_url": (
            f"{request.script_root}/api/v1/signature-requests/{item.id}/pdf"
            if item.prepared_pdf_sha256
            else None
        ),
    }


def _load(request_id: int) -> SignatureRequest:
    item = db.session.get(SignatureRequest, request_id)
    if item is None or item.signer_id != actor().id:
        raise not_found()
    return item


def _gone(status: int, title: str, detail: str):
    body_ = {
        "type": f"urn:danvan:problem:{'gone' if status == 410 else 'signature-refused'}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.path,
    }
    response = current_app.response_class(
        json.dumps(body_, ensure_ascii=False), status=status, mimetype=PROBLEM_MIME
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _gone_doc(func):
    return bp.alt_response(
        410,
        description="Yêu cầu ký đã hết hạn",
        schema=ProblemSchema,
        content_type=PROBLEM_MIME,
    )(func)


@bp.route("/signature-requests")
@bp.response(200, SignatureRequestListSchema)
@problems(bp)
def list_requests():
    """Các yêu cầu ký đang chờ chữ ký của chính người dùng (chưa hết hạn)."""
    items = sig_ops.pending_for(actor())
    return {"items": [_row(item) for item in items], "total": len(items)}


@bp.route("/signature-requests/<int:request_id>")
@bp.response(200, SignatureRequestDetailSchema)
@problems(bp)
def request_detail(request_id: int):
    """Một yêu cầu ký với dữ liệu cần ký (base64) của bản PDF và tệp .docx."""
    item = _load(request_id)
    row = _row(item)
    row["to_sign"] = [
        {"kind": t.kind, "algorithm": t.algorithm, "data": base64.b64encode(t.data).decode()}
        for t in sig_ops.to_sign(item)
    ]
    return row


@bp.route("/signature-requests/<int:request_id>/pdf")
@bp.doc(**binary_doc("application/pdf"))
@problems(bp)
def request_pdf(request_id: int):
    """Bản PDF đã chuẩn bị để ký (đọc trước khi ký)."""
    item = _load(request_id)
    if not item.prepared_pdf_sha256:
        raise not_found()
    blob = db.session.get(Blob, item.prepared_pdf_sha256)
    return send_file(
        io.BytesIO(blob.data),
        mimetype="application/pdf",
        as_attachment=False,
        download_name=f"{item.number_symbol.replace('/', '-')}-cho-ky.pdf",
    )


def _decode(values: dict) -> dict[str, bytes]:
    out = {}
    for kind, text in values.items():
        try:
            out[kind] = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ProblemError(
                422,
                "Chữ ký gửi về không phải base64 hợp lệ.",
                errors=[{"field": f"signatures.{kind}", "message": "Phải là base64."}],
            ) from exc
    return out


@bp.route("/signature-requests/<int:request_id>/signatures", methods=["POST"])
@body(JSON_MIME)
@bp.arguments(SignaturesSchema)
@bp.response(200, CompletedSchema)
@_gone_doc
@problems(bp)
def post_signatures(data, request_id: int):
    """Gửi chữ ký số (base64) tạo trên USB token; máy chủ kiểm tra rồi ghép vào văn bản."""
    item = _load(request_id)
    signatures = _decode(data["signatures"])
    user = actor()
    report = item.report
    try:
        sig_ops.complete_signature(
            item,
            signatures,
            actor=user,
            services=services.signing_services(user, agency=report.campaign.agency),
            trust_roots=services.trust_roots(),
            now=utcnow(),
        )
    except sig_ops.RequestExpired as error:
        db.session.commit()  # the request is recorded as expired, its number given back
        return _gone(410, GONE_TITLE, error.message)
    except sig_ops.SignatureNotAccepted as error:
        db.session.commit()  # refused: recorded, nothing of the report written
        return _gone(422, REFUSED_TITLE, error.message)
    except sig_ops.AlreadyAnswered:
        raise
    except ops.Conflict as error:
        db.session.commit()  # the request is cancelled (the report moved)
        raise ProblemError(409, error.message) from error
    number_symbol = report.number_symbol
    report_id = report.id
    commit_and_notify()
    return {"state": "completed", "report_id": report_id, "number_symbol": number_symbol}
