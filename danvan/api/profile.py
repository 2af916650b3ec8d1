"""Cá nhân → "Mã truy cập API": create a token (shown once on the answering page) or revoke one."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from wtforms import BooleanField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length

from danvan.api import tokens
from danvan.auth.forms import SignatureForm
from danvan.extensions import db
from danvan.forms import BaseForm
from danvan.models import User
from danvan.models.api import ApiToken
from danvan.operations import OperationError
from danvan.web import flash_error, require

bp = Blueprint("api_tokens", __name__)

EXPIRY_CHOICES = [SelectChoice("", "Không hết hạn")] + [
    SelectChoice(str(days), f"Sau {days} ngày") for days in tokens.EXPIRY_CHOICES_DAYS
]


class TokenForm(BaseForm):
    name = StringField(
        "Tên mã (để nhận ra, ví dụ “Bảng tính thống kê”)",
        validators=[DataRequired("Vui lòng đặt tên cho mã truy cập."), Length(max=tokens.MAX_NAME)],
    )
    read_only = BooleanField("Chỉ đọc (không tạo, sửa hay duyệt được gì)")
    expires = SelectField("Hết hạn", choices=EXPIRY_CHOICES, default="90")


class RevokeForm(BaseForm):
    pass


def api_tokens_for(user: User) -> dict:
    """What the profile's "Mã truy cập API" section shows: the user's tokens and the forms."""
    if not getattr(user, "is_authenticated", False):
        return {"tokens": [], "form": None, "revoke_form": None}
    return {
        "tokens": tokens.active_tokens(user),
        "form": TokenForm(formdata=None),
        "revoke_form": RevokeForm(formdata=None),
    }


@bp.route("/ca-nhan/ma-api", methods=["POST"])
@login_required
def create():
    """Create a token; the answering page shows it, once (never stored, never flashed)."""
    form = TokenForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(message, "danger")
        return redirect(url_for("auth.profile", _anchor="api-tokens"), 303)
    user = current_user._get_current_object()
    try:
        new = tokens.create_token(
            user,
            name=form.name.data,
            read_only=form.read_only.data,
            expires_in_days=int(form.expires.data) if form.expires.data else None,
        )
    except OperationError as error:
        flash_error(error)
        return redirect(url_for("auth.profile", _anchor="api-tokens"), 303)
    db.session.commit()
    page = render_template("auth/profile.html", form=SignatureForm(), new_api_token=new)
    return page, 201, {"Cache-Control": "no-store"}


@bp.route("/ca-nhan/ma-api/<int:token_id>/thu-hoi", methods=["POST"])
@login_required
def revoke(token_id: int):
    """Revoke one of the user's own tokens."""
    if not RevokeForm().validate_on_submit():
        abort(400)
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    require(token.revoked_at is None, "Mã truy cập này đã bị thu hồi.")
    tokens.revoke_token(token, actor=current_user._get_current_object())
    name = token.name
    db.session.commit()
    flash(f"Đã thu hồi mã truy cập “{name}”.", "success")
    return redirect(url_for("auth.profile", _anchor="api-tokens"), 303)
