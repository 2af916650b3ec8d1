import io
import secrets

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from danvan import permissions, queries
from danvan.entries import bp
from danvan.entries.forms import ActionForm, EmptyForm, EntryForm
from danvan.extensions import db
from danvan.models import Attachment, Blob, Campaign, Entry, Event, Unit
from danvan.operations import Conflict, Invalid, OperationError
from danvan.operations import entries as ops
from danvan.uploads import ACCEPT_ATTR
from danvan.web import commit_and_notify, entry_filters_from, flash_error, form_version, require
from danvan.workflow import ENTRY_STATE_LABELS, EntryAction, EntryState


def load_entry(entry_id: int) -> Entry:
    """The entry if this user may see it; 404 otherwise (no hint that it exists)."""
    entry = db.session.get(Entry, entry_id)
    if entry is None or not permissions.can_view_entry(current_user, entry):
        abort(404)
    return entry


def _apply_errors(form: EntryForm, error: Invalid) -> None:
    for name, message in error.errors.items():
        if name in form._fields:
            form[name].errors = [*form[name].errors, message]


@bp.route("/hoat-dong")
@login_required
def index():
    campaigns = list(db.session.scalars(select(Campaign).order_by(Campaign.year.desc())))
    campaign_id = request.args.get("ke_hoach", type=int) or (campaigns[0].id if campaigns else None)
    campaign = db.session.get(Campaign, campaign_id) if campaign_id else None
    filters = entry_filters_from(request.args)
    entries = queries.search_entries(
        campaign_id=campaign.id if campaign else None, visible_to=current_user, **filters
    )
    units = list(db.session.scalars(select(Unit).order_by(Unit.position)))
    return render_template(
        "entries/index.html",
        entries=entries,
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
    form = EntryForm()
    form.fill_choices(campaign)
    if request.method == "GET":
        form.form_token.data = secrets.token_urlsafe(24)
    needs_confirmation = False
    if form.validate_on_submit():
        existing = ops.entry_for_form_token(form.form_token.data, current_user)
        if existing is not None:
            flash("Hồ sơ này đã được lưu (biểu mẫu được gửi hai lần).", "info")
            return redirect(url_for("entries.view", entry_id=existing.id), 303)
        try:
            entry = ops.create_entry(
                campaign,
                actor=current_user,
                fields=form.entry_fields(),
                confirm_outside=form.confirm_outside.data,
                form_token=form.form_token.data,
            )
            if "gui_duyet" in request.form:
                ops.act(entry, EntryAction.SUBMIT, actor=current_user)
        except Invalid as error:
            db.session.rollback()
            _apply_errors(form, error)
            needs_confirmation = error.needs_confirmation
            flash(error.message, "warning" if needs_confirmation else "danger")
        except OperationError as error:
            flash_error(error)
            abort(error.status, description=error.message)
        else:
            commit_and_notify()
            sent = "gui_duyet" in request.form
            flash("Đã lưu và gửi duyệt hồ sơ." if sent else "Đã lưu nháp hồ sơ.", "success")
            return redirect(url_for("entries.view", entry_id=entry.id), 303)
    return render_template(
        "entries/form.html",
        form=form,
        campaign=campaign,
        entry=None,
        needs_confirmation=needs_confirmation,
    )


@bp.route("/hoat-dong/<int:entry_id>/sua", methods=["GET", "POST"])
@login_required
def edit(entry_id: int):
    entry = load_entry(entry_id)
    decision = permissions.can_edit_entry(current_user, entry)
    require(decision.allowed, decision.reason)
    form = EntryForm(obj=entry if request.method == "GET" else None)
    form.fill_choices(entry.campaign)
    if request.method == "GET":
        form.version.data = str(entry.version)
        form.observance_id.data = entry.observance_id or 0
        form.confirm_outside.data = entry.outside_period_confirmed
    needs_confirmation = False
    if form.validate_on_submit():
        try:
            ops.update_entry(
                entry,
                actor=current_user,
                fields=form.entry_fields(),
                expected_version=form_version(form),
                confirm_outside=form.confirm_outside.data,
            )
            if "gui_duyet" in request.form:
                action = (
                    EntryAction.RESUBMIT
                    if entry.state == EntryState.RETURNED
                    else EntryAction.SUBMIT
                )
                ops.act(entry, action, actor=current_user)
        except Invalid as error:
            db.session.rollback()
            _apply_errors(form, error)
            needs_confirmation = error.needs_confirmation
            flash(error.message, "warning" if needs_confirmation else "danger")
        except OperationError as error:
            flash_error(error)
            if isinstance(error, Conflict):
                return redirect(url_for("entries.view", entry_id=entry_id), 303)
            abort(error.status, description=error.message)
        else:
            commit_and_notify()
            sent = "gui_duyet" in request.form
            flash("Đã lưu và gửi duyệt lại hồ sơ." if sent else "Đã lưu thay đổi.", "success")
            return redirect(url_for("entries.view", entry_id=entry.id), 303)
    return render_template(
        "entries/form.html",
        form=form,
        campaign=entry.campaign,
        entry=entry,
        needs_confirmation=needs_confirmation,
    )


@bp.route("/hoat-dong/<int:entry_id>")
@login_required
def view(entry_id: int):
    entry = load_entry(entry_id)
    events = list(
        db.session.scalars(select(Event).where(Event.entry_id == entry.id).order_by(Event.id))
    )
    action_form = ActionForm()
    action_form.version.data = str(entry.version)
    return render_template(
        "entries/view.html",
        entry=entry,
        events=events,
        action_form=action_form,
        transitions=permissions.available_transitions(current_user, entry),
        can_edit=permissions.can_edit_entry(current_user, entry).allowed,
        upload_form=EmptyForm(),
        accept=ACCEPT_ATTR,
        max_bytes=current_app.config["UPLOAD_MAX_BYTES"],
        max_files=current_app.config["UPLOAD_MAX_FILES"],
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
    try:
        ops.act(
            entry,
            action_enum,
            actor=current_user,
            comment=form.comment.data,
            expected_version=version,
        )
    except Conflict as error:
        db.session.rollback()
        latest = db.session.scalar(
            select(Event).where(Event.entry_id == entry_id).order_by(Event.id.desc()).limit(1)
        )
        if latest and latest.action == action_enum and latest.actor_id == current_user.id:
            # A double click: the first click already did it.
            flash(f"Thao tác “{action_enum.label}” đã được thực hiện.", "info")
        else:
            flash(error.message, "warning")
    except Invalid as error:
        flash_error(error)
    except OperationError as error:
        db.session.rollback()
        abort(error.status, description=error.message)
    else:
        commit_and_notify()
        flash(f"Đã thực hiện: {action_enum.label}.", "success")
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
    files = [f for f in request.files.getlist("files") if f and f.filename]
    if not files:
        flash("Vui lòng chọn tệp để tải lên.", "warning")
        return redirect(url_for("entries.view", entry_id=entry_id), 303)
    cfg = current_app.config
    saved, refused = 0, []
    for storage in files:
        data = storage.read(cfg["UPLOAD_MAX_BYTES"] + 1)
        try:
            ops.add_attachment(
                entry,
                actor=current_user,
                filename=storage.filename,
                data=data,
                max_bytes=cfg["UPLOAD_MAX_BYTES"],
                max_files=cfg["UPLOAD_MAX_FILES"],
            )
        except Invalid as error:
            refused.append(error.message)
        except OperationError as error:
            db.session.rollback()
            abort(error.status, description=error.message)
        else:
            saved += 1
            db.session.refresh(entry)
    commit_and_notify()
    if saved:
        flash(f"Đã tải lên {saved} tệp minh chứng.", "success")
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
    try:
        ops.remove_attachment(attachment, actor=current_user)
    except OperationError as error:
        db.session.rollback()
        abort(error.status, description=error.message)
    commit_and_notify()
    flash("Đã xóa tệp minh chứng.", "success")
    return redirect(url_for("entries.view", entry_id=entry_id), 303)
