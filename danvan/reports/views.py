import io
from datetime import timedelta

from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import select

from danvan import delivery, permissions, services
from danvan.documents import context as doc_context
from danvan.documents import pdf as pdfmod
from danvan.documents.html import docx_html
from danvan.entries.forms import ActionForm
from danvan.extensions import db
from danvan.models import (
    ArchivedDocument,
    Blob,
    Campaign,
    Delegation,
    Delivery,
    Entry,
    Event,
    Report,
    Role,
    User,
    UserRole,
)
from danvan.operations import Conflict
from danvan.operations import entries as entry_ops
from danvan.operations import reports as ops
from danvan.reports import bp, previews
from danvan.reports import signature_views as sig_views
from danvan.reports.forms import CompileForm, NarrativeForm, ReportActionForm
from danvan.text import today_vn
from danvan.web import commit_and_notify, flash_refusal, form_version, require, run_operation
from danvan.workflow import (
    EntryAction,
    ReportAction,
    ReportState,
    report_action_transition,
    report_transition_for,
)

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
CONFIRMED_ACTIONS = (ReportAction.SIGN, ReportAction.ISSUE)  # asked once more, naming the number
PREVIEW_STATES = (ReportState.DRAFT, ReportState.SUBMITTED)


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


def _flash_conflict(error: Conflict, action: ReportAction, report: Report | None) -> None:
    """A lost race, after rollback: "already done" when this user's own other click won."""
    latest = None
    if report is not None:
        latest = db.session.scalar(
            select(Event).where(Event.report_id == report.id).order_by(Event.id.desc()).limit(1)
        )
    if latest and latest.action == action and latest.actor_id == current_user.id:
        flash(f"Thao tác “{action.label}” đã được thực hiện.", "info")
    else:
        flash(error.message, "warning")


COMPILED = "Đã tổng hợp {label} từ {count}."


def _compiled_contents(report: Report) -> str:
    """ "3 hồ sơ đã duyệt", or "3 báo cáo của các sở, ban, ngành" for a roll-up report."""
    count = ops.contents_label(report, len(ops.report_contents(report)[0]))
    return count if report.campaign.is_rollup else f"{count} đã duyệt"


def _compiled_message(report: Report) -> str:
    return COMPILED.format(label=ops.report_label(report), count=_compiled_contents(report))


@bp.route("/ke-hoach/<int:campaign_id>/tong-hop", methods=["POST"])
@login_required
def compile(campaign_id: int):
    campaign = db.get_or_404(Campaign, campaign_id)
    form = CompileForm()  # version: the open report's as the page showed it, 0 for none
    if not form.validate_on_submit():
        abort(400)
    outcome = run_operation(
        ops.compile_report,
        campaign,
        actor=current_user,
        expected_version=form_version(form),
        supplement=form.supplement.data == "1",
    )
    if isinstance(outcome.error, ops.AlreadySigned):
        # Say so, and offer "Báo cáo bổ sung" instead of a new report.
        return redirect(url_for("reports.supplement", campaign_id=campaign_id), 303)
    if isinstance(outcome.error, Conflict):
        report = ops.open_report(campaign)
        _flash_conflict(outcome.error, ReportAction.COMPILE, report)
        if report is None:
            return redirect(url_for("campaigns.view", campaign_id=campaign_id), 303)
        return redirect(url_for("reports.view", report_id=report.id), 303)
    if outcome.error:
        flash_refusal(outcome.error)
        return redirect(url_for("reports.supplement", campaign_id=campaign_id), 303)
    report = outcome.value
    done = _compiled_message(report)  # read before the commit expires the objects
    report_id = report.id
    commit_and_notify()
    flash(done, "success")
    return redirect(url_for("reports.view", report_id=report_id), 303)


@bp.route("/ke-hoach/<int:campaign_id>/bao-cao-bo-sung")
@login_required
def supplement(campaign_id: int):
    """After the report was signed: which entries came since, and "Báo cáo bổ sung"."""
    campaign = db.get_or_404(Campaign, campaign_id)
    require(permissions.sees_reports(current_user))
    current = ops.open_report(campaign)
    if current is not None:
        return redirect(url_for("reports.view", report_id=current.id), 303)
    previous = ops.signed_report(campaign)
    if previous is None:
        return redirect(url_for("campaigns.view", campaign_id=campaign_id), 303)
    form = CompileForm(formdata=None)
    form.version.data, form.supplement.data = "0", "1"
    return render_template(
        "reports/supplement.html",
        campaign=campaign,
        previous=previous,
        entries=ops.unreported_entries(campaign),
        form=form,
    )


def _confirmation(report: Report, action: ReportAction) -> dict:
    """What the "Ký duyệt" / "Phát hành" confirmation names: number, date, recipients."""
    if action == ReportAction.SIGN:
        on = today_vn()
        agency = report.campaign.agency
        number = ops.signing_number(report, on.year)  # the number a token request holds
        symbol = ops.format_number_symbol(number, report.doc_type, agency.abbreviation)
    else:
        on, number, symbol = report.issued_date, report.number, report.number_symbol
    return {
        "action": action,
        "number": number,
        "number_symbol": symbol,
        "date": on,
        "recipients": report.campaign.recipient_lines,
        # "Phát hành": each Nơi nhận with its address, to tick the ones the e-mail goes to.
        "choices": delivery.recipient_rows(report.campaign) if action == ReportAction.ISSUE else [],
        "no_address": delivery.NO_ADDRESS,
    }


def _deliveries(report: Report) -> dict | None:
    """The "Gửi văn bản" section of an issued report: each delivery with its status, and
    for Văn thư the recipients it can still be sent to."""
    if report.state_enum != ReportState.ISSUED:
        return None
    archived = db.session.scalar(
        select(ArchivedDocument).where(ArchivedDocument.report_id == report.id)
    )
    if archived is None:
        return None
    items = delivery.deliveries_of(archived)
    can_send = delivery.can_deliver(current_user)
    remaining = []
    if can_send:
        remaining = delivery.remaining_recipients(
            archived, delivery.recipient_rows(report.campaign), items
        )
    return {
        "rows": [(d, delivery.delivery_status(d)) for d in items],
        "can_send": can_send,
        "remaining": remaining,
        "form": ActionForm(formdata=None),
    }


def _deviations(report: Report) -> list | None:
    """NĐ 30 deviations of the draft while it can still change or be signed (None: no check)."""
    if report.state_enum not in PREVIEW_STATES:
        return None
    return ops.format_deviations(report)


@bp.route("/bao-cao/<int:report_id>")
@login_required
def view(report_id: int):
    report = load_report(report_id)
    contents, _ = ops.report_contents(report)
    # A roll-up report holds the Sở reports it sums (IncomingDocument), not entries.
    sources = contents if report.campaign.is_rollup else []
    entries = [] if report.campaign.is_rollup else contents
    events = list(
        db.session.scalars(select(Event).where(Event.report_id == report.id).order_by(Event.id))
    )
    narrative = NarrativeForm(obj=report)
    narrative.version.data = str(report.version)
    action_form = ReportActionForm()
    action_form.version.data = str(report.version)
    preparers = permissions.report_preparer_ids(report) | {current_user.id}
    signers = [u for u in _signers() if u.id not in preparers]  # separation of duties
    action_form.signer_id.choices = [(u.id, f"{u.full_name} ({u.role_labels})") for u in signers]
    if report.signer_id:
        action_form.signer_id.data = report.signer_id
    can_edit = permissions.can_act_report(current_user, report, ReportAction.EDIT).allowed
    delegations = Delegation.active_for(current_user)
    send_back_ids = {
        e.id
        for e in entries
        if permissions.can_act(current_user, e, EntryAction.SEND_BACK, delegations)
    }
    # While a signature request waits for the signer's USB token, the page shows it instead of
    # offering "Ký duyệt" again (a second request would be refused).
    signature_request = sig_views.shown_request(report)
    transitions = [
        t
        for t in permissions.available_report_transitions(current_user, report)
        if t.action != ReportAction.EDIT
        and (t.action != ReportAction.DELETE or not contents)
        and (t.action != ReportAction.SIGN or signature_request is None)
    ]
    # The whole text: the signed .docx once there is one, else the draft as it will be signed.
    doc_sha = report.final_docx_sha256 or report.draft_docx_sha256
    document = docx_html(db.session.get(Blob, doc_sha).data) if doc_sha else None
    return render_template(
        "reports/view.html",
        report=report,
        entries=entries,
        sources=sources,
        contents_label=ops.contents_label(report, len(contents)),
        events=events,
        narrative=narrative,
        action_form=action_form,
        can_edit=can_edit,
        transitions=transitions,
        confirmations={
            t.action.value: _confirmation(report, t.action)
            for t in transitions
            if t.action in CONFIRMED_ACTIONS
        },
        next_number=(  # while the report waits for a signature
            ops.next_number_symbol(report, today_vn())
            if report_transition_for(ReportAction.SIGN, report.state_enum)
            else None
        ),
        signature_request=signature_request,
        today=today_vn(),
        previous=ops.supplemented_report(report),
        document=document,
        send_back_ids=send_back_ids,
        entry_form=ActionForm(),
        libreoffice=pdfmod.libreoffice_available(),
        can_preview=report.state_enum in PREVIEW_STATES and report.draft_docx_sha256,
        deviations=_deviations(report),
        deliveries=_deliveries(report),
        may_edit_addresses=delivery.may_edit_addresses(current_user),
    )


@bp.route("/bao-cao/<int:report_id>/xac-nhan/<action>")
@login_required
def confirm(report_id: int, action: str):
    """The confirmation step of "Ký duyệt" and "Phát hành" (the page without JavaScript)."""
    report = load_report(report_id)
    if action not in {a.value for a in CONFIRMED_ACTIONS}:
        abort(404)
    action_enum = ReportAction(action)
    decision = permissions.can_act_report(current_user, report, action_enum)
    if not decision:
        flash(decision.reason, "warning")
        return redirect(url_for("reports.view", report_id=report_id), 303)
    pending = sig_views.shown_request(report) if action_enum == ReportAction.SIGN else None
    if pending is not None:  # the page shows the waiting request instead
        flash(sig_views.pending_message(pending), "warning")
        return redirect(url_for("reports.view", report_id=report_id), 303)
    form = ReportActionForm(formdata=None)
    form.version.data = str(report.version)
    return render_template(
        "reports/confirm.html",
        report=report,
        form=form,
        c=_confirmation(report, action_enum),
        entry_count=ops.contents_label(report, len(ops.report_contents(report)[0])),
        deviations=_deviations(report),
        may_edit_addresses=delivery.may_edit_addresses(current_user),
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
    outcome = run_operation(
        ops.update_report_texts,
        report,
        actor=current_user,
        texts=texts,
        expected_version=form_version(form),
        expected=(Conflict,),
    )
    if outcome.error:
        flash_refusal(outcome.error)
    else:
        done = f"Đã lưu nội dung {ops.report_label(report)}."
        commit_and_notify()
        flash(done, "success")
    return redirect(url_for("reports.view", report_id=report_id), 303)


def _posted_number(form) -> int | None:
    raw = (form.number.data or "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None


# What each action of the report page says once done ("Lưu nội dung" has its own form).
ACT_DONE = {
    ReportAction.COMPILE: COMPILED,
    ReportAction.SUBMIT: "Đã trình ký {label} tới {signer_title} {signer.full_name}.",
    ReportAction.RETURN: "Đã trả lại {label} cho Văn phòng Sở.",
    ReportAction.SIGN: "Đã ký báo cáo số {report.number_symbol}.",
    ReportAction.ISSUE: (
        "Đã phát hành báo cáo số {report.number_symbol}: đã vào sổ văn bản đi và lưu trữ."
    ),
    ReportAction.DELETE: (
        "Đã xóa dự thảo {label} (không có hồ sơ nào); lịch sử xử lý vẫn được lưu."
    ),
}


def _posted_signer(form) -> User:
    signer = db.session.get(User, form.signer_id.data or 0)
    if signer is None:
        raise ops.Invalid("Vui lòng chọn người ký.")
    return signer


def _inputs(report: Report, names: tuple[str, ...], form) -> dict:
    """What the operation takes besides the version, by the names the workflow table gives."""
    makers = {
        "signer": lambda: _posted_signer(form),
        "comment": lambda: form.comment.data,
        "services": lambda: services.signing_services(current_user, agency=report.campaign.agency),
        "expected_number": lambda: _posted_number(form),
        "accept_deviations": lambda: bool(form.accept_deviations.data),
        "recipients": lambda: delivery.recipients_by_ids(
            report.campaign, request.form.getlist("recipients")
        ),
    }
    return {name: makers[name]() for name in names}


def _act(report: Report, action: ReportAction, form) -> str:
    """Run the operation the workflow table names for the action; the success message."""
    transition = report_action_transition(action)
    given = _inputs(report, transition.inputs, form)
    if action == ReportAction.SIGN and sig_views.uses_token(current_user, given["services"]):
        return sig_views.request_for(report, form_version(form), given)
    operation = getattr(ops, transition.operation)
    operation(report, actor=current_user, expected_version=form_version(form), **given)
    signer = given.get("signer")
    return ACT_DONE[action].format(
        label=ops.report_label(report),
        count=_compiled_contents(report),
        report=report,
        signer=signer,
        signer_title=(
            doc_context.signer_title(signer, rollup=report.campaign.is_rollup) if signer else ""
        ),
    )


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
    if action_enum not in ACT_DONE:  # "Lưu nội dung" posts its own form (save_texts)
        abort(404)
    back = url_for("reports.view", report_id=report_id)
    outcome = run_operation(
        _act,
        report,
        action_enum,
        form,
        expected=(Conflict, ops.Invalid, pdfmod.PdfConversionError),
    )
    if isinstance(outcome.error, ops.NumberChanged):  # the confirmation named another number
        flash(outcome.error.message, "warning")
        return redirect(url_for("reports.confirm", report_id=report_id, action="sign"), 303)
    if isinstance(outcome.error, Conflict):
        _flash_conflict(outcome.error, action_enum, report)
    elif isinstance(outcome.error, pdfmod.PdfConversionError):
        flash(f"Không tạo được bản PDF: {outcome.error}. Báo cáo chưa được ký.", "danger")
    elif outcome.error:
        flash_refusal(outcome.error)
    else:
        if action_enum == ReportAction.DELETE:
            back = url_for("campaigns.view", campaign_id=report.campaign_id)
        commit_and_notify()
        flash(outcome.value, "success")
    return redirect(back, 303)


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
    # The entry's own "Trả về Văn phòng": it also logs it in the report and redraws the draft.
    outcome = run_operation(
        entry_ops.act,
        entry,
        EntryAction.SEND_BACK,
        actor=current_user,
        comment=form.comment.data,
        expected_version=form_version(form),
    )
    if outcome.error:
        flash_refusal(outcome.error)
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
    return _send_blob(report.draft_docx_sha256, DOCX_MIME, ops.draft_file_name(report))


# --- Page preview: rendered in the background, polled by the page ---------------------------


def _preview_sha(report: Report) -> str | None:
    """The draft a preview shows: only while the report is a draft or waits for signature."""
    if report.state_enum not in PREVIEW_STATES:
        return None
    return report.draft_docx_sha256


def _ensure_preview(sha: str) -> previews.PreviewStatus:
    """Start rendering the draft unless it is done, failed or rendering (here or elsewhere)."""
    stale_after = timedelta(seconds=current_app.config["LIBREOFFICE_TIMEOUT"] + 30)
    claimed = previews.claim(sha, stale_after=stale_after)
    db.session.commit()  # other servers see the claim before LibreOffice starts
    if claimed:
        previews.start(current_app._get_current_object(), sha)
    return previews.status(sha)


@bp.route("/bao-cao/<int:report_id>/xem-truoc")
@login_required
def preview(report_id: int):
    """The draft's pages as images: a progress bar while LibreOffice renders them."""
    report = load_report(report_id)
    if not pdfmod.libreoffice_available():
        flash("Máy chủ chưa cài LibreOffice nên chưa xem trước được; hãy tải bản .docx.", "warning")
        return redirect(url_for("reports.view", report_id=report_id), 303)
    sha = _preview_sha(report)
    if sha is None:
        flash("Báo cáo đã được ký: hãy xem bản PDF đã ký.", "info")
        return redirect(url_for("reports.view", report_id=report_id), 303)
    status = _ensure_preview(sha)
    return render_template(
        "reports/preview.html",
        report=report,
        status=status,
        version=sha[:12],
        retry_form=ActionForm(),
    )


@bp.route("/bao-cao/<int:report_id>/xem-truoc/trang-thai")
@login_required
def preview_status(report_id: int):
    """JSON for the preview page's progress bar: rendering, done or failed."""
    report = load_report(report_id)
    sha = _preview_sha(report)
    if sha is None or not pdfmod.libreoffice_available():
        return jsonify(status="gone", changed=True)
    status = _ensure_preview(sha)  # also takes over a claim whose server died
    seen = request.args.get("v", "")
    return jsonify(status.as_dict() | {"changed": bool(seen) and seen != sha[:12]})


@bp.route("/bao-cao/<int:report_id>/xem-truoc/thu-lai", methods=["POST"])
@login_required
def preview_retry(report_id: int):
    """Render a preview again after it failed."""
    report = load_report(report_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    sha = _preview_sha(report)
    if sha is not None and previews.retry(sha):
        db.session.commit()
        previews.start(current_app._get_current_object(), sha)
    return redirect(url_for("reports.preview", report_id=report_id), 303)


@bp.route("/bao-cao/<int:report_id>/xem-truoc/<int:page>.png")
@login_required
def preview_page(report_id: int, page: int):
    """One stored page image of the draft's preview."""
    report = load_report(report_id)
    sha = _preview_sha(report)
    png = previews.page_png(sha, page) if sha else None
    if png is None:
        abort(404)
    response = send_file(io.BytesIO(png), mimetype="image/png")
    # The URL names the draft (?v=…): a changed draft gets new URLs, so these may be kept.
    fresh = request.args.get("v") == sha[:12]
    response.headers["Cache-Control"] = "private, max-age=86400" if fresh else "no-cache"
    return response


@bp.route("/bao-cao/<int:report_id>/tai/<kind>")
@login_required
def download(report_id: int, kind: str):
    report = load_report(report_id)
    if report.number_symbol:
        stem = ops.file_stem(report.number_year, report.number_symbol)
    else:
        stem = f"bao-cao-{report.id}"
    if kind == "docx":
        return _send_blob(report.final_docx_sha256, DOCX_MIME, f"{stem}.docx")
    if kind == "p7s":
        return _send_blob(report.p7s_sha256, "application/pkcs7-signature", f"{stem}.docx.p7s")
    if kind == "pdf":
        return _send_blob(report.signed_pdf_sha256, "application/pdf", f"{stem}.pdf")
    abort(404)


# --- "Gửi văn bản": e-mail the issued report again, or to more recipients -----------------


def _issued_archive(report: Report) -> ArchivedDocument:
    """The issued report's archived document; 404 before issue. Văn thư only (403)."""
    require(delivery.can_deliver(current_user), delivery.CLERK_ONLY)
    archived = db.session.scalar(
        select(ArchivedDocument).where(ArchivedDocument.report_id == report.id)
    )
    if archived is None or report.state_enum != ReportState.ISSUED:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    return archived


@bp.route("/bao-cao/<int:report_id>/gui/<int:delivery_id>/gui-lai", methods=["POST"])
@login_required
def resend_delivery(report_id: int, delivery_id: int):
    """ "Gửi lại" one failed e-mail."""
    report = load_report(report_id)
    archived = _issued_archive(report)
    item = db.session.get(Delivery, delivery_id)
    if item is None or item.archived_document_id != archived.id:
        abort(404)
    form = ActionForm()
    outcome = run_operation(
        delivery.resend, item, actor=current_user, expected_version=form_version(form)
    )
    if outcome.error:
        flash_refusal(outcome.error)
    else:
        done = f"Đã gửi lại văn bản tới {item.recipient_name} ({item.email})."
        commit_and_notify()
        flash(done, "success")
    return redirect(url_for("reports.view", report_id=report_id, _anchor="deliveries"), 303)


@bp.route("/bao-cao/<int:report_id>/gui-them", methods=["POST"])
@login_required
def add_delivery(report_id: int):
    """ "Gửi thêm": e-mail the issued report to recipients not chosen at issue."""
    report = load_report(report_id)
    archived = _issued_archive(report)

    def add():
        chosen = delivery.recipients_by_ids(report.campaign, request.form.getlist("recipients"))
        return delivery.add_deliveries(
            archived,
            chosen,
            actor=current_user,
            base_url=services.verification_settings(current_app.config)["verify_base_url"],
        )

    outcome = run_operation(add)
    if outcome.error:
        flash_refusal(outcome.error)
    else:
        names = ", ".join(d.recipient_name for d in outcome.value)
        commit_and_notify()
        flash(f"Đã gửi thêm văn bản tới {names}.", "success")
    return redirect(url_for("reports.view", report_id=report_id, _anchor="deliveries"), 303)
