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
from flask_login import current_user, login_required, logout_user
from sqlalchemy import select

from danvan.auth import bp, throttle
from danvan.auth.forms import ChangePasswordForm, LoginForm, SignatureForm
from danvan.auth.sessions import (
    current_session_row,
    end_all_sessions,
    end_session,
    start_session,
)
from danvan.blobs import store_blob
from danvan.documents.images import check_signature_png
from danvan.extensions import db
from danvan.models import Blob, User

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
        window = cfg["LOGIN_WINDOW_SECONDS"]
        # Counted before the password is checked, and committed at once: the counter's row
        # lock (SQLite: the database write lock) is not held while the hash is computed.
        attempt = throttle.count_attempt(username, addr, window_s=window)
        db.session.commit()
        if attempt.throttled(cfg["LOGIN_MAX_FAILURES"]):
            flash(THROTTLED, "danger")
            status = 429
        else:
            user = db.session.scalar(select(User).where(User.username == username))
            ok = throttle.check_login(user, form.password.data)
            if ok:
                throttle.forget_failures(username, addr, window_s=window)
                db.session.commit()
                start_session(user, remember=form.remember.data)
                flash(f"Xin chào {user.full_name}.", "success")
                return redirect(_safe_next(request.args.get("next")))
            flash("Tên đăng nhập hoặc mật khẩu không đúng.", "danger")
            status = 401
    return render_template("auth/login.html", form=form, demo_accounts=_demo_accounts()), status


@bp.route("/dang-xuat", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        end_session(current_user._get_current_object())
        db.session.commit()
    logout_user()
    flash("Bạn đã đăng xuất.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/dang-xuat-moi-noi", methods=["POST"])
@login_required
def logout_everywhere():
    user = current_user._get_current_object()
    count = end_all_sessions(user)
    db.session.commit()
    logout_user()
    flash(f"Đã đăng xuất khỏi mọi thiết bị ({count} phiên).", "info")
    return redirect(url_for("auth.login"))


@bp.route("/doi-mat-khau", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm(username=current_user.username)
    if form.validate_on_submit():
        if not current_user.check_password(form.current.data):
            form.current.errors.append("Mật khẩu hiện tại không đúng.")
        else:
            user = current_user._get_current_object()
            user.set_password(form.new.data)
            user.must_change_password = False  # set by an administrator's reset
            end_all_sessions(user, keep=current_session_row(user))
            db.session.commit()
            flash("Đã đổi mật khẩu. Các phiên đăng nhập khác đã bị đăng xuất.", "success")
            return redirect(url_for("campaigns.home"))
    elif form.is_submitted() and not current_user.check_password(form.current.data or ""):
        # A wrong current password is said together with the new password's problems.
        form.current.errors.append("Mật khẩu hiện tại không đúng.")
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
