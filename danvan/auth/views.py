import io
from urllib.parse import urlsplit

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from danvan.auth import bp
from danvan.auth.forms import ChangePasswordForm, LoginForm, SignatureForm
from danvan.auth.throttle import is_throttled, record_attempt
from danvan.documents.images import check_signature_png
from danvan.extensions import db
from danvan.models import Blob, User
from danvan.operations.entries import store_blob

THROTTLED = "Bạn đã đăng nhập sai quá nhiều lần. Vui lòng đợi một phút rồi thử lại."


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.netloc and not parts.scheme:
            return target
    return url_for("campaigns.home")


def _demo_accounts() -> list[User]:
    if not current_app.config["DEMO_MODE"]:
        return []
    return list(db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)))


@bp.route("/dang-nhap", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("campaigns.home"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        username = form.username.data.strip().lower()
        addr = request.remote_addr or "?"
        cfg = current_app.config
        if is_throttled(
            username,
            addr,
            max_failures=cfg["LOGIN_MAX_FAILURES"],
            window_s=cfg["LOGIN_WINDOW_SECONDS"],
        ):
            flash(THROTTLED, "danger")
            status = 429
        else:
            user = db.session.scalar(select(User).where(User.username == username))
            ok = user is not None and user.active and user.check_password(form.password.data)
            record_attempt(username, addr, success=ok)
            db.session.commit()
            if ok:
                login_user(user, remember=form.remember.data)
                flash(f"Xin chào {user.full_name}.", "success")
                return redirect(_safe_next(request.args.get("next")))
            flash("Tên đăng nhập hoặc mật khẩu không đúng.", "danger")
            status = 401
    return render_template("auth/login.html", form=form, demo_accounts=_demo_accounts()), status


@bp.route("/dang-xuat", methods=["POST"])
def logout():
    logout_user()
    flash("Bạn đã đăng xuất.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/doi-mat-khau", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not current_user.check_password(form.current.data):
            form.current.errors.append("Mật khẩu hiện tại không đúng.")
        else:
            user = current_user._get_current_object()
            user.set_password(form.new.data)
            db.session.commit()
            login_user(user)  # the session token changed: keep this session signed in
            flash("Đã đổi mật khẩu. Các phiên đăng nhập khác đã bị đăng xuất.", "success")
            return redirect(url_for("campaigns.home"))
    return render_template("auth/change_password.html", form=form)


@bp.route("/ca-nhan", methods=["GET", "POST"])
@login_required
def profile():
    form = SignatureForm()
    if form.validate_on_submit():
        upload = request.files.get("signature")
        data = upload.read(2 * 1024 * 1024 + 1) if upload and upload.filename else b""
        try:
            if not data:
                raise ValueError("Vui lòng chọn tệp ảnh chữ ký.")
            if len(data) > 2 * 1024 * 1024:
                raise ValueError("Ảnh chữ ký không được lớn hơn 2 MB.")
            check_signature_png(data)
        except ValueError as error:
            flash(str(error), "danger")
        else:
            user = current_user._get_current_object()
            user.signature_blob = store_blob(data).sha256
            db.session.commit()
            flash("Đã cập nhật ảnh chữ ký.", "success")
            return redirect(url_for("auth.profile"), 303)
    return render_template("auth/profile.html", form=form)


@bp.route("/ca-nhan/chu-ky.png")
@login_required
def signature_image():
    if not current_user.signature_blob:
        abort(404)
    blob = db.session.get(Blob, current_user.signature_blob)
    return send_file(io.BytesIO(blob.data), mimetype="image/png")
