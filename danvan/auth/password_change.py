"""After an administrator's reset (or a new account), nothing but "Đổi mật khẩu" until done."""

from __future__ import annotations

from flask import redirect, request, url_for
from flask_login import current_user

from danvan.auth import bp

# What a person who must change their password may still reach.
ALLOWED_ENDPOINTS = frozenset(
    {"static", "auth.change_password", "auth.logout", "auth.logout_everywhere", "auth.login"}
)


@bp.before_app_request
def require_password_change():
    """Send a user whose password must change to the change-password page, on every page."""
    if request.endpoint in ALLOWED_ENDPOINTS or request.endpoint is None:
        return None  # static files and 404s: no need to load the user
    if not current_user.is_authenticated or not current_user.must_change_password:
        return None
    # The change page says why (templates/auth/change_password.html).
    return redirect(url_for("auth.change_password"), 303 if request.method != "GET" else 302)
