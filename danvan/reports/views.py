import io
from collections import OrderedDict

from flask import abort, current_app, flash, redirect, render_template, send_file, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from danvan import permissions, services
from danvan.documents import pdf as pdfmod
from danvan.entries.forms import ActionForm
from danvan.extensions import db
from danvan.models import Blob, Campaign, Entry, Event, Report, Role, User, UserRole
from danvan.operations import Conflict, OperationError
from danvan.operations import entries as entry_ops
from danvan.operations import reports as ops
from danvan.reports import bp
from danvan.reports.forms import NarrativeForm, ReportActionForm
from danvan.web import commit_and_notify, flash_error, form_version
from danvan.workflow import EntryAction, ReportAction, ReportState

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# Page images of draft renderings, by the draft's SHA-256 (a cache: losing it costs a re-render).
_PREVIEWS: "OrderedDict[str, list[bytes]]" = OrderedDict()
PREVIEW_CACHE_SIZE = 8


def load_report(report_id: int) -> Report:
    report = db.session.get(Report, report_id)
    if report is None or not permissions.can_view_report(current_user, report):
        abort(404)
    return report


def _signers() -> list[User]:
    stmt = (
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(
            UserRole.role.in_([Role.DIRECTOR.value, Role.DEPUTY_DIRECTOR.value]),
            User.active.is_(True),
        )
        .order_by(UserRole.role.desc(), User.full_name)
    )
    return list(db.session.scalars(stmt).unique())


@bp.route("/ke-hoach/<int:campaign_id>/tong-hop", methods=["POST"])
@login_required
def compile(campaign_id: int):
    campaign = db.get_or_404(Campaign, campaign_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        report = ops.compile_report(campaign, actor=current_user)
    except OperationError as error:
        db.session.rollback()
        abort(error.status, description=error.message)
    commit_and_notify()
    flash("Đã tổng hợp báo cáo từ các hồ sơ đã duyệt.", "success")
    return redirect(url_for("reports.view", report_id=report.id), 303)


@bp.route("/bao-cao/<int:report_id>")
@login_required
def view(report_id: int):
    report = load_report(report_id)
    entries = ops.report_entries(report)
    events = list(
        db.session.scalars(select(Event).where(Event.report_id == report.id).order_by(Event.id))
    )
    narrative = NarrativeForm(obj=report)
    narrative.version.data = str(report.version)
    action_form = ReportActionForm()
    action_form.version.data = str(report.version)
    signers = _signers()
    action_form.signer_id.choices = [(u.id, f"{u.full_name} ({u.role_labels})") for u in signers]
    if report.signer_id:
        action_form.signer_id.data = report.signer_id
    can_edit = permissions.can_act_report(current_user, report, ReportAction.EDIT).allowed
    can_send_back = report.state == ReportState.SUBMITTED and report.signer_id == current_user.id
    return render_template(
        "reports/view.html",
        report=report,
        entries=entries,
        events=events,
        narrative=narrative,
        action_form=action_form,
        can_edit=can_edit,
        transitions=permissions.available_report_transitions(current_user, report),
        can_send_back=can_send_back,
        entry_form=ActionForm(),
        libreoffice=pdfmod.libreoffice_available(),
    )


@bp.route("/bao-cao/<int:report_id>/noi-dung", methods=["POST"])
@login_required
def save_texts(report_id: int):
    report = load_report(report_id)
    form = NarrativeForm()
    if not form.validate_on_submit():
        flash("Nội dung quá dài hoặc biểu mẫu không hợp lệ.", "danger")
        return redirect(url_for("reports.view", report_id=report_id), 303)
    texts = {name: form[name].data or "" for name in ops.NARRATIVE_FIELDS}
    try:
        ops.update_report_texts(
            report, actor=current_user, texts=texts, expected_version=form_version(form)
        )
    except Conflict as error:
        flash_error(error)
    except OperationError as error:
        db.session.rollback()
        abort(error.status, description=error.message)
    else:
        commit_and_notify()
        flash("Đã lưu nội dung báo cáo.", "success")
    return redirect(url_for("reports.view", report_id=report_id), 303)


@bp.route("/bao-cao/<int:report_id>/thao-tac/<action>", methods=["POST"])
@login_required
def act(report_id: int, action: str):
    report = load_report(report_id)
    try:
        action_enum = ReportAction(action)
    except ValueError:
        abort(404)
    form = ReportActionForm()
    if not form.validate_on_submit():
        abort(400)
    version = form_version(form)
    try:
        if action_enum == ReportAction.COMPILE:
            ops.compile_report(report.campaign, actor=current_user)
        elif action_enum == ReportAction.SUBMIT:
            signer = db.session.get(User, form.signer_id.data or 0)
            if signer is None:
                raise ops.Invalid("Vui lòng chọn người ký.")
            ops.submit_report(report, actor=current_user, signer=signer, expected_version=version)
        elif action_enum == ReportAction.RETURN:
            ops.return_report(
                report, actor=current_user, comment=form.comment.data, expected_version=version
            )
        elif action_enum == ReportAction.SIGN:
            svc = services.signing_services(current_user, agency=report.campaign.agency)
            ops.sign_report(report, actor=current_user, services=svc, expected_version=version)
        elif action_enum == ReportAction.ISSUE:
            svc = services.signing_services(current_user, agency=report.campaign.agency)
            ops.issue_report(report, actor=current_user, services=svc, expected_version=version)
        else:
            abort(404)
    except (ops.Invalid, Conflict) as error:
        flash_error(error)
    except OperationError as error:
        db.session.rollback()
        abort(error.status, description=error.message)
    except pdfmod.PdfConversionError as error:
        db.session.rollback()
        flash(f"Không tạo được bản PDF: {error}. Báo cáo chưa được ký.", "danger")
    else:
        commit_and_notify()
        flash(f"Đã thực hiện: {action_enum.label}.", "success")
    return redirect(url_for("reports.view", report_id=report_id), 303)


@bp.route("/bao-cao/<int:report_id>/hoat-dong/<int:entry_id>/tra-ve", methods=["POST"])
@login_required
def send_back_entry(report_id: int, entry_id: int):
    report = load_report(report_id)
    entry = db.session.get(Entry, entry_id)
    if entry is None or entry.report_id != report.id:
        abort(404)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        entry_ops.act(
            entry,
            EntryAction.SEND_BACK,
            actor=current_user,
            comment=form.comment.data,
            expected_version=form_version(form),
        )
        ops.refresh_after_send_back(report, actor=current_user, entry=entry)
    except (ops.Invalid, Conflict) as error:
        flash_error(error)
    except OperationError as error:
        db.session.rollback()
        abort(error.status, description=error.message)
    else:
        commit_and_notify()
        flash(f"Đã trả hồ sơ “{entry.title}” về Văn phòng.", "success")
    return redirect(url_for("reports.view", report_id=report_id), 303)


def _send_blob(sha: str | None, mimetype: str, name: str, inline: bool = False):
    if not sha:
        abort(404)
    blob = db.session.get(Blob, sha)
    return send_file(
        io.BytesIO(blob.data), mimetype=mimetype, as_attachment=not inline, download_name=name
    )


@bp.route("/bao-cao/<int:report_id>/du-thao.docx")
@login_required
def draft_docx(report_id: int):
    report = load_report(report_id)
    return _send_blob(report.draft_docx_sha256, DOCX_MIME, f"du-thao-bao-cao-{report.id}.docx")


@bp.route("/bao-cao/<int:report_id>/xem-truoc/<int:page>.png")
@login_required
def preview_page(report_id: int, page: int):
    report = load_report(report_id)
    sha = report.draft_docx_sha256
    if not sha or not pdfmod.libreoffice_available():
        abort(404)
    pages = _PREVIEWS.get(sha)
    if pages is None:
        docx = db.session.get(Blob, sha).data
        try:
            pdf = pdfmod.docx_to_pdf(
                docx, pdfa=False, timeout=current_app.config["LIBREOFFICE_TIMEOUT"]
            )
            pages = pdfmod.pdf_to_png_pages(pdf, dpi=100)
        except (pdfmod.PdfConversionError, pdfmod.PopplerError):
            abort(503, description="Không tạo được ảnh xem trước (LibreOffice gặp lỗi).")
        _PREVIEWS[sha] = pages
        while len(_PREVIEWS) > PREVIEW_CACHE_SIZE:
            _PREVIEWS.popitem(last=False)
    if not 1 <= page <= len(pages):
        abort(404)
    response = send_file(io.BytesIO(pages[page - 1]), mimetype="image/png")
    response.headers["X-Page-Count"] = str(len(pages))
    return response


@bp.route("/bao-cao/<int:report_id>/xem-truoc")
@login_required
def preview(report_id: int):
    report = load_report(report_id)
    if not pdfmod.libreoffice_available():
        flash("Máy chủ chưa cài LibreOffice nên chưa xem trước được; hãy tải bản .docx.", "warning")
        return redirect(url_for("reports.view", report_id=report_id), 303)
    preview_page(report_id, 1)  # renders and caches every page
    count = len(_PREVIEWS.get(report.draft_docx_sha256) or [])
    return render_template("reports/preview.html", report=report, count=count)


@bp.route("/bao-cao/<int:report_id>/tai/<kind>")
@login_required
def download(report_id: int, kind: str):
    report = load_report(report_id)
    stem = (report.number_symbol or f"bao-cao-{report.id}").replace("/", "-")
    if kind == "docx":
        return _send_blob(report.final_docx_sha256, DOCX_MIME, f"{stem}.docx")
    if kind == "p7s":
        return _send_blob(report.p7s_sha256, "application/pkcs7-signature", f"{stem}.docx.p7s")
    if kind == "pdf":
        return _send_blob(report.signed_pdf_sha256, "application/pdf", f"{stem}.pdf")
    abort(404)
