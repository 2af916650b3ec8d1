"""Bearer authentication for /api: the token names the user; no session cookie is read.

``authenticate`` runs first of all the app's before-request hooks for /api paths (so that no
other hook loads the cookie's user): it answers 401 for a missing, unknown, revoked or expired
token or an inactive user, 429 once an address has failed too often, 403 for a read-only
token on anything but a read. Otherwise the token's user is the request's ``current_user``.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, g, request
from flask_login import AnonymousUserMixin

from danvan import ratelimit
from danvan.api import tokens
from danvan.api.errors import problem
from danvan.extensions import db
from danvan.text import utcnow

API_PREFIX = "/api/"
PUBLIC_PATHS = frozenset({"/api/v1/openapi.json"})
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FAILURES_PER_WINDOW = 20  # failed token attempts per client address
FAILURE_WINDOW_S = 600
LAST_USED_RESOLUTION = timedelta(minutes=1)  # last_used_at is written at most this often

MISSING = "Thiếu mã truy cập API: gửi tiêu đề Authorization: Bearer <mã>."
REJECTED = "Mã truy cập API không hợp lệ, đã bị thu hồi hoặc đã hết hạn."
READ_ONLY = "Mã truy cập này chỉ được đọc dữ liệu (GET); hãy dùng mã có quyền ghi."
MUST_CHANGE = "Bạn cần đổi mật khẩu trên giao diện web trước khi dùng API."
THROTTLED = (
    f"Quá nhiều lần dùng mã truy cập sai từ địa chỉ này ({FAILURES_PER_WINDOW} lần trong "
    f"{FAILURE_WINDOW_S // 60} phút). Vui lòng đợi rồi thử lại."
)


def _failure_key() -> str:
    return f"api-token:addr:{request.remote_addr}"


def _presented_secret() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _refuse(detail: str):
    count = ratelimit.hit(_failure_key(), window_s=FAILURE_WINDOW_S)
    db.session.commit()
    if count > FAILURES_PER_WINDOW:
        return problem(429, THROTTLED, headers={"Retry-After": str(FAILURE_WINDOW_S)})
    return problem(401, detail)


def routing_problem(error):
    """404 or 405 for a path or method no API route takes.

    Werkzeug answers 405 when a path's shape fits a rule for other methods even though its
    number is out of range (``/entries/0``): when no allowed method takes the path either, it
    is a 404.
    """
    from werkzeug.exceptions import MethodNotAllowed, NotFound

    from danvan.api.errors import http_problem

    if isinstance(error, MethodNotAllowed):
        adapter = current_app.url_map.bind_to_environ(request.environ)
        for method in error.valid_methods or ():
            try:
                adapter.match(method=method)
            except NotFound:
                continue
            except Exception:  # noqa: BLE001 - redirects and the like: the path exists
                break
            else:
                break
        else:
            return http_problem(NotFound())
    return http_problem(error)


def authenticate():
    """Before every /api request: the token's user, or the problem that refuses it."""
    if not request.path.startswith(API_PREFIX):
        return None
    g._login_user = AnonymousUserMixin()  # the cookie's user is never loaded here
    g.api_token = None
    if request.routing_exception is not None:
        return routing_problem(request.routing_exception)
    if request.path in PUBLIC_PATHS:
        return None
    if ratelimit.peek(_failure_key(), window_s=FAILURE_WINDOW_S) >= FAILURES_PER_WINDOW:
        return problem(429, THROTTLED, headers={"Retry-After": str(FAILURE_WINDOW_S)})
    secret = _presented_secret()
    if secret is None:
        return problem(401, MISSING)
    token = tokens.find_token(secret)
    now = utcnow()
    if token is None or not token.usable(now):
        db.session.rollback()
        return _refuse(REJECTED)
    user = token.user
    if request.method not in READ_METHODS and token.read_only:
        return problem(403, READ_ONLY)
    if user.must_change_password:
        return problem(403, MUST_CHANGE)
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
        db.session.commit()
    g._login_user = user
    g.api_token = token
    return None
