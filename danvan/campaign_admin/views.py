from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from danvan import delivery
from danvan.campaign_admin import bp
from danvan.campaign_admin import recipients as addresses
from danvan.campaign_admin.forms import (
    NAMED_KINDS,
    CampaignForm,
    ChainForm,
    ContentItemForm,
    EmptyForm,
    ObservanceForm,
    step_rows,
)
from danvan.extensions import db
from danvan.models import Agency, Campaign, ContentItem, Entry, Observance, Role, User
from danvan.operations import Conflict, Invalid, OperationError
from danvan.operations import campaigns as ops
from danvan.operations.campaigns import CampaignStatus, ChainRefused
from danvan.text import fold
from danvan.workflow import MAX_CHAIN_STEPS, STEP_KINDS, ChainStep, EntryState, StepKind

STATUS_ACTIONS = {
    "cong-bo": (ops.publish_campaign, "Đã công bố kế hoạch {name}: cán bộ đã có thể lập hồ sơ."),
    "ket-thuc": (ops.close_campaign, "Đã kết thúc kế hoạch {name}."),
    "mo-lai": (ops.reopen_campaign, "Đã mở lại kế hoạch {name}."),
}


@bp.before_request
def admins_only():
    """Every page here: signed in (else the login page), administrator (else 403)."""
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if request.endpoint in addresses.OFFICE_ENDPOINTS and delivery.may_edit_addresses(current_user):
        return None  # Địa chỉ gửi văn bản: Văn phòng too (campaign_admin/recipients.py)
    if not current_user.has_role(Role.ADMIN):
        abort(403, description="Chỉ Quản trị hệ thống mới được quản lý kế hoạch.")
    return None


@bp.context_processor
def template_helpers():
    return {"campaign_status": CampaignStatus}


def _actor() -> User:
    return current_user._get_current_object()


def _campaign(campaign_id: int) -> Campaign:
    return db.get_or_404(Campaign, campaign_id)


def _part(model, object_id: int, campaign: Campaign):
    """A content item or observance of this campaign; 404 for another campaign's."""
    obj = db.session.get(model, object_id)
    if obj is None or obj.campaign_id != campaign.id:
        abort(404)
    return obj


def _run(form, operation, *args, **kwargs):
    """Run one operation and commit: (result, True); refused: errors under the fields (or a
    flash), rolled back, (None, False)."""
    try:
        result = operation(*args, actor=_actor(), **kwargs)
    except Invalid as error:
        db.session.rollback()
        placed = False
        for name, message in error.errors.items():
            if form is not None and name in form:
                form[name].errors = [*form[name].errors, message]
                placed = True
        if not placed:
            flash(error.message, "danger")
        return None, False
    except OperationError as error:
        db.session.rollback()
        abort(error.status, description=error.message)
    db.session.commit()
    return result, True


def form_errors(form) -> list[tuple[str, str, str]]:
    """(field id, label, message) of every error, for the summary above a form."""
    out = []
    for field in form:
        if field.type in ("HiddenField", "CSRFTokenField"):
            out += [(field.id, "Biểu mẫu", message) for message in field.errors]
        else:
            out += [(field.id, field.label.text, message) for message in field.errors]
    return out


def _render(template: str, form=None, **context):
    errors = form_errors(form) if form is not None else []
    context.setdefault("campaign", None)
    return render_template(template, form=form, errors=errors, **context), (422 if errors else 200)


# --- Campaigns ------------------------------------------------------------------------------


@bp.route("")
def index():
    campaigns = list(
        db.session.scalars(select(Campaign).order_by(Campaign.year.desc(), Campaign.id.desc()))
    )
    counts: dict[int, dict[str, int]] = {c.id: {} for c in campaigns}
    rows = db.session.execute(
        select(Entry.campaign_id, Entry.state, func.count(Entry.id)).group_by(
            Entry.campaign_id, Entry.state
        )
    )
    for campaign_id, state, n in rows:
        counts.setdefault(campaign_id, {})[state] = n
    return render_template(
        "campaign_admin/index.html",
        campaigns=campaigns,
        counts=counts,
        statuses=CampaignStatus,
        shown_states=[EntryState.PENDING, EntryState.RETURNED, EntryState.APPROVED],
    )


@bp.route("/moi", methods=["GET", "POST"])
def new():
    agency = db.session.scalar(select(Agency).order_by(Agency.id).limit(1))
    if agency is None:
        abort(404, description="Chưa có cơ quan nào trong hệ thống.")
    form = CampaignForm()
    if request.method == "GET":
        form.report_recipient.data = "Ban Tuyên giáo và Dân vận Tỉnh ủy"
    if form.validate_on_submit():
        campaign, ok = _run(form, ops.create_campaign, agency, fields=form.campaign_fields())
        if ok:
            flash(
                f"Đã tạo kế hoạch {ops.campaign_name(campaign)} (đang soạn). Hãy thêm nội dung, "
                "ngày kỷ niệm, quy trình duyệt rồi công bố kế hoạch.",
                "success",
            )
            return redirect(url_for("campaign_admin.content_items", campaign_id=campaign.id), 303)
    return _render("campaign_admin/form.html", form)


@bp.route("/<int:campaign_id>", methods=["GET", "POST"])
def edit(campaign_id: int):
    campaign = _campaign(campaign_id)
    form = CampaignForm(obj=campaign if request.method == "GET" else None)
    if form.validate_on_submit():
        changed, ok = _run(form, ops.update_campaign, campaign, fields=form.campaign_fields())
        if ok:
            flash(
                f"Đã lưu kế hoạch {ops.campaign_name(campaign)}."
                if changed
                else "Kế hoạch không thay đổi.",
                "success" if changed else "info",
            )
            return redirect(url_for("campaign_admin.edit", campaign_id=campaign.id), 303)
    return _render(
        "campaign_admin/form.html",
        form,
        campaign=campaign,
        warnings=ops.campaign_warnings(campaign) if not form.errors else [],
        action_form=EmptyForm(),
        status=CampaignStatus(campaign.status),
    )


@bp.route("/<int:campaign_id>/trang-thai/<action>", methods=["POST"])
def change_status(campaign_id: int, action: str):
    campaign = _campaign(campaign_id)
    if action not in STATUS_ACTIONS or not EmptyForm().validate_on_submit():
        abort(404 if action not in STATUS_ACTIONS else 400)
    operation, done = STATUS_ACTIONS[action]
    _, ok = _run(None, operation, campaign)
    if ok:
        flash(done.format(name=ops.campaign_name(campaign)), "success")
    return redirect(url_for("campaign_admin.edit", campaign_id=campaign.id), 303)


@bp.route("/<int:campaign_id>/sao-chep", methods=["GET", "POST"])
def copy(campaign_id: int):
    campaign = _campaign(campaign_id)
    form = EmptyForm()
    if form.validate_on_submit() and request.form.get("xac_nhan") == "1":
        created, ok = _run(None, ops.copy_to_next_year, campaign)
        if ok:
            flash(
                f"Đã tạo kế hoạch {ops.campaign_name(created)} năm {created.year} (đang soạn) "
                f"từ kế hoạch năm {campaign.year}. Hãy kiểm tra, nhập số và ngày ban hành rồi "
                "công bố.",
                "success",
            )
            return redirect(url_for("campaign_admin.edit", campaign_id=created.id), 303)
    return render_template(
        "campaign_admin/copy.html",
        campaign=campaign,
        preview=ops.copy_preview(campaign),
        form=form,
    )


# --- Content items --------------------------------------------------------------------------

ITEM_ACTIONS = {"len", "xuong", "luu-tru", "khoi-phuc", "xoa"}


def _use_counts(column, campaign: Campaign) -> dict[int, int]:
    stmt = select(column, func.count(Entry.id)).where(Entry.campaign_id == campaign.id)
    return dict(db.session.execute(stmt.group_by(column)).all())


@bp.route("/<int:campaign_id>/noi-dung", methods=["GET", "POST"])
def content_items(campaign_id: int):
    campaign = _campaign(campaign_id)
    form = ContentItemForm()
    if form.validate_on_submit():
        item, ok = _run(form, ops.add_content_item, campaign, title=form.title.data)
        if ok:
            flash(f"Đã thêm nội dung “{item.title}” (số {item.position}).", "success")
            return redirect(url_for("campaign_admin.content_items", campaign_id=campaign.id), 303)
    return _render(
        "campaign_admin/content_items.html",
        form,
        campaign=campaign,
        uses=_use_counts(Entry.content_item_id, campaign),
        action_form=EmptyForm(),
    )


@bp.route("/<int:campaign_id>/noi-dung/<int:item_id>", methods=["GET", "POST"])
def edit_content_item(campaign_id: int, item_id: int):
    campaign = _campaign(campaign_id)
    item = _part(ContentItem, item_id, campaign)
    form = ContentItemForm(obj=item if request.method == "GET" else None)
    if form.validate_on_submit():
        changed, ok = _run(form, ops.update_content_item, item, title=form.title.data)
        if ok:
            flash(
                f"Đã lưu nội dung “{item.title}”." if changed else "Nội dung không thay đổi.",
                "success" if changed else "info",
            )
            return redirect(url_for("campaign_admin.content_items", campaign_id=campaign.id), 303)
    uses = _use_counts(Entry.content_item_id, campaign).get(item.id, 0)
    return _render("campaign_admin/part.html", form, campaign=campaign, item=item, uses=uses)


@bp.route("/<int:campaign_id>/noi-dung/<int:item_id>/<action>", methods=["POST"])
def content_item_action(campaign_id: int, item_id: int, action: str):
    campaign = _campaign(campaign_id)
    item = _part(ContentItem, item_id, campaign)
    if action not in ITEM_ACTIONS:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    title = item.title
    if action in ("len", "xuong"):
        moved, ok = _run(None, ops.move_content_item, item, -1 if action == "len" else 1)
        if ok and moved:
            flash(f"Đã chuyển nội dung “{title}” đến vị trí số {item.position}.", "success")
        elif ok:
            end = "đầu" if action == "len" else "cuối"
            flash(f"Nội dung “{title}” đã ở {end} danh sách.", "info")
    elif action == "luu-tru":
        uses = _use_counts(Entry.content_item_id, campaign).get(item.id, 0)
        if _run(None, ops.archive_content_item, item)[1]:
            flash(
                f"Đã lưu trữ nội dung “{title}”: nội dung không còn được chọn khi lập hồ sơ mới; "
                f"{uses} hồ sơ đã có vẫn giữ nguyên.",
                "success",
            )
    elif action == "khoi-phuc":
        if _run(None, ops.restore_content_item, item)[1]:
            flash(f"Đã khôi phục nội dung “{title}” (số {item.position}).", "success")
    elif _run(None, ops.delete_content_item, item)[1]:
        flash(f"Đã xóa nội dung “{title}”.", "success")
    anchor = f"noi-dung-{item_id}" if action != "xoa" else "content-items"
    return redirect(
        url_for("campaign_admin.content_items", campaign_id=campaign.id, _anchor=anchor), 303
    )


# --- Observances ----------------------------------------------------------------------------

OBSERVANCE_ACTIONS = {
    "luu-tru": (ops.archive_observance, "Đã lưu trữ ngày kỷ niệm “{name}”: không còn được chọn "
                "khi lập hồ sơ mới; các hồ sơ đã có vẫn giữ nguyên."),
    "khoi-phuc": (ops.restore_observance, "Đã khôi phục ngày kỷ niệm “{name}”."),
    "xoa": (ops.delete_observance, "Đã xóa ngày kỷ niệm “{name}”."),
}  # fmt: skip


@bp.route("/<int:campaign_id>/ngay-ky-niem", methods=["GET", "POST"])
def observances(campaign_id: int):
    campaign = _campaign(campaign_id)
    form = ObservanceForm()
    if form.validate_on_submit():
        observance, ok = _run(form, ops.add_observance, campaign, fields=form.observance_fields())
        if ok:
            flash(f"Đã thêm ngày kỷ niệm “{observance.display_name}”.", "success")
            return redirect(url_for("campaign_admin.observances", campaign_id=campaign.id), 303)
    return _render(
        "campaign_admin/observances.html",
        form,
        campaign=campaign,
        uses=_use_counts(Entry.observance_id, campaign),
        action_form=EmptyForm(),
    )


@bp.route("/<int:campaign_id>/ngay-ky-niem/<int:observance_id>", methods=["GET", "POST"])
def edit_observance(campaign_id: int, observance_id: int):
    campaign = _campaign(campaign_id)
    observance = _part(Observance, observance_id, campaign)
    form = ObservanceForm(obj=observance if request.method == "GET" else None)
    if form.validate_on_submit():
        changed, ok = _run(form, ops.update_observance, observance, fields=form.observance_fields())
        if ok:
            flash(
                f"Đã lưu ngày kỷ niệm “{observance.display_name}”."
                if changed
                else "Ngày kỷ niệm không thay đổi.",
                "success" if changed else "info",
            )
            return redirect(url_for("campaign_admin.observances", campaign_id=campaign.id), 303)
    uses = _use_counts(Entry.observance_id, campaign).get(observance.id, 0)
    return _render(
        "campaign_admin/part.html", form, campaign=campaign, observance=observance, uses=uses
    )


@bp.route("/<int:campaign_id>/ngay-ky-niem/<int:observance_id>/<action>", methods=["POST"])
def observance_action(campaign_id: int, observance_id: int, action: str):
    campaign = _campaign(campaign_id)
    observance = _part(Observance, observance_id, campaign)
    if action not in OBSERVANCE_ACTIONS:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    operation, done = OBSERVANCE_ACTIONS[action]
    name = observance.display_name
    if _run(None, operation, observance)[1]:
        flash(done.format(name=name), "success")
    return redirect(url_for("campaign_admin.observances", campaign_id=campaign.id), 303)


# --- The approval chain ---------------------------------------------------------------------


def _chain_users(campaign: Campaign) -> list[User]:
    """Who a named step may name: active users (Phó Giám đốc first), plus anyone the current
    chain names (shown as inactive, so that the problem can be seen and fixed)."""
    named = {s.user_id for s in campaign.steps if s.user_id}
    users = [u for u in db.session.scalars(select(User)) if u.active or u.id in named]
    return sorted(
        users, key=lambda u: (not u.has_role(Role.DEPUTY_DIRECTOR), fold(u.full_name), u.id)
    )


def _next_kind(steps: list[ChainStep]) -> StepKind:
    used = {s.kind for s in steps}
    return next((k for k in STEP_KINDS if k not in used), StepKind.USER)


def _edit_steps(steps: list[ChainStep], command: str) -> tuple[list[ChainStep], str | None]:
    """Apply an editing button (thêm, xóa-i, lên-i, xuống-i); the id of what to focus next."""
    verb, _, raw = command.partition("-")
    if verb == "them":
        if len(steps) >= MAX_CHAIN_STEPS:
            flash(f"Chuỗi phê duyệt có tối đa {MAX_CHAIN_STEPS} bước.", "warning")
            return steps, "add-step"
        return [*steps, ChainStep(_next_kind(steps))], f"steps-{len(steps)}-kind"
    index = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 3 else -1
    if not 0 <= index < len(steps):
        return steps, None
    steps = list(steps)
    if verb == "xoa":
        del steps[index]
        return steps, f"steps-{min(index, len(steps) - 1)}-kind" if steps else "add-step"
    to = index - 1 if verb == "len" else index + 1 if verb == "xuong" else -1
    if not 0 <= to < len(steps):
        return steps, None
    steps[index], steps[to] = steps[to], steps[index]
    # The same button on the moved row; at either end, where that button is not shown, the
    # other one.
    if to == 0 or to == len(steps) - 1:
        verb = "xuong" if to == 0 else "len"
    return steps, f"step-{to}-{verb}" if len(steps) > 1 else None


@bp.route("/<int:campaign_id>/quy-trinh", methods=["GET", "POST"])
def chain(campaign_id: int):
    campaign = _campaign(campaign_id)
    posted = request.method == "POST"
    form = ChainForm() if posted else ChainForm(formdata=None, data=step_rows(campaign.steps))
    users = _chain_users(campaign)
    form.fill_choices(users)
    context = {"problems": None, "impact": None, "warnings": [], "focus": None}
    command = request.form.get("thao_tac", "") if posted else ""
    if posted and form.validate():
        steps = form.chain_steps()
        if command == "luu":
            try:
                changed = ops.set_chain(campaign, steps, actor=_actor())
            except ChainRefused as error:
                db.session.rollback()
                context["problems"] = error.problems
            except OperationError as error:
                db.session.rollback()
                abort(error.status, description=error.message)
            else:
                db.session.commit()
                flash(
                    "Đã lưu chuỗi phê duyệt: các hồ sơ gửi duyệt từ nay đi qua "
                    + " → ".join(s.label for s in campaign.steps)
                    + "."
                    if changed
                    else "Chuỗi phê duyệt không thay đổi.",
                    "success" if changed else "info",
                )
                return redirect(url_for("campaign_admin.chain", campaign_id=campaign.id), 303)
        elif command == "xem-truoc":
            context["problems"] = ops.chain_problems(campaign.agency, steps)
            context["impact"] = ops.chain_change_impact(campaign, steps)
            context["warnings"] = (
                [] if context["problems"] else ops.chain_warnings(campaign.agency, steps)
            )
        elif command:
            steps, context["focus"] = _edit_steps(steps, command)
            form = ChainForm(formdata=None, data=step_rows(steps))
            form.fill_choices(users)
    failed = bool(context["problems"]) or (posted and bool(form.errors))
    return render_template(
        "campaign_admin/chain.html",
        campaign=campaign,
        form=form,
        kinds=STEP_KINDS,
        named_kinds=NAMED_KINDS,
        max_steps=MAX_CHAIN_STEPS,
        unsaved=posted
        and not form.errors
        and ops.with_names(form.chain_steps()) != ops.with_names(campaign.steps),
        in_flight=ops.chain_change_impact(campaign, campaign.steps)["in_flight"],
        **context,
    ), (422 if failed else 200)


# --- Địa chỉ gửi văn bản (Quản trị and Văn phòng) ------------------------------------------


@bp.route("/<int:campaign_id>/dia-chi-gui", methods=["GET", "POST"])
def recipients(campaign_id: int):
    """The Nơi nhận of the campaign with their e-mail and mã định danh."""
    campaign = _campaign(campaign_id)
    form = EmptyForm()
    rows, errors = addresses.shown_rows(campaign), {}
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        posted = addresses.posted_rows(request.form)
        try:
            changed = delivery.save_addresses(campaign, posted, actor=_actor())
        except Invalid as error:
            db.session.rollback()
            rows, errors = addresses.echoed_rows(posted), error.errors
            if not errors:
                flash(error.message, "danger")
        except Conflict as error:
            db.session.rollback()
            flash(error.message, "warning")
            return redirect(url_for("campaign_admin.recipients", campaign_id=campaign.id), 303)
        except OperationError as error:
            db.session.rollback()
            abort(error.status, description=error.message)
        else:
            db.session.commit()
            flash(
                "Đã lưu địa chỉ gửi văn bản." if changed else "Địa chỉ gửi văn bản không thay đổi.",
                "success" if changed else "info",
            )
            return redirect(url_for("campaign_admin.recipients", campaign_id=campaign.id), 303)
    return render_template(
        "campaign_admin/recipients.html",
        campaign=campaign,
        form=form,
        rows=rows,
        errors=errors,
        summary=addresses.error_summary(rows, errors),
        is_admin=current_user.has_role(Role.ADMIN),
    ), (422 if errors else 200)
