import io

from flask import abort, render_template, request, send_file, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from danvan import edxml as edxml_package
from danvan import permissions, services
from danvan.archive import bp
from danvan.config import MB
from danvan.documents.context import register_data
from danvan.documents.register_docx import render_register_docx
from danvan.entries.forms import EmptyForm
from danvan.extensions import csrf, db
from danvan.models import Agency, ArchivedDocument, Blob, RegisterEntry, Report, User
from danvan.operations.archive import archive_stmt
from danvan.operations.reports import file_stem
from danvan.pagination import page_args, paginate
from danvan.permissions import OVERSEER_ROLES
from danvan.ratelimit import hit, peek
from danvan.receipts import record_edxml_delivery
from danvan.text import fold, today_vn, utcnow
from danvan.verification import SIGNATURE_LABELS, normalise_code, verify_copy, verify_document
from danvan.web import require, text_arg, year_arg
from danvan.workflow import ReportState

# The public verification page: file sizes, and verifications per client address and window.
VERIFY_MAX_FILE = 25 * MB
VERIFY_MAX_P7S = 2 * MB
VERIFY_MAX_REQUEST = VERIFY_MAX_FILE + VERIFY_MAX_P7S + MB // 4  # the form fields' share
VERIFY_MAX_PER_WINDOW = 20
VERIFY_WINDOW_S = 600
TOO_LARGE = (
    "Tệp tải lên quá lớn: tệp văn bản tối đa 25 MB, tệp chữ ký .p7s tối đa 2 MB. "
    "Chưa có tệp nào được kiểm tra hay lưu lại; vui lòng chọn lại tệp đúng dung lượng."
)
TOO_MANY = (
    f"Bạn đã kiểm tra quá {VERIFY_MAX_PER_WINDOW} tệp trong {VERIFY_WINDOW_S // 60} phút. "
    "Vui lòng đợi ít phút rồi thử lại."
)
STALE_FORM = "Biểu mẫu đã hết hạn. Vui lòng tải lại trang rồi chọn lại tệp cần kiểm tra."
# Unknown codes per client address and window, before the page answers 429 (guessing codes).
UNKNOWN_CODES_PER_WINDOW = 30

MIMES = {
    "pdf": ("application/pdf", "pdf"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    "p7s": ("application/pkcs7-signature", "docx.p7s"),
}


# Nơi nhận lines that send a document to every unit of the agency ("Các phòng chuyên môn, đơn
# vị thuộc Sở"), compared without accents.
ALL_UNITS_RECIPIENTS = tuple(fold(x) for x in ("phòng chuyên môn", "đơn vị thuộc sở"))


def sent_to_unit(recipients: list[str], unit_name: str) -> bool:
    """Whether Nơi nhận sends the document to this unit: by its name, or to every unit."""
    name = fold(unit_name)
    for line in recipients:
        folded = fold(line)
        if (name and name in folded) or any(m in folded for m in ALL_UNITS_RECIPIENTS):
            return True
    return False


def can_read_issued(user: User, doc: ArchivedDocument) -> bool:
    """Overseers read every archived file; a unit's staff read the PDFs sent to their unit."""
    if user.has_role(*OVERSEER_ROLES):
        return True
    if user.unit is None:
        return False
    row = db.session.scalar(select(RegisterEntry).where(RegisterEntry.report_id == doc.report_id))
    return row is not None and sent_to_unit(row.recipients.split(";"), user.unit.name)


@bp.app_template_global()
def report_href(report: Report) -> str | None:
    """Where a mention of ``report`` links for the current user: the report page, the issued
    PDF (staff of a unit it was sent to), or nowhere (the template shows plain text)."""
    if permissions.can_view_report(current_user, report):
        return url_for("reports.view", report_id=report.id)
    if report.state != ReportState.ISSUED:
        return None
    doc = db.session.scalar(select(ArchivedDocument).where(ArchivedDocument.report_id == report.id))
    if doc is None or doc.pdf_sha256 is None or not can_read_issued(current_user, doc):
        return None
    return url_for("archive.download", document_id=doc.id, kind="pdf")


def _require_overseer() -> None:
    require(
        current_user.has_role(*OVERSEER_ROLES),
        "Chỉ Văn phòng, lãnh đạo Sở và Văn thư được xem lưu trữ và sổ văn bản đi.",
    )


@bp.route("/luu-tru")
@login_required
def index():
    _require_overseer()
    q = text_arg(request.args, "q")
    year = year_arg(request.args)
    number, per_page = page_args(request.args)
    page = paginate(archive_stmt(q, year), number, per_page)
    return render_template("archive/index.html", page=page, documents=page.items, q=q, year=year)


@bp.route("/luu-tru/<int:document_id>/<kind>")
@login_required
def download(document_id: int, kind: str):
    doc = db.get_or_404(ArchivedDocument, document_id)
    if kind not in MIMES:
        abort(404)
    if kind != "pdf" or not can_read_issued(current_user, doc):
        _require_overseer()
    return _send_archived(doc, kind)


def _send_archived(doc: ArchivedDocument, kind: str):
    """One archived file ("pdf", "docx", "p7s") as a download named by year and symbol."""
    sha = {"pdf": doc.pdf_sha256, "docx": doc.docx_sha256, "p7s": doc.p7s_sha256}[kind]
    if sha is None:
        abort(404)
    mimetype, ext = MIMES[kind]
    name = f"{file_stem(doc.year, doc.number_symbol)}.{ext}"
    return send_file(
        io.BytesIO(db.session.get(Blob, sha).data),
        mimetype=mimetype,
        as_attachment=True,
        download_name=name,
    )


def _verify_page(status: int = 200, **context):
    context.setdefault("form", EmptyForm(formdata=None))
    context.setdefault("result", None)
    return render_template("archive/verify.html", labels=SIGNATURE_LABELS, **context), status


def _read_limited(upload, limit: int) -> bytes:
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise RequestEntityTooLarge()
    return data


@bp.route("/kiem-tra", methods=["GET", "POST"])
@csrf.exempt  # the body limit must be set before parsing; EmptyForm still checks the token
def verify():
    """Public (no login): is this PDF, or .docx with its .p7s, a document the agency issued?"""
    if request.method != "POST":
        return _verify_page()
    refused = _refuse_verification()
    if refused:
        return _verify_page(refused[0], error=refused[1])
    try:
        data = _read_upload("file", VERIFY_MAX_FILE)
        if data is None:
            return _verify_page(error="Vui lòng chọn tệp cần kiểm tra.")
        p7s = _read_upload("p7s", VERIFY_MAX_P7S)
    except RequestEntityTooLarge:
        return _verify_page(413, error=TOO_LARGE)
    return _verify_page(result=verify_document(data, services.trust_roots(), p7s=p7s))


def _refuse_verification() -> tuple[int, str] | None:
    """A verification POST is counted, then refused (status, message) when over the address's
    limit, too large or with a stale form; None: go on. The body limit is set before parsing."""
    count = hit(f"verify:{request.remote_addr}", window_s=VERIFY_WINDOW_S)
    db.session.commit()
    if count > VERIFY_MAX_PER_WINDOW:
        return 429, TOO_MANY
    request.max_content_length = VERIFY_MAX_REQUEST
    try:
        if not EmptyForm().validate_on_submit():
            return 400, STALE_FORM
    except RequestEntityTooLarge:
        return 413, TOO_LARGE
    return None


def _read_upload(name: str, limit: int) -> bytes | None:
    upload = request.files.get(name)
    if not upload or not upload.filename:
        return None
    return _read_limited(upload, limit)


def _issued_by_code(text: str) -> tuple[ArchivedDocument | None, str | None]:
    """The code as typed or scanned, normalised, and the archived document whose signed copy
    carries it (None: not a code, unknown, or not issued yet)."""
    code = normalise_code(text)
    if code is None:
        return None, None
    doc = db.session.scalar(
        select(ArchivedDocument)
        .join(Report, Report.id == ArchivedDocument.report_id)
        .where(Report.verify_code == code)
    )
    return doc, code


def _document_page(doc: ArchivedDocument, code: str, status: int = 200, **context):
    context.setdefault("form", EmptyForm(formdata=None))
    context.setdefault("result", None)
    pdf_size = None
    if doc.pdf_sha256:
        pdf_size = db.session.scalar(select(Blob.size).where(Blob.sha256 == doc.pdf_sha256))
    page = render_template(
        "archive/document.html",
        doc=doc,
        code=code,
        agency_name=db.session.get(Agency, doc.agency_id).name,
        pdf_size=pdf_size,
        labels=SIGNATURE_LABELS,
        **context,
    )
    return page, status


@bp.route("/xm/<code>", methods=["GET", "POST"])
@csrf.exempt  # as /kiem-tra: the body limit is set before parsing; EmptyForm checks the token
def document(code: str):
    """Public (no login): the page a document's QR code opens; upload a copy to compare."""
    key = f"verify-code:{request.remote_addr}"
    if peek(key, window_s=VERIFY_WINDOW_S) >= UNKNOWN_CODES_PER_WINDOW:
        return _verify_page(429, error=TOO_MANY)
    doc, code = _issued_by_code(code)
    if doc is None:
        hit(key, window_s=VERIFY_WINDOW_S)
        db.session.commit()
        abort(404)
    if request.method != "POST":
        return _document_page(doc, code)
    refused = _refuse_verification()
    if refused:
        return _document_page(doc, code, refused[0], error=refused[1])
    try:
        data = _read_upload("file", VERIFY_MAX_FILE)
    except RequestEntityTooLarge:
        return _document_page(doc, code, 413, error=TOO_LARGE)
    if data is None:
        return _document_page(doc, code, error="Vui lòng chọn tệp PDF cần so sánh.")
    result = verify_copy(data, doc, services.trust_roots())
    return _document_page(doc, code, result=result)


@bp.route("/xm/<code>/ban-luu.pdf")
def document_pdf(code: str):
    """Public: the archived PDF of the document the code names, to compare with a copy."""
    doc, _code = _issued_by_code(code)
    if doc is None:
        abort(404)
    return _send_archived(doc, "pdf")


@bp.route("/luu-tru/<int:document_id>/edxml", methods=["GET", "POST"])
@login_required
def edxml(document_id: int):
    """The issued document as an edXML package (QCVN 102:2016) for one receiving agency.

    GET shows the form (``den``/``ten`` prefill it); POST builds the package and records its
    Delivery (channel "edxml"), which the recipient's status replies then update.
    """
    _require_overseer()
    doc = db.get_or_404(ArchivedDocument, document_id)
    report = db.session.get(Report, doc.report_id)
    source = request.form if request.method == "POST" else request.args
    organ_id = text_arg(source, "den")
    name = text_arg(source, "ten") or report.campaign.report_recipient
    problems: list[str] = []
    if request.method == "POST":
        if not EmptyForm().validate_on_submit():
            abort(400)
        if not organ_id:
            problems = ["Vui lòng nhập mã định danh của cơ quan nhận."]
        else:
            recipient = edxml_package.Organ(organ_id, name)
            try:
                data = edxml_package.build_package(
                    edxml_package.document_from_archive(doc, recipients=[recipient], now=utcnow())
                )
            except edxml_package.PackageError as exc:
                problems = list(exc.problems)
            else:
                record_edxml_delivery(doc, recipient, actor=current_user, now=utcnow())
                db.session.commit()
                return send_file(
                    io.BytesIO(data),
                    mimetype="application/xml",
                    as_attachment=True,
                    download_name=f"{file_stem(doc.year, doc.number_symbol)}.edxml",
                )
    status = 422 if problems else 200
    page = render_template(
        "archive/edxml.html", doc=doc, organ_id=organ_id, name=name, problems=problems
    )
    return page, status


@bp.route("/so-van-ban-di")
@login_required
def register():
    _require_overseer()
    year = year_arg(request.args) or today_vn().year
    number, per_page = page_args(request.args)
    page = paginate(
        select(RegisterEntry)
        .where(RegisterEntry.year == year)
        .order_by(RegisterEntry.number, RegisterEntry.id),
        number,
        per_page,
    )
    years = sorted(
        set(db.session.scalars(select(RegisterEntry.year).distinct())) | {year}, reverse=True
    )
    return render_template(
        "archive/register.html", page=page, rows=page.items, year=year, years=years
    )


@bp.route("/so-van-ban-di/<year:year>.docx")
@login_required
def register_docx(year: int):
    _require_overseer()
    agency = db.session.scalar(select(Agency).order_by(Agency.id))
    if agency is None:
        abort(404)
    rows = list(
        db.session.scalars(
            select(RegisterEntry)
            .where(RegisterEntry.year == year, RegisterEntry.agency_id == agency.id)
            .order_by(RegisterEntry.number)
        )
    )
    data = render_register_docx(register_data(agency, year, rows))
    return send_file(
        io.BytesIO(data),
        mimetype=MIMES["docx"][0],
        as_attachment=True,
        download_name=f"so-dang-ky-van-ban-di-{year}.docx",
    )
