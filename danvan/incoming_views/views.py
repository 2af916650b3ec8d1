import io
import os

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from danvan import incoming, receipts, services
from danvan.config import MB
from danvan.edxml import codes
from danvan.edxml.package import MAX_PACKAGE_BYTES
from danvan.edxml.status import DOCUMENT, package_kind
from danvan.entries.forms import EmptyForm
from danvan.extensions import csrf, db
from danvan.incoming_views import bp
from danvan.incoming_views.forms import AcceptForm
from danvan.models import Agency, Blob, IncomingDocument
from danvan.operations.reports import file_stem
from danvan.pagination import page_args, paginate
from danvan.text import format_number, today_vn, utcnow
from danvan.uploads import KINDS, detect_kind, safe_filename
from danvan.web import flash_refusal, form_version, require, run_operation, text_arg, year_arg

PACKAGE_EXTENSIONS = (".edxml", ".xml")
TOO_LARGE = (
    f"Tệp tải lên quá lớn: gói edXML tối đa {format_number(MAX_PACKAGE_BYTES // MB)} MB. "
    "Chưa có gì được lưu."
)
STALE_FORM = "Biểu mẫu đã hết hạn. Vui lòng tải lại trang rồi chọn lại tệp."
FILES = {
    "pdf": ("pdf_sha256", "application/pdf", "pdf"),
    "docx": (
        "docx_sha256",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "docx",
    ),
    "p7s": ("p7s_sha256", "application/pkcs7-signature", "docx.p7s"),
    "goi": ("package_sha256", "application/xml", "edxml"),
}


def _require_viewer() -> None:
    require(
        incoming.can_view_incoming(current_user),
        "Chỉ Văn phòng, lãnh đạo Sở, Văn thư và quản trị viên được xem sổ văn bản đến.",
    )


def _require_clerk() -> None:
    require(incoming.can_receive(current_user), "Chỉ Văn thư được nhận và tiếp nhận văn bản đến.")


def _agency() -> Agency:
    """The user's agency (that of their unit; the first one for an administrator)."""
    if current_user.unit is not None:
        return db.session.get(Agency, current_user.unit.agency_id)
    agency = db.session.scalar(select(Agency).order_by(Agency.id).limit(1))
    if agency is None:
        abort(404, description="Chưa có cơ quan nào trong hệ thống.")
    return agency


def _document(doc_id: int) -> IncomingDocument:
    _require_viewer()
    doc = db.get_or_404(IncomingDocument, doc_id)
    if doc.agency_id != _agency().id:
        abort(404)
    return doc


def _index_page(status: int = 200, errors: list[str] | None = None):
    agency = _agency()
    q = text_arg(request.args, "q")
    year = year_arg(request.args) or today_vn().year
    years = sorted(set(incoming.register_years(agency)) | {year}, reverse=True)
    number, per_page = page_args(request.args)
    rows = paginate(incoming.incoming_stmt(agency, year, q), number, per_page)
    page = render_template(
        "incoming/index.html",
        page=rows,
        rows=rows.items,
        year=year,
        years=years,
        q=q,
        agency=agency,
        errors=errors or [],
        form=EmptyForm(formdata=None),
        can_receive=incoming.can_receive(current_user),
        status_labels=codes.STATUS_CODES,
        max_mb=MAX_PACKAGE_BYTES // MB,
    )
    return page, status


@bp.route("")
@login_required
def index():
    """The sổ văn bản đến of a year, searchable without accents; Văn thư's upload form."""
    _require_viewer()
    return _index_page()


def _upload_problems(upload, data: bytes) -> list[str]:
    """Why an uploaded file cannot be an edXML file (by its name and real content)."""
    name = safe_filename(upload.filename)
    if not data.strip():
        return [f"Tệp “{name}” rỗng."]
    kind = detect_kind(data)
    if kind is not None:
        label = KINDS[kind].label if kind in KINDS else "tệp Office có macro"
        return [f"Tệp “{name}” không phải gói edXML: nội dung thật là {label}."]
    if os.path.splitext(name)[1].lower() not in PACKAGE_EXTENSIONS:
        return [f"Tệp “{name}” không phải gói edXML: chỉ nhận tệp .edxml hoặc .xml."]
    return []


@bp.route("/nhan", methods=["POST"])
@csrf.exempt  # the body limit must be set before parsing; EmptyForm still checks the token
@login_required
def receive():
    """Văn thư uploads a package (→ registered) or a status reply (→ the delivery marked)."""
    _require_clerk()
    request.max_content_length = MAX_PACKAGE_BYTES + MB // 4
    try:
        if not EmptyForm().validate_on_submit():
            return _index_page(400, [STALE_FORM])
        upload = request.files.get("file")
        if not upload or not upload.filename:
            return _index_page(422, ["Vui lòng chọn tệp gói edXML (.edxml hoặc .xml)."])
        data = upload.read(MAX_PACKAGE_BYTES + 1)
    except RequestEntityTooLarge:
        return _index_page(413, [TOO_LARGE])
    if len(data) > MAX_PACKAGE_BYTES:
        return _index_page(413, [TOO_LARGE])
    problems = _upload_problems(upload, data)
    kind = None
    if not problems:
        kind, problems = package_kind(data, max_bytes=MAX_PACKAGE_BYTES)
    if problems:
        return _index_page(422, problems)
    agency, now = _agency(), utcnow()
    if kind == DOCUMENT:
        outcome = run_operation(
            incoming.import_package,
            data,
            agency=agency,
            actor=current_user,
            trust_roots=services.trust_roots(),
            now=now,
        )
    else:
        outcome = run_operation(
            receipts.apply_status_reply, data, agency=agency, actor=current_user, now=now
        )
    if outcome.error is not None:
        return _index_page(422, getattr(outcome.error, "problems", [outcome.error.message]))
    db.session.commit()
    if kind == DOCUMENT:
        doc = outcome.value
        flash(
            f"Đã vào sổ văn bản đến số {doc.number}/{doc.year}: văn bản số {doc.number_symbol} "
            f"của {doc.sender_name}. Chữ ký số: {incoming.signature_summary(doc).lower()}.",
            "success" if doc.signatures_valid else "warning",
        )
        return redirect(url_for("incoming.view", doc_id=doc.id))
    delivery = outcome.value
    label = delivery.status_description or delivery.status_code
    flash(f"Đã ghi nhận phản hồi của {delivery.recipient_name}: {label}", "success")
    return redirect(url_for("incoming.index"))


@bp.route("/<int:doc_id>")
@login_required
def view(doc_id: int):
    """One received document: every field, each signature's result, files and replies."""
    doc = _document(doc_id)
    form = AcceptForm(formdata=None)
    form.version.data = str(doc.version)
    return render_template(
        "incoming/view.html",
        doc=doc,
        form=form,
        verification=doc.verification or {},
        can_receive=incoming.can_receive(current_user),
        status_labels=codes.STATUS_CODES,
    )


@bp.route("/<int:doc_id>/tiep-nhan", methods=["POST"])
@login_required
def accept(doc_id: int):
    """Văn thư accepts the document ("03 Đã tiếp nhận")."""
    doc = _document(doc_id)
    _require_clerk()
    form = AcceptForm()
    if not form.validate_on_submit():
        abort(400)
    outcome = run_operation(
        incoming.accept, doc, actor=current_user, expected_version=form_version(form), now=utcnow()
    )
    if outcome.error is not None:
        flash_refusal(outcome.error)
    else:
        db.session.commit()
        flash(
            f"Đã tiếp nhận văn bản số đến {doc.number}/{doc.year}. Tải phản hồi “Đã tiếp nhận” "
            "để gửi lại nơi gửi.",
            "success",
        )
    return redirect(url_for("incoming.view", doc_id=doc_id))


@bp.route("/<int:doc_id>/phan-hoi-<code>.xml")
@login_required
def reply(doc_id: int, code: str):
    """The QCVN 102 status reply ("01" or "03") to send back to the sender, as a download."""
    doc = _document(doc_id)
    _require_clerk()
    if code not in incoming.REPLY_CODES:
        abort(404)
    staff = doc.received_by if code == incoming.ARRIVED else doc.accepted_by
    outcome = run_operation(incoming.status_reply_for, doc, code, staff=staff, now=utcnow())
    if outcome.error is not None:
        flash_refusal(outcome.error)
        return redirect(url_for("incoming.view", doc_id=doc_id))
    return send_file(
        io.BytesIO(outcome.value),
        mimetype="application/xml",
        as_attachment=True,
        download_name=f"phan-hoi-{code}-den-{doc.year}-{doc.number}.xml",
    )


@bp.route("/<int:doc_id>/tep/<kind>")
@login_required
def download(doc_id: int, kind: str):
    """A file as received (PDF, .docx, .p7s, or the package itself)."""
    doc = _document(doc_id)
    if kind not in FILES:
        abort(404)
    column, mimetype, ext = FILES[kind]
    sha = getattr(doc, column)
    if sha is None:
        abort(404)
    stem = file_stem(doc.doc_date.year, doc.number_symbol)
    return send_file(
        io.BytesIO(db.session.get(Blob, sha).data),
        mimetype=mimetype,
        as_attachment=True,
        download_name=safe_filename(f"den-{doc.year}-{doc.number}-{stem}.{ext}"),
    )
