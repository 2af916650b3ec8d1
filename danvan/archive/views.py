import io

from flask import abort, render_template, request, send_file
from flask_login import current_user, login_required
from sqlalchemy import select

from danvan import services
from danvan.archive import bp
from danvan.documents.context import register_data
from danvan.documents.register_docx import render_register_docx
from danvan.entries.forms import EmptyForm
from danvan.extensions import db
from danvan.models import Agency, ArchivedDocument, Blob, RegisterEntry
from danvan.operations.archive import search_archive, verify_upload
from danvan.permissions import OVERSEER_ROLES
from danvan.text import today_vn
from danvan.web import require

MIMES = {
    "pdf": ("application/pdf", "pdf"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    "p7s": ("application/pkcs7-signature", "docx.p7s"),
}


def _require_overseer() -> None:
    require(
        current_user.has_role(*OVERSEER_ROLES),
        "Chỉ Văn phòng, lãnh đạo Sở và Văn thư được xem lưu trữ và sổ văn bản đi.",
    )


@bp.route("/luu-tru")
@login_required
def index():
    _require_overseer()
    q = request.args.get("q", "").strip()
    year = request.args.get("nam", type=int)
    return render_template("archive/index.html", documents=search_archive(q, year), q=q, year=year)


@bp.route("/luu-tru/<int:document_id>/<kind>")
@login_required
def download(document_id: int, kind: str):
    _require_overseer()
    doc = db.get_or_404(ArchivedDocument, document_id)
    if kind not in MIMES:
        abort(404)
    sha = {"pdf": doc.pdf_sha256, "docx": doc.docx_sha256, "p7s": doc.p7s_sha256}[kind]
    if sha is None:
        abort(404)
    mimetype, ext = MIMES[kind]
    name = f"{doc.number_symbol.replace('/', '-')}.{ext}"
    return send_file(
        io.BytesIO(db.session.get(Blob, sha).data),
        mimetype=mimetype,
        as_attachment=True,
        download_name=name,
    )


@bp.route("/kiem-tra", methods=["GET", "POST"])
@login_required
def verify():
    form = EmptyForm()
    result = None
    error = None
    if form.validate_on_submit():
        upload = request.files.get("file")
        p7s_upload = request.files.get("p7s")
        if not upload or not upload.filename:
            error = "Vui lòng chọn tệp cần kiểm tra."
        else:
            data = upload.read()
            p7s = p7s_upload.read() if p7s_upload and p7s_upload.filename else None
            result = verify_upload(data, services.trust_roots(), p7s=p7s)
    elif request.method == "POST":
        abort(400)
    return render_template("archive/verify.html", form=form, result=result, error=error)


@bp.route("/so-van-ban-di")
@login_required
def register():
    _require_overseer()
    year = request.args.get("nam", type=int) or today_vn().year
    rows = list(
        db.session.scalars(
            select(RegisterEntry).where(RegisterEntry.year == year).order_by(RegisterEntry.number)
        )
    )
    years = sorted(
        set(db.session.scalars(select(RegisterEntry.year).distinct())) | {year}, reverse=True
    )
    return render_template("archive/register.html", rows=rows, year=year, years=years)


@bp.route("/so-van-ban-di/<int:year>.docx")
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
