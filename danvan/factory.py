"""The app factory: ``create_app`` (exported lazily by ``danvan/__init__.py``)."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from danvan import config as config_module
from danvan.extensions import csrf, db, login_manager, migrate
from danvan.operations import STALE_MESSAGE

ROOT = Path(__file__).resolve().parent.parent

CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: defaults → instance/config.py → environment → test mapping."""
    app = Flask(
        "danvan",  # the package: its static/ folder and the logger's name, as before
        instance_path=os.environ.get("DANVAN_INSTANCE_PATH") or str(ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
    )
    app.config.from_mapping(config_module.DEFAULTS)
    if not (test_config or {}).get("IGNORE_INSTANCE_CONFIG"):
        # Flask's loader, into a scratch Config first: its keys are checked before any applies.
        values = app.config_class(app.instance_path)
        if values.from_pyfile("config.py", silent=True):
            config_module.check_keys(values, os.path.join(app.instance_path, "config.py"))
            app.config.update(values)
    app.config.update(config_module.env_overrides())
    if test_config:
        app.config.update({k: v for k, v in test_config.items() if k != "IGNORE_INSTANCE_CONFIG"})
    os.makedirs(app.instance_path, exist_ok=True)
    config_module.finalize(app.config, app.instance_path)
    if app.config["DEMO_MODE"] and not app.config.get("TESTING"):
        # The demo runs on http://127.0.0.1: cookies cannot require HTTPS there.
        app.config["SESSION_COOKIE_SECURE"] = False
        app.config["REMEMBER_COOKIE_SECURE"] = False

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    _configure_login()

    from danvan import ledger

    ledger.install()

    from danvan import notifications

    notifications.BASE_URL["value"] = app.config["BASE_URL"]

    from danvan.web import register_template_helpers, register_url_converters

    register_template_helpers(app)
    register_url_converters(app)  # before the blueprints: their rules take the converters
    _register_blueprints(app)
    _register_errors(app)
    _register_security_headers(app)
    _trust_proxies(app)

    from danvan.cli import danvan_cli

    app.cli.add_command(danvan_cli)
    return app


def _configure_login() -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Vui lòng đăng nhập để tiếp tục."
    login_manager.login_message_category = "warning"
    login_manager.session_protection = "basic"

    from danvan.auth.sessions import load_session_user

    login_manager.user_loader(load_session_user)


def _register_blueprints(app: Flask) -> None:
    from danvan.archive import bp as archive_bp
    from danvan.auth import bp as auth_bp
    from danvan.campaigns import bp as campaigns_bp
    from danvan.entries import bp as entries_bp
    from danvan.inbox import bp as inbox_bp
    from danvan.reports import bp as reports_bp

    for bp in (auth_bp, campaigns_bp, entries_bp, inbox_bp, reports_bp, archive_bp):
        app.register_blueprint(bp)

    from danvan.admin import bp as admin_bp
    from danvan.campaign_admin import bp as campaign_admin_bp
    from danvan.delegations import bp as delegations_bp
    from danvan.exports import bp as exports_bp
    from danvan.incoming_views import bp as incoming_bp
    from danvan.plans.views import bp as plans_bp
    from danvan.public import bp as public_bp
    from danvan.rollup_views import bp as rollup_bp

    for bp in (admin_bp, campaign_admin_bp, delegations_bp, plans_bp, exports_bp, public_bp):
        app.register_blueprint(bp)
    for bp in (incoming_bp, rollup_bp):  # after issue: the sổ văn bản đến, the roll-up
        app.register_blueprint(bp)
    __import__("danvan.api", fromlist=["init_app"]).init_app(app)  # /api/v1, CSRF-exempt


def _trust_proxies(app: Flask) -> None:
    # Only as many X-Forwarded-* hops as there are proxies we run: the rest could be forged.
    hops = int(app.config["PROXY_FIX_X_FOR"] or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def _register_errors(app: Flask) -> None:
    @app.errorhandler(StaleDataError)
    @app.errorhandler(IntegrityError)
    def concurrent_change(error):
        # A safety net: the races we know of are answered at their source (operations raise
        # Conflict); anything that still collides in the database is a 409, not a 500.
        db.session.rollback()
        app.logger.warning("Xung đột ghi cơ sở dữ liệu: %s", error)
        return render_template("errors/error.html", code=409, message=STALE_MESSAGE), 409

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        db.session.rollback()
        message = (
            "Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ (thiếu mã bảo mật CSRF). "
            "Vui lòng tải lại trang và thử lại; dữ liệu đã lưu trước đó không bị mất."
        )
        return render_template("errors/error.html", code=400, message=message), 400

    messages = {
        400: "Yêu cầu không hợp lệ.",
        403: "Bạn không có quyền truy cập chức năng này.",
        404: "Không tìm thấy trang hoặc hồ sơ bạn yêu cầu.",
        405: "Phương thức không được hỗ trợ.",
        409: "Hồ sơ đã được người khác xử lý, vui lòng tải lại trang.",
        413: (
            "Tệp tải lên vượt quá dung lượng cho phép (tối đa 20 MB mỗi tệp). "
            "Hồ sơ và các tệp đã đính kèm trước đó vẫn được giữ nguyên."
        ),
        429: "Bạn đã thử quá nhiều lần. Vui lòng đợi một phút rồi thử lại.",
        500: "Hệ thống gặp lỗi. Vui lòng thử lại sau hoặc liên hệ quản trị hệ thống.",
    }

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        db.session.rollback()
        code = error.code or 500
        custom = error.description != type(error).description
        message = error.description if custom else messages.get(code, error.name)
        back = None
        entry_id = (request.view_args or {}).get("entry_id")
        if code == 413 and entry_id:
            back = url_for("entries.view", entry_id=entry_id)
        return render_template("errors/error.html", code=code, message=message, back=back), code


def _register_security_headers(app: Flask) -> None:
    @app.after_request
    def headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
        return response
