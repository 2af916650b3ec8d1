import io
import secrets

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

from danvan import permissions, queries
from danvan.entries import bp, evidence
from danvan.entries.conflict import entry_fingerprint, resolve_conflict
from danvan.entries.forms import ActionForm, EmptyForm, EntryForm
from danvan.entries.messages import (
    ACTION_DONE,
    TEXT_FIELDS,
    entry_name,
    error_list,
    form_refusal,
    unprintable_in,
    unprintable_notice,
)
from danvan.extensions import db
from danvan.models import Attachment, Blob, Campaign, Entry, Event, Role
from danvan.operations import Conflict, Invalid
from danvan.operations import entries as ops
from danvan.pagination import page_args
from danvan.text import unprintable_js_pattern
from danvan.uploads import ACCEPT_ATTR, ALLOWED_TEXT
from danvan.web import (
    commit_and_notify,
    entry_filters_from,
    flash_refusal,
    form_version,
    int_arg,
    posted_ids,
    require,
    run_operation,
)
from danvan.workflow import ENTRY_STATE_LABELS, EntryAction, EntryState


def load_entry(entry_id: int) -> Entry:
    """The entry if this user may see it; 404 otherwise (no hint that it exists)."""
    entry = db.session.get(Entry, entry_id)
    if entry is None or not permissions.can_view_entry(current_user, entry):
        abort(404)
    return entry


@bp.route("/hoat-dong")
@login_required
def index():
    campaigns = queries.visible_campaigns(current_user)
    campaign_id = int_arg(request.args, "ke_hoach", "Kế hoạch") or (
        campaigns[0].id if campaigns else None
    )
    campaign = db.session.get(Campaign, campaign_id) if campaign_id else None
    filters = entry_filters_from(request.args)
    number, per_page = page_args(request.args)
    page = queries.search_entries_page(
        campaign_id=campaign.id if campaign else None,
        visible_to=current_user,
        page=number,
        per_page=per_page,
        **filters,
    )
    units = queries.filter_units(current_user)  # only the units this user may see
    return render_template(
        "entries/index.html",
        page=page,
        entries=page.items,
        campaigns=campaigns,
        campaign=campaign,
        units=units,
        content_items=campaign.content_items if campaign else [],
        filters=filters,
        args=request.args,
        states=list(EntryState),
        state_labels=ENTRY_STATE_LABELS,
    )


@bp.route("/ke-hoach/<int:campaign_id>/hoat-dong/moi", methods=["GET", "POST"])
@login_required
def new(campaign_id: int):
    campaign = db.get_or_404(Campaign, campaign_id)
    require(
        current_user.unit_id is not None,
        "Chỉ cán bộ thuộc một đơn vị mới được lập hồ sơ hoạt động.",
    )
    form = EntryForm(campaign=campaign)
    if request.method == "GET":
        form.form_token.data = secrets.token_urlsafe(24)
    staged, evidence_errors = _posted_evidence()
    notice = None
    if form.validate_on_submit() and not evidence_errors:
        existing = ops.entry_for_form_token(form.form_token.data, current_user)
        if existing is not None:
            flash(f"Hồ sơ {entry_name(existing)} đã được lưu (biểu mẫu được gửi hai lần).", "info")
            return redirect(url_for("entries.view", entry_id=existing.id), 303)
        sending = "gui_duyet" in request.form
        outcome = run_operation(
            ops.save_new_entry,
            campaign,
            actor=current_user,
            fields=form.entry_fields(),
            files=[item.stored for item in staged],
            submit=sending,
            confirm_outside=form.confirm_outside.data,
            form_token=form.form_token.data,
            max_files=current_app.config["UPLOAD_MAX_FILES"],
            expected=(Invalid,),
        )
        if outcome.error:
            notice = form_refusal(form, outcome.error, evidence_errors)
        else:
            entry = outcome.value
            name, warning = entry_name(entry), unprintable_notice(entry)
            commit_and_notify()
            done = "Đã lưu và gửi duyệt hồ sơ" if sending else "Đã lưu nháp hồ sơ"
            flash(f"{done} {name}{_files_note(staged)}.", "success")
            if warning:
                flash(warning, "warning")
            return redirect(url_for("entries.view", entry_id=entry.id), 303)
    return _render_form(form, campaign, None, staged, evidence_errors, notice)


@bp.route("/hoat-dong/<int:entry_id>/sua", methods=["GET", "POST"])
@login_required
def edit(entry_id: int):
    entry = load_entry(entry_id)
    decision = permissions.can_edit_entry(current_user, entry)
    # The author's POST on an entry that moved on (sent from another tab) is a conflict shown
    # with their typed values, not a bare 403.
    author_posting = request.method == "POST" and entry.author_id == current_user.id
    require(decision.allowed or author_posting, decision.reason)
    form = EntryForm(obj=entry if request.method == "GET" else None, campaign=entry.campaign)
    if request.method == "GET":
        form.version.data = str(entry.version)
        form.original.data = entry_fingerprint(entry)
        form.observance_id.data = entry.observance_id or 0
        form.confirm_outside.data = entry.outside_period_confirmed
    staged, evidence_errors = _posted_evidence()
    removed = set(posted_ids(request.form.getlist("remove_file")))
    notice = conflict = None
    if author_posting and not decision.allowed:
        conflict = resolve_conflict(entry, form, current_user)
    elif form.validate_on_submit() and not evidence_errors:
        sending = "gui_duyet" in request.form
        outcome = run_operation(
            ops.save_entry,
            entry,
            actor=current_user,
            fields=form.entry_fields(),
            files=[item.stored for item in staged],
            remove_ids=removed,
            submit=sending,
            expected_version=form_version(form),
            confirm_outside=form.confirm_outside.data,
            max_files=current_app.config["UPLOAD_MAX_FILES"],
        )
        if isinstance(outcome.error, Conflict):
            entry = load_entry(entry_id)
            conflict = resolve_conflict(entry, form, current_user)
        elif outcome.error:
            notice = form_refusal(form, outcome.error, evidence_errors)
        else:
            name, warning = entry_name(entry), unprintable_notice(entry)
            commit_and_notify()
            done = "Đã lưu và gửi duyệt lại hồ sơ" if sending else "Đã lưu thay đổi hồ sơ"
            flash(f"{done} {name}{_files_note(staged)}.", "success")
            if warning:
                flash(warning, "warning")
            return redirect(url_for("entries.view", entry_id=entry.id), 303)
    return _render_form(
        form, entry.campaign, entry, staged, evidence_errors, notice, conflict, removed
    )


def _posted_evidence() -> tuple[list[evidence.StagedFile], list[str]]:
    """Files of this POST: uploaded already (tokens) or posted with the form (no JavaScript)."""
    if request.method != "POST":
        return [], []
    staged, problems = evidence.load(request.form.getlist("staged"), current_user)
    uploaded, refused = evidence.stage_uploads(request.files.getlist("files"), current_user)
    return staged + uploaded, problems + refused


def _files_note(staged: list) -> str:
    return f" (kèm {len(staged)} tệp minh chứng)" if staged else ""


def _render_form(
    form, campaign, entry, staged, evidence_errors, notice=None, conflict=None, removed=()
):
    cfg = current_app.config
    attachments = list(entry.attachments) if entry else []
    author = entry.author if entry else current_user
    unit_id = entry.unit_id if entry else current_user.unit_id
    errors = error_list(form, evidence_errors)
    return render_template(
        "entries/form.html",
        form=form,
        campaign=campaign,
        entry=entry,
        errors=errors,
        notice=notice,
        needs_confirmation=bool(notice and notice[2]) or bool(form.confirm_outside.data),
        conflict=conflict,
        staged=staged,
        attachments=attachments,
        removed=set(removed),
        evidence_errors=evidence_errors,
        unprintable=unprintable_in({n: form[n].data for n in TEXT_FIELDS}),
        unprintable_pattern=unprintable_js_pattern(),
        accept=ACCEPT_ATTR,
        allowed_text=ALLOWED_TEXT,
        max_bytes=cfg["UPLOAD_MAX_BYTES"],
        max_files=cfg["UPLOAD_MAX_FILES"],
        max_size_text=evidence.size_text(cfg["UPLOAD_MAX_BYTES"]),
        # A unit head's entry skips the unit step: once sent, no more files.
        supplement_later=not (author.has_role(Role.UNIT_HEAD) and author.unit_id == unit_id),
    ), (409 if conflict else 200)


@bp.route("/minh-chung/tai-len", methods=["POST"])
@login_required
def stage_evidence():
    """One evidence file from the upload widget: checked, stored, answered with its token."""
    if current_user.unit_id is None:
        return jsonify(error="Chỉ cán bộ thuộc một đơn vị mới được tải minh chứng lên."), 403
    if not EmptyForm().validate_on_submit():
        db.session.rollback()
        return jsonify(error="Phiên làm việc đã hết hạn, vui lòng tải lại trang."), 400
    files, problems = evidence.stage_uploads(request.files.getlist("file")[:1], current_user)
    if not files:
        return jsonify(error=(problems or ["Vui lòng chọn tệp để tải lên."])[0]), 422
    item = files[0]
    return jsonify(token=item.token, name=item.stored.filename, size=item.size_text)


@bp.route("/hoat-dong/<int:entry_id>")
@login_required
def view(entry_id: int):
    entry = load_entry(entry_id)
    events = list(
        db.session.scalars(select(Event).where(Event.entry_id == entry.id).order_by(Event.id))
    )
    action_form = ActionForm()
    action_form.version.data = str(entry.version)
    cfg = current_app.config
    return render_template(
        "entries/view.html",
        entry=entry,
        events=events,
        action_form=action_form,
        transitions=permissions.available_transitions(current_user, entry),
        can_edit=permissions.can_edit_entry(current_user, entry).allowed,
        can_add_evidence=permissions.can_add_evidence(current_user, entry).allowed,
        upload_form=EmptyForm(),
        accept=ACCEPT_ATTR,
        allowed_text=ALLOWED_TEXT,
        max_bytes=cfg["UPLOAD_MAX_BYTES"],
        max_files=cfg["UPLOAD_MAX_FILES"],
        max_size_text=evidence.size_text(cfg["UPLOAD_MAX_BYTES"]),
    )


@bp.route("/hoat-dong/<int:entry_id>/thao-tac/<action>", methods=["POST"])
@login_required
def act(entry_id: int, action: str):
    entry = load_entry(entry_id)
    try:
        action_enum = EntryAction(action)
    except ValueError:
        abort(404)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    version = form_version(form)
    name = entry_name(entry)
    outcome = run_operation(
        ops.act,
        entry,
        action_enum,
        actor=current_user,
        comment=form.comment.data,
        expected_version=version,
    )
    if isinstance(outcome.error, Conflict):
        latest = db.session.scalar(
            select(Event).where(Event.entry_id == entry_id).order_by(Event.id.desc()).limit(1)
        )
        if latest and latest.action == action_enum and latest.actor_id == current_user.id:
            # A double click: the first click already did it.
            flash(f"Thao tác “{action_enum.label}” với hồ sơ {name} đã được thực hiện.", "info")
        else:
            flash(outcome.error.message, "warning")
    elif outcome.error:
        flash_refusal(outcome.error)
    else:
        commit_and_notify()
        done = ACTION_DONE.get(
            action_enum, f"Đã thực hiện “{action_enum.label}” với hồ sơ {{name}}."
        )
        flash(done.format(name=name), "success")
    target = request.form.get("next")
    if target == "inbox":
        return redirect(url_for("inbox.index"), 303)
    return redirect(url_for("entries.view", entry_id=entry_id), 303)


@bp.route("/hoat-dong/<int:entry_id>/minh-chung", methods=["POST"])
@login_required
def upload_attachment(entry_id: int):
    entry = load_entry(entry_id)
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    staged, refused = _posted_evidence()
    if not staged and not refused:
        flash("Vui lòng chọn tệp để tải lên.", "warning")
        return redirect(url_for("entries.view", entry_id=entry_id), 303)
    name = entry_name(entry)
    saved, refused_now = run_operation(
        ops.attach_files,
        entry,
        actor=current_user,
        files=[item.stored for item in staged],
        max_files=current_app.config["UPLOAD_MAX_FILES"],
        expected=(),
    ).value
    refused += refused_now
    commit_and_notify()
    if saved:
        flash(f"Đã tải lên {len(saved)} tệp minh chứng cho hồ sơ {name}.", "success")
    for message in refused:
        flash(message, "danger")
    return redirect(url_for("entries.view", entry_id=entry_id), 303)


@bp.route("/hoat-dong/<int:entry_id>/minh-chung/<int:attachment_id>")
@login_required
def download_attachment(entry_id: int, attachment_id: int):
    entry = load_entry(entry_id)
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.entry_id != entry.id:
        abort(404)
    blob = db.session.get(Blob, attachment.blob_sha256)

    inline = attachment.content_type.startswith("image/") or attachment.content_type == (
        "application/pdf"
    )
    response = send_file(
        io.BytesIO(blob.data),
        mimetype=attachment.content_type,
        as_attachment=not inline,
        download_name=attachment.filename,
    )
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.route("/hoat-dong/<int:entry_id>/minh-chung/<int:attachment_id>/xoa", methods=["POST"])
@login_required
def delete_attachment(entry_id: int, attachment_id: int):
    entry = load_entry(entry_id)
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.entry_id != entry.id:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    name, filename = entry_name(entry), attachment.filename
    run_operation(ops.remove_attachment, attachment, actor=current_user, expected=())
    commit_and_notify()
    flash(f"Đã xóa tệp minh chứng “{filename}” khỏi hồ sơ {name}.", "success")
    return redirect(url_for("entries.view", entry_id=entry_id), 303)
