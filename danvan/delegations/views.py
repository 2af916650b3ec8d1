from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import or_, select

from danvan.delegations import bp
from danvan.delegations.forms import DelegationForm, EmptyForm
from danvan.extensions import db
from danvan.models import Delegation, Role, User, UserRole
from danvan.operations import Invalid, OperationError
from danvan.operations import delegations as ops
from danvan.text import today_vn, utcnow
from danvan.web import require

ALLOWED = (Role.UNIT_HEAD, Role.OFFICE_CHIEF, Role.DIRECTOR, Role.ADMIN)
ADMIN_LIST_LIMIT = 200


@bp.before_request
def leaders_only():
    """Heads, Chánh Văn phòng, the director and administrators; others get a 403."""
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    require(
        current_user.has_role(*ALLOWED),
        "Chỉ Trưởng phòng, Chánh Văn phòng, Giám đốc hoặc Quản trị hệ thống mới dùng được "
        "chức năng ủy quyền.",
    )
    return None


def _is_admin() -> bool:
    return current_user.has_role(Role.ADMIN)


def _active_users() -> list[User]:
    stmt = select(User).where(User.active.is_(True)).order_by(User.full_name, User.id)
    return list(db.session.scalars(stmt))


def _principals() -> list[User]:
    roles = [r.value for r in ops.DELEGATING_ROLES]
    stmt = (
        select(User)
        .where(
            User.active.is_(True),
            User.id.in_(select(UserRole.user_id).where(UserRole.role.in_(roles))),
        )
        .order_by(User.full_name, User.id)
    )
    return list(db.session.scalars(stmt))


def _form() -> DelegationForm:
    form = DelegationForm()
    me = current_user._get_current_object()
    people = _active_users()
    if _is_admin():
        form.fill_choices(_principals(), people)
    else:
        form.fill_choices(None, [u for u in people if u.id != me.id])
    return form


def _render(form: DelegationForm, status: int = 200):
    me = current_user._get_current_object()
    newest = Delegation.starts_at.desc()
    given = list(
        db.session.scalars(
            select(Delegation).where(Delegation.head_id == me.id).order_by(newest, Delegation.id)
        )
    )
    received = list(
        db.session.scalars(
            select(Delegation)
            .where(Delegation.delegate_id == me.id)
            .order_by(newest, Delegation.id)
        )
    )
    everyone = None
    if _is_admin():
        mine = or_(Delegation.head_id == me.id, Delegation.delegate_id == me.id)
        everyone = list(
            db.session.scalars(
                select(Delegation).where(~mine).order_by(newest).limit(ADMIN_LIST_LIMIT)
            )
        )
    errors = [
        (f.id, f.label.text, message)
        for f in form
        if f.type != "CSRFTokenField"
        for message in f.errors
    ]
    return render_template(
        "delegations/index.html",
        form=form,
        errors=errors,
        given=given,
        received=received,
        everyone=everyone,
        can_create=_is_admin() or ops.can_delegate(me),
        revoke_form=EmptyForm(),
        status_of=ops.status,
        period_text=ops.period_text,
        statuses=ops.STATUS,
        now=utcnow(),
    ), status


@bp.route("")
def index():
    form = _form()
    form.starts_on.data = today_vn()
    return _render(form)


@bp.route("/moi", methods=["POST"])
def create():
    form = _form()
    me = current_user._get_current_object()
    require(_is_admin() or ops.can_delegate(me), "Bạn không giữ chức vụ được ủy quyền.")
    if form.validate_on_submit():
        principal = db.session.get(User, form.principal_id.data) if "principal_id" in form else me
        delegate = db.session.get(User, form.delegate_id.data)
        if principal is None or delegate is None:
            abort(400)
        try:
            delegation = ops.create_delegation(
                principal, delegate, form.starts_on.data, form.ends_on.data, actor=me
            )
        except Invalid as error:
            db.session.rollback()
            for name, message in error.errors.items():
                if name in form:
                    form[name].errors = [*form[name].errors, message]
        except OperationError as error:
            db.session.rollback()
            abort(error.status, description=error.message)
        else:
            db.session.commit()
            flash(
                f"Đã ủy quyền cho {delegate.full_name} ({ops.period_text(delegation)}).",
                "success",
            )
            return redirect(url_for("delegations.index"), 303)
    return _render(form, 422)


@bp.route("/<int:delegation_id>/thu-hoi", methods=["POST"])
def revoke(delegation_id: int):
    delegation = db.get_or_404(Delegation, delegation_id)
    require(
        ops.may_manage(current_user, delegation.head),
        "Chỉ người ủy quyền hoặc Quản trị hệ thống mới được thu hồi ủy quyền.",
    )
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        ops.revoke_delegation(delegation, actor=current_user._get_current_object())
    except Invalid as error:
        db.session.rollback()
        flash(error.message, "warning")
    else:
        db.session.commit()
        flash(
            f"Đã thu hồi ủy quyền cho {delegation.delegate.full_name} "
            f"({ops.period_text(delegation)}).",
            "success",
        )
    return redirect(url_for("delegations.index"), 303)
