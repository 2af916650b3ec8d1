from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from danvan.admin import bp
from danvan.admin.display import OBJECT_LABELS, log_rows, page_numbers
from danvan.admin.forms import AgencyForm, EmptyForm, UnitForm, UserCreateForm, UserEditForm
from danvan.extensions import db
from danvan.models import Agency, AuditLog, Role, Unit, User, UserRole
from danvan.operations import Invalid, OperationError
from danvan.operations import admin as ops
from danvan.pagination import Page, page_args, paginate, paginate_list
from danvan.text import fold
from danvan.web import flash_error, int_arg, require, text_arg

LOG_PAGE_SIZE = 50
ACTIVE_FILTERS = {"hoat-dong": True, "ngung": False}


@bp.before_request
def admins_only():
    """Every page here: signed in (else the login page), administrator (else 403)."""
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    require(
        current_user.has_role(Role.ADMIN),
        "Chỉ Quản trị hệ thống mới được vào trang quản trị.",
    )
    return None


def _agency() -> Agency:
    agency = db.session.scalar(select(Agency).order_by(Agency.id).limit(1))
    if agency is None:
        abort(404, description="Chưa có cơ quan nào trong hệ thống.")
    return agency


def _units(agency: Agency) -> list[Unit]:
    stmt = select(Unit).where(Unit.agency_id == agency.id)
    return list(db.session.scalars(stmt.order_by(Unit.active.desc(), Unit.position, Unit.id)))


def _refused(form, error: OperationError) -> None:
    """Roll back; put each refusal under its field (a flash for the rest)."""
    db.session.rollback()
    unplaced = [m for name, m in error.errors.items() if name not in form]
    for name, message in error.errors.items():
        if name in form:
            form[name].errors = [*form[name].errors, message]
    for message in unplaced or ([] if error.errors else [error.message]):
        flash(message, "danger")


def _save(form, operation, *args, **kwargs):
    """Run one operation for a validated form: (result, True) committed, (None, False) refused."""
    try:
        result = operation(*args, actor=current_user._get_current_object(), **kwargs)
    except Invalid as error:
        _refused(form, error)
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
        label = field.label.text if field.type not in ("HiddenField", "CSRFTokenField") else ""
        out += [(field.id, label or "Biểu mẫu", message) for message in field.errors]
    return out


@bp.route("")
def index():
    campaigns = "campaign_admin.index" in current_app.view_functions
    counts = {
        "units": db.session.scalar(select(func.count(Unit.id)).where(Unit.active.is_(True))),
        "users": db.session.scalar(select(func.count(User.id)).where(User.active.is_(True))),
        "log": db.session.scalar(select(func.count(AuditLog.id))),
    }
    return render_template("admin/index.html", campaigns=campaigns, counts=counts)


# --- Agency -------------------------------------------------------------------------------


def _signers() -> list[User]:
    stmt = (
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(
            User.active.is_(True),
            UserRole.role.in_([Role.DIRECTOR.value, Role.DEPUTY_DIRECTOR.value]),
        )
        .order_by(User.full_name)
        .distinct()
    )
    return list(db.session.scalars(stmt))


@bp.route("/co-quan", methods=["GET", "POST"])
def agency():
    agency = _agency()
    form = AgencyForm(obj=agency if request.method == "GET" else None)
    form.fill_choices(_signers())
    if request.method == "GET":
        form.default_signer_id.data = agency.default_signer_id or 0
    if form.validate_on_submit():
        changed, ok = _save(form, ops.update_agency, agency, fields=form.agency_fields())
        if ok:
            flash(
                "Đã lưu thông tin cơ quan." if changed else "Thông tin cơ quan không thay đổi.",
                "success" if changed else "info",
            )
            return redirect(url_for("admin.agency"), 303)
    return render_template(
        "admin/agency.html", form=form, agency=agency, errors=form_errors(form)
    ), (422 if form.errors else 200)


# --- Units --------------------------------------------------------------------------------


def _heads(unit: Unit, members: list[User]) -> list[User]:
    role = Role.OFFICE_CHIEF if unit.is_office else Role.UNIT_HEAD
    return [u for u in members if u.active and u.has_role(role)]


@bp.route("/don-vi", methods=["GET", "POST"])
def units():
    agency = _agency()
    form = UnitForm()
    if request.method == "GET":
        form.active.data = True
    if form.validate_on_submit():
        unit, ok = _save(form, ops.create_unit, agency, fields=form.unit_fields())
        if ok:
            flash(f"Đã tạo đơn vị {unit.name}.", "success")
            return redirect(url_for("admin.units"), 303)
    number, per_page = page_args(request.args)
    stmt = select(Unit).where(Unit.agency_id == agency.id)
    page = paginate(stmt.order_by(Unit.active.desc(), Unit.position, Unit.id), number, per_page)
    all_units = page.items
    members: dict[int, list[User]] = {u.id: [] for u in all_units}
    for user in db.session.scalars(
        select(User).where(User.unit_id.in_(list(members))).order_by(User.full_name)
    ):
        members.setdefault(user.unit_id, []).append(user)
    return render_template(
        "admin/units.html",
        page=page,
        units=all_units,
        members=members,
        heads={u.id: _heads(u, members[u.id]) for u in all_units},
        form=form,
        errors=form_errors(form),
    ), (422 if form.errors else 200)


@bp.route("/don-vi/<int:unit_id>", methods=["GET", "POST"])
def edit_unit(unit_id: int):
    unit = db.get_or_404(Unit, unit_id)
    form = UnitForm(obj=unit if request.method == "GET" else None)
    if form.validate_on_submit():
        changed, ok = _save(form, ops.update_unit, unit, fields=form.unit_fields())
        if ok:
            flash(
                f"Đã lưu đơn vị {unit.name}." if changed else "Đơn vị không thay đổi.",
                "success" if changed else "info",
            )
            return redirect(url_for("admin.units"), 303)
    members = list(
        db.session.scalars(
            select(User).where(User.unit_id == unit.id).order_by(User.active.desc(), User.full_name)
        )
    )
    return render_template(
        "admin/unit.html",
        unit=unit,
        form=form,
        members=members,
        heads=_heads(unit, members),
        errors=form_errors(form),
    ), (422 if form.errors else 200)


# --- Users --------------------------------------------------------------------------------


def _user_filters(args) -> dict:
    role = args.get("vai_tro") or None
    state = args.get("trang_thai") or ""
    return {
        "unit_id": int_arg(args, "don_vi", "Đơn vị"),
        "role": role if role in {r.value for r in Role} else None,
        "state": state if state in ACTIVE_FILTERS else "",
        "text": text_arg(args, "q"),
    }


def _users_stmt(filters: dict):
    stmt = select(User).order_by(User.active.desc(), User.full_name, User.id)
    if filters["unit_id"]:
        stmt = stmt.where(User.unit_id == filters["unit_id"])
    if filters["role"]:
        stmt = stmt.where(
            User.id.in_(select(UserRole.user_id).where(UserRole.role == filters["role"]))
        )
    if filters["state"]:
        stmt = stmt.where(User.active.is_(ACTIVE_FILTERS[filters["state"]]))
    return stmt


def _find_users(filters: dict) -> list[User]:
    users = list(db.session.scalars(_users_stmt(filters)))
    words = fold(filters["text"]).split()
    if words:  # accent-insensitive, in Python: the same on SQLite and PostgreSQL
        haystack = {
            u.id: fold(" ".join(filter(None, (u.full_name, u.username, u.email, u.position_title))))
            for u in users
        }
        users = [u for u in users if all(w in haystack[u.id] for w in words)]
    return users


def _users_page(filters: dict) -> Page:
    """A page of users: in SQL, or in Python when a search word needs fold() (a few thousand
    accounts at most)."""
    number, per_page = page_args(request.args)
    if fold(filters["text"]).split():
        return paginate_list(_find_users(filters), number, per_page)
    return paginate(_users_stmt(filters), number, per_page)


@bp.route("/nguoi-dung")
def users():
    filters = _user_filters(request.args)
    page = _users_page(filters)
    return render_template(
        "admin/users.html",
        page=page,
        users=page.items,
        units=_units(_agency()),
        roles=list(Role),
        filters=filters,
        action_form=EmptyForm(),
    )


def _chosen_unit(form) -> Unit | None:
    unit_id = form.unit_id.data or None
    return db.session.get(Unit, unit_id) if unit_id else None


@bp.route("/nguoi-dung/moi", methods=["GET", "POST"])
def new_user():
    form = UserCreateForm()
    form.fill_choices(_units(_agency()))
    if request.method == "GET":
        form.roles.data = [Role.STAFF.value]
    if form.validate_on_submit():
        created, ok = _save(
            form,
            ops.create_user,
            fields={**form.profile_fields(), "username": form.username.data},
            roles=form.roles.data,
            unit=_chosen_unit(form),
            password=form.password.data or None,
        )
        if ok:
            user, temporary = created
            if temporary:
                return _show_password(user, temporary, created_now=True)
            flash(f"Đã tạo tài khoản {user.username}.", "success")
            return redirect(url_for("admin.edit_user", user_id=user.id), 303)
    return render_template(
        "admin/user_form.html", form=form, user=None, errors=form_errors(form)
    ), (422 if form.errors else 200)


@bp.route("/nguoi-dung/<int:user_id>", methods=["GET", "POST"])
def edit_user(user_id: int):
    user = db.get_or_404(User, user_id)
    form = UserEditForm(obj=user if request.method == "GET" else None)
    form.fill_choices(_units(_agency()))
    if request.method == "GET":
        form.unit_id.data = user.unit_id or 0
        form.roles.data = [r.value for r in user.roles]
    if form.validate_on_submit():
        changed, ok = _save(
            form,
            ops.update_user,
            user,
            fields={**form.profile_fields(), "active": form.active.data},
            roles=form.roles.data,
            unit=_chosen_unit(form),
        )
        if ok:
            flash(
                f"Đã lưu tài khoản {user.username}." if changed else "Tài khoản không thay đổi.",
                "success" if changed else "info",
            )
            return redirect(url_for("admin.edit_user", user_id=user.id), 303)
    return render_template(
        "admin/user_form.html",
        form=form,
        user=user,
        action_form=EmptyForm(),
        errors=form_errors(form),
    ), (422 if form.errors else 200)


def _show_password(user: User, temporary: str, *, created_now: bool = False):
    """The temporary password, on this response only (never in a flash, a URL or the log)."""
    return render_template(
        "admin/temporary_password.html", user=user, password=temporary, created_now=created_now
    )


@bp.route("/nguoi-dung/<int:user_id>/dat-lai-mat-khau", methods=["POST"])
def reset_password(user_id: int):
    user = db.get_or_404(User, user_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        temporary = ops.reset_password(user, actor=current_user._get_current_object())
    except OperationError as error:
        flash_error(error)
        return redirect(url_for("admin.edit_user", user_id=user.id), 303)
    db.session.commit()
    return _show_password(user, temporary)


@bp.route("/nguoi-dung/<int:user_id>/ngung-hoat-dong", methods=["POST"])
def deactivate_user(user_id: int):
    user = db.get_or_404(User, user_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        ended = ops.deactivate_user(user, actor=current_user._get_current_object())
    except OperationError as error:
        flash_error(error)
    else:
        db.session.commit()
        flash(
            f"Đã ngừng hoạt động tài khoản {user.username} và kết thúc {ended} phiên đăng nhập. "
            "Tài khoản và lịch sử xử lý vẫn được giữ lại.",
            "success",
        )
    if request.form.get("next") == "list":
        return redirect(url_for("admin.users"), 303)
    return redirect(url_for("admin.edit_user", user_id=user.id), 303)


# --- The administration log --------------------------------------------------------------


@bp.route("/nhat-ky")
def audit_log():
    stmt = select(AuditLog)
    object_type = text_arg(request.args, "doi_tuong") or None
    object_id = int_arg(request.args, "ma", "Mã đối tượng") if object_type else None
    if object_type:
        stmt = stmt.where(AuditLog.object_type == object_type)
    if object_id:
        stmt = stmt.where(AuditLog.object_id == object_id)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    pages = max(1, -(-total // LOG_PAGE_SIZE))
    page = int_arg(request.args, "trang", "Trang", maximum=pages) or 1
    rows = list(
        db.session.scalars(
            stmt.order_by(AuditLog.id.desc())
            .offset((page - 1) * LOG_PAGE_SIZE)
            .limit(LOG_PAGE_SIZE)
        )
    )
    subject = _log_subject(object_type, object_id)
    return render_template(
        "admin/audit_log.html",
        rows=log_rows(rows),
        total=total,
        page=page,
        pages=pages,
        page_links=page_numbers(page, pages),
        object_type=object_type,
        object_id=object_id,
        subject=subject,
    )


def _log_subject(object_type: str | None, object_id: int | None) -> str | None:
    """What a filtered log is about, in words: "tài khoản Nguyễn Văn A (nguyen.van.a)"."""
    if not object_type:
        return None
    user = db.session.get(User, object_id) if object_type == "user" and object_id else None
    unit = db.session.get(Unit, object_id) if object_type == "unit" and object_id else None
    if user is not None:
        return f"tài khoản {ops.user_name(user)}"
    if unit is not None:
        return f"đơn vị {unit.name}"
    label = OBJECT_LABELS.get(object_type, object_type).lower()
    return f"{label} #{object_id}" if object_id else label
