"""The JSON API, /api/v1: the UI's operations and permission checks behind Bearer tokens.

flask-smorest generates the OpenAPI 3.1 document (/api/v1/openapi.json) from the marshmallow
schemas in ``danvan.api.schemas``. Its app-wide JSON error handler is not installed: the HTML
pages keep their error pages, and the API's blueprints answer problem+json themselves.
"""

from __future__ import annotations

import http

from flask import Flask
from flask_smorest import Api
from flask_smorest.utils import prepare_response

from danvan.api.errors import PROBLEM_MIME, PROBLEMS
from danvan.api.schemas import ProblemSchema

API_CONFIG = {
    "API_TITLE": "danvan API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.1.0",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
    # No documentation UI: the ones flask-smorest offers load their assets from a CDN, and
    # the department's intranet is offline.
    "OPENAPI_REDOC_PATH": None,
    "OPENAPI_SWAGGER_UI_PATH": None,
    "OPENAPI_RAPIDOC_PATH": None,
}

SPEC_OPTIONS = {
    "info": {
        "description": (
            "API của danvan: cùng thao tác và cùng kiểm tra quyền như giao diện web. "
            "Xác thực bằng mã truy cập cá nhân (Authorization: Bearer dv_…), tạo trong trang "
            "Cá nhân hoặc bằng `flask --app wsgi danvan create-token`. Lỗi trả về dạng RFC 9457 "
            "(application/problem+json). Thao tác thay đổi hồ sơ, báo cáo cần If-Match mang ETag."
        )
    },
    "components": {
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
    },
    "security": [{"bearerAuth": []}],
}


class DanvanApi(Api):
    """flask-smorest's Api with problem+json error responses and no app-wide error handler."""

    ERROR_SCHEMA = ProblemSchema
    DEFAULT_ERROR_RESPONSE_NAME = "DEFAULT_ERROR"

    def _register_error_handlers(self):
        """None app-wide: the API's blueprints register their own (danvan.api.errors)."""

    def _register_responses(self):
        for status in http.HTTPStatus:
            response = {"description": PROBLEMS.get(status, ("", status.phrase))[1]}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_MIME)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Lỗi (RFC 9457)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_MIME)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def init_app(app: Flask) -> None:
    """Register the API: its blueprints, the spec, Bearer authentication, no CSRF on /api."""
    from danvan.api import auth, profile, views
    from danvan.extensions import csrf
    from danvan.web import IdConverter, YearConverter

    for key, value in API_CONFIG.items():
        app.config.setdefault(key, value)
    api = DanvanApi(app, spec_kwargs=SPEC_OPTIONS)
    for converter in (IdConverter, YearConverter):
        api.register_converter(
            converter, lambda c: {"type": "integer", "minimum": c.min, "maximum": c.max}
        )
    for bp in views.BLUEPRINTS:
        csrf.exempt(bp)  # Bearer tokens only: no cookie is read, so there is nothing to forge
        api.register_blueprint(bp)
    # Before every other hook, so that none of them loads the session cookie's user on /api.
    app.before_request_funcs.setdefault(None, []).insert(0, auth.authenticate)
    app.register_blueprint(profile.bp)
    app.add_template_global(profile.api_tokens_for, "api_tokens_for")
